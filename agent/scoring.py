"""Benchmark scoring only: exact integrals from a CAS, used to judge what the instruments found.

The discovery path never imports this module (a test enforces it): the scientist is not told
calculus. Benchmarks label every verdict computed from here as "truth: CAS".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy as sp

from eudoxus.tools.families import Family

_T = sp.Symbol("t")
X = sp.Symbol("x")


_GENERAL: dict[str, sp.Expr | None] = {}


def _template_integral(family: Family) -> sp.Expr | None:
    """∫₀ˣ template dt with symbolic parameters (generic case), or None if not elementary."""
    if family.template_text not in _GENERAL:
        generic = {sp.Symbol(name): sp.Symbol(name, real=True, nonzero=True)
                   for name in family.parameters}
        template = family.template.xreplace(generic).subs(X, _T)
        integral = sp.integrate(template, (_T, 0, X), conds="none")
        _GENERAL[family.template_text] = None if integral.has(sp.Integral) else integral
    return _GENERAL[family.template_text]


def exact_integral(family: Family, values: Sequence[float] | Mapping[str, float]) -> sp.Expr | None:
    """The exact area function of one member of a family, with its coefficients as rationals."""
    general = _template_integral(family)
    if general is None:
        return None
    named = family.values_dict(values)
    exact = {sp.Symbol(name, real=True, nonzero=True): sp.Rational(repr(float(v)))
             for name, v in named.items()}
    result = general.xreplace(exact)
    return None if result.has(sp.nan, sp.zoo, sp.oo) else result


def general_integral(template: sp.Expr, parameters: Sequence[str]) -> sp.Expr | None:
    """∫₀ˣ template dt in plain parameter symbols (generic case: nonzero parameters), or None."""
    generic = {sp.Symbol(name): sp.Symbol(name, real=True, nonzero=True) for name in parameters}
    integral = sp.integrate(template.xreplace(generic).subs(X, _T), (_T, 0, X), conds="none")
    if integral.has(sp.Integral):
        return None
    return integral.xreplace({v: k for k, v in generic.items()})
