"""Function families: the registry, vectorised evaluation, templates, records and pickling."""

from __future__ import annotations

import json
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import sympy

from eudoxus.tools.context import ToolContext
from eudoxus.tools.expr import ExprError, parse
from eudoxus.tools.families import (
    FAMILIES,
    AtLeast,
    Domain,
    Family,
    GreaterThan,
    MinAbs,
    NotZero,
    Positive,
    PositiveOnDomain,
    beyond_paper_families,
    constraint_from_dict,
    get_family,
    paper_families,
)
from eudoxus.tools.sample import sample_random

PAPER = ["poly0", "poly1", "poly2", "poly3", "poly4", "poly5", "poly6", "sin", "cos", "exp"]


def test_registry_has_the_paper_families_and_more() -> None:
    assert [f.name for f in paper_families()] == PAPER
    beyond = [f.name for f in beyond_paper_families()]
    assert len(beyond) >= 8 and not set(beyond) & set(PAPER)
    for name in ("power", "xexp", "xsin", "xcos", "recip", "expsin", "sinh", "cosh", "lorentz",
                 "sqrt", "atanlike"):
        assert name in beyond
    assert set(FAMILIES) == set(PAPER) | set(beyond)


def test_paper_family_definitions() -> None:
    poly2 = get_family("poly2")
    assert poly2.parameters == ("a0", "a1", "a2")
    assert poly2.template == parse("a2*x**2 + a1*x + a0")
    assert poly2.constraints == (MinAbs("a2", 0.1),)
    assert all(poly2.ranges[p] == (-10.0, 10.0) for p in poly2.parameters)
    assert get_family("poly6").constraints == (MinAbs("a6", 0.1),)
    assert get_family("poly0").parameters == ("a0",)
    for name in ("sin", "cos", "exp"):
        family = get_family(name)
        assert family.parameters == ("a0", "a3", "a4") and family.paper
        assert set(family.constraints) == {MinAbs("a3", 0.1), MinAbs("a4", 0.1)}
        assert family.decimals == 2 and family.domain == Domain(4.0, 10_000, 1e8)
    assert get_family("exp").ranges["a3"] == (-3.0, 3.0)
    assert "[-3, 3]" in get_family("exp").description
    assert get_family("sin").template == parse("a4*sin(a3*x) + a0")


def test_get_family_unknown_lists_names() -> None:
    with pytest.raises(ValueError, match="unknown family 'nope'.*poly0.*exp"):
        get_family("nope")


def test_templates_round_trip_through_the_parser() -> None:
    for family in FAMILIES.values():
        assert parse(family.template_text) == family.template, family.name


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_is_finite_on_accepted_random_samples(name: str) -> None:
    family = get_family(name)
    batch = sample_random(family, 64, ToolContext.seeded(3, len(name)))
    assert batch.n_accepted >= 48, batch.rejections
    values = family.evaluate(batch.accepted_params, family.domain.grid())
    assert values.shape == (batch.n_accepted, family.domain.n_points)
    assert np.all(np.isfinite(values))
    assert np.max(np.abs(values)) <= family.domain.max_abs
    np.testing.assert_array_equal(values, batch.accepted_values)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_vectorised_evaluate_matches_sympy_per_sample(name: str) -> None:
    family = get_family(name)
    batch = sample_random(family, 6, ToolContext.seeded(5))
    params = batch.accepted_params[:3]
    points = np.array([0.0, 0.37, 1.5, 3.99])
    values = family.evaluate(params, points)
    x = sympy.Symbol("x")
    for row, got in zip(params, values, strict=True):
        member = family.instantiate(row)
        assert member.free_symbols <= {x}
        expected = [float(member.evalf(30, subs={x: sympy.Float(p)})) for p in points]
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
        # The display text parses back to the same member.
        assert parse(family.integrand_text(row)) == member


def test_constant_family_broadcasts_to_the_grid() -> None:
    family = get_family("poly0")
    values = family.evaluate(np.array([[2.5], [-1.0]]), np.linspace(0, 4, 7))
    assert values.shape == (2, 7)
    np.testing.assert_array_equal(values, [[2.5] * 7, [-1.0] * 7])
    assert family.evaluate(np.empty((0, 1)), np.linspace(0, 4, 7)).shape == (0, 7)


