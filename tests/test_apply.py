"""Answering integrals from accepted rules alone: matching, verification, linearity, conditions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy
from scipy.integrate import quad

from eudoxus.tools import apply
from eudoxus.tools.apply import Answer, KnownRule, Step, answer
from eudoxus.tools.expr import ExprError, canonical, parse, to_numpy

EXP = KnownRule(1, "a4*exp(a3*x) + a0", ("a0", "a3", "a4"), "a0*x + a4*exp(a3*x)/a3 - a4/a3",
                ("a3 != 0",), family="exp")
SIN = KnownRule(2, "a4*sin(a3*x) + a0", ("a0", "a3", "a4"), "a0*x - a4*cos(a3*x)/a3 + a4/a3",
                ("a3 != 0",), family="sin")
COS = KnownRule(3, "a4*cos(a3*x) + a0", ("a0", "a3", "a4"), "a0*x + a4*sin(a3*x)/a3",
                family="cos")
POLY2 = KnownRule(4, "a2*x**2 + a1*x + a0", ("a0", "a1", "a2"), "a2*x**3/3 + a1*x**2/2 + a0*x",
                  family="poly2")
POWER = KnownRule(5, "a*x**n", ("a", "n"), "a*x**(n + 1)/(n + 1)", ("n + 1 != 0",), kind="meta")
RULES = (EXP, SIN, COS, POLY2, POWER)
NO_POLY = (EXP, SIN, COS, POWER)
POLY3 = KnownRule(6, "a3*x**3 + a2*x**2 + a1*x + a0", ("a0", "a1", "a2", "a3"),
                  "a3*x**4/4 + a2*x**3/3 + a1*x**2/2 + a0*x", family="poly3")
POLY0 = KnownRule(7, "a0", ("a0",), "a0*x", family="poly0")
POINTS = (0.5, 1.3, 2.2, 3.9)


def assert_integral(result: Answer, f: str, expected: str) -> None:
    """The answer equals `expected` symbolically and the area of f on [0, x] numerically."""
    assert result.covered and result.uncovered == ()
    assert sympy.simplify(result.integral - parse(expected)) == 0
    assert result.text == canonical(result.integral)
    assert sympy.simplify(parse(result.text) - result.integral) == 0  # the text reads back
    integral, integrand = to_numpy(result.integral), to_numpy(f)
    for point in POINTS:  # an independent check: quadrature of f, not the rules
        area, _ = quad(lambda t: float(integrand(np.array(t))), 0.0, point)
        assert float(integral(np.array(point))) == pytest.approx(area, rel=1e-7, abs=1e-9)
    steps_sum = sum((parse(step.integral) for step in result.steps), sympy.Integer(0))
    assert sympy.simplify(steps_sum - result.integral) == 0


def ids(result: Answer) -> list[int]:
    return sorted(step.rule_id for step in result.steps)


def test_sin_alone_uses_the_sin_rule() -> None:
    result = answer("sin(x)", RULES)
    assert_integral(result, "sin(x)", "1 - cos(x)")
    assert ids(result) == [2] and not result.by_linearity
    assert result.steps[0].bindings == {"a0": 0, "a3": 1, "a4": 1}
    assert result.steps[0].term == "sin(x)" and result.integrand == "sin(x)"


def test_cos_with_a_negative_amplitude_and_a_constant() -> None:
    result = answer("-2*cos(3*x) + 4", RULES)
    assert_integral(result, "-2*cos(3*x) + 4", "4*x - 2*sin(3*x)/3")
    assert ids(result) == [3] and result.steps[0].bindings == {"a0": 4, "a3": 3, "a4": -2}


@pytest.mark.parametrize(("f", "expected", "bindings"), [
    ("exp(2*x)", "exp(2*x)/2 - 1/2", {"a0": 0, "a3": 2, "a4": 1}),
    ("exp(-x) + 1", "x + 1 - exp(-x)", {"a0": 1, "a3": -1, "a4": 1}),
])
def test_exp(f: str, expected: str, bindings: dict) -> None:
    result = answer(f, RULES)
    assert_integral(result, f, expected)
    assert ids(result) == [1] and result.steps[0].bindings == bindings


def test_exact_input_gives_an_exact_integral() -> None:
    result = answer("3*sin(2*x)", RULES)
    assert_integral(result, "3*sin(2*x)", "-3*cos(2*x)/2 + 3/2")
    assert not result.integral.has(sympy.Float)
    assert result.steps[0].bindings == {"a0": 0, "a3": 2, "a4": 3}


def test_floats_in_the_input_stay_floats_and_sqrt_is_a_power() -> None:
    result = answer("2*x**2.5", RULES)
    assert_integral(result, "2*x**2.5", "2*x**3.5/3.5")
    assert ids(result) == [5] and result.steps[0].bindings == {"a": 2, "n": 2.5}
    assert result.integral.has(sympy.Float)
    root = answer("sqrt(x)", RULES)
    assert_integral(root, "sqrt(x)", "2*x**(3/2)/3")
    assert not root.integral.has(sympy.Float) and root.steps[0].bindings == {"a": 1, "n": 0.5}


def test_a_family_rule_comes_before_the_meta_rule() -> None:
    result = answer("x**2", RULES)
    assert_integral(result, "x**2", "x**3/3")
    assert ids(result) == [4] and result.steps[0].bindings == {"a0": 0, "a1": 0, "a2": 1}
    assert ids(answer("x**2", NO_POLY)) == [5]


@pytest.mark.parametrize(("rules", "rule_id"), [(RULES, 5), (NO_POLY, 5), (RULES + (POLY3,), 6)])
def test_cube_with_and_without_polynomial_rules(rules: tuple, rule_id: int) -> None:
    result = answer("x**3", rules)
    assert_integral(result, "x**3", "x**4/4")
    assert ids(result) == [rule_id] and not result.by_linearity


@pytest.mark.parametrize(("rules", "rule_id", "bindings"), [
    (RULES, 4, {"a0": 4, "a1": 0, "a2": 0}),
    (NO_POLY, 5, {"a": 4, "n": 0}),            # a constant is 4*x**0
    (RULES + (POLY0,), 7, {"a0": 4}),          # the narrowest family first
])
def test_a_constant_integrand(rules: tuple, rule_id: int, bindings: dict) -> None:
    result = answer("4", rules)
    assert_integral(result, "4", "4*x")
    assert ids(result) == [rule_id] and result.steps[0].bindings == bindings


def test_a_rule_that_only_covers_by_zeroing_its_point_is_a_last_resort() -> None:
    # 4 = 0*exp(a3*x) + 4 for any a3: true, but the exp rule says nothing about 4.
    assert ids(answer("4", (EXP, POWER))) == [5]
    alone = answer("4", (EXP,))
    assert_integral(alone, "4", "4*x")
    assert ids(alone) == [1]


def test_sum_by_linearity() -> None:
    f = "3*x**2 + 2*sin(5*x)"
    result = answer(f, RULES)
    assert_integral(result, f, "x**3 - 2*cos(5*x)/5 + 2/5")
    assert result.by_linearity and len(result.steps) == 2 and ids(result) == [2, 4]
    by_term = {step.term: step for step in result.steps}
    assert set(by_term) == {"3*x**2", "2*sin(5*x)"}
    assert by_term["2*sin(5*x)"].bindings == {"a0": 0, "a3": 5, "a4": 2}


def test_an_unexpanded_polynomial_matches_whole() -> None:
    result = answer("(x + 1)**2", RULES)
    assert_integral(result, "(x + 1)**2", "x**3/3 + x**2 + x")
    assert ids(result) == [4] and not result.by_linearity
    assert result.steps[0].bindings == {"a0": 1, "a1": 2, "a2": 1}


def test_an_uncovered_function() -> None:
    result = answer("tanh(x)", RULES)
    assert not result.covered and result.integral is None and result.text is None
    assert result.uncovered == ("tanh(x)",) and result.steps == ()


def test_only_the_uncovered_term_is_listed() -> None:
    result = answer("x**2 + log(x + 1)", RULES)
    assert not result.covered and result.integral is None and result.text is None
    assert result.uncovered == ("log(x + 1)",) and result.by_linearity
    assert [(step.term, step.rule_id, step.integral) for step in result.steps] == [
        ("x**2", 4, "x**3/3")]


def test_the_power_rule_refuses_minus_one() -> None:
    result = answer("1/x", RULES)
    assert not result.covered and result.uncovered == ("1/x",)
    # Without its condition the statement is undefined at n = -1: still not used.
    unguarded = dataclasses.replace(POWER, conditions=())
    assert not answer("1/x", (unguarded,)).covered
    assert_integral(answer("3*x**2 + 1", (unguarded,)), "3*x**2 + 1", "x**3 + x")


def test_an_area_that_diverges_at_zero_is_not_answered() -> None:
    # n = -2 meets n + 1 != 0, but -3/x is no area from 0: it is not 0 at x = 0.
    result = answer("3/x**2 + 1", RULES)
    assert not result.covered and result.uncovered == ("3/x**2",)
    assert_integral(answer("3/sqrt(x)", RULES), "3/sqrt(x)", "6*sqrt(x)")  # n = -1/2 converges


def test_a_statement_that_is_not_zero_at_zero_is_not_used() -> None:
    # An antiderivative without its constant is not the integral from 0 to x.
    loose = dataclasses.replace(SIN, statement="a0*x - a4*cos(a3*x)/a3")
    assert not answer("sin(x)", (loose,)).covered
    assert answer("sin(x)", (SIN,)).covered


def test_a_violated_condition_blocks_the_rule() -> None:
    growing = dataclasses.replace(EXP, conditions=("a3 > 0",))
    assert ids(answer("exp(2*x)", (growing,))) == [1]
    refused = answer("exp(-x)", (growing,))
    assert not refused.covered and refused.uncovered == ("exp(-x)",)
    assert answer("exp(-x)", (EXP,)).covered


def test_no_rules_cover_nothing() -> None:
    result = answer("x", ())
    assert not result.covered and result.uncovered == ("x",)
    result = answer("x + sin(x)", [])
    assert sorted(result.uncovered) == ["sin(x)", "x"] and result.by_linearity


def test_a_template_without_the_constant_does_not_match_a_shifted_curve() -> None:
    rule = KnownRule(8, "a1*sin(a2*x)", ("a1", "a2"), "a1/a2 - a1*cos(a2*x)/a2", ("a2 != 0",))
    result = answer("sin(x) + 1", (rule,))
    assert not result.covered and result.uncovered == ("1",) and result.by_linearity


def test_a_wrong_binding_proposed_by_match_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # A matcher that binds every parameter to 5: only the verification stands in the way.
    def wrong(self, pattern, *args, **kwargs):
        return {w: sympy.Integer(5) for w in pattern.atoms(sympy.Wild)}

    def expensive(*args, **kwargs):
        raise AssertionError("the numeric check should have refused it first")

    monkeypatch.setattr(sympy.Basic, "match", wrong)
    monkeypatch.setattr(sympy, "simplify", expensive)
    result = answer("3*sin(2*x)", (SIN,))
    assert not result.covered and result.uncovered == ("3*sin(2*x)",)


def test_a_binding_right_only_at_the_sample_points_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 5*sin(5*x) and 3*sin(2*x) agree at x = 0: the symbolic check must catch the rest.
    monkeypatch.setattr(sympy.Basic, "match", lambda self, pattern, *args, **kwargs: {
        w: sympy.Integer(5) for w in pattern.atoms(sympy.Wild)})
    monkeypatch.setattr(apply, "_POINTS", np.array([0.0]))
    rule = KnownRule(8, "a1*sin(a2*x)", ("a1", "a2"), "a1/a2 - a1*cos(a2*x)/a2", ("a2 != 0",))
    assert not answer("3*sin(2*x)", (rule,)).covered


def test_no_calculus_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("calculus used")

    for name in ("integrate", "diff", "Integral", "Derivative"):
        monkeypatch.setattr(sympy, name, forbidden)
    monkeypatch.setattr(sympy.Expr, "diff", forbidden)
    monkeypatch.setattr(sympy.Basic, "integrate", forbidden, raising=False)
    f = "3*x**2 + 2*sin(5*x) + exp(x) + x**1.5"
    result = answer(f, RULES)
    assert result.covered and ids(result) == [1, 2, 4, 5]


def test_a_sympy_expression_is_accepted_and_other_symbols_are_refused() -> None:
    x = sympy.Symbol("x")
    assert_integral(answer(sympy.cos(x), RULES), "cos(x)", "sin(x)")
    with pytest.raises(ExprError, match="only x"):
        answer(sympy.Symbol("a3") * x, RULES)


@pytest.mark.parametrize("text", ["a3*x", "__import__('os')", "x +", "foo(x)"])
def test_parser_errors_propagate(text: str) -> None:
    with pytest.raises(ExprError):
        answer(text, RULES)


def test_a_malformed_rule_is_refused_with_its_id() -> None:
    with pytest.raises(ExprError, match="rule 9"):
        answer("x", (KnownRule(9, "a*x", ("a",), "a*x**2/2", ("a ~ 0",)),))
    with pytest.raises(ExprError, match="rule 10"):
        answer("x", (KnownRule(10, "a*x", ("a",), "a*x**2/2", kind="guess"),))


def test_results_are_frozen() -> None:
    result = answer("sin(x)", RULES)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = "0"  # type: ignore[misc]
    assert isinstance(result.steps[0], Step) and hash(result) == hash(answer("sin(x)", RULES))
