"""The rule search recovers each coefficient's law, exact constants and Abs-free integrals."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy

from eudoxus.tools import rules
from eudoxus.tools.expr import parse
from eudoxus.tools.rules import (
    GATE,
    CoefficientSearch,
    RuleSearch,
    most_common_skeleton,
    rationalize,
    search_coefficient,
    search_rules,
    search_series,
)

N = 40
X = np.linspace(0.0, 4.0, 200)
NAMES = ["a0", "a3", "a4"]
A0, A3, A4 = (sympy.Symbol(name) for name in NAMES)


def noisy(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """Values as the engine reports them: about 1e-7 relative error."""
    return values * (1 + 1e-7 * rng.standard_normal(values.shape))


def two_sided(rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """Magnitudes in [low, high] with random signs, so abs(a) and a differ in the data."""
    return rng.uniform(low, high, N) * rng.choice([-1.0, 1.0], N)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2024)


@pytest.fixture
def family(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parameters (a0, a3, a4) of a family `a4*f(a3*x) + a0`, both signs for a3 and a4."""
    return rng.uniform(-9, 9, N), two_sided(rng, 0.5, 5), two_sided(rng, 0.5, 9)


def same(a: sympy.Expr, b: sympy.Expr | str) -> bool:
    b = parse(b, symbols=["x", *NAMES]) if isinstance(b, str) else b
    return sympy.simplify(a - b) == 0


def test_poly3_laws_are_exact_fractions(rng: np.random.Generator) -> None:
    names = ["a0", "a1", "a2", "a3"]
    params = rng.uniform(-9, 9, (N, 4))
    coefficients = noisy(rng, params / np.arange(1, 5))
    result = search_rules("c0*x + c1*x**2 + c2*x**3 + c3*x**4", coefficients, params, names)
    assert isinstance(result, RuleSearch) and result.unexplained == ()
    assert (result.support, result.total) == (N, N)
    for j, search in enumerate(result.searches):
        law = search.law
        assert law is not None and law.exact and law.level == 1
        assert law.expression == sympy.Rational(1, j + 1) * sympy.Symbol(f"a{j}")
        coefficient = law.expression.as_coeff_Mul()[0]
        assert isinstance(coefficient, sympy.Rational) and not isinstance(coefficient, sympy.Float)
    assert same(result.integral, parse("a0*x + a1*x**2/2 + a2*x**3/3 + a3*x**4/4",
                                       symbols=["x", *names]))
    assert result.text == "a0*x + a1*x**2/2 + a2*x**3/3 + a3*x**4/4"


def test_exp_quotient_needs_the_pair_level(rng, family) -> None:
    a0, a3, a4 = family
    coefficients = noisy(rng, np.column_stack([-a4 / a3, a0, a4 / a3, a3]))
    result = search_rules("c0 + c1*x + c2*exp(c3*x)", coefficients, np.column_stack(family),
                          NAMES, total=2 * N)
    assert result.total == 2 * N and result.support == N
    c0 = result.searches[0]
    assert c0.law is not None and c0.law.level == 2 and c0.law.exact
    assert c0.law.expression == -A4 / A3 and c0.law.text == "-a4/a3"
    singles = [row for row in c0.table if row.level == 1]
    assert singles and not any(row.passed for row in singles)
    assert all(row.r2 < GATE for row in singles)
    assert [row.level for row in c0.table] == sorted(row.level for row in c0.table)
    assert any(row.predictor == "a4/a3" and row.passed for row in c0.table)
    assert not any(row.level == 3 for row in c0.table)  # the pair level was exact: stop there
    assert [s.law.expression for s in result.searches[1:]] == [A0, A4 / A3, A3]
    assert same(result.integral, "a4*exp(a3*x)/a3 + a0*x - a4/a3")


def sin_case(rng, family) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a0, a3, a4 = (p[:, None] for p in family)
    coefficients = noisy(rng, np.column_stack([a4 / a3, a0, -a4 / a3, np.abs(a3)]))
    curves = a4 / a3 * (1 - np.cos(a3 * X)) + a0 * X
    return coefficients, np.column_stack(family), curves


