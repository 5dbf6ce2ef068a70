"""Sampling designs: random (the paper's), one-factor sweeps and explicit points."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eudoxus.tools.context import Cancelled, ToolContext
from eudoxus.tools.families import FAMILIES, Domain, Family, get_family
from eudoxus.tools.sample import (
    SampleBatch,
    check,
    sample_one_factor,
    sample_points,
    sample_random,
)


def _assert_consistent(batch: SampleBatch) -> None:
    n = len(batch)
    assert batch.params.shape == (n, len(batch.parameters)) and batch.params.dtype == float
    assert batch.accepted.shape == (n,) and batch.accepted.dtype == bool
    assert len(batch.reject_reasons) == n
    assert batch.values.shape == (n, batch.x.shape[0])
    for ok, reason in zip(batch.accepted, batch.reject_reasons, strict=True):
        assert (reason is None) == bool(ok)
        assert reason is None or (reason and "\n" not in reason)
    assert np.all(np.isfinite(batch.accepted_values))
    assert np.all(np.isnan(batch.values[~batch.accepted]))
    assert batch.n_accepted == int(batch.accepted.sum()) == len(batch.accepted_params)


def _satisfies(family: Family, row: np.ndarray) -> bool:
    columns = {p: np.array([v]) for p, v in zip(family.parameters, row, strict=True)}
    return all(bool(c.holds(columns, family.domain.grid())[0]) for c in family.constraints)


@pytest.mark.parametrize("name", ["poly3", "exp", "recip", "sqrt", "expsin"])
def test_random_design_respects_ranges_rounding_and_constraints(name: str) -> None:
    family = get_family(name)
    batch = sample_random(family, 300, ToolContext.seeded(7))
    _assert_consistent(batch)
    assert batch.family == name and batch.design == "random" and len(batch) == 300
    assert batch.parameters == family.parameters
    for j, p in enumerate(family.parameters):
        low, high = family.ranges[p]
        assert np.all((batch.params[:, j] >= low) & (batch.params[:, j] <= high))
    np.testing.assert_allclose(batch.params * 100, np.round(batch.params * 100), atol=1e-9)
    assert not np.any(np.signbit(batch.params) & (batch.params == 0))  # no -0.0
    for row, ok in zip(batch.params, batch.accepted, strict=True):
        assert _satisfies(family, row) == bool(ok)


def test_random_design_rejects_with_readable_reasons() -> None:
    family = get_family("poly1")
    batch = sample_random(family, 2000, ToolContext.seeded(1))
    assert 0 < len(batch.rejections) < 100
    for i, reason in batch.rejections:
        assert abs(batch.params[i, 1]) < 0.1
        assert reason == f"a1 = {batch.row(i)['a1']:g} violates |a1| >= 0.1"


def test_fill_draws_until_n_are_accepted() -> None:
    family = Family.from_template("narrow", "a1*x", ranges={"a1": (-0.2, 0.2)},
                                  constraints=[{"kind": "min_abs", "name": "a1", "value": 0.1}])
    batch = sample_random(family, 40, ToolContext.seeded(2), fill=True)
    _assert_consistent(batch)
    assert batch.n_accepted >= 40 and len(batch) > 40
    plain = sample_random(family, 40, ToolContext.seeded(2))
    assert plain.n_accepted < 40 and len(plain) == 40


def test_same_seed_same_batch() -> None:
    family = get_family("sin")
    first = sample_random(family, 50, ToolContext.seeded(11, 3))
    second = sample_random(family, 50, ToolContext.seeded(11, 3))
    other = sample_random(family, 50, ToolContext.seeded(11, 4))
    np.testing.assert_array_equal(first.params, second.params)
    np.testing.assert_array_equal(first.values, second.values)
    assert first.reject_reasons == second.reject_reasons
    assert not np.array_equal(first.params, other.params)
    sweeps = [sample_one_factor(family, 9, ToolContext.seeded(4), "a3", jitter=0.5)
              for _ in range(2)]
    np.testing.assert_array_equal(sweeps[0].params, sweeps[1].params)


def test_one_factor_varies_exactly_one_parameter() -> None:
    family = get_family("exp")
    batch = sample_one_factor(family, 13, ToolContext.seeded(5), "a3")
    _assert_consistent(batch)
    assert batch.design == "one-factor" and batch.varied == "a3"
    j = family.parameters.index("a3")
    for i, p in enumerate(family.parameters):
        column = batch.params[:, i]
        if i == j:
            np.testing.assert_array_equal(column, np.round(np.linspace(-3, 3, 13), 2) + 0.0)
        else:
            assert np.all(column == column[0]), p
    # The random base satisfies the constraints that do not involve a3.
    assert abs(batch.params[0, family.parameters.index("a4")]) >= 0.1


def test_one_factor_with_base_interval_and_jitter() -> None:
    family = get_family("sin")
    base = {"a0": 1.0, "a4": 2.0}
    batch = sample_one_factor(family, 21, ToolContext.seeded(6), "a3", base=base,
                              low=-20.0, high=20.0, jitter=0.4)
    _assert_consistent(batch)
    assert np.all(batch.params[:, 0] == 1.0) and np.all(batch.params[:, 2] == 2.0)
    a3 = batch.params[:, 1]
    assert a3.min() >= -20 and a3.max() <= 20 and np.all(np.diff(a3) > 0)
    assert a3.max() > 10  # beyond the family's range: extrapolation sweeps are allowed
    assert not np.allclose(a3, np.linspace(-20, 20, 21))  # jittered
    # A sweep through zero is rejected there, with a reason, not raised.
    through_zero = sample_one_factor(family, 5, ToolContext.seeded(6), "a3",
                                     base=base, low=-1, high=1)
    assert through_zero.accepted.tolist() == [True, True, False, True, True]
    assert through_zero.reject_reasons[2] == "a3 = 0 violates |a3| >= 0.1"


def test_one_factor_programmer_errors_raise() -> None:
    family, ctx = get_family("sin"), ToolContext.seeded(0)
    with pytest.raises(ValueError, match="no parameter 'a9'"):
        sample_one_factor(family, 5, ctx, "a9")
    with pytest.raises(ValueError, match="unknown parameter a7"):
        sample_one_factor(family, 5, ctx, "a3", base={"a7": 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        sample_one_factor(family, -1, ctx, "a3")
    with pytest.raises(ValueError, match="non-negative"):
        sample_random(family, -3, ctx)
    with pytest.raises(ValueError, match="jitter"):
        sample_one_factor(family, 5, ctx, "a3", jitter=1.5)


def test_points_allow_out_of_range_but_apply_constraints_and_guards() -> None:
    recip = get_family("recip")
    batch = sample_points(recip, [{"a1": 25.0, "a2": 7.5}, {"a1": 1.0, "a2": -1.0},
                                  {"a1": 0.05, "a2": 1.0}, {"a1": 1.0, "a2": 0.0}])
    _assert_consistent(batch)
    assert batch.design == "points"
    assert batch.accepted.tolist() == [True, False, False, False]
    np.testing.assert_allclose(batch.values[0], 25.0 / (batch.x + 7.5))
    assert "x + a2" in batch.reject_reasons[1] and "a2 = -1" in batch.reject_reasons[1]
    assert batch.reject_reasons[2] == "a1 = 0.05 violates |a1| >= 0.1"
    assert "x + a2 = 0 at x = 0" in batch.reject_reasons[3]


def test_points_reject_overflow_nan_and_the_size_guard() -> None:
    exp = get_family("exp")
    points = np.array([[0.0, 300.0, 1.0], [0.0, 5.0, 10.0], [0.0, np.nan, 1.0],
                       [1.0, 0.5, 2.0]])
    batch = sample_points(exp, points, ToolContext.seeded(0))
    _assert_consistent(batch)
    assert batch.accepted.tolist() == [False, False, False, True]
    assert batch.reject_reasons[0].startswith("overflow")
    assert batch.reject_reasons[1] == "|f| = 4.85e+09 exceeds 1e+08 at x = 4"
    assert batch.reject_reasons[2] == "a3 = nan is not finite"
    power = get_family("power")
    assert sample_points(power, np.array([[1.0, -0.5]])).reject_reasons == (
        "a2 = -0.5 violates a2 > 0",)
    # Without the constraint the same member fails on the grid instead.
    bare = Family.from_template("bare", "a1*x**a2")
    assert "overflow" in sample_points(bare, np.array([[1.0, -0.5]])).reject_reasons[0]
    logs = Family.from_template("logs", "log(x + a1)")
    assert sample_points(logs, np.array([[-1.0]])).reject_reasons[0].startswith("nan at x = 0")


def test_points_input_forms_and_errors() -> None:
    family = get_family("xsin")
    one = sample_points(family, np.array([2.0, 3.0]))
    assert len(one) == 1 and one.accepted.tolist() == [True]
    assert len(sample_points(family, [])) == 0
    rounded = sample_points(family, np.array([[2.0049, 3.333]]), round_values=True)
    assert rounded.params.tolist() == [[2.0, 3.33]]
    with pytest.raises(ValueError, match="missing a2"):
        sample_points(family, [{"a1": 1.0}])
    with pytest.raises(ValueError, match="unknown a5"):
        sample_points(family, [{"a1": 1.0, "a2": 1.0, "a5": 0.0}])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        sample_points(family, np.ones((2, 3)))


def test_empty_batch_and_readonly_arrays() -> None:
    batch = sample_random(get_family("cos"), 0, ToolContext.seeded(0))
    assert len(batch) == 0 and batch.values.shape == (0, 10_000) and batch.n_accepted == 0
    full = sample_random(get_family("cos"), 3, ToolContext.seeded(0))
    with pytest.raises(ValueError):
        full.params[0, 0] = 1.0


def test_check_is_shared_and_uses_the_family_domain() -> None:
    family = Family.from_template("small", "a1*x", ranges={"a1": (1, 2)},
                                  domain=Domain(T=1.0, n_points=5, max_abs=1.5))
    values, accepted, reasons = check(family, np.array([[1.0], [2.0]]))
    assert accepted.tolist() == [True, False]
    np.testing.assert_allclose(values[0], [0, 0.25, 0.5, 0.75, 1.0])
    assert reasons == (None, "|f| = 2 exceeds 1.5 at x = 1")


def test_cancellation_and_progress() -> None:
    seen = []
    ctx = ToolContext.seeded(1)
    ctx.progress = lambda stage, done, total: seen.append((stage, done, total))
    sample_random(get_family("poly2"), 5, ctx)
    assert seen and seen[-1] == ("sample", 5, 5)
    ctx.cancel.set()
    with pytest.raises(Cancelled):
        sample_random(get_family("poly2"), 5, ctx)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(FAMILIES)), seed=st.integers(0, 2**32 - 1),
       n=st.integers(0, 12))
def test_random_batches_are_always_consistent(name: str, seed: int, n: int) -> None:
    family = get_family(name)
    grid = np.linspace(0, family.domain.T, 64)
    batch = sample_random(family, n, ToolContext.seeded(seed), x=grid)
    _assert_consistent(batch)
    for row, ok in zip(batch.params, batch.accepted, strict=True):
        assert _satisfies(family, row) or not ok
