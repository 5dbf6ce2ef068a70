"""Symbolic regression behind one interface, `fit(x, y) -> ranked candidates`, and its engines.

The default engine ("grammar") enumerates skeletons from `tools.grammar` simplest first. For each
it solves the linear coefficients in closed form (least squares: the blog seed's lesson),
searches the nonlinear ones from a grid of starts and refines them with a damped trust-region
solver (never fixed-step gradient descent: the Q&A seed's lesson), prunes terms that sit below
the measurement noise, and ranks skeletons by a description-length score whose noise floor comes
from the integrator's own error estimate, so an exact short form beats a long polynomial.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import sympy as sp
from scipy.optimize import least_squares

from eudoxus.tools.context import ToolContext
from eudoxus.tools.expr import canonical, relative_error
from eudoxus.tools.grammar import BLOCKS, Block, Skeleton, skeletons

ENGINE_VERSION = "grammar-1"


@dataclass(frozen=True)
class Candidate:
    """One closed form proposed for a curve, with its structure, fit and cost."""

    expression: sp.Expr
    text: str  # canonical, in the safe-parser syntax
    skeleton: str  # the structure with coefficient slots c0, c1, ...
    coefficients: tuple[float, ...]  # values of c0, c1, ... in slot order
    error: float  # eq. 1 against the data on the full grid
    complexity: int
    seconds: float
    engine: str
    label: str = ""


@dataclass(frozen=True)
class FitResult:
    """Candidates for one curve, best first."""

    candidates: tuple[Candidate, ...]
    seconds: float
    engine: str

    @property
    def best(self) -> Candidate | None:
        """The top-ranked candidate, if any."""
        return self.candidates[0] if self.candidates else None


class Engine(Protocol):
    """A symbolic regression engine."""

    name: str

    def fit(self, x: np.ndarray, y: np.ndarray, *, noise: float | None = None,
            ctx: ToolContext | None = None) -> FitResult:
        """Closed forms for y(x), best first; `noise` is the data's estimated max-abs error."""
        ...


@dataclass
class _Fit:
    skeleton: Skeleton
    theta: np.ndarray
    linear: np.ndarray
    mse: float
    theta_sigma: np.ndarray  # statistical standard errors (white-noise model)
    linear_sigma: np.ndarray
    theta_effect: np.ndarray  # largest change of the curve per unit change of each parameter
    linear_effect: np.ndarray