def test_sin_sign_folding_is_undone_with_curves(rng, family) -> None:
    coefficients, params, curves = sin_case(rng, family)
    skeleton = "c0 + c1*x + c2*cos(c3*x)"
    result = search_rules(skeleton, coefficients, params, NAMES, x=X, curves=curves)
    assert result.searches[3].law.expression == sympy.Abs(A3)
    assert not result.integral.has(sympy.Abs)
    assert same(result.integral, "-a4*cos(a3*x)/a3 + a0*x + a4/a3")
    assert parse(result.text, symbols=["x", *NAMES]) == result.integral
    kept = search_rules(skeleton, coefficients, params, NAMES)  # no curves: Abs stays
    assert kept.integral.has(sympy.Abs(A3))


def test_cos_drops_both_abs_together(rng, family) -> None:
    a0, a3, a4 = family
    coefficients = noisy(rng, np.column_stack([a0, a4 / np.abs(a3), np.abs(a3)]))
    curves = (a4 / a3)[:, None] * np.sin(a3[:, None] * X) + a0[:, None] * X
    result = search_rules("c0*x + c1*sin(c2*x)", coefficients, np.column_stack(family), NAMES,
                          x=X, curves=curves)
    assert result.searches[1].law.expression == A4 / sympy.Abs(A3)
    assert not result.integral.has(sympy.Abs)
    assert same(result.integral, "a0*x + a4*sin(a3*x)/a3")


def test_abs_stays_where_the_curves_need_it(rng, family) -> None:
    _, a3, _ = family
    curves = np.abs(a3)[:, None] * X
    result = search_rules("c0*x", noisy(rng, np.abs(a3))[:, None], np.column_stack(family),
                          NAMES, x=X, curves=curves)
    assert result.integral == sympy.Abs(A3) * sympy.Symbol("x")


def test_noise_target_is_unexplained(rng, family) -> None:
    a0, _, _ = family
    coefficients = np.column_stack([noisy(rng, a0), rng.standard_normal(N)])
    result = search_rules("c0*x + c1*x**2", coefficients, np.column_stack(family), NAMES)
    assert result.searches[1].law is None
    assert result.integral is None and result.text is None
    assert result.unexplained == ("c1",)
    assert {row.level for row in result.searches[1].table} == {0, 1, 2, 3}
    assert not any(row.passed for row in result.searches[1].table)


def test_constant_target_is_level_zero(rng, family) -> None:
    search = search_coefficient("c1", noisy(rng, np.full(N, 0.5)), np.column_stack(family),
                                NAMES)
    assert isinstance(search, CoefficientSearch)
    assert search.law.level == 0 and search.law.exact
    assert search.law.expression == sympy.Rational(1, 2)
    assert len(search.table) == 1 and search.table[0].predictor == "1"


def test_weighted_sum_with_intercept(rng, family) -> None:
    a0, _, a4 = family
    search = search_coefficient("c0", noisy(rng, 2 * a0 - a4 / 3 + 1.25),
                                np.column_stack(family), NAMES)
    assert search.law.level == 2 and search.law.exact
    assert search.law.expression == 2 * A0 - A4 / 3 + sympy.Rational(5, 4)
    row = next(r for r in search.table if r.predictor == "a0, a4")
    assert row.weights == pytest.approx((2, -1 / 3), rel=1e-5) and row.slope == row.weights[0]


def test_irrational_slope_stays_float(rng, family) -> None:
    a0, _, _ = family
    law = search_coefficient("c0", noisy(rng, a0 / math.pi), np.column_stack(family),
                             NAMES).law
    coefficient = law.expression.as_coeff_Mul()[0]
    assert isinstance(coefficient, sympy.Float)
    assert float(coefficient) == pytest.approx(1 / math.pi, rel=1e-6)