def test_evaluate_rejects_bad_shapes_and_keeps_errors_quiet() -> None:
    family = get_family("recip")
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        family.evaluate(np.zeros((3, 3)), np.linspace(0, 1, 5))
    with np.errstate(all="raise"):  # evaluate ignores floating-point errors itself
        values = family.evaluate(np.array([[1.0, 0.0]]), np.array([0.0, 1.0]))
    assert np.isinf(values[0, 0]) and values[0, 1] == 1.0
    # A 1-D params vector is one sample.
    assert family.evaluate(np.array([1.0, 1.0]), np.array([1.0])).shape == (1, 1)


def test_instantiate_and_integrand_text() -> None:
    family = get_family("exp")
    assert family.integrand_text([0, 1.5, -2.25]) == "-2.25*exp(1.5*x)"
    assert family.integrand_text({"a0": 1, "a3": 0.1, "a4": 3}) == "3*exp(0.1*x) + 1"
    assert family.instantiate([2.0, -1.0, 1.0]) == parse("exp(-x) + 2")
    with pytest.raises(ValueError, match="takes 3 values"):
        family.instantiate([1.0, 2.0])
    with pytest.raises(ValueError, match="unknown: a9"):
        family.instantiate({"a0": 1, "a3": 1, "a4": 1, "a9": 1})
    with pytest.raises(ValueError, match="missing: a4"):
        family.instantiate({"a0": 1, "a3": 1})
    with pytest.raises(ValueError, match="not finite"):
        family.instantiate([1.0, np.inf, 1.0])


def test_from_template_through_the_parser() -> None:
    family = Family.from_template("mine", "a2*x**a1 + a0*sin(x)",
                                  ranges={"a1": (0.5, 2)}, constraints=[Positive("a1")],
                                  description="a test family")
    assert family.parameters == ("a0", "a1", "a2")
    assert family.ranges == {"a0": (-10.0, 10.0), "a1": (0.5, 2.0), "a2": (-10.0, 10.0)}
    assert family.template_text == "a0*sin(x) + a2*x**a1"
    assert not family.paper and family.decimals == 2
    np.testing.assert_allclose(family.evaluate(np.array([[1.0, 2.0, 3.0]]), np.array([2.0])),
                               [[np.sin(2.0) + 12.0]])
    # Custom parameter names through the parser's symbol whitelist; natural sort order.
    custom = Family.from_template("k", "a10*x + a2", symbols=("x", "a2", "a10"))
    assert custom.parameters == ("a2", "a10")


