"""The area instruments: accurate, batched, and honest about their own error."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import cumulative_simpson as scipy_simpson
from scipy.integrate import cumulative_trapezoid as scipy_trapezoid
from scipy.special import expit

from eudoxus.tools.context import Cancelled, ToolContext
from eudoxus.tools.integrate import (
    INTEGRATORS,
    AreaCurves,
    cumulative_simpson,
    cumulative_trapezoid,
    gauss_legendre,
    grid,
    integrate,
    nni_integrate,
)
from eudoxus.tools.integrate import _sigmoid_integrals as sigmoid_integrals

X = grid()
RULES = ["trapezoid", "simpson", "gauss-legendre"]
ALL = [*RULES, "nni"]
# The worst true error, relative to each curve's scale, that each method must achieve on X.
ACCURACY = {"trapezoid": 1e-6, "simpson": 1e-11, "gauss-legendre": 1e-11, "nni": 1e-3}

# Polynomials p(t) = Σ c_k t^k with their antiderivatives Σ c_k t^(k+1)/(k+1), worked by hand.
POLY = np.random.default_rng(7).uniform(-2, 2, (10, 5))


def _poly(coefficients: np.ndarray, t: np.ndarray, integral: bool) -> np.ndarray:
    powers = np.arange(coefficients.shape[1])
    if integral:
        return (coefficients / (powers + 1)) @ t ** (powers[:, None] + 1)
    return coefficients @ t ** powers[:, None]


def batch(t: np.ndarray) -> np.ndarray:
    """3t², cos 2t, e^(0.7t), 1/(1+t), a constant, and ten quartics."""
    return np.vstack([3 * t**2, np.cos(2 * t), np.exp(0.7 * t), 1 / (1 + t), np.full_like(t, 2.5),
                      _poly(POLY, t, integral=False)])


def batch_areas(t: np.ndarray) -> np.ndarray:
    """The closed forms of the batch's areas from 0."""
    return np.vstack([t**3, np.sin(2 * t) / 2, (np.exp(0.7 * t) - 1) / 0.7, np.log1p(t), 2.5 * t,
                      _poly(POLY, t, integral=True)])


def check(measured: AreaCurves, truth: np.ndarray, accuracy: float,
          looseness: float = 1000.0) -> None:
    """Accurate, honest (true ≤ estimate) and not absurdly loose, for every curve."""
    scale = np.max(np.abs(truth), axis=1)
    true = np.max(np.abs(measured.g - truth), axis=1)
    assert measured.g.shape == truth.shape and measured.error.shape == (truth.shape[0],)
    assert np.all(measured.g[:, 0] == 0)
    assert np.all(true <= accuracy * scale), true / scale
    assert np.all(true <= measured.error), (true, measured.error)
    assert np.all(measured.error <= np.maximum(looseness * true, 1e-9 * scale)), (
        measured.error, true)


@pytest.mark.parametrize("method", ALL)
def test_methods_match_closed_forms_with_honest_errors(method: str) -> None:
    measured = integrate(batch, X, method)
    assert measured.method == method and measured.seconds > 0
    check(measured, batch_areas(X), ACCURACY[method])


@pytest.mark.parametrize("method", RULES)
def test_estimates_are_honest_on_a_random_family(method: str) -> None:
    rng = np.random.default_rng(3)
    a, b, c, d, e = (rng.uniform(lo, hi, (50, 1)) for lo, hi in
                     [(-3, 3), (0.1, 5), (-2, 2), (-1, 1), (-1, 1)])
    measured = integrate(lambda t: a * np.sin(b * t) + c * np.exp(d * t) + e * t**2, X, method)
    truth = a * (1 - np.cos(b * X)) / b + c * np.expm1(d * X) / d + e * X**3 / 3
    check(measured, truth, ACCURACY[method])


@pytest.mark.parametrize("n_points", [9, 10, 101, 1000, 1001])
def test_rules_stay_honest_on_coarser_grids_of_either_parity(n_points: int) -> None:
    x = grid(4.0, n_points)
    for method in RULES:
        measured = integrate(lambda t: np.vstack([np.exp(0.7 * t), 1 / (1 + t)]), x, method)
        truth = np.vstack([(np.exp(0.7 * x) - 1) / 0.7, np.log1p(x)])
        assert np.all(np.max(np.abs(measured.g - truth), axis=1) <= measured.error), method