def test_one_signed_parameter_lists_abs_as_competitor(rng, family) -> None:
    a0, _, a4 = family
    a3 = rng.uniform(0.5, 5, N)  # every sampled a3 positive: a3 and abs(a3) agree
    law = search_coefficient("c3", noisy(rng, a3), np.column_stack([a0, a3, a4]), NAMES).law
    assert law.expression == A3 and sympy.Abs(A3) in law.competitors
    both = search_coefficient("c3", noisy(rng, family[1]), np.column_stack(family), NAMES).law
    assert both.expression == A3 and both.competitors == ()
    negative = search_coefficient("c0", noisy(rng, a4 / -a3), np.column_stack([a0, -a3, a4]),
                                  NAMES).law
    assert negative.expression == A4 / A3 and -A4 / sympy.Abs(A3) in negative.competitors


@pytest.mark.parametrize(("value", "tolerance", "expected"), [
    (1 / 3 + 2e-8, 1e-7, sympy.Rational(1, 3)),
    (0.1428571, 1e-6, sympy.Rational(1, 7)),
    (-2.0000001, 1e-6, sympy.Integer(-2)),
    (0.5, 1e-12, sympy.Rational(1, 2)),
    (0.3334, 1e-4, sympy.Rational(1, 3)),
])
def test_rationalize_finds_simple_fractions(value, tolerance, expected) -> None:
    assert rationalize(value, tolerance) == expected


def test_rationalize_respects_tolerance_and_denominator() -> None:
    assert isinstance(rationalize(0.3183098861837907, 1e-9), sympy.Float)
    assert rationalize(0.3183098861837907, 1e-7) == sympy.Rational(113, 355)
    assert isinstance(rationalize(0.3183098861837907, 1e-7, max_denominator=300), sympy.Float)
    assert isinstance(rationalize(0.3334, 1e-5), sympy.Float)  # 1/3 is 6.7e-5 away
    assert float(rationalize(0.3334, 1e-5)) == 0.3334
    with pytest.raises(ValueError):
        rationalize(math.nan, 1e-6)


def test_series_finds_the_meta_rules(rng) -> None:
    k = np.arange(6)
    law = search_series(k, noisy(rng, 1 / (k + 1.0)))
    n = sympy.Symbol("n")
    assert law is not None and law.exact and law.expression == 1 / (n + 1)
    assert law.text == "1/(n + 1)"
    assert not any(row.predictor == "1/n" for row in law.table)  # undefined at k = 0
    power = search_series(k, noisy(rng, k + 1.0), variable="k")
    assert power.exact and power.expression == sympy.Symbol("k") + 1
    assert search_series(k, rng.standard_normal(6)) is None


def test_series_on_fitted_poly_slopes(rng) -> None:
    params = rng.uniform(-9, 9, (N, 4))
    coefficients = noisy(rng, params / np.arange(1, 5))
    slopes = [float(search_coefficient(f"c{j}", coefficients[:, j], params,
                                       ["a0", "a1", "a2", "a3"]).law.expression.as_coeff_Mul()[0])
              for j in range(4)]
    law = search_series(np.arange(4), np.array(slopes))
    assert law.expression == 1 / (sympy.Symbol("n") + 1)


def test_most_common_skeleton_breaks_ties() -> None:
    assert most_common_skeleton(["c0*x", "c0*x + c1", "c0*x"]) == ("c0*x", 2)
    assert most_common_skeleton(["c1 + c0*x", "c0*x", "c0*x + c1", "c1 + c0*x", "c0*x"]) \
        == ("c0*x", 2)
    assert most_common_skeleton(["b*x", "a*x"]) == ("a*x", 1)
    assert most_common_skeleton(["z*x", "a*x + 1"]) == ("z*x", 1)  # shorter before alphabetical
    with pytest.raises(ValueError):
        most_common_skeleton([])


def test_bad_shapes_are_refused(family) -> None:
    params = np.column_stack(family)
    with pytest.raises(ValueError):
        search_coefficient("c0", np.ones(N - 1), params, NAMES)
    with pytest.raises(ValueError):
        search_coefficient("c0", np.ones(N), params, ["a0", "a3"])
    with pytest.raises(ValueError):
        search_rules("c0*x", np.ones((N, 1)), params, ["x", "a3", "a4"])


