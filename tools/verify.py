"""Falsification of candidate integral rules on fresh functions, and the symbolic audit.

A rule is a closed form g(x; a) in the family's parameters. Falsification measures the area
under fresh members of the family, some with parameters outside the range the rule was found
on, and compares it with what the rule predicts. That comparison is the only thing that may
decide acceptance. The audit (differentiate the rule and compare with the integrand) uses
calculus the scientist was never told, so it is recorded beside the verdict, never behind it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from eudoxus.tools.expr import relative_error, to_numpy
from eudoxus.tools.families import Family
from eudoxus.tools.sample import check, draw_uniform, round_params

VERIFY_VERSION = "verify-1"
X = sympy.Symbol("x")


@dataclass(frozen=True, eq=False)
class Falsification:
    """Per-function predictions of one statement against measured areas, and the verdict."""

    statement: str
    params: np.ndarray  # (n, k) the measured functions' parameters
    extrapolated: np.ndarray  # (n,) bool: some parameter outside the family's range
    predicted: np.ndarray  # (n,) the predicted area at the end of the grid
    measured: np.ndarray  # (n,) the measured area there
    errors: np.ndarray  # (n,) eq. 1 over the whole grid
    tolerance: np.ndarray  # (n,) the error each function was allowed
    passed: np.ndarray  # (n,) bool
    pass_fraction: float

    @property
    def n(self) -> int:
        return int(self.passed.size)

    @property
    def n_passed(self) -> int:
        return int(np.count_nonzero(self.passed))

    @property
    def survived(self) -> bool:
        """True when (nearly) every prediction matched: at least pass_fraction of them."""
        return self.n > 0 and self.n_passed >= math.ceil(self.pass_fraction * self.n - 1e-9)

    @property
    def max_error(self) -> float:
        return float(np.max(self.errors)) if self.n else math.inf

    def reason(self) -> str:
        """One line saying how the statement fared."""
        outside = int(np.count_nonzero(self.extrapolated))
        worst = f"max eq.1 error {self.max_error:.2g}"
        return (f"{self.n_passed}/{self.n} fresh functions predicted "
                f"({outside} outside the range searched), {worst}")


def predict(statement: sympy.Expr, names: Sequence[str], params: np.ndarray,
            x: np.ndarray) -> np.ndarray:
    """The statement's areas (n, m) for each parameter row on the grid x (NaN where undefined)."""
    params = np.atleast_2d(np.asarray(params, dtype=float))
    fn = to_numpy(statement, ("x", *names))
    columns = [params[:, j:j + 1] for j in range(params.shape[1])]
    return np.broadcast_to(fn(x[None, :], *columns), (params.shape[0], x.size)).copy()


def falsify(statement: sympy.Expr, names: Sequence[str], params: np.ndarray, x: np.ndarray,
            areas: np.ndarray, area_errors: np.ndarray, *, extrapolated: np.ndarray | None = None,
            tolerance: float = 1e-5, pass_fraction: float = 0.95) -> Falsification:
    """Compare the statement's closed-form areas with measured ones, function by function.

    A prediction passes when its eq. 1 error is below `tolerance`, or below ten times the
    measurement's own relative error bound when that is larger (the instrument, not the rule,
    limits what can be told apart).
    """
    params = np.atleast_2d(np.asarray(params, dtype=float))
    predicted = predict(statement, names, params, x)
    n = params.shape[0]
    errors = np.array([relative_error(areas[i], predicted[i])
                       if np.all(np.isfinite(predicted[i])) else math.inf for i in range(n)])
    scale = np.maximum(np.max(np.abs(areas), axis=1), 1e-300) if n else np.zeros(0)
    allowed = np.maximum(tolerance, 10 * np.asarray(area_errors, dtype=float) / scale)
    return Falsification(
        statement=str(statement), params=params,
        extrapolated=np.zeros(n, bool) if extrapolated is None else np.asarray(extrapolated),
        predicted=predicted[:, -1] if n else np.zeros(0), measured=areas[:, -1] if n else
        np.zeros(0), errors=errors, tolerance=allowed, passed=errors < allowed,
        pass_fraction=pass_fraction)


