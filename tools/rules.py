"""The paper's rule search: explain each coefficient of a family's integrals by its parameters.

Yin (2024, §3.4) takes a family's most common skeleton and regresses every coefficient slot
against the family's parameters: singles aᵢ and 1/aᵢ first, then pairs, then triples, accepting
a law at |R²| > 0.95; a meta-rule then regresses the fitted slopes against the power k. Here
every regression is kept as evidence, a level is left for the next only when its best law is not
exact (residual within the measured noise), constants become exact rationals where the data
support them, other exact laws are reported as competitors for the caller to tell apart, and the
engine's folding of signs (cos(|a|·x)) is undone where the measured curves allow it.

Sign handling: abs(aᵢ) is a predictor only when aᵢ takes both signs in the data. When every
sampled aᵢ has one sign s, abs(aᵢ) equals s·aᵢ there, so the law is written with aᵢ and the
law with aᵢ replaced by s·abs(aᵢ) is listed among its competitors.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import sympy

from eudoxus.tools.expr import canonical, parse, relative_error, to_numpy

__all__ = ["GATE", "CoefficientLaw", "CoefficientSearch", "RegressionRow", "RuleSearch",
           "SeriesLaw", "most_common_skeleton", "rationalize", "search_coefficient",
           "search_rules", "search_series"]

GATE = 0.95  # the paper's |R²| gate
# An inexact law this close is kept at its level rather than traded for a higher level's
# better-fitting weighted sum: an ill-conditioned slot (the shift c in log(x + c)) is measured
# only to ~1e-4, and a weighted triple would bend around that noise.
NEAR_EXACT = 1 - 1e-6
DEFINITION_TOLERANCE = 1e-3  # relative agreement a constant from g(0) = 0 must show
EXACT_FACTOR = 10.0  # a law is exact when its rms residual is within 10x the relative noise
# A fraction p/q is believed only if a random number would rarely lie that close to one: with
# tolerance t about t*q**2 of the line is within t of some fraction with denominator <= q.
COINCIDENCE = 0.01
ABS_SLACK = 1e-9  # how much worse an Abs-free integral may fit a curve and still replace it
_SERIES = ("n", "n + 1", "1/n", "1/(n + 1)", "n**2", "(n + 1)**2", "1/n**2", "1/(n + 1)**2",
           "n**3", "sqrt(n)", "sqrt(n + 1)", "1/sqrt(n + 1)", "log(n)", "log(n + 1)", "2**n",
           "2**(-n)")


@dataclass(frozen=True)
class RegressionRow:
    """One regression tried for a target: predictor, fit and whether it passed the gate."""

    target: str  # slot name, e.g. "c2"
    predictor: str  # safe-parser text, e.g. "a4/a3"; "a1, a2" for a weighted sum; "1" at level 0
    level: int  # 0 constant, 1 single, 2 pair, 3 triple
    r2: float  # at level 0: 1.0 when the target is constant within noise, else 0.0
    slope: float  # the first weight (0.0 at level 0)
    intercept: float
    weights: tuple[float, ...]
    residual: float  # rms residual of the fit
    passed: bool  # r2 > gate


@dataclass(frozen=True)
class CoefficientLaw:
    """The law found for one coefficient slot: an exact-where-supported expression in the
    parameters."""

    target: str
    expression: sympy.Expr  # in the family's parameter symbols, e.g. -a4/a3
    text: str  # canonical(expression)
    r2: float
    level: int
    residual: float  # rms residual of the law as reported (rationalized constants)
    exact: bool  # residual within the measured noise, not merely over the gate
    competitors: tuple[sympy.Expr, ...]  # other laws that fit as well on this data
    outliers: tuple[int, ...] = ()  # observations set aside as misfits (row indices)


@dataclass(frozen=True)
class CoefficientSearch:
    """Every regression tried for one slot, in the order tried, and the law chosen (if any)."""

    target: str
    law: CoefficientLaw | None  # None when no regression passed the gate
    table: tuple[RegressionRow, ...]


@dataclass(frozen=True)
class RuleSearch:
    """The outcome for one family: the form, the law per slot, and the assembled integral."""

    skeleton: str
    support: int  # observations with this skeleton
    total: int  # observations considered
    searches: tuple[CoefficientSearch, ...]  # one per slot c0, c1, ... in slot order
    integral: sympy.Expr | None  # None if any slot is unexplained
    text: str | None  # canonical(integral)
    unexplained: tuple[str, ...]  # slots with no law


@dataclass(frozen=True)
class SeriesLaw:
    """y as a function of an integer index k, found by regressing y against transforms of k."""

    expression: sympy.Expr  # in the symbol `variable`, e.g. 1/(n + 1)
    text: str
    r2: float
    exact: bool
    table: tuple[RegressionRow, ...]  # the predictor column holds the transform's text


@dataclass(frozen=True)
class _Term:
    """A predictor: the sympy term behind each of its columns, their values and its level."""

    exprs: tuple[sympy.Expr, ...]  # several for a weighted sum, none for a constant
    columns: tuple[np.ndarray, ...]
    level: int

    @property
    def text(self) -> str:
        return ", ".join(canonical(e) for e in self.exprs) or "1"

    @property
    def cost(self) -> tuple[int, int, int]:
        """Fewer fitted weights, then fewer abs, then shorter text: the simpler law first."""
        return (len(self.exprs), sum(e.count(sympy.Abs) for e in self.exprs), len(self.text))


@dataclass(frozen=True)
class _Fit:
    weights: np.ndarray
    intercept: float
    stderr: np.ndarray  # standard errors of the weights, then of the intercept if fitted
    residual: float  # rms
    r2: float


def most_common_skeleton(skeletons: Sequence[str]) -> tuple[str, int]:
    """The most frequent skeleton and how many observations have it (ties: the shorter text,
    then alphabetical)."""
    if not skeletons:
        raise ValueError("most_common_skeleton needs at least one skeleton")
    counts = Counter(skeletons)
    best = min(counts, key=lambda s: (-counts[s], len(s), s))
    return best, counts[best]


def rationalize(value: float, tolerance: float, max_denominator: int = 1000) -> sympy.Expr:
    """The simplest fraction p/q (smallest q, q <= max_denominator) within tolerance of value,
    else a Float."""
    if not math.isfinite(value):
        raise ValueError(f"cannot rationalize {value}")
    if not tolerance >= 0 or max_denominator < 1:
        raise ValueError("tolerance must be >= 0 and max_denominator >= 1")
    for q in range(1, max_denominator + 1):
        p = round(value * q)  # the nearest numerator is the only one that can be close enough
        if abs(p / q - value) <= tolerance:
            return sympy.Rational(p, q)
    return sympy.Float(float(value))


def _constant(value: float, stderr: float, rel_noise: float) -> sympy.Expr:
    """A fitted constant as the simplest value its uncertainty allows, fractions capped so that
    a match is no coincidence (1/pi is not 113/355 at 1e-7)."""
    tolerance = max(3 * stderr, rel_noise * abs(value), 1e-12)
    cap = max(1, min(1000, int(math.sqrt(COINCIDENCE / tolerance))))
    return rationalize(value, tolerance, cap)


def _threshold(y: np.ndarray, rel_noise: float) -> float:
    return max(EXACT_FACTOR * rel_noise * float(np.max(np.abs(y))), 1e-12)


def _fit(y: np.ndarray, columns: Sequence[np.ndarray], *, intercept: bool = True) -> _Fit | None:
    """Least squares y ≈ Σ wᵢ·columnᵢ (+ b), or None when no degree of freedom is left."""
    n = len(y)
    design = np.column_stack([*columns, np.ones(n)] if intercept else list(columns))
    if design.shape[1] == 0 or n <= design.shape[1]:
        return None
    norms = np.linalg.norm(design, axis=0)
    norms[norms == 0] = 1.0
    scaled = design / norms  # columns of very different sizes would spoil the conditioning
    solution, *_ = np.linalg.lstsq(scaled, y, rcond=None)
    beta = solution / norms
    residual = y - design @ beta
    ss_res = float(residual @ residual)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float(ss_res == 0)
    covariance = np.linalg.pinv(scaled.T @ scaled) * ss_res / (n - design.shape[1])
    stderr = np.sqrt(np.clip(np.diag(covariance), 0, None)) / norms
    weights = beta[:len(columns)]
    return _Fit(weights, float(beta[-1]) if intercept else 0.0, stderr,
                math.sqrt(ss_res / n), r2)


def _row(target: str, term: _Term, fit: _Fit, threshold: float, gate: float) -> RegressionRow:
    r2 = float(fit.residual <= threshold) if term.level == 0 else fit.r2
    weights = tuple(float(w) for w in fit.weights)
    return RegressionRow(target, term.text, term.level, r2, weights[0] if weights else 0.0,
                         fit.intercept, weights, fit.residual, r2 > gate)


def _law(y: np.ndarray, term: _Term, rel_noise: float,
         threshold: float) -> tuple[sympy.Expr, float, float]:
    """The law Σ wᵢ·termᵢ + b with constants as exact as the data allow: expression, R², rms."""
    fit = _fit(y, term.columns)
    assert fit is not None  # the caller only passes terms that could be fitted
    if term.exprs and abs(fit.intercept) <= max(3 * fit.stderr[-1], threshold):
        fit = _fit(y, term.columns, intercept=False) or fit  # the intercept is noise: drop it
    values = [*fit.weights, fit.intercept]
    errors = [*fit.stderr, 0.0][:len(values)]
    # Beyond the noise the engine reports, a slot may carry a systematic error (an
    # ill-conditioned shift is measured to ~1e-4, all of it biased one way); its relative size
    # bounds how exactly any constant in the law can be known.
    scale = float(np.sqrt(np.mean(y**2))) or 1.0
    relative = max(rel_noise, 10 * fit.residual / scale)
    exact = [_constant(float(v), float(e), relative) for v, e in zip(values, errors, strict=True)]
    floats = [sympy.Float(float(v)) for v in values]
    # Rounded constants may not fit measurably worse than the fitted ones; else keep floats.
    for constants in (exact, floats):
        expression = sum((c * e for c, e in zip(constants, term.exprs, strict=False)),
                         constants[-1])
        prediction = sum((float(c) * col for c, col in zip(constants, term.columns,
                                                           strict=False)), float(constants[-1]))
        residual = math.sqrt(float(np.mean((y - prediction) ** 2)))
        # Noisier slots get proportionally more room (the rounding is within 3 stderr anyway).
        if constants is floats or residual <= 1.5 * fit.residual + threshold:
            break
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    flat = term.level == 0 or ss_tot == 0  # a constant explains all the signal there is, or none
    r2 = float(residual <= threshold) if flat else 1.0 - residual**2 * len(y) / ss_tot
    return expression, r2, residual


def _checked(values: np.ndarray, params: np.ndarray,
             names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[sympy.Symbol]]:
    y, params = np.asarray(values, dtype=float), np.asarray(params, dtype=float)
    if params.ndim == 1:
        params = params[:, None]
    if y.ndim != 1 or params.ndim != 2 or len(params) != len(y) or params.shape[1] != len(names):
        raise ValueError("values must be (n,) and params (n, k) with k names")
    if len(y) < 3:
        raise ValueError("a rule search needs at least 3 observations")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(params))):
        raise ValueError("values and params must be finite")
    symbols = [parse(name, symbols=[name]) for name in names]  # the parser vets the names
    return y, params, symbols


def _key(values: np.ndarray) -> bytes:
    """Equal for columns proportional to each other, which any regression fits equally well."""
    scaled = values / values[np.argmax(np.abs(values))]
    return (np.round(scaled, 9) + 0.0).tobytes()


def _levels(params: np.ndarray, symbols: Sequence[sympy.Symbol],
            extra: Sequence[tuple[sympy.Expr, np.ndarray]] = ()) -> Iterator[list[_Term]]:
    """The predictors of levels 0 to 3, built lazily so a search that stops early saves work."""
    seen: set[bytes] = set()

    def single(expr: sympy.Expr, values: np.ndarray, level: int) -> list[_Term]:
        if not np.all(np.isfinite(values)) or np.ptp(values) <= 1e-12 * np.max(np.abs(values)):
            return []
        key = _key(values)
        if key in seen:
            return []
        seen.add(key)
        return [_Term((expr,), (values,), level)]

    def weighted(parts: Sequence[tuple[int, sympy.Expr, np.ndarray]], level: int) -> list[_Term]:
        flat = any(np.ptp(v) <= 1e-12 * np.max(np.abs(v)) for _, _, v in parts)
        return [] if flat else [_Term(tuple(e for _, e, _ in parts), tuple(v for _, _, v in parts),
                                      level)]

    yield [_Term((), (), 0)]
    base: list[tuple[int, sympy.Expr, np.ndarray]] = []  # (parameter, aᵢ or abs(aᵢ), values)
    singles: list[_Term] = []
    for i, symbol in enumerate(symbols):
        a = params[:, i]
        base.append((i, symbol, a))
        singles += single(symbol, a, 1)
        if np.all(a != 0):
            singles += single(1 / symbol, 1 / a, 1)
        if a.min() < 0 < a.max():
            base.append((i, sympy.Abs(symbol), np.abs(a)))
            singles += single(sympy.Abs(symbol), np.abs(a), 1)
    for m, (expr, values) in enumerate(extra, start=len(symbols)):
        # Another slot's law as a building block (a2 + 1 of x**(a2 + 1) divides a1 in c0).
        base.append((m, expr, values))
        singles += single(expr, values, 1)
        if np.all(values != 0):
            singles += single(1 / expr, 1 / values, 1)
    yield singles
    pairs: list[_Term] = []
    for (i, bi, vi), (j, bj, vj) in itertools.combinations(base, 2):
        if i == j:
            continue
        pairs += single(bi * bj, vi * vj, 2)
        for (_, n, vn), (_, d, vd) in (((i, bi, vi), (j, bj, vj)), ((j, bj, vj), (i, bi, vi))):
            if np.all(vd != 0):
                pairs += single(n / d, vn / vd, 2)
        pairs += weighted([(i, bi, vi), (j, bj, vj)], 2)
    for _, b, v in base:  # a parameter with itself: rates and frequencies appear squared
        pairs += single(b * b, v * v, 2)
        if np.all(v != 0):
            pairs += single(1 / (b * b), 1 / (v * v), 2)
    yield pairs
    triples: list[_Term] = []
    for trio in itertools.combinations(base, 3):
        if len({i for i, _, _ in trio}) < 3:
            continue
        triples += single(math.prod(e for _, e, _ in trio), math.prod(v for _, _, v in trio), 3)
        for m, (_, em, vm) in enumerate(trio):
            (_, e1, v1), (_, e2, v2) = (t for k, t in enumerate(trio) if k != m)
            if np.all(vm != 0):
                triples += single(e1 * e2 / em, v1 * v2 / vm, 3)
            if np.all(v1 * v2 != 0):
                triples += single(em / (e1 * e2), vm / (v1 * v2), 3)
        triples += weighted(trio, 3)
    for (i, bi, vi), (j, bj, vj) in itertools.permutations(base, 2):
        if i == j:
            continue
        # One parameter twice (∫ a·x·e^(bx) has a/b²): the paper's triples allowed no repeats.
        triples += single(bi * bj * bj, vi * vj * vj, 3)
        if np.all(vj != 0):
            triples += single(bi / (bj * bj), vi / (vj * vj), 3)
            triples += single(bi * bi / bj, vi * vi / vj, 3)
    yield triples


def _aliases(expr: sympy.Expr, params: np.ndarray,
             symbols: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    """The law with each one-signed parameter aᵢ written s·abs(aᵢ): equal on this data."""
    aliases = []
    for i, symbol in enumerate(symbols):
        a = params[:, i]
        if symbol in expr.free_symbols and (np.all(a > 0) or np.all(a < 0)):
            sign = 1 if a[0] > 0 else -1
            aliases.append(expr.xreplace({symbol: sign * sympy.Abs(symbol)}))
    return aliases


def search_coefficient(target: str, values: np.ndarray, params: np.ndarray,
                       names: Sequence[str], *, rel_noise: float = 1e-6,
                       gate: float = GATE,
                       extra: Sequence[tuple[sympy.Expr, np.ndarray]] = ()
                       ) -> CoefficientSearch:
    """Climb the levels (constant, singles, pairs, triples) until one explains the target
    exactly; keep every regression as evidence."""
    y, params, symbols = _checked(values, params, names)
    threshold = _threshold(y, rel_noise)
    table: list[RegressionRow] = []
    best: tuple[_Term, RegressionRow] | None = None  # the best row over the gate so far
    near: tuple[_Term, RegressionRow] | None = None  # the first level's best, if near exact
    for terms in _levels(params, symbols, extra):
        tried = []
        for term in terms:
            fit = _fit(y, term.columns)
            if fit is not None:
                tried.append((term, _row(target, term, fit, threshold, gate)))
        table += [row for _, row in tried]
        exact = sorted((pair for pair in tried if pair[1].residual <= threshold),
                       key=lambda pair: (pair[0].cost, pair[1].residual))
        if exact:
            return CoefficientSearch(target, _coefficient_law(
                target, y, exact, params, symbols, rel_noise, threshold), tuple(table))
        passing = [pair for pair in tried if pair[1].passed]
        trimmed = _exact_without_outliers(y, passing, threshold)
        if trimmed is not None:
            term, keep = trimmed
            inliers = _Term(term.exprs, tuple(c[keep] for c in term.columns), term.level)
            law = _coefficient_law(target, y[keep], [(inliers, None)], params[keep], symbols,
                                   rel_noise, threshold)
            outliers = tuple(int(i) for i in np.flatnonzero(~keep))
            return CoefficientSearch(target, replace(law, outliers=outliers), tuple(table))
        top = max(passing, key=lambda pair: pair[1].r2, default=None)
        if top is not None and top[1].r2 >= NEAR_EXACT:
            # This level all but explains it: stop climbing, as the paper does at its gate. A
            # higher level's weighted sums, fitted to a handful of points, would "explain"
            # the measurement noise too.
            near = top
            break
        if top is not None and (best is None or top[1].r2 > best[1].r2):
            best = top
    chosen = near or best
    law = None if chosen is None else _coefficient_law(target, y, [chosen], params, symbols,
                                                        rel_noise, threshold)
    return CoefficientSearch(target, law, tuple(table))


def _exact_without_outliers(y: np.ndarray, passing: Sequence[tuple[_Term, RegressionRow]],
                            threshold: float, candidates: int = 5
                            ) -> tuple[_Term, np.ndarray] | None:
    """A law exact on all but a few observations (at most a tenth, at least one): a symbolic
    regression misfit (say, e^(0.1x) traded against x) must not push the search to a triple
    that bends around it. The simplest such term among the best-fitting few, with its mask."""
    n = len(y)
    drop = max(1, n // 10)
    if n - drop < 4:
        return None
    ranked = sorted(passing, key=lambda pair: -pair[1].r2)[:candidates]
    found = []
    for term, _ in ranked:
        keep = np.ones(n, bool)
        for _ in range(drop):  # set aside the worst fit, one at a time, until the rest agree
            columns = [c[keep] for c in term.columns]
            design = np.column_stack([*columns, np.ones(int(keep.sum()))])
            beta, *_ = np.linalg.lstsq(design, y[keep], rcond=None)
            worst = np.flatnonzero(keep)[np.argmax(np.abs(y[keep] - design @ beta))]
            keep[worst] = False
            refit = _fit(y[keep], [c[keep] for c in term.columns])
            if refit is not None and refit.residual <= threshold:
                found.append((term.cost, term, keep))
                break
    if not found:
        return None
    _, term, keep = min(found, key=lambda item: item[0])
    return term, keep


def _coefficient_law(target: str, y: np.ndarray, ranked: Sequence[tuple[_Term, RegressionRow]],
                     params: np.ndarray, symbols: Sequence[sympy.Symbol], rel_noise: float,
                     threshold: float) -> CoefficientLaw:
    """The law of the first ranked row; the other (exact) rows become its competitors."""
    term, _ = ranked[0]
    level = term.level
    expression, r2, residual = _law(y, term, rel_noise, threshold)
    others = [_law(y, t, rel_noise, threshold)[0] for t, _ in ranked[1:]]
    competitors: list[sympy.Expr] = []
    for other in [*_aliases(expression, params, symbols), *others]:
        if other != expression and other not in competitors:
            competitors.append(other)
    return CoefficientLaw(target, expression, canonical(expression), r2, level, residual,
                          residual <= threshold, tuple(competitors))


def search_rules(skeleton: str, coefficients: np.ndarray, params: np.ndarray,
                 names: Sequence[str], *, rel_noise: float = 1e-6, gate: float = GATE,
                 x: np.ndarray | None = None, curves: np.ndarray | None = None,
                 total: int | None = None) -> RuleSearch:
    """Find a law for every slot of `skeleton` and assemble the family's integral.

    coefficients: (n, slots) values of c0..c{s-1} for the n observations that have `skeleton`;
    params: (n, k) the family parameters in `names` order; x and curves (n, len(x)), the
    measured areas, let Abs(aᵢ) from the engine's sign folding be replaced by aᵢ where the
    curves cannot tell the two apart; total: observations considered (default n).
    """
    coefficients = np.asarray(coefficients, dtype=float)
    if coefficients.ndim != 2:
        raise ValueError("coefficients must be (n, slots)")
    slots = [f"c{j}" for j in range(coefficients.shape[1])]
    if {"x", *slots} & set(names):
        raise ValueError("parameter names may not be x or a slot name")
    form = parse(skeleton, symbols=["x", *slots])
    params = np.asarray(params, dtype=float)
    searches = [search_coefficient(slot, coefficients[:, j], params, names,
                                   rel_noise=rel_noise, gate=gate)
                for j, slot in enumerate(slots)]
    searches = _second_pass(searches, coefficients, params, names, rel_noise, gate)
    searches = tuple(_from_definition(form, searches, coefficients, params, names, rel_noise))
    unexplained = tuple(s.target for s in searches if s.law is None)
    integral = None
    if not unexplained:
        integral = form.xreplace({sympy.Symbol(s.target): s.law.expression for s in searches})
        if x is not None and curves is not None:
            integral = _drop_abs(integral, names, np.asarray(params, dtype=float), x, curves)
    n = len(coefficients)
    return RuleSearch(skeleton, n, n if total is None else total, searches, integral,
                      None if integral is None else canonical(integral), unexplained)


def _exact(search: CoefficientSearch) -> bool:
    return search.law is not None and search.law.exact


def _values(expr: sympy.Expr, names: Sequence[str], params: np.ndarray) -> np.ndarray:
    return np.broadcast_to(to_numpy(expr, tuple(names))(*params.T), (len(params),)).copy()


def _second_pass(searches: list[CoefficientSearch], coefficients: np.ndarray,
                 params: np.ndarray, names: Sequence[str], rel_noise: float,
                 gate: float) -> list[CoefficientSearch]:
    """Search the slots left inexact again, with the exact laws of the other slots that are
    more than a parameter (a2 + 1) among the building blocks."""
    symbols = {sympy.Symbol(n) for n in names}
    extra = [(s.law.expression, _values(s.law.expression, names, params)) for s in searches
             if _exact(s) and s.law.expression.free_symbols
             and s.law.expression not in symbols and s.law.level > 0]
    if not extra:
        return searches
    out = []
    for j, search in enumerate(searches):
        if _exact(search):
            out.append(search)
            continue
        again = search_coefficient(search.target, coefficients[:, j], params, names,
                                   rel_noise=rel_noise, gate=gate, extra=extra)
        table = search.table + again.table
        better = again if _exact(again) or search.law is None else search
        out.append(CoefficientSearch(search.target, better.law, table))
    return out


def _from_definition(form: sympy.Expr, searches: Sequence[CoefficientSearch],
                     coefficients: np.ndarray, params: np.ndarray, names: Sequence[str],
                     rel_noise: float) -> list[CoefficientSearch]:
    """A constant slot the regressions could not pin down follows from the definition: the
    area from 0 to 0 is zero, so c = -(the rest of the form at x = 0). Kept only when the
    observed values agree (all but a tenth within noise)."""
    out = list(searches)
    for j, search in enumerate(searches):
        slot = sympy.Symbol(search.target)
        others = [s for s in searches if s is not search]
        if _exact(search) or slot not in sympy.Add.make_args(form) or any(
                s.law is None for s in others):
            continue
        rest = form.xreplace({slot: 0, **{sympy.Symbol(s.target): s.law.expression
                                          for s in others}})
        candidate = -rest.xreplace({sympy.Symbol("x"): 0})
        y = coefficients[:, j]
        with np.errstate(all="ignore"):
            predicted = _values(candidate, names, params)
        # Derived, not fitted: the data only have to agree to the other slots' precision.
        tolerance = max(_threshold(y, rel_noise), DEFINITION_TOLERANCE * float(np.max(np.abs(y))))
        close = np.abs(y - predicted) <= tolerance
        if not np.all(np.isfinite(predicted)) or close.mean() < 0.9:
            continue
        residual = float(np.sqrt(np.mean((y - predicted)[close] ** 2)))
        row = RegressionRow(search.target, f"g(0) = 0: {canonical(candidate)}", 0, 1.0, 1.0,
                            0.0, (1.0,), residual, True)
        law = CoefficientLaw(search.target, candidate, canonical(candidate), 1.0, 0, residual,
                             True, (), tuple(int(i) for i in np.flatnonzero(~close)))
        out[j] = CoefficientSearch(search.target, law, (*search.table, row))
    return out


def _drop_abs(integral: sympy.Expr, names: Sequence[str], params: np.ndarray, x: np.ndarray,
              curves: np.ndarray) -> sympy.Expr:
    """Replace Abs(aᵢ) by aᵢ (all at once, else one at a time) where no curve fits worse."""
    x, curves = np.asarray(x, dtype=float), np.asarray(curves, dtype=float)
    params = params[:, None] if params.ndim == 1 else params
    if x.ndim != 1 or curves.shape != (len(params), len(x)):
        raise ValueError("curves must be (n, len(x)) for a 1-D grid x")
    parameters = {sympy.Symbol(name) for name in names}
    atoms = sorted((a for a in integral.atoms(sympy.Abs) if a.args[0] in parameters), key=str)
    if not atoms:
        return integral

    def errors(expr: sympy.Expr) -> np.ndarray:
        values = to_numpy(expr, ("x", *names))(x[None, :], *params.T[:, :, None])
        return np.array([relative_error(c, v) for c, v in zip(curves, values, strict=True)])

    reference = errors(integral) + ABS_SLACK
    whole = integral.xreplace({a: a.args[0] for a in atoms})
    if np.all(errors(whole) <= reference):
        return whole
    current = integral
    for atom in atoms:
        candidate = current.xreplace({atom: atom.args[0]})
        if np.all(errors(candidate) <= reference):
            current = candidate
    return current


def search_series(k: np.ndarray, y: np.ndarray, *, variable: str = "n", rel_noise: float = 1e-6,
                  gate: float = GATE) -> SeriesLaw | None:
    """The meta-rule search: regress y against transforms of k (k, k + 1, 1/k, 1/(k + 1), k**2,
    sqrt(k), log(k), 2**-k, ...) and return the cleanest exact law, else the best over the gate,
    else None."""
    k, y = np.asarray(k, dtype=float), np.asarray(y, dtype=float)
    if k.shape != y.shape or k.ndim != 1 or len(k) < 3:
        raise ValueError("k and y must be 1-D, of equal length, at least 3 points")
    if not (np.all(np.isfinite(k)) and np.all(np.isfinite(y))):
        raise ValueError("k and y must be finite")
    symbol = parse(variable, symbols=[variable])
    threshold = _threshold(y, rel_noise)
    terms = [_Term((), (), 0)]
    for text in _SERIES:
        expr = parse(text, symbols=["n"]).xreplace({sympy.Symbol("n"): symbol})
        values = to_numpy(expr, (variable,))(k)  # NaN or inf where undefined, e.g. 1/k at 0
        if np.all(np.isfinite(values)) and np.ptp(values) > 1e-12 * np.max(np.abs(values)):
            terms.append(_Term((expr,), (values,), 1))
    table, laws = [], []
    for index, term in enumerate(terms):
        fit = _fit(y, term.columns)
        if fit is None:
            continue
        row = _row("y", term, fit, threshold, gate)
        table.append(row)
        if row.passed:
            expression, r2, residual = _law(y, term, rel_noise, threshold)
            exact = residual <= threshold
            # A constant is cleanest; then a law that is the transform itself, up to sign.
            unit = term.level == 0 or any(expression == s * term.exprs[0] for s in (1, -1))
            rank = (0, not unit, index) if exact else (1, -r2, index)
            laws.append((rank, expression, r2, exact))
    if not laws:
        return None
    _, expression, r2, exact = min(laws, key=lambda law: law[0])
    return SeriesLaw(expression, canonical(expression), r2, exact, tuple(table))