def test_no_calculus_and_no_text_eval() -> None:
    source = Path(rules.__file__).read_text()
    assert not re.search(r"\b(eval|exec|sympify|parse_expr|integrate|diff|Derivative)\s*\(",
                         source)


def test_a_parameter_may_appear_twice(rng: np.random.Generator) -> None:
    """∫ a1·x·e^(a2·x) has a1/a2²: a triple with a repeated parameter, beyond the paper's."""
    a1, a2 = two_sided(rng, 0.5, 10), two_sided(rng, 0.1, 2)
    params = np.column_stack([a1, a2])
    found = rules.search_coefficient("c0", noisy(rng, a1 / a2**2), params, ["a1", "a2"])
    assert found.law is not None and found.law.level == 3
    a1s, a2s = sympy.symbols("a1 a2")
    assert sympy.simplify(found.law.expression - a1s / a2s**2) == 0


def test_one_misfit_observation_does_not_bend_the_law(rng, family) -> None:
    """A symbolic-regression misfit is set aside, not explained by a weighted triple."""
    a0, a3, a4 = family
    c1 = noisy(rng, a0.copy())
    c1[3] += 0.05  # e^(0.1x) traded against x in one fit
    found = rules.search_coefficient("c1", c1, np.column_stack(family), NAMES)
    assert found.law is not None and found.law.level == 1
    assert same(found.law.expression, "a0") and found.law.outliers == (3,)


def test_another_slots_law_is_a_building_block(rng: np.random.Generator) -> None:
    """∫ a1·x**a2 = a1/(a2 + 1)·x**(a2 + 1): c0 needs c1's law a2 + 1 as a predictor."""
    a1, a2 = two_sided(rng, 0.5, 10), rng.uniform(0.1, 4, N)
    coefficients = np.column_stack([noisy(rng, a1 / (a2 + 1)), noisy(rng, a2 + 1)])
    found = rules.search_rules("c0*x**c1", coefficients, np.column_stack([a1, a2]),
                               ["a1", "a2"])
    a1s, a2s, x = sympy.symbols("a1 a2 x")
    assert found.integral is not None
    assert sympy.simplify(found.integral - a1s * x**(a2s + 1) / (a2s + 1)) == 0


def test_a_constant_slot_follows_from_the_area_at_zero(rng: np.random.Generator) -> None:
    """∫ a1/(x + a2) = a1·log(x + a2) - a1·log(a2): no regression finds c0, g(0) = 0 does."""
    a1, a2 = two_sided(rng, 0.5, 10), rng.uniform(0.2, 5, N)
    coefficients = np.column_stack([noisy(rng, -a1 * np.log(a2)), noisy(rng, a1),
                                    noisy(rng, a2)])
    found = rules.search_rules("c0 + c1*log(c2 + x)", coefficients, np.column_stack([a1, a2]),
                               ["a1", "a2"])
    a1s, a2s, x = sympy.symbols("a1 a2 x")
    assert found.unexplained == () and found.searches[0].law.exact
    assert found.searches[0].table[-1].predictor.startswith("g(0) = 0")
    assert sympy.simplify(found.integral - (a1s * sympy.log(x + a2s) - a1s * sympy.log(a2s))) == 0


def test_an_ill_conditioned_slot_keeps_its_simple_law(rng: np.random.Generator) -> None:
    """The shift in log(x + c) is measured to ~1e-4: still c = a2, not a weighted triple."""
    a1, a2 = two_sided(rng, 0.5, 10), rng.uniform(0.2, 5, N)
    c = a2 * (1 + 1e-4 * rng.standard_normal(N))
    found = rules.search_coefficient("c4", c, np.column_stack([a1, a2]), ["a1", "a2"])
    assert found.law is not None and found.law.level == 1 and not found.law.exact
    assert found.law.expression == sympy.Symbol("a2")