def fresh_points(family: Family, n: int, rng: np.random.Generator, *,
                 outside_fraction: float = 0.5, widen: float = 1.0) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """n valid parameter rows, about outside_fraction of them beyond the family's ranges.

    Outside rows move each parameter, with probability one half (at least one always), into
    the band of width widen·(range width)/2 just beyond either end of its range. Rows that fail
    the family's constraints or domain guards are redrawn. Returns (params, extrapolated).
    """
    x = family.domain.grid()
    lows = np.array([family.ranges[p][0] for p in family.parameters])
    highs = np.array([family.ranges[p][1] for p in family.parameters])
    band = widen * (highs - lows) / 2
    n_out = int(round(n * outside_fraction))
    rows, flags = [], []
    for want, outside in ((n - n_out, False), (n_out, True)):
        got = 0
        for _ in range(50):
            if got >= want:
                break
            m = 2 * (want - got) + 4
            draw = draw_uniform(family, m, rng)
            if outside:
                move = rng.random((m, lows.size)) < 0.5
                move[np.arange(m), rng.integers(0, lows.size, m)] = True
                beyond = rng.uniform(0, band, size=(m, lows.size))
                high_side = rng.random((m, lows.size)) < 0.5
                draw = np.where(move, np.where(high_side, highs + beyond, lows - beyond), draw)
            draw = round_params(family, draw)
            _, accepted, _ = check(family, draw, x)
            keep = draw[accepted][: want - got]
            rows.append(keep)
            flags.append(np.full(len(keep), outside))
            got += len(keep)
    params = np.concatenate(rows) if rows else np.zeros((0, lows.size))
    return params, np.concatenate(flags) if flags else np.zeros(0, bool)


def most_disagreeing(statements: Sequence[sympy.Expr], names: Sequence[str],
                     pool: np.ndarray, n: int, x: np.ndarray) -> np.ndarray:
    """Indices of the n pool rows where the statements' predicted areas differ most (eq. 1)."""
    if len(statements) < 2 or len(pool) == 0:
        return np.arange(min(n, len(pool)))
    coarse = x[:: max(1, x.size // 64)]
    curves = [predict(s, names, pool, coarse) for s in statements]
    spread = np.zeros(len(pool))
    for i in range(len(statements)):
        for j in range(i + 1, len(statements)):
            for r in range(len(pool)):
                d = relative_error(curves[i][r], curves[j][r])
                spread[r] = max(spread[r], d if np.isfinite(d) else 1.0)
    return np.argsort(-spread, kind="stable")[:n]


def audit(integrand: sympy.Expr, statement: sympy.Expr,
          nonnegative: Sequence[str] = ()) -> tuple[bool, str]:
    """Outside knowledge, recorded only: does d/dx of the statement give back the integrand?

    `nonnegative` names parameters known to be ≥ 0 where the rule was tested (an exponent),
    without which 0**(n + 1) at x = 0 cannot be decided.
    """
    assumed = {sympy.Symbol(n): sympy.Symbol(n, nonnegative=True) for n in nonnegative}
    integrand, statement = integrand.xreplace(assumed), statement.xreplace(assumed)
    try:
        derivative = sympy.diff(statement, X)
        residue = sympy.simplify(derivative - integrand)
        at_zero = sympy.simplify(statement.subs(X, 0))
    except Exception as error:  # an audit that cannot run is recorded, never fatal
        return False, f"audit could not run: {type(error).__name__}"
    ok = residue == 0 and at_zero == 0
    detail = ("symbolic audit (sympy.diff, outside knowledge): d/dx matches the integrand "
              "and the rule is 0 at x = 0" if ok else
              f"symbolic audit (sympy.diff, outside knowledge): d/dx - f = {residue}, "
              f"value at 0 = {at_zero}")
    return bool(ok), detail
