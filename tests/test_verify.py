"""Falsification, fresh and discriminating designs, the audit flag, and the power-law helpers."""

from __future__ import annotations

import numpy as np
import sympy

from eudoxus.tools import generalize, verify
from eudoxus.tools.expr import parse
from eudoxus.tools.families import get_family
from eudoxus.tools.integrate import integrate

EXP = get_family("exp")
NAMES = EXP.parameters  # a0, a3, a4


def _measure(family, params):
    x = family.domain.grid()
    areas = integrate(lambda t: family.evaluate(params, t), x)
    return x, areas


def _statement(text: str, family=EXP) -> sympy.Expr:
    return parse(text, symbols=["x", *family.parameters])


def test_fresh_points_are_valid_and_half_extrapolated() -> None:
    params, outside = verify.fresh_points(EXP, 40, np.random.default_rng(1))
    lows = np.array([EXP.ranges[p][0] for p in NAMES])
    highs = np.array([EXP.ranges[p][1] for p in NAMES])
    beyond = np.any((params < lows) | (params > highs), axis=1)
    assert len(params) == 40 and outside.sum() == 20
    assert np.array_equal(beyond, outside)
    assert np.all(np.abs(params[:, 1]) >= 0.1) and np.all(np.abs(params[:, 2]) >= 0.1)


def test_the_true_rule_survives_and_a_near_miss_is_refuted() -> None:
    params, outside = verify.fresh_points(EXP, 24, np.random.default_rng(2))
    x, areas = _measure(EXP, params)
    true = verify.falsify(_statement("a0*x + a4*exp(a3*x)/a3 - a4/a3"), NAMES, params, x,
                          areas.g, areas.error, extrapolated=outside)
    near = verify.falsify(_statement("a0*x + 0.99*a4*exp(a3*x)/a3 - 0.99*a4/a3"), NAMES,
                          params, x, areas.g, areas.error, extrapolated=outside)
    assert true.survived and true.n_passed == 24 and true.max_error < 1e-5
    assert not near.survived and near.n_passed == 0
    assert "24/24 fresh functions predicted (12 outside" in true.reason()


def test_pass_fraction_tolerates_one_miss_in_twenty_four() -> None:
    params, _ = verify.fresh_points(EXP, 24, np.random.default_rng(3))
    x, areas = _measure(EXP, params)
    g = areas.g.copy()
    g[0] *= 1.5  # one corrupted measurement
    verdict = verify.falsify(_statement("a0*x + a4*exp(a3*x)/a3 - a4/a3"), NAMES, params, x,
                             g, areas.error)
    assert verdict.n_passed == 23 and verdict.survived
    assert not verify.falsify(_statement("a0*x + a4*exp(a3*x)/a3 - a4/a3"), NAMES, params, x,
                              g, areas.error, pass_fraction=1.0).survived


def test_disagreement_design_picks_where_rivals_differ() -> None:
    sin = get_family("sin")
    rivals = [_statement("a0*x - a4*cos(a3*x)/a3 + a4/a3", sin),
              _statement("a0*x - a4*cos(a3*x)/abs(a3) + a4/abs(a3)", sin)]
    pool, _ = verify.fresh_points(sin, 60, np.random.default_rng(4))
    picked = verify.most_disagreeing(rivals, sin.parameters, pool, 10, sin.domain.grid())
    assert np.all(pool[picked, 1] < 0)  # only a negative frequency tells the two apart


def test_audit_is_a_flag_and_catches_a_wrong_rule() -> None:
    ok, detail = verify.audit(EXP.template, _statement("a0*x + a4*exp(a3*x)/a3 - a4/a3"))
    bad, bad_detail = verify.audit(EXP.template, _statement("a0*x + a4*exp(a3*x)/a3"))
    assert ok and "outside knowledge" in detail
    assert not bad and "value at 0" in bad_detail


def test_power_points_read_slopes_off_a_polynomial_rule() -> None:
    poly2 = get_family("poly2")
    statement = _statement("a0*x + a1*x**2/2 + a2*x**3/3", poly2)
    points = {(p.k, p.slope, p.power) for p in generalize.power_points(poly2.template,
                                                                     statement)}
    assert points == {(0, 1.0, 1.0), (1, 0.5, 2.0), (2, 1 / 3, 3.0)}
    assert generalize.monomial_terms(EXP.template) is None


def test_power_law_applied_to_a_family_term_by_term() -> None:
    n = generalize.N
    law = generalize.meta_statement(1 / (n + 1), n + 1)
    assert sympy.simplify(law - generalize.A * generalize.X**(n + 1) / (n + 1)) == 0
    poly3 = get_family("poly3")
    deduced = generalize.deduce(poly3.template, law)
    expected = _statement("a0*x + a1*x**2/2 + a2*x**3/3 + a3*x**4/4", poly3)
    assert sympy.expand(deduced - expected) == 0
    assert generalize.deduce(EXP.template, law) is None