@pytest.mark.parametrize("text, message", [
    ("a0 + a1", "does not contain x"),
    ("__import__('os').system('echo hi')", "not allowed"),
    ("x.__class__", "attribute access"),
    ("b1*x", "not allowed"),
    ("x +", "invalid syntax"),
    ("9**9**9**9*x", "too large"),
])
def test_from_template_refuses_bad_templates(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        Family.from_template("bad", text)
    assert "\n" not in str(info.value)


def test_malicious_template_is_an_expr_error() -> None:
    with pytest.raises(ExprError):
        Family.from_template("evil", "__import__('os')")


@pytest.mark.parametrize("ranges, message", [
    ({"a5": (0, 1)}, "range given for a5, which is not a parameter"),
    ({"a1": (2, 1)}, "empty: low 2 >= high 1"),
    ({"a1": (1, 1)}, "empty"),
    ({"a1": (0, np.inf)}, "finite"),
    ({"a1": (1,)}, "pair"),
])
def test_from_template_refuses_bad_ranges(ranges: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Family.from_template("bad", "a1*x", ranges=ranges)


def test_from_template_refuses_constraints_on_unknown_parameters() -> None:
    with pytest.raises(ValueError, match="unknown parameter a3"):
        Family.from_template("bad", "a1*x", constraints=[MinAbs("a3", 0.1)])
    with pytest.raises(ValueError, match="unknown constraint kind"):
        Family.from_template("bad", "a1*x", constraints=[{"kind": "magic", "name": "a1"}])
    with pytest.raises(ExprError):
        PositiveOnDomain("x + import")


@pytest.mark.parametrize("name", list(FAMILIES))
def test_record_round_trip(name: str) -> None:
    family = get_family(name)
    record = family.to_record()
    assert set(record) == {"name", "template", "parameters", "ranges", "constraints", "domain"}
    again = Family.from_record(json.loads(json.dumps(record)))
    assert again == family
    assert again.description == family.description and again.paper == family.paper


def test_record_keeps_the_stored_parameter_order_and_reads_store_rows() -> None:
    family = Family.from_template("rev", "a1*x + a0", ranges={"a0": (0, 1)}, decimals=None,
                                  domain=Domain(T=2.0, n_points=50, max_abs=10.0))
    record = family.to_record()
    record["parameters"] = ["a1", "a0"]
    again = Family.from_record(record)
    assert again.parameters == ("a1", "a0") and again.decimals is None
    assert again.domain == Domain(T=2.0, n_points=50, max_abs=10.0)
    np.testing.assert_allclose(again.evaluate(np.array([[2.0, 1.0]]), np.array([3.0])), [[7.0]])
    row = SimpleNamespace(family_id=3, source="builtin", **get_family("recip").to_record())
    assert Family.from_record(row) == get_family("recip")
    with pytest.raises(ValueError, match="do not match"):
        Family.from_record({**record, "parameters": ["a0"]})


def test_constraints_round_trip_and_check() -> None:
    columns = {"a1": np.array([-0.2, 0.0, 0.05, 3.0])}
    cases = [
        (MinAbs("a1", 0.1), [True, False, False, True]),
        (NotZero("a1"), [True, False, True, True]),
        (Positive("a1"), [False, False, True, True]),
        (GreaterThan("a1", 0.05), [False, False, False, True]),
        (AtLeast("a1", 0.0), [False, True, True, True]),
    ]
    for constraint, expected in cases:
        assert constraint_from_dict(json.loads(json.dumps(constraint.to_dict()))) == constraint
        assert constraint.holds(columns).tolist() == expected
    assert MinAbs("a3", 0.1).reason({"a3": 0.04}) == "a3 = 0.04 violates |a3| >= 0.1"
    guard = PositiveOnDomain("x + a2")
    x = np.linspace(0, 4, 9)
    assert guard.names == ("a2",)
    assert guard.holds({"a2": np.array([0.2, 0.0, -1.0, -5.0])}, x).tolist() == [
        True, False, False, False]
    assert PositiveOnDomain("x + a2", strict=False).holds(
        {"a2": np.array([0.0, -0.1])}, x).tolist() == [True, False]
    assert "at x = 0" in guard.reason({"a2": -1.0}, x)


def test_domain_validation() -> None:
    assert Domain().grid()[[0, -1]].tolist() == [0.0, 4.0] and len(Domain().grid()) == 10_000
    with pytest.raises(ValueError, match="T"):
        Domain(T=0)
    with pytest.raises(ValueError, match="n_points"):
        Domain(n_points=1)
    with pytest.raises(ValueError, match="unknown domain keys"):
        Domain.from_dict({"T": 4, "bogus": 1})


def test_family_pickles_after_evaluate() -> None:
    family = get_family("expsin")
    params = np.array([[1.0, -0.5, 3.0], [2.0, 0.5, -1.0]])
    x = np.linspace(0, 4, 11)
    before = family.evaluate(params, x)
    again = pickle.loads(pickle.dumps(family))
    assert again == family and hash(again) == hash(family)
    np.testing.assert_array_equal(again.evaluate(params, x), before)
    # A fresh user family too, and the registry as a whole.
    mine = Family.from_template("mine", "a1*x*cos(a2*x)")
    mine.evaluate(np.ones((1, 2)), x)
    assert pickle.loads(pickle.dumps(mine)).evaluate(np.ones((1, 2)), x).shape == (1, 11)
    assert pickle.loads(pickle.dumps(FAMILIES)) == FAMILIES


def test_record_round_trips_through_the_store(store) -> None:
    for name in ("poly2", "recip", "exp"):
        family = get_family(name)
        stored = store.upsert_family(**family.to_record(), source="builtin")
        assert Family.from_record(stored) == family