@pytest.mark.parametrize("method", ALL)
def test_shapes_for_single_and_batched_callables(method: str) -> None:
    single = integrate(np.cos, X, method)  # returns (p,): one curve
    assert single.g.shape == (1, X.size) and single.error.shape == (1,)
    np.testing.assert_allclose(single.final, [np.sin(4.0)], atol=1e-3)
    k = np.arange(1, 51)[:, None]
    many = integrate(lambda t: k * t, X, method)  # 50 lines k·t, areas k·t²/2
    assert many.g.shape == (50, X.size) and np.all(many.g[:, 0] == 0) and np.all(many.ok)
    np.testing.assert_allclose(many.final, 8.0 * k[:, 0], rtol=1e-6)
    assert many.evaluations == (X.size if method != "gauss-legendre" else (X.size - 1) * 13)


def test_trapezoid_is_the_papers_rule() -> None:
    y = batch(X)
    np.testing.assert_allclose(cumulative_trapezoid(y, X).g, scipy_trapezoid(y, X, initial=0),
                               rtol=1e-13, atol=1e-12)
    uneven = np.sort(np.r_[0.0, np.random.default_rng(1).uniform(0, 4, 300), 4.0])
    np.testing.assert_allclose(cumulative_trapezoid(batch(uneven), uneven).g,
                               scipy_trapezoid(batch(uneven), uneven, initial=0), atol=1e-12)


@pytest.mark.parametrize("n_points", [10_000, 9_999, 302])
def test_simpson_agrees_with_scipy_on_any_grid(n_points: int) -> None:
    x = X[:n_points] if n_points > 302 else np.sort(
        np.r_[0.0, np.random.default_rng(2).uniform(0, 4, 300), 4.0])
    y = batch(x)
    np.testing.assert_allclose(cumulative_simpson(y, x).g, scipy_simpson(y, x=x, initial=0),
                               rtol=1e-12, atol=1e-11)


def test_sample_rules_accept_one_curve_as_a_vector() -> None:
    for rule in (cumulative_trapezoid, cumulative_simpson):
        measured = rule(np.cos(X), X)
        assert measured.g.shape == (1, X.size)
        assert abs(measured.final[0] - np.sin(4.0)) <= measured.error[0]
    with pytest.raises(ValueError):
        cumulative_trapezoid(np.ones(5), X)


@pytest.mark.parametrize("method", ALL)
def test_bad_curves_are_rejected_alone(method: str) -> None:
    def f(t: np.ndarray) -> np.ndarray:
        good = batch(t)[:3]
        return np.vstack([good[0], np.where(t > 2, np.nan, t), good[1], 1 / (t - t.min()),
                          good[2]])

    measured = integrate(f, X, method)
    bad = np.array([False, True, False, True, False])
    assert np.all(np.isnan(measured.g[bad])) and np.all(measured.error[bad] == np.inf)
    assert np.array_equal(measured.ok, ~bad)
    check(replace_rows(measured, ~bad), batch_areas(X)[:3], ACCURACY[method])


def replace_rows(measured: AreaCurves, keep: np.ndarray) -> AreaCurves:
    return AreaCurves(measured.x, measured.g[keep], measured.error[keep], measured.method,
                      measured.seconds, measured.evaluations)


def test_chunking_changes_nothing() -> None:
    k = np.linspace(0.5, 3.0, 450)[:, None]  # more rows than one chunk of 10,000 points holds
    y = np.sin(k * X)
    whole = cumulative_trapezoid(y, X)
    assert np.array_equal(whole.g[300], cumulative_trapezoid(y[300], X).g[0])
    assert np.all(np.abs(whole.g - (1 - np.cos(k * X)) / k).max(axis=1) <= whole.error)
    simpson = cumulative_simpson(y, X)
    assert np.array_equal(simpson.g[420], cumulative_simpson(y[420], X).g[0])
    coarse = grid(4.0, 501)
    default = gauss_legendre(lambda t: np.sin(k[:5] * t), coarse)
    chunked = gauss_legendre(lambda t: np.sin(k[:5] * t), coarse, chunk_values=1000)
    np.testing.assert_allclose(chunked.g, default.g, rtol=0, atol=1e-14)


def test_gauss_legendre_order_is_an_option() -> None:
    x = grid(4.0, 41)
    low = gauss_legendre(np.exp, x, order=3)
    high = gauss_legendre(np.exp, x, order=10)
    truth = np.expm1(x)[None]
    assert low.evaluations == 40 * 4 and high.evaluations == 40 * 17
    check(high, truth, 1e-12)
    assert np.max(np.abs(low.g - truth)) <= low.error[0]
    with pytest.raises(ValueError):
        gauss_legendre(np.exp, x, order=1)


