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

A rule can also label in the **symbolic** target format: each coefficient written as its law
with the function's own coefficients put in, left unevaluated (``2.07*exp(0.27*x)`` ->
``2.07/0.27*exp(0.27*x)-2.07/0.27``), so a model copies numbers into the rule's shape instead of
dividing them. Evaluated and rounded to 2 decimals it is the paper-format text; that is how it
is scored.
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

__all__ = ["TARGET_FORMATS", "CompiledRule", "Pair", "compile_rule", "fit_pair",
           "integrand_text",
           "is_polynomial_family",
           "number_text", "pairs_from_rule", "paper_form", "paper_text", "settle"]

X = sympy.Symbol("x")
DECIMALS = 2
TARGET_FORMATS = ("decimal", "symbolic")  # decimal: the paper's format
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


Spelled = Callable[[Values], str | None]  # |coefficient| as unevaluated text, or None


def _spell_law(law: sympy.Expr) -> Spelled:
    """A monomial law k*a**e*b**-f spelled with the values' magnitudes, e.g. 2.07/0.27; other
    laws (sums, functions) return None and are written as decimals."""
    k, rest = law.as_coeff_Mul()
    powers = rest.as_powers_dict() if rest != 1 else {}
    if not k.is_Rational or not all(base.is_Symbol and exp.is_Integer
                                    for base, exp in powers.items()):
        return lambda values: None
    up = [(b.name, int(e)) for b, e in powers.items() if e > 0]
    down = [(b.name, -int(e)) for b, e in powers.items() if e < 0]
    p, q = abs(int(k.p)), int(k.q)

    def factor(name: str, exponent: int, values: Values) -> str:
        text = number_text(abs(values[name]))
        return text if exponent == 1 else f"{text}**{exponent}"

    def spell(values: Values) -> str | None:
        if any(values[name] == 0 for name, _ in down):
            return None
        numerator = ([str(p)] if p != 1 or not up else []) + [factor(n, e, values)
                                                               for n, e in up]
        denominator = ([str(q)] if q != 1 else []) + [factor(n, e, values) for n, e in down]
        return "*".join(numerator) + "".join(f"/{d}" for d in denominator)
    return spell


@functools.lru_cache(maxsize=256)
def _compile_spelled(expr: sympy.Expr) -> tuple[tuple[Law, Basis, Spelled], ...]:
    return tuple((_compile_law(law), _compile_basis(basis), _spell_law(law))
                 for law, basis in _terms(expr))


def _instantiate_symbolic(terms: Sequence[tuple[Law, Basis, Spelled]], values: Values) -> str:
    """The integral with each coefficient spelled as its law (decimals where it cannot be)."""
    printed = []
    for law, basis, spell in terms:
        sign, text = basis(values)
        value = law(values) * sign
        units = _round(value)
        if units == 0:  # as in the paper format: a term that rounds to nothing is left out
            continue
        spelled = spell(values) or number_text(abs(value))
        printed.append((_basis_key(text), value < 0, spelled, text))
    out = []
    for i, (_, negative, spelled, text) in enumerate(sorted(printed)):
        sign = "-" if negative else ("+" if i else "")
        out.append(f"{sign}{spelled}*{text}" if text else f"{sign}{spelled}")
    return "".join(out) or "0.00"


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
    spelled: tuple[tuple[Law, Basis, Spelled], ...] = ()

    def pair_texts(self, params: Sequence[float], target: str = "decimal") -> tuple[str, str]:
        """The (f, g) texts for one parameter vector of the family, g in the target format."""
        values = _values(self.family, params)
        g = (_instantiate_symbolic(self.spelled, values) if target == "symbolic" else
             _instantiate(self.integral, values))
        return _instantiate(self.integrand, values), g


def compile_rule(family: Family, integral: str, rule_id: int | None = None) -> CompiledRule:
    """Prepare an accepted rule of `family` (its integral template) for labelling."""
    statement = parse(integral, symbols=("x", *family.parameters), exact=True)
    return CompiledRule(rule_id, family, _compile(family.template), _compile(statement),
                        _compile_spelled(statement))


def pairs_from_rule(rule: CompiledRule, n: int, ctx: ToolContext,
                    target: str = "decimal") -> list[Pair]:
    """n fresh members of the rule's family (the family's own sampler), labelled by the rule."""
    if target not in TARGET_FORMATS:
        raise ValueError(f"unknown target format {target!r}; choose from "
                         f"{', '.join(TARGET_FORMATS)}")
    batch = sample_random(rule.family, n, ctx, fill=True, x=_CHECK_GRID)
    params = batch.accepted_params[:n]
    origin = f"rule #{rule.rule_id}" if rule.rule_id is not None else "rule"
    return [Pair(*rule.pair_texts(row, target), rule.family.name, origin) for row in params]


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
        coefficient = law * factor
        terms.append((Fraction(int(coefficient.p), int(coefficient.q)) if coefficient.is_Rational
                      else Fraction(repr(float(coefficient))),
                      "" if basis == 1 else _print(_float_rates(basis))))
    return paper_text(terms)


def settle(text: str) -> str:
    """A symbolic-format text worked out exactly and rounded: the paper-format text it means.

    The arithmetic (2.07/0.27 -> 7.67) is done on exact fractions, so a coefficient that lies
    on a rounding boundary rounds as the rule's own label does. Raises ExprError if the text
    does not parse, ValueError if it is not a closed form in x alone.
    """
    settled = paper_form(parse(text, symbols=["x"], exact=True))
    if settled is None:
        raise ValueError(f"not a closed form in x: {text!r}")
    return settled


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
