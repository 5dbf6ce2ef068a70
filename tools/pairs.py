"""Training pairs for the intuition, in the paper's format, from the scientist's own knowledge.

A pair is (f, g): the text of a function and of its integral from 0 to x, every coefficient
rounded to 2 decimals, e.g. ``1.40+3.55*x`` -> ``1.40*x+1.78*x**2``. The text is a sum of terms
``coef*basis`` ordered by the basis (constant, x, x**2, ..., then functions), coefficients always
printed with exactly two decimals so that digit positions line up for the model.

Labels come from two sources only, both the scientist's own:

- **rules**: an accepted rule (integrand template -> integral template) applied to freshly
  sampled parameters. Coefficients are evaluated exactly (fractions of the 2-decimal parameters)
  and rounded half away from zero, as `tools.expr.round_coefficients` does;
- **fits**: accepted symbolic-regression fits of measured areas (observations in the store).

Nothing here integrates: a rule is only instantiated.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy
from sympy.printing.str import StrPrinter

from eudoxus.tools.context import ToolContext
from eudoxus.tools.expr import ExprError, parse
from eudoxus.tools.families import Family
from eudoxus.tools.sample import sample_random

__all__ = ["CompiledRule", "Pair", "compile_rule", "fit_pair", "integrand_text",
           "is_polynomial_family",
           "number_text", "pairs_from_rule", "paper_form", "paper_text"]

X = sympy.Symbol("x")
DECIMALS = 2
_CHECK_GRID = np.linspace(0.0, 4.0, 65)  # enough to reject members that blow up on [0, 4]


@dataclass(frozen=True)
class Pair:
    """One training example: function text, integral text, family and where the label came from."""

    source: str
    target: str
    family: str
    origin: str  # "rule #<id>" or "fit of sample #<id>"


def is_polynomial_family(name: str) -> bool:
    """The paper's split: poly0..poly6 are polynomials, every other family is not."""
    return name.startswith("poly")


def _round(value: Fraction) -> int:
    """Hundredths, half away from zero."""
    units = math.floor(abs(value) * 10**DECIMALS + Fraction(1, 2))
    return units if value >= 0 else -units


def number_text(value: Fraction | float) -> str:
    """A number with exactly two decimals and a leading '-' when negative."""
    if not isinstance(value, Fraction):
        value = Fraction(repr(float(value)))
    units = _round(value)
    sign = "-" if units < 0 else ""
    return f"{sign}{abs(units) // 100}.{abs(units) % 100:02d}"


class _Printer(StrPrinter):
    """sympy's str printer without spaces' effect on numbers: floats with two decimals."""

    def _print_Float(self, expr: sympy.Float) -> str:
        return number_text(float(expr))


_PRINTER = _Printer({"order": "lex"})


def _print(expr: sympy.Expr) -> str:
    """Compact text: the paper's format has no spaces."""
    return _PRINTER.doprint(expr).replace(" ", "")


def _basis_key(text: str) -> tuple[int, str]:
    """Order of terms: the constant, then powers of x by degree, then functions by their text."""
    if not text:
        return (0, "")
    if text == "x":
        return (1, "")
    if text.startswith("x**") and text[3:].isdigit():
        return (int(text[3:]), "")
    return (1000, "".join("#" if c.isdigit() else c for c in text))


def paper_text(terms: Iterable[tuple[Fraction, str]]) -> str:
    """The paper-format text of a sum of (coefficient, basis text) terms; zero terms vanish."""
    printed = sorted((_basis_key(text), units, text) for coefficient, text in terms
                     if (units := _round(coefficient)) != 0)
    out = []
    for i, (_, units, text) in enumerate(printed):
        number = number_text(Fraction(units, 100))
        if i and units > 0:
            number = "+" + number
        out.append(f"{number}*{text}" if text else number)
    return "".join(out) or "0.00"


Values = Mapping[str, Fraction]
Law = Callable[[Values], Fraction]
Basis = Callable[[Values], tuple[Fraction, str]]


def _compile_law(expr: sympy.Expr) -> Law:
    """A coefficient law as a function evaluated exactly on fractions (pi, sqrt... as floats)."""
    if expr.is_Symbol:
        name = expr.name
        return lambda values: values[name]
    if expr.is_Rational:
        constant = Fraction(int(expr.p), int(expr.q))
        return lambda values: constant
    parts = [_compile_law(a) for a in expr.args]
    if expr.is_Add:
        return lambda values: sum((p(values) for p in parts), Fraction(0))
    if expr.is_Mul:
        return lambda values: math.prod((p(values) for p in parts), start=Fraction(1))
    if expr.is_Pow and expr.exp.is_Integer:
        base, exponent = parts[0], int(expr.exp)
        return lambda values: base(values) ** exponent

    def numeric(values: Values) -> Fraction:
        number = expr.xreplace({sympy.Symbol(k): sympy.Rational(v.numerator, v.denominator)
                                for k, v in values.items()}).evalf(30)
        return Fraction(str(number))
    return numeric


_ODD = (sympy.sin, sympy.sinh, sympy.tanh, sympy.atan)
_EVEN = (sympy.cos, sympy.cosh)


