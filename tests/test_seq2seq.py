"""The retrain tool: pairs only from the scientist's own rules and fits, guesses judged by areas."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest

from eudoxus.tools.expr import parse
from eudoxus.tools.families import get_family
from eudoxus.tools.pairs import fit_pair, paper_form, paper_text, settle
from eudoxus.tools.seq2seq import (
    DataSpec,
    FitRecord,
    RuleRecord,
    build_dataset,
    check_guess,
    rounding_allowance,
    settled,
    split_of,
)

RULES = [RuleRecord("poly1", "a0*x + a1*x**2/2", 2),
         RuleRecord("poly2", "a0*x + a1*x**2/2 + a2*x**3/3", 3),
         RuleRecord("sin", "a0*x - a4*cos(a3*x)/a3 + a4/a3", 10)]


def test_rules_label_fresh_functions_in_the_papers_format() -> None:
    spec = DataSpec(train=300, valid=40, test_per_split=30, seed=1)
    data = build_dataset(RULES, (), spec)
    assert len(data.test) == 60 and len(data.valid) == 40 and len(data.train) == 300
    assert {split_of(p.family) for p in data.test} == {"polynomial", "non-polynomial"}
    assert sum(split_of(p.family) == "non-polynomial" for p in data.train) == 150
    held = {p.source for p in data.test} | {p.source for p in data.valid}
    assert not held & {p.source for p in data.train}
    sin = next(p for p in data.train if p.family == "sin")
    assert sin.origin == "rule #10" and "cos(" in sin.target and "sin(" in sin.source
    # Every coefficient has exactly two decimals, the way the paper wrote its pairs.
    assert all(re.fullmatch(r"-?\d+\.\d\d", n) for p in data.train[:50]
               for n in re.findall(r"-?\d+\.\d+", p.target))


def test_labels_are_the_rule_instantiated_exactly() -> None:
    data = build_dataset([RuleRecord("poly1", "a0*x + a1*x**2/2")], (),
                         DataSpec(train=50, valid=0, test_per_split=5))
    for pair in data.train:
        terms = {"": Fraction(0), "x": Fraction(0)}
        for number, basis in re.findall(r"([+-]?\d+\.\d\d)(\*x)?", pair.source):
            terms["x" if basis else ""] = Fraction(number)
        expected = paper_text([(terms[""], "x"), (terms["x"] / 2, "x**2")])
        assert pair.target == expected


PAPER_RULES = [RuleRecord("poly0", "a0*x"), RuleRecord("poly3", "a0*x + a1*x**2/2 + a2*x**3/3 "
                                                    "+ a3*x**4/4"),
               RuleRecord("exp", "a0*x + a4*exp(a3*x)/a3 - a4/a3"),
               RuleRecord("sin", "a0*x - a4*cos(a3*x)/a3 + a4/a3"),
               RuleRecord("cos", "a0*x + a4*sin(a3*x)/a3")]


def test_symbolic_targets_work_out_to_the_paper_labels_exactly() -> None:
    spec = DataSpec(train=1000, valid=0, test_per_split=5, seed=2)
    decimal = build_dataset(PAPER_RULES, (), spec)
    symbolic = build_dataset(PAPER_RULES, (), DataSpec(**{**spec.to_dict(),
                                                          "target": "symbolic"}))
    assert [p.source for p in symbolic.train] == [p.source for p in decimal.train]
    # 4.76/0.32 = 14.875 exactly: worked out in floats it would round to 14.87, not 14.88
    assert [settle(p.target) for p in symbolic.train] == [p.target for p in decimal.train]
    exp = next(p for p in symbolic.train if p.family == "exp")
    a3, a4 = re.fullmatch(r"(-?[\d.]+)\+?(-?[\d.]+)\*exp\((-?[\d.]+)\*x\)",
                          exp.source).group(2, 3)[::-1]
    assert f"{abs(float(a4)):.2f}/{abs(float(a3)):.2f}*exp({a3}*x)" in exp.target
    assert [p.target for p in symbolic.test] == [p.target for p in decimal.test]  # scored as
    assert "/" not in "".join(p.target for p in symbolic.test)  # the paper wrote them


def test_a_symbolic_output_is_settled_before_it_is_scored() -> None:
    assert settled("1.40*x+3.55/2*x**2") == "1.40*x+1.78*x**2"
    assert settled("-2.07/0.27+2.07/0.27*exp(0.27*x)") == "-7.67+7.67*exp(0.27*x)"
    assert settled("2.07/(0.27") == "2.07/(0.27"  # unparsable: kept, and so judged wrong
    with pytest.raises(ValueError, match="unknown target format"):
        build_dataset(RULES, (), DataSpec(train=10, target="roman"))


def test_same_seed_same_data_and_fits_join_training() -> None:
    fits = [FitRecord("poly1", (1.5, -2.25), "1.5*x - 1.125*x**2", 7)]
    spec = DataSpec(train=40, valid=10, test_per_split=10, seed=4)
    first, second = build_dataset(RULES, fits, spec), build_dataset(RULES, fits, spec)
    assert [p.target for p in first.train] == [p.target for p in second.train]
    from_fit = [p for p in first.train if p.origin == "fit of observation #7"]
    assert [(p.source, p.target) for p in from_fit] == [("1.50-2.25*x", "1.50*x-1.13*x**2")]
    assert first.summary()["origins"] == {"rules": 39, "fits": 1}


def test_no_rules_no_data() -> None:
    with pytest.raises(ValueError, match="no accepted rules"):
        build_dataset([], (), DataSpec(train=10))


def test_fit_with_a_free_parameter_is_not_a_pair() -> None:
    assert fit_pair(get_family("poly1"), (1.0, 2.0), "a*x", "fit") is None


def test_user_functions_take_the_training_format() -> None:
    assert paper_form(parse("3*sin(2*x) + x**2")) == "1.00*x**2+3.00*sin(2.00*x)"
    assert paper_form(parse("cos(x) - 1.5")) == "-1.50+1.00*cos(1.00*x)"
    assert paper_form(parse("a*x", symbols=("x", "a"))) is None


def test_a_right_guess_is_accepted_by_the_measured_area() -> None:
    verdict = check_guess("2.00+3.00*cos(2.00*x)", "2.00*x+1.50*sin(2.00*x)")
    assert verdict.accepted and verdict.error < 1e-5
    assert verdict.measured == pytest.approx(8 + 1.5 * math.sin(8), rel=1e-6)


def test_a_right_answer_in_the_papers_format_is_as_exact_as_its_rounding() -> None:
    # x**3/3 can only be written 0.33*x**3 with two decimals: that is not a wrong answer.
    verdict = check_guess("1.50-4.00*x+1.00*x**2", "1.50*x-2.00*x**2+0.33*x**3")
    assert verdict.accepted and verdict.error > 0.01  # beyond even "approximately correct"


def test_a_wrong_guess_is_refuted_by_the_instruments() -> None:
    # What a model might say: the right form with the wrong sign, a coefficient off in its
    # last digit, a slightly wrong rate.
    wrong = check_guess("2.00+3.00*cos(2.00*x)", "2.00*x-1.50*sin(2.00*x)")
    near = check_guess("1.00+3.00*sin(2.00*x)", "1.53+1.00*x-1.53*cos(2.00*x)")
    off_digit = check_guess("1.00+2.00*x", "1.00*x+1.02*x**2")
    rate = check_guess("2.50*exp(0.50*x)", "-5.00+5.00*exp(0.51*x)")
    for verdict in (wrong, near, off_digit, rate):
        assert not verdict.accepted and "refuted by the measured area" in verdict.reason
    assert near.error < 0.01  # "approximately correct" in the paper's sense, and still refuted
    unreadable = check_guess("1.00+2.00*x", "1.00*x+")
    assert not unreadable.accepted and "not an expression" in unreadable.reason


def test_rounding_allowance_grows_with_the_terms_a_guess_rounds() -> None:
    x = np.linspace(0, 4, 401)
    g = x**3 / 3
    assert rounding_allowance(parse("0.33*x**3"), x, g) == pytest.approx(
        0.005 * np.mean(x**3) / np.max(g))
    assert rounding_allowance(parse("0.33*x**3 + 1.00*x"), x, g) > rounding_allowance(
        parse("0.33*x**3"), x, g)