def checked_curve(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y as float arrays, or ValueError unless they are 1-D, equal and 8+ points long."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 8:
        raise ValueError("fit needs 1-D x and y of equal length (at least 8 points)")
    return x, y


def noise_floor(noise: float | None, scale: float) -> float:
    """The data's error relative to max|y|: below it residuals are noise (never below rounding)."""
    return max(noise if noise is not None else 0.0, 1e-12 * scale) / scale


def subsample(x: np.ndarray, y: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Evenly spaced points including both ends, so every engine fits on the same basis."""
    pick = np.unique(np.linspace(0, len(x) - 1, min(points, len(x))).astype(int))
    return x[pick], y[pick]


def distinct_best(candidates: Iterable[Candidate | None], top: int) -> tuple[Candidate, ...]:
    """The first `top` candidates with distinct text, skipping failed ones (None); lazy, so
    candidates past the cut are never built."""
    chosen: dict[str, Candidate] = {}
    for candidate in candidates:
        if candidate is not None and candidate.text not in chosen:
            chosen[candidate.text] = candidate
            if len(chosen) == top:
                break
    return tuple(chosen.values())


def _solve(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Least-squares coefficients and residual of y ≈ design @ c (columns scaled for stability)."""
    if not np.all(np.isfinite(design)):
        return None
    norms = np.linalg.norm(design, axis=0)
    norms[norms == 0] = 1.0
    scaled, *_ = np.linalg.lstsq(design / norms, y, rcond=None)
    coefficients = scaled / norms
    return coefficients, y - design @ coefficients


def _accurate_residual(skeleton: Skeleton, theta: np.ndarray, x: np.ndarray,
                       y: np.ndarray) -> np.ndarray:
    """Residual of the variable-projection problem solved by SVD least squares."""
    with np.errstate(all="ignore"):
        solved = _solve(skeleton.design(x, theta), y)
    return solved[1] if solved is not None else np.full_like(y, 1e3)


def _grid_costs(skeleton: Skeleton, starts: np.ndarray, x: np.ndarray,
                y: np.ndarray) -> np.ndarray:
    """Residual sum of squares at every start at once (batched normal equations)."""
    with np.errstate(all="ignore"):
        designs = np.stack([skeleton.design(x, theta) for theta in starts])  # (s, n, k)
        norms = np.linalg.norm(designs, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        designs = designs / norms
        gram = designs.transpose(0, 2, 1) @ designs + 1e-12 * np.eye(designs.shape[2])
        rhs = designs.transpose(0, 2, 1) @ y
        try:
            coefficients = np.linalg.solve(gram, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return np.full(len(starts), np.inf)
        residual = y - np.einsum("snk,sk->sn", designs, coefficients)
        costs = np.einsum("sn,sn->s", residual, residual)
    costs[~np.isfinite(costs)] = np.inf
    return costs


def _linear_sigma(design: np.ndarray, mse: float) -> np.ndarray:
    norms = np.linalg.norm(design, axis=0)
    norms[norms == 0] = 1.0
    scaled = design / norms
    covariance = np.linalg.pinv(scaled.T @ scaled) * mse
    return np.sqrt(np.clip(np.diag(covariance), 0, None)) / norms


class GrammarEngine:
    """Enumerate grammar skeletons, fit by variable projection, choose by description length."""

    name = "grammar"

    def __init__(self, *, fit_points: int = 256, top: int = 5,
                 blocks: tuple[Block, ...] = BLOCKS, refine_starts: int = 2) -> None:
        self.fit_points = fit_points
        self.top = top
        self.skeletons = skeletons(blocks)
        self.refine_starts = refine_starts

    def fit(self, x: np.ndarray, y: np.ndarray, *, noise: float | None = None,
            ctx: ToolContext | None = None) -> FitResult:
        """Closed forms for y(x), simplest adequate first."""
        started = time.perf_counter()
        x, y = checked_curve(x, y)
        if not np.all(np.isfinite(y)):
            return FitResult((), time.perf_counter() - started, self.name)
        scale = float(np.max(np.abs(y))) or 1.0
        sigma = noise_floor(noise, scale)
        xs, ys = subsample(x, y / scale, self.fit_points)
        span = float(x.max() - x.min()) or 1.0

        fits: list[_Fit] = []
        adequate_at: int | None = None
        for skeleton in self.skeletons:
            if adequate_at is not None and skeleton.n_params > adequate_at:
                break  # everything left is more complex than a form that already fits
            if ctx is not None:
                ctx.check_cancelled()
            fit = self._fit_skeleton(skeleton, xs, ys, span)
            if fit is None:
                continue
            fit = self._snap(self._prune(fit, xs, ys, sigma), xs, ys, sigma)
            fits.append(fit)
            if fit.mse <= sigma**2:
                adequate = fit.skeleton.n_params
                adequate_at = adequate if adequate_at is None else min(adequate_at, adequate)

        n = len(xs)
        ranked = sorted(fits, key=lambda f: n * math.log(f.mse / sigma**2 + 1.0)
                        + f.skeleton.n_params * math.log(n))
        best = distinct_best((self._candidate(fit, x, y, scale, sigma, started) for fit in ranked),
                             self.top)
        return FitResult(best, time.perf_counter() - started, self.name)

    # ---- fitting one skeleton ------------------------------------------------------------

    def _fit_skeleton(self, skeleton: Skeleton, x: np.ndarray, y: np.ndarray,
                      span: float, starts: np.ndarray | None = None) -> _Fit | None:
        if skeleton.block is None:
            return self._finish(skeleton, np.zeros(0), x, y)
        bounds = np.array(skeleton.block.bounds, dtype=float)
        if starts is None:
            starts = skeleton.block.start_grid(span)
            starts = starts[np.all((starts > bounds[:, 0]) & (starts < bounds[:, 1]), axis=1)]
            costs = _grid_costs(skeleton, starts, x, y)
            order = np.argsort(costs)[: self.refine_starts]
            starts = starts[order][np.isfinite(costs[order])]
        best: _Fit | None = None
        for start in starts:
            theta = self._refine(skeleton, start, bounds, x, y, self._residual)
            fit = self._finish(skeleton, theta, x, y)
            if fit is not None and (best is None or fit.mse < best.mse):
                best = fit
        if best is not None:
            # The fast residual squares the conditioning; near an exact fit it stops resolving
            # θ, so the winner is polished with the accurate (SVD) residual.
            theta = self._refine(skeleton, best.theta, bounds, x, y, _accurate_residual,
                                 max_nfev=15 * (len(best.theta) + 1))
            polished = self._finish(skeleton, theta, x, y)
            if polished is not None and polished.mse < best.mse:
                best = polished
        return best

    @staticmethod
    def _residual(skeleton: Skeleton, theta: np.ndarray, x: np.ndarray,
                  y: np.ndarray) -> np.ndarray:
        # The optimizer's inner loop: scaled normal equations are ~5x cheaper than an SVD and
        # accurate enough to steer θ; the reported coefficients come from `_solve`.
        with np.errstate(all="ignore"):
            design = skeleton.design(x, theta)
            norms = np.sqrt(np.einsum("nk,nk->k", design, design))
            if not np.all(np.isfinite(norms)) or np.any(norms == 0):
                return np.full_like(y, 1e3)
            scaled = design / norms
            gram = scaled.T @ scaled
            gram[np.diag_indices_from(gram)] += 1e-13
            try:
                coefficients = np.linalg.solve(gram, scaled.T @ y)
            except np.linalg.LinAlgError:
                return np.full_like(y, 1e3)
            return y - scaled @ coefficients

    def _refine(self, skeleton: Skeleton, start: np.ndarray, bounds: np.ndarray,
                x: np.ndarray, y: np.ndarray, projected: Callable[..., np.ndarray],
                max_nfev: int | None = None) -> np.ndarray:
        # Levenberg–Marquardt: damped steps, so no step size to tune or diverge. Leaving the
        # bounds (where an atom stops being defined) costs a large residual instead.
        def residual(theta: np.ndarray) -> np.ndarray:
            if np.any(theta < bounds[:, 0]) or np.any(theta > bounds[:, 1]):
                return np.full_like(y, 1e3)
            return projected(skeleton, theta, x, y)

        result = least_squares(residual, start, method="lm", x_scale="jac", xtol=1e-12,
                               ftol=1e-12, gtol=1e-12,
                               max_nfev=max_nfev or 40 * (len(start) + 1))
        return result.x

    def _finish(self, skeleton: Skeleton, theta: np.ndarray, x: np.ndarray,
                y: np.ndarray) -> _Fit | None:
        with np.errstate(all="ignore"):
            design = skeleton.design(x, theta)
            solved = _solve(design, y)
        if solved is None:
            return None
        linear, residual = solved
        mse = float(residual @ residual) / len(y)
        floor = max(mse, 1e-30)
        theta_sigma = np.zeros_like(theta)
        theta_effect = np.zeros_like(theta)
        if len(theta):
            jacobian = np.empty((len(y), len(theta)))
            for i in range(len(theta)):
                step = 1e-7 * max(1.0, abs(theta[i]))
                shifted = theta.copy()
                shifted[i] += step
                jacobian[:, i] = (self._residual(skeleton, shifted, x, y) - residual) / step
            theta_sigma = np.sqrt(np.clip(np.diag(np.linalg.pinv(jacobian.T @ jacobian)), 0,
                                          None) * floor)
            theta_effect = np.max(np.abs(jacobian), axis=0)
        return _Fit(skeleton, theta, linear, mse, theta_sigma, _linear_sigma(design, floor),
                    theta_effect, np.max(np.abs(design), axis=0))

    def _prune(self, fit: _Fit, x: np.ndarray, y: np.ndarray, sigma: float) -> _Fit:
        """Drop terms whose whole contribution is below the noise, while the fit stays adequate."""
        tolerance = max(sigma**2, fit.mse) * 1.5
        while fit.skeleton.n_linear > 1:
            design = fit.skeleton.design(x, fit.theta)
            contribution = np.abs(fit.linear) * np.max(np.abs(design), axis=0)
            weakest = int(np.argmin(contribution))
            if contribution[weakest] > 10 * sigma:
                break
            smaller = fit.skeleton.without(weakest)
            if fit.skeleton.block is not None and not smaller.atoms:
                break  # dropping the last atom leaves a polynomial, which is enumerated anyway
            # Usually θ can stay put (a term below the noise did not shape it); near-collinear
            # atoms need θ refitted without the term.
            pruned = self._finish(smaller, fit.theta if smaller.block else np.zeros(0), x, y)
            if smaller.block is not None and (pruned is None or pruned.mse > tolerance):
                pruned = self._fit_skeleton(smaller, x, y, 1.0, starts=fit.theta[None, :])
            if pruned is None or pruned.mse > tolerance:
                break
            fit = pruned
        return fit

    def _snap(self, fit: _Fit, x: np.ndarray, y: np.ndarray, sigma: float) -> _Fit:
        """Replace a nonlinear parameter by the nearest integer when the data cannot tell them
        apart: a shorter description of the same curve (x**3 rather than x**2.99999999)."""
        tolerance = max(sigma**2, fit.mse) * 1.5
        for i, value in enumerate(fit.theta):
            whole = float(round(value))
            if whole == value or whole == 0 or abs(whole - value) > 1e-3 * max(1.0, abs(value)):
                continue
            theta = fit.theta.copy()
            theta[i] = whole
            snapped = self._finish(fit.skeleton, theta, x, y)
            if snapped is not None and snapped.mse <= tolerance:
                fit = snapped
        return fit

    # ---- reporting -----------------------------------------------------------------------

    def _candidate(self, fit: _Fit, x: np.ndarray, y: np.ndarray, scale: float, sigma: float,
                   started: float) -> Candidate | None:
        skeleton = fit.skeleton
        # A parameter is known no better than its standard error given the actual residual, nor
        # better than the change that moves the curve by the measurement error. (That error is
        # smooth and systematic, not white noise, so it is not divided among the points.)
        theta = np.array([_report(v, max(s, sigma / max(e, 1e-300)))
                          for v, s, e in zip(fit.theta, fit.theta_sigma, fit.theta_effect,
                                             strict=True)])
        linear = np.array([_report(v * scale, scale * max(s, sigma / max(e, 1e-300)))
                           for v, s, e in zip(fit.linear, fit.linear_sigma, fit.linear_effect,
                                              strict=True)])
        if 0 in skeleton.powers and x[0] == 0 and abs(y[0]) <= sigma * scale:
            # The area from 0 to 0 is exactly zero and carries no integration error, so the
            # curve is pinned there: the constant is whatever makes the form vanish at 0.
            at_zero = skeleton.design(x[:1], theta)[0]
            constant = skeleton.powers.index(0)
            others = np.delete(np.arange(len(linear)), constant)
            linear[constant] = -float(at_zero[others] @ linear[others])
        with np.errstate(all="ignore"):
            values = skeleton.design(x, theta) @ linear
        error = relative_error(y, values)
        if not math.isfinite(error):
            return None
        slots = sp.symbols(f"c0:{skeleton.n_linear + skeleton.n_theta}")
        linear_slots, theta_slots = slots[: skeleton.n_linear], slots[skeleton.n_linear:]
        skeleton_expr = sum(c * t for c, t in zip(linear_slots, skeleton.terms(list(theta_slots)),
                                                   strict=True))
        expression = sum(_number(c) * t for c, t in zip(
            linear, skeleton.terms([_number(v) for v in theta]), strict=True))
        return Candidate(
            expression=sp.Integer(expression) if isinstance(expression, int) else expression,
            text=canonical(expression) if expression != 0 else "0",
            skeleton=canonical(skeleton_expr),
            coefficients=tuple(float(v) for v in (*linear, *theta)),
            error=error,
            complexity=skeleton.size(),
            seconds=time.perf_counter() - started,
            engine=self.name,
            label=skeleton.label,
        )


def _report(value: float, sigma: float) -> float:
    """The shortest decimal consistent with the value (within 2σ): no spurious digits, and no
    digit dropped that the data support (−0.1349999 ± 1e-7 is −0.135, not −0.13)."""
    if not math.isfinite(sigma) or sigma <= 0:
        return float(value)
    for decimals in range(13):
        shortest = round(float(value), decimals)
        if abs(shortest - value) <= 2 * sigma:
            return shortest
    return float(value)


def _number(value: float) -> sp.Expr:
    """A sympy number: an Integer when the value is whole, else a Float."""
    return sp.Integer(int(value)) if float(value).is_integer() else sp.Float(value)


ENGINES: dict[str, Callable[[], Engine]] = {"grammar": GrammarEngine}


def _register_optional_engines() -> None:
    """EQL (torch) and peer engines, whose heavy imports happen only when one is built."""
    from eudoxus.tools.peers import register_peers

    def eql() -> Engine:
        from eudoxus.tools.eql import EqlEngine

        return EqlEngine()

    ENGINES["eql"] = eql
    register_peers(ENGINES)


_register_optional_engines()


def get_engine(name: str) -> Engine:
    """An engine by name (optional engines load their heavy dependencies only here)."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose from {', '.join(sorted(ENGINES))}")
    return ENGINES[name]()