def _compile_basis(basis: sympy.Expr) -> Basis:
    """A basis as a function of the parameters: (sign factor, text with the values put in)."""
    if not basis.free_symbols - {X}:
        text = "" if basis == 1 else _print(basis)
        return lambda values: (Fraction(1), text)
    inner = basis.args[0] if len(basis.args) == 1 else None
    if (inner is not None and isinstance(basis, (*_ODD, *_EVEN, sympy.exp))
            and inner.is_Mul and len(inner.args) == 2 and X in inner.args):
        (rate,) = (a for a in inner.args if a != X)
        if rate.is_Symbol:  # f(a*x): the common case, done with text alone
            head, name, odd = basis.func.__name__, rate.name, isinstance(basis, _ODD)

            def simple(values: Values) -> tuple[Fraction, str]:
                value = values[name]
                if value < 0 and not isinstance(basis, sympy.exp):
                    # sympy's convention, so fits and rules read alike: sin(-u) -> -sin(u).
                    return Fraction(-1 if odd else 1), f"{head}({number_text(-value)}*x)"
                return Fraction(1), f"{head}({number_text(value)}*x)"
            return simple

    def general(values: Values) -> tuple[Fraction, str]:
        # Put the values in and let sympy normalise; a sign it pulls out goes on the coefficient.
        put = basis.xreplace({sympy.Symbol(k): sympy.Float(number_text(v), DECIMALS + 2)
                              for k, v in values.items()})
        factor, rest = put.as_coeff_Mul()
        return Fraction(str(factor)), _print(rest)
    return general


def _terms(expr: sympy.Expr) -> list[tuple[sympy.Expr, sympy.Expr]]:
    """(coefficient in the parameters, basis in x) pairs, one per distinct basis."""
    grouped: dict[sympy.Expr, sympy.Expr] = {}
    for term in sympy.Add.make_args(sympy.expand(expr, power_exp=False, log=False)):
        coefficient, basis = term.as_independent(X, as_Add=False)
        grouped[basis] = grouped.get(basis, sympy.Integer(0)) + coefficient
    return [(law, basis) for basis, law in grouped.items()]


@functools.lru_cache(maxsize=256)
def _compile(expr: sympy.Expr) -> tuple[tuple[Law, Basis], ...]:
    return tuple((_compile_law(law), _compile_basis(basis)) for law, basis in _terms(expr))


def _instantiate(terms: Sequence[tuple[Law, Basis]], values: Values) -> str:
    out = []
    for law, basis in terms:
        sign, text = basis(values)
        out.append((law(values) * sign, text))
    return paper_text(out)


def _values(family: Family, params: Sequence[float]) -> dict[str, Fraction]:
    return {name: Fraction(_round(Fraction(repr(float(v)))), 100)
            for name, v in zip(family.parameters, params, strict=True)}


def integrand_text(family: Family, params: Sequence[float]) -> str:
    """The paper-format text of one member of a family (the model's input)."""
    return _instantiate(_compile(family.template), _values(family, params))


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to label many functions: coefficient laws and bases of f and of its integral."""

    rule_id: int | None
    family: Family
    integrand: tuple[tuple[Law, Basis], ...]
    integral: tuple[tuple[Law, Basis], ...]

    def pair_texts(self, params: Sequence[float]) -> tuple[str, str]:
        """The (f, g) texts for one parameter vector of the family."""
        values = _values(self.family, params)
        return _instantiate(self.integrand, values), _instantiate(self.integral, values)


def compile_rule(family: Family, integral: str, rule_id: int | None = None) -> CompiledRule:
    """Prepare an accepted rule of `family` (its integral template) for labelling."""
    statement = parse(integral, symbols=("x", *family.parameters), exact=True)
    return CompiledRule(rule_id, family, _compile(family.template), _compile(statement))


def pairs_from_rule(rule: CompiledRule, n: int, ctx: ToolContext) -> list[Pair]:
    """n fresh members of the rule's family (the family's own sampler), labelled by the rule."""
    batch = sample_random(rule.family, n, ctx, fill=True, x=_CHECK_GRID)
    params = batch.accepted_params[:n]
    origin = f"rule #{rule.rule_id}" if rule.rule_id is not None else "rule"
    return [Pair(*rule.pair_texts(row), rule.family.name, origin) for row in params]


def _float_rates(basis: sympy.Expr) -> sympy.Expr:
    """sin(2*x) and sin(x) as the training texts have them: sin(2.00*x), sin(1.00*x)."""
    def fix(arg: sympy.Expr) -> sympy.Expr:
        rate, rest = arg.as_coeff_Mul()
        return sympy.Mul(sympy.Float(float(rate)), X, evaluate=False) if rest == X else arg
    return basis.replace(lambda e: isinstance(e, sympy.Function) and len(e.args) == 1,
                         lambda e: e.func(fix(e.args[0]), evaluate=False))


def paper_form(expr: sympy.Expr) -> str | None:
    """The paper-format text of a closed form in x alone; None if a term has a free parameter."""
    terms = []
    for law, basis in _terms(expr):
        if not law.is_number:
            return None
        factor, basis = basis.as_coeff_Mul()
        terms.append((Fraction(repr(float(law * factor))),
                      "" if basis == 1 else _print(_float_rates(basis))))
    return paper_text(terms)


def fit_pair(family: Family, params: Sequence[float], expression: str,
             origin: str) -> Pair | None:
    """A pair from one accepted regression fit; None if its text cannot be put in paper form."""
    try:
        target = paper_form(parse(expression))
    except (ExprError, TypeError, ValueError):
        return None
    if target is None:
        return None
    return Pair(integrand_text(family, params), target, family.name, origin)