@pytest.mark.parametrize("hidden", [64, 256])
def test_nni_stays_finite_on_a_wide_interval(hidden: int) -> None:
    x = grid(100.0)
    f = np.vstack([np.sin(x), 1 + 0.01 * x**2])
    truth = np.vstack([1 - np.cos(x), x + 0.01 * x**3 / 3])
    measured = nni_integrate(x, f, ToolContext.seeded(1), hidden=hidden)
    assert np.all(np.isfinite(measured.g)) and np.all(np.isfinite(measured.error))
    true = np.max(np.abs(measured.g - truth), axis=1)
    assert np.all(true <= measured.error)
    assert true[1] < 1e-5 * np.max(truth[1])  # the smooth curve is measured well
    if hidden == 256:  # 16 periods need more than 64 units to resolve; with 256 they are
        assert true[0] < 0.02 * np.max(truth[0])


def test_sigmoid_integrals_are_finite_and_exact_in_every_regime() -> None:
    s = np.linspace(0.0, 1.0, 11)
    w = np.array([0.0, 1e-13, -1e-9, 0.7, -3.0, 5e4, -5e4, 1e3, 2.0])
    b = np.array([0.3, -0.2, 800.0, 0.1, 2.0, -2.5e4, 2.5e4, -1e3, 900.0])
    got = sigmoid_integrals(s, w, b)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[:, 0], expit(0.3) * s, rtol=1e-15)  # w = 0: σ(b)·s
    np.testing.assert_allclose(got[:, 1], expit(-0.2) * s, rtol=1e-12)
    np.testing.assert_allclose(got[:, 2], s, rtol=1e-12)
    # Steep units are steps at s = 0.5 (on after it, or before it) and s = 1.
    np.testing.assert_allclose(got[:, 5], np.clip(s - 0.5, 0, None), atol=1e-4)
    np.testing.assert_allclose(got[:, 6], np.minimum(s, 0.5), atol=1e-4)
    np.testing.assert_allclose(got[:, 7], 0.0, atol=1e-3)
    np.testing.assert_allclose(got[:, 8], s, rtol=1e-12)
    # Moderate units against a fine Simpson sum of the sigmoid itself.
    t = np.linspace(0, 1, 100_001)
    for j in (3, 4):
        fine = scipy_simpson(expit(w[j] * t + b[j]), x=t, initial=0)[::10_000]
        np.testing.assert_allclose(got[:, j], fine, rtol=1e-12, atol=1e-14)


def test_nni_is_deterministic_given_the_seed() -> None:
    one = integrate(batch, X, "nni", ctx=ToolContext.seeded(5))
    two = integrate(batch, X, "nni", ctx=ToolContext.seeded(5))
    other = integrate(batch, X, "nni", ctx=ToolContext.seeded(6))
    assert np.array_equal(one.g, two.g) and np.array_equal(one.error, two.error)
    assert not np.array_equal(one.g, other.g)


def test_nni_refinement_only_ever_tightens_the_bound() -> None:
    x = grid(4.0, 2001)
    y = np.vstack([np.sin(3 * x) * np.exp(-0.3 * x), np.nan * x])
    plain = nni_integrate(x, y, ToolContext.seeded(2), hidden=16)
    refined = nni_integrate(x, y, ToolContext.seeded(2), hidden=16, refine=5)
    assert refined.error[0] <= plain.error[0] and refined.error[1] == np.inf
    truth = (3 - np.exp(-0.3 * x) * (0.3 * np.sin(3 * x) + 3 * np.cos(3 * x))) / 9.09
    assert np.max(np.abs(refined.g[0] - truth)) <= refined.error[0]


def test_nni_reports_progress_and_honours_cancel() -> None:
    seen: list[tuple[str, int, int | None]] = []
    ctx = ToolContext(progress=lambda stage, done, total: seen.append((stage, done, total)))
    nni_integrate(X, batch(X), ctx)
    assert seen[-1] == ("nni", 15, 15)
    ctx.cancel.set()
    with pytest.raises(Cancelled):
        nni_integrate(X, batch(X), ctx)


def test_unknown_method_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="gauss-legendre") as raised:
        integrate(np.cos, X, "romberg")
    assert all(name in str(raised.value) for name in INTEGRATORS)
    assert set(INTEGRATORS) == {"trapezoid", "simpson", "gauss-legendre", "nni"}


def test_grid_is_the_papers() -> None:
    assert X.shape == (10_000,) and X[0] == 0.0 and X[-1] == 4.0
    assert np.allclose(np.diff(X), 4.0 / 9_999)
    with pytest.raises(ValueError):
        grid(-1.0)


@pytest.mark.slow
@pytest.mark.parametrize("method", ALL)
def test_a_thousand_curves_at_ten_thousand_points(method: str) -> None:
    k = np.linspace(0.1, 5.0, 1000)[:, None]
    measured = integrate(lambda t: np.sin(k * t), X, method)
    truth = (1 - np.cos(k * X)) / k
    assert measured.g.shape == (1000, X.size) and np.all(measured.ok)
    assert np.all(np.max(np.abs(measured.g - truth), axis=1) <= measured.error)
