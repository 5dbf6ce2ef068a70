"""Rules about rules: read power-law data off accepted polynomial rules, state the general
power rule, and apply it to a family it covers.

Everything here reads and rewrites the *statements* of rules the scientist already accepted
(structure: which parameter multiplies which power of x). No calculus is involved: the power
rule itself comes from regressing the slopes (`tools.rules.search_series`), and whatever this
module deduces is only a hypothesis until measured areas confirm it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

X = sympy.Symbol("x")
A, N = sympy.symbols("a n")
META_INTEGRAND = A * X**N  # the integrand a*x**n that the general power rule covers


@dataclass(frozen=True)
class PowerPoint:
    """One term of an accepted rule: a·x**k in the integrand became slope·a·x**power."""

    k: int
    slope: float
    power: float
    parameter: str
    rule_id: int | None = None


def monomial_terms(template: sympy.Expr) -> dict[sympy.Symbol, int] | None:
    """{parameter: k} when the template is a sum of parameter·x**k terms (k a whole number ≥ 0),
    else None — only such families are covered by a power law."""
    terms: dict[sympy.Symbol, int] = {}
    for term in sympy.Add.make_args(sympy.expand(template)):
        coefficient, rest = term.as_independent(X, as_Add=False)
        if rest == 1:
            power = 0
        elif rest == X:
            power = 1
        elif rest.is_Pow and rest.base == X and rest.exp.is_Integer and rest.exp > 0:
            power = int(rest.exp)
        else:
            return None
        if not coefficient.is_Symbol or coefficient in terms:
            return None
        terms[coefficient] = power
    return terms or None


def power_points(template: sympy.Expr, statement: sympy.Expr,
                 rule_id: int | None = None) -> list[PowerPoint]:
    """The (k, slope, power) data of an accepted polynomial rule, one point per parameter."""
    terms = monomial_terms(template)
    if terms is None:
        return []
    points: list[PowerPoint] = []
    for term in sympy.Add.make_args(sympy.expand(statement)):
        coefficient, rest = term.as_independent(X, as_Add=False)
        for parameter, k in terms.items():
            slope = coefficient / parameter
            if slope.free_symbols or not slope.is_number:
                continue
            if rest == X:
                power = 1.0
            elif rest.is_Pow and rest.base == X and rest.exp.is_number:
                power = float(rest.exp)
            else:
                continue
            points.append(PowerPoint(k, float(slope), power, str(parameter), rule_id))
    return points


def meta_statement(slope_law: sympy.Expr, power_law: sympy.Expr,
                   variable: sympy.Symbol = N) -> sympy.Expr:
    """The integral a·slope(n)·x**power(n) of a·x**n, in the symbols a, n and x."""
    return A * slope_law.subs(variable, N) * X ** power_law.subs(variable, N)


def deduce(template: sympy.Expr, statement: sympy.Expr) -> sympy.Expr | None:
    """Apply the power law term by term to a polynomial-in-x family (None if not covered)."""
    terms = monomial_terms(template)
    if terms is None:
        return None
    return sympy.Add(*(statement.subs({A: parameter, N: k}) for parameter, k in terms.items()))
