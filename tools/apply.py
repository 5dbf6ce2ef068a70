"""Answer an integral from accepted rules alone: match, instantiate, sum, and say which rule.

A `KnownRule` is an accepted rule as plain data: a parametric integrand template and its integral
from 0 to x in the same parameter names. `answer` finds numeric bindings of a rule's parameters
that turn the template into the integrand f (sympy's pattern matching proposes them), checks them
and substitutes them into the rule's statement. It tries f whole first, then, by linearity, each
additive term of f on its own. Nothing here integrates or differentiates: the scientist only
*applies* rules it discovered, and every binding is verified before it is trusted, because
sympy's `match` can propose bindings that do not reproduce f.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy

from eudoxus.tools.expr import (
    MAX_EXPAND_TERMS,
    ExprError,
    _expanded_terms,
    canonical,
    parse,
    to_numpy,
)
from eudoxus.tools.generalize import monomial_terms

__all__ = ["KINDS", "Answer", "KnownRule", "Step", "answer"]

KINDS = ("coefficient", "meta")  # the order in which rules are tried
X = sympy.Symbol("x")
# Points of (0, 4] where a binding is checked numerically; 0 itself is a pole of 1/x or log(x).
_POINTS = np.array([0.37, 1.21, 2.06, 2.93, 3.81])
MAX_PINS = 3
_SPECIALS = (None, 0, 1)  # None: let sympy match the parameter; 0, 1: pin it (match is fragile)
_CONDITION = re.compile(r"^(.+?)(!=|>=|<=|>|<)(.+)$")
_TESTS = {"!=": lambda v: v.is_zero is False, ">": lambda v: v.is_positive is True,
          ">=": lambda v: v.is_nonnegative is True, "<": lambda v: v.is_negative is True,
          "<=": lambda v: v.is_nonpositive is True}


@dataclass(frozen=True)
class KnownRule:
    """An accepted rule as plain data: what integrand template it covers and its integral."""

    rule_id: int
    integrand: str  # template in the safe-parser syntax, in x and `parameters`
    parameters: tuple[str, ...]
    statement: str  # the integral from 0 to x, in the same names
    conditions: tuple[str, ...] = ()  # each "EXPR != 0", "EXPR > 0"...; a binding must meet all
    kind: str = "coefficient"  # "coefficient" (a family rule) or "meta"
    family: str | None = None


@dataclass(frozen=True)
class Step:
    """One term of f answered by one rule, with the parameter values that instantiate it."""

    term: str  # canonical text of the term of f
    rule_id: int
    bindings: dict[str, int | float] = field(hash=False)  # in the rule's parameter order
    integral: str  # canonical text of this term's integral


@dataclass(frozen=True)
class Answer:
    """∫₀ˣ f from the rules, or the terms no accepted rule covers."""

    integrand: str
    integral: sympy.Expr | None
    text: str | None
    steps: tuple[Step, ...]  # with terms uncovered, the steps of the terms that were covered
    uncovered: tuple[str, ...]  # terms of f that no rule covers (empty when answered)
    by_linearity: bool  # True when f was split into terms, each answered separately

    @property
    def covered(self) -> bool:
        """Whether the rules answered the whole integral."""
        return self.integral is not None


@dataclass(frozen=True)
class _Compiled:
    """A rule parsed once: template and statement in Symbols, conditions as (expr, test)."""

    rule: KnownRule
    symbols: tuple[sympy.Symbol, ...]
    template: sympy.Expr
    statement: sympy.Expr
    conditions: tuple[tuple[sympy.Expr, str], ...]


@functools.lru_cache(maxsize=256)
def _compile(rule: KnownRule) -> _Compiled:
    """Parse a rule, refusing one the matcher could not use safely, with its id in the reason."""
    try:
        if rule.kind not in KINDS:
            raise ExprError(f"kind must be one of {', '.join(KINDS)}, not {rule.kind!r}")
        if "x" in rule.parameters or len(set(rule.parameters)) != len(rule.parameters):
            raise ExprError(f"invalid parameters {rule.parameters!r}")
        names = ("x", *rule.parameters)
        template = parse(rule.integrand, symbols=names)
        statement = parse(rule.statement, symbols=names)
        conditions = []
        for text in rule.conditions:
            found = _CONDITION.match(text.strip())
            if found is None:
                raise ExprError(f"condition {text!r} is not 'EXPR op EXPR' with op in "
                                f"{', '.join(_TESTS)}")
            left, op, right = found.groups()
            difference = (parse(left, symbols=rule.parameters)
                          - parse(right, symbols=rule.parameters))
            conditions.append((difference, op))
    except ExprError as exc:
        raise ExprError(f"rule {rule.rule_id}: {exc}") from None
    symbols = tuple(sympy.Symbol(name) for name in rule.parameters)
    return _Compiled(rule, symbols, template, statement, tuple(conditions))


@dataclass(frozen=True)
class _Match:
    """A verified binding of one rule to one term, with the instantiated integral."""

    rule: KnownRule
    values: tuple[sympy.Expr, ...]
    integral: sympy.Expr
    degenerate: bool  # some parameter does not matter (a4 = 0 in a4*exp(a3*x) + a0)


def answer(integrand: str | sympy.Expr, rules: Sequence[KnownRule]) -> Answer:
    """Instantiate the rules that cover f (whole first, else term by term), never any calculus."""
    f = _as_integrand(integrand)
    # Family rules before meta rules, the narrowest first: the most specific rule answers.
    compiled = sorted((_compile(rule) for rule in rules), key=lambda c: (
        KINDS.index(c.rule.kind), len(c.rule.parameters), c.rule.rule_id))
    whole = _cover(f, compiled)
    if whole is not None:
        step = _step(f, whole)
        return Answer(canonical(f), whole.integral, step.integral, (step,), (), False)
    if _expanded_terms(f) > MAX_EXPAND_TERMS:
        raise ExprError(f"integrand too large to expand (limit {MAX_EXPAND_TERMS} terms)")
    terms = sympy.Add.make_args(sympy.expand(f))
    split = len(terms) > 1
    steps, uncovered = [], []
    for term in (terms if split else ()):  # a single term was just tried whole
        found = _cover(term, compiled)
        if found is None:
            uncovered.append(canonical(term))
        else:
            steps.append((_step(term, found), found.integral))
    answered = tuple(step for step, _ in steps)  # kept when some term is uncovered: provenance
    if uncovered or not split:
        return Answer(canonical(f), None, None, answered, tuple(uncovered) or (canonical(f),),
                      split)
    integral = sympy.Add(*(integral for _, integral in steps))
    return Answer(canonical(f), integral, canonical(integral), answered, (), True)


def _as_integrand(integrand: str | sympy.Expr) -> sympy.Expr:
    if isinstance(integrand, str):
        return parse(integrand, symbols=("x",))
    if not isinstance(integrand, sympy.Expr):
        raise TypeError(f"expected a str or a sympy expression, not {type(integrand).__name__}")
    if extra := sorted(s.name for s in integrand.free_symbols - {X}):
        raise ExprError(f"integrand may contain only x as a symbol, not {', '.join(extra)}")
    canonical(integrand)  # the invariants parse guarantees (no I, no poles, names...)
    return integrand


def _step(term: sympy.Expr, found: _Match) -> Step:
    bindings = {name: _plain(value) for name, value in zip(found.rule.parameters, found.values,
                                                           strict=True)}
    return Step(canonical(term), found.rule.rule_id, bindings, canonical(found.integral))


def _plain(value: sympy.Expr) -> int | float:
    return int(value) if value.is_Integer else float(value)


def _cover(term: sympy.Expr, compiled: Sequence[_Compiled]) -> _Match | None:
    """The first rule, in order, with a verified binding that reproduces `term`."""
    forms = [term]
    if _expanded_terms(term) <= MAX_EXPAND_TERMS and (expanded := sympy.expand(term)) != term:
        forms.append(expanded)  # (x + 1)**2 matches a polynomial template only expanded
    values = to_numpy(term)(_POINTS)
    fallback = None
    for rule in compiled:
        for found in _candidates(rule, forms, term, values):
            if not found.degenerate:
                return found
            # A binding that zeroes a rule's point (4 = 0*exp(a3*x) + 4) is a poor provenance:
            # keep it only in case no rule covers the term properly.
            fallback = fallback or found
    return fallback


def _candidates(rule: _Compiled, forms: Sequence[sympy.Expr], term: sympy.Expr,
                values: np.ndarray) -> Iterator[_Match]:
    """Yield the verified matches of one rule to a term, found by sympy and by pinning values."""
    tried = set()
    if monomial_terms(rule.template) is not None:
        # A polynomial template is bound by reading coefficients; sympy's `match` on a 7-term
        # Add pattern is exponential and found nothing more.
        direct = _polynomial_binding(rule, term)
        if direct is not None and (found := _verify(rule, direct, term, values)) is not None:
            yield found
        return
    wilds = {s: sympy.Wild(s.name, exclude=[X]) for s in rule.symbols}
    # At most MAX_PINS parameters pinned: 3**7 pin patterns of poly6 took minutes of `match`,
    # and polynomial templates are bound directly above.
    pins = sorted((pin for pin in itertools.product(_SPECIALS, repeat=len(rule.symbols))
                   if sum(p is not None for p in pin) <= MAX_PINS),
                  key=lambda pin: sum(p is not None for p in pin))
    for pin, form in itertools.product(pins, forms):
        fixed = {s: sympy.Integer(p) for s, p in zip(rule.symbols, pin, strict=True)
                 if p is not None}
        pattern = rule.template.xreplace({s: fixed.get(s, wilds[s]) for s in rule.symbols})
        matched = form.match(pattern)
        if matched is None:
            continue
        binding = {s: fixed[s] if s in fixed else matched.get(wilds[s]) for s in rule.symbols}
        key = tuple(binding.values())
        if key in tried:
            continue
        tried.add(key)
        found = _verify(rule, binding, term, values)
        if found is not None:
            yield found


def _polynomial_binding(rule: _Compiled, term: sympy.Expr) -> dict | None:
    """Bind a template that is a sum of parameter·x**k terms by reading the term's
    coefficients of x**k (missing powers bind to 0); None for any other template or term."""
    powers = monomial_terms(rule.template)
    if powers is None or set(powers) != set(rule.symbols):
        return None
    try:
        poly = sympy.Poly(term, X)
    except sympy.PolynomialError:
        return None
    if poly.degree() > max(powers.values()) or not all(c.is_number for c in poly.coeffs()):
        return None
    coefficients = {k: poly.coeff_monomial(X**k) for k in range(poly.degree() + 1)}
    if any(c != 0 and k not in powers.values() for k, c in coefficients.items()):
        return None
    return {s: coefficients.get(k, sympy.Integer(0)) for s, k in powers.items()}


def _verify(rule: _Compiled, binding: dict[sympy.Symbol, sympy.Expr | None], term: sympy.Expr,
            values: np.ndarray) -> _Match | None:
    """The match if the binding is real, meets the conditions and reproduces the term exactly."""
    if not all(v is not None and v.is_number and v.is_real and v.is_finite
               for v in binding.values()):
        return None
    for difference, op in rule.conditions:
        if not _TESTS[op](difference.xreplace(binding)):
            return None
    instance = rule.template.xreplace(binding)
    if instance.free_symbols - {X}:
        return None
    scale = max(1.0, float(np.nanmax(np.abs(values), initial=0.0)))
    if not np.allclose(to_numpy(instance)(_POINTS), values, rtol=1e-9, atol=1e-9 * scale,
                       equal_nan=True):
        return None  # cheap first: most wrong bindings fail here, before any simplify
    difference = instance - term
    if sympy.expand(difference) != 0 and sympy.simplify(difference) != 0:
        return None
    integral = rule.statement.xreplace(binding)
    if integral.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) or integral.free_symbols - {X}:
        return None  # e.g. a4*sin(a3*x)/a3 at a3 = 0, when the rule forgot its condition
    try:
        canonical(integral)
    except ExprError:
        return None
    if not _vanishes_at_zero(integral):
        return None  # -3/x answers 3/x**2 under n + 1 != 0, but the area from 0 diverges
    degenerate = any(s not in rule.template.xreplace({t: v for t, v in binding.items() if t != s})
                     .free_symbols for s in rule.symbols)
    return _Match(rule.rule, tuple(binding.values()), integral, degenerate)


def _vanishes_at_zero(integral: sympy.Expr) -> bool:
    """Whether an integral from 0 to x is 0 at x = 0, as it must be (0*log(0) forms pass)."""
    value = integral.xreplace({X: sympy.Integer(0)})
    if value is sympy.nan:
        return True  # an indeterminate form such as x*log(x): the substitution cannot tell
    if not (value.is_number and value.is_finite):
        return False
    if not value.has(sympy.Float):
        return value.is_zero is True
    # Float coefficients may leave rounding behind: a4/a3 - a4/a3 computed two ways.
    scale = max([1.0] + [abs(float(n)) for n in integral.atoms(sympy.Number)])
    return abs(complex(value)) <= 1e-12 * scale
