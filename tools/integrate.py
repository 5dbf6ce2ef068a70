"""Measured areas: the cumulative integral from x[0] (the grid starts at 0) of many curves at once.

The scientist knows only that the integral of f is the area under its curve from 0 to x. These
instruments measure that area numerically on a grid, for a batch of functions in one call, and
every measurement comes with an honest per-curve estimate of its own maximum absolute error over
the grid (the noise floor the symbolic regression works against):

- "trapezoid": the paper's numpy.trapz rule, made cumulative; Richardson against every other point.
- "simpson": composite Simpson at every grid point; Richardson plus a local third-difference term.
- "gauss-legendre": an `order`-point Gauss rule on every grid interval, checked by a lower order.
- "nni": Neural-Network Integration (after Lloyd et al.): fit a sigmoid network to the samples and
  integrate the network in closed form; the integrated fit residual bounds the area error.

A curve with non-finite values is measured as NaN with an infinite error (the caller rejects it);
it never raises. No symbolic calculus is used anywhere: only sums of samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.optimize import least_squares
from scipy.special import expit

from eudoxus.tools.context import ToolContext

EPS = float(np.finfo(float).eps)
SAFETY = 2.0  # asymptotic error estimates are inflated by this, so they bound the true error
_CHUNK_VALUES = 1 << 22  # rows per chunk keep temporaries near 32 MB however large the batch

Batch = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class AreaCurves:
    """Cumulative areas g[k, i] = ∫ f_k from x[0] to x[i], with per-curve max-abs error bounds."""

    x: np.ndarray  # (m,)
    g: np.ndarray  # (n, m); g[:, 0] == 0; NaN rows for rejected curves
    error: np.ndarray  # (n,) estimated max |g - true| over the grid; inf for rejected curves
    method: str
    seconds: float
    evaluations: int  # function evaluations per curve

    @property
    def final(self) -> np.ndarray:
        """The total area of each curve over the whole grid."""
        return self.g[:, -1]

    @property
    def ok(self) -> np.ndarray:
        """Which curves were measured (finite values and a finite error estimate)."""
        return np.isfinite(self.error)


def grid(T: float = 4.0, n_points: int = 10_000) -> np.ndarray:
    """The paper's measurement grid: n_points equally spaced abscissae from 0 to T."""
    if not T > 0 or n_points < 5:
        raise ValueError("grid needs T > 0 and at least 5 points")
    return np.linspace(0.0, float(T), int(n_points))


# ---- shared plumbing ------------------------------------------------------------------------

def _check_grid(x: np.ndarray, minimum: int = 2) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < minimum or not np.all(np.diff(x) > 0):
        raise ValueError(f"x must be 1-D, strictly increasing and finite, with >= {minimum} points")
    return x


def _check_samples(y: np.ndarray, x: np.ndarray, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    x = _check_grid(x, minimum)
    y = np.asarray(y, dtype=float)  # no copy for float64 input
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2 or y.shape[1] != x.size:
        raise ValueError(f"y must have shape (n, {x.size}) or ({x.size},), got {y.shape}")
    return x, y


def _evaluate(f: Batch, points: np.ndarray) -> np.ndarray:
    """f at the points as an (n, p) array; a (p,)-valued or scalar f is one curve."""
    with np.errstate(all="ignore"):  # bad curves become NaN rows, not warnings
        values = np.asarray(f(points), dtype=float)
    if values.ndim < 2:
        values = np.atleast_2d(values)
    if values.ndim != 2:
        raise ValueError(f"f must return shape (n, p) or (p,), got {values.shape}")
    return np.broadcast_to(values, (values.shape[0], points.size))


def _rows(n: int, m: int) -> Iterator[slice]:
    step = max(1, _CHUNK_VALUES // max(m, 1))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def _trapezoid_weights(x: np.ndarray) -> np.ndarray:
    dx = np.diff(x)
    weights = np.zeros_like(x)
    weights[:-1] += dx / 2
    weights[1:] += dx / 2
    return weights


def _accumulate(a: np.ndarray) -> np.ndarray:
    """Cumulative sum along each row in place, in blocks of ~√k so rounding grows like 2√k."""
    k = a.shape[1]
    block = max(1, int(np.ceil(np.sqrt(k))))
    for start in range(0, k, block):
        np.cumsum(a[:, start:start + block], axis=1, out=a[:, start:start + block])
    offsets = np.cumsum(a[:, block - 1::block], axis=1)  # running totals of whole blocks
    for j, start in enumerate(range(block, k, block)):
        a[:, start:start + block] += offsets[:, j, None]
    return a


def _rounding(m: int, abs_area: np.ndarray) -> np.ndarray:
    # The blocked sum of m increments is off by at most ~(2√m + 1)·eps·Σ|increment|, and the
    # increments' magnitudes sum to ≲ 2∫|f|; the floor keeps exact rules from claiming zero error.
    return 2.0 * EPS * (2 * np.sqrt(m) + 8) * abs_area


def _finish(g: np.ndarray, error: np.ndarray, x: np.ndarray, method: str, started: float,
            evaluations: int) -> AreaCurves:
    bad = ~(np.isfinite(g[:, -1]) & np.isfinite(error))
    g[bad] = np.nan
    error[bad] = np.inf
    return AreaCurves(x=x, g=g, error=error, method=method,
                      seconds=time.perf_counter() - started, evaluations=evaluations)


# ---- rules on samples -----------------------------------------------------------------------

def _trapezoid_into(y: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Cumulative trapezoid of the rows of y written into out (same shape), without temporaries."""
    out[:, 0] = 0.0
    np.add(y[:, 1:], y[:, :-1], out=out[:, 1:])
    out[:, 1:] *= np.diff(x) / 2
    _accumulate(out[:, 1:])
    return out


def cumulative_trapezoid(y: np.ndarray, x: np.ndarray) -> AreaCurves:
    """The paper's trapezoid rule made cumulative, with a Richardson error bound per curve."""
    started = time.perf_counter()
    x, y = _check_samples(y, x, minimum=3)
    n, m = y.shape
    g = np.empty((n, m))
    error = np.empty(n)
    weights = _trapezoid_weights(x)
    with np.errstate(all="ignore"):
        for rows in _rows(n, m):
            _trapezoid_into(y[rows], x, g[rows])
            # The trapezoid error is c·h² to leading order, so T_h - T_2h = 3·(error of T_h) at the
            # points both grids share; its max over the grid bounds the error everywhere.
            coarse = _trapezoid_into(y[rows, ::2], x[::2], np.empty_like(y[rows, ::2]))
            richardson = np.max(np.abs(g[rows, ::2] - coarse), axis=1) / 3
            error[rows] = SAFETY * richardson + _rounding(m, np.abs(y[rows]) @ weights)
    return _finish(g, error, x, "trapezoid", started, m)


def _simpson_pieces(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Areas over [x_i, x_i+1] (forward) and [x_i+1, x_i+2] (backward) of each sample triplet's
    parabola (Cartwright's formulas, valid on uneven grids)."""
    h1, h2 = np.diff(x)[:-1], np.diff(x)[1:]
    span = h1 + h2
    y0, y1, y2 = y[:, :-2], y[:, 1:-1], y[:, 2:]
    forward = h1 / 6 * ((3 - h1 / span) * y0 + (3 + h1**2 / (h2 * span) + h1 / span) * y1
                        - h1**2 / (h2 * span) * y2)
    backward = h2 / 6 * ((3 - h2 / span) * y2 + (3 + h2**2 / (h1 * span) + h2 / span) * y1
                         - h2**2 / (h1 * span) * y0)
    return forward, backward


def _simpson_into(y: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Cumulative composite Simpson (as scipy's cumulative_simpson) of the rows of y into out;
    returns the local error estimate of the half-pair pieces, per row."""
    forward, backward = _simpson_pieces(y, x)
    m = x.size
    # Each pair of intervals is one parabola (so even points carry composite Simpson); an odd
    # point adds the first half of its pair, and an odd interval count ends on a backward piece.
    out[:, 0] = 0.0
    out[:, 1:-1:2] = forward[:, ::2]
    out[:, 2::2] = backward[:, ::2]
    if m % 2 == 0:
        out[:, -1] = backward[:, -1]
    _accumulate(out[:, 1:])
    # A half-pair piece is off by ~h⁴f'''/24 with opposite signs from the parabola before and the
    # parabola after, so half their disagreement on the same interval measures it.
    return np.max(np.abs(forward[:, 1:] - backward[:, :-1]), axis=1) / 2


def cumulative_simpson(y: np.ndarray, x: np.ndarray) -> AreaCurves:
    """Composite Simpson at every grid point, with a Richardson-plus-local error bound per curve."""
    started = time.perf_counter()
    x, y = _check_samples(y, x, minimum=9)
    n, m = y.shape
    g = np.empty((n, m))
    error = np.empty(n)
    weights = _trapezoid_weights(x)
    with np.errstate(all="ignore"):
        for rows in _rows(n, m):
            local = _simpson_into(y[rows], x, g[rows])
            coarse = np.empty_like(y[rows, ::2])
            _simpson_into(y[rows, ::2], x[::2], coarse)
            # Composite Simpson is off by c·h⁴, so S_h - S_2h = 15·(error of S_h) at the points
            # where both are whole pairs of intervals (every fourth fine point).
            richardson = np.max(np.abs(g[rows, ::4] - coarse[:, ::2]), axis=1) / 15
            error[rows] = (SAFETY * (richardson + local)
                           + _rounding(m, np.abs(y[rows]) @ weights))
    return _finish(g, error, x, "simpson", started, m)


# ---- rules on functions ---------------------------------------------------------------------

def gauss_legendre(f: Batch, x: np.ndarray, order: int = 8, *,
                   chunk_values: int = 1 << 23) -> AreaCurves:
    """Composite Gauss–Legendre (order nodes per grid interval), checked against order − 3."""
    started = time.perf_counter()
    x = _check_grid(x)
    if order < 2:
        raise ValueError("gauss_legendre needs order >= 2")
    lower = max(1, order - 3)
    (nodes_hi, w_hi), (nodes_lo, w_lo) = leggauss(order), leggauss(lower)
    nodes = np.concatenate([nodes_hi, nodes_lo])  # one evaluation serves both rules
    k = nodes.size
    mid, half = (x[1:] + x[:-1]) / 2, np.diff(x) / 2
    intervals = x.size - 1
    g = disagreement = magnitude = None
    done, step = 0, min(intervals, 256)  # a small first chunk reveals the batch size n
    with np.errstate(all="ignore"):
        while done < intervals:
            span = slice(done, min(intervals, done + step))
            values = _evaluate(f, (mid[span, None] + half[span, None] * nodes).ravel())
            n = values.shape[0]
            values = values.reshape(n, -1, k)
            hi = (values[..., :order] @ w_hi) * half[span]
            lo = (values[..., order:] @ w_lo) * half[span]
            if g is None:
                g, disagreement, magnitude = np.empty((n, x.size)), np.zeros(n), np.zeros(n)
                g[:, 0] = 0.0
            elif n != g.shape[0]:
                raise ValueError("f returned a different number of curves on different chunks")
            g[:, 1 + span.start:1 + span.stop] = hi
            # The lower order's error dominates the difference, so the summed disagreement bounds
            # the higher order's error over every prefix of intervals.
            disagreement += np.abs(hi - lo).sum(axis=1)
            magnitude += np.abs(hi).sum(axis=1)
            done = span.stop
            step = max(1, chunk_values // (n * k))
        _accumulate(g[:, 1:])
        error = SAFETY * disagreement + _rounding(x.size, magnitude)
    return _finish(g, error, x, "gauss-legendre", started, intervals * k)


# ---- neural-network integration -------------------------------------------------------------

def _sigmoid_integrals(s: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """∫_0^s σ(w t + b) dt for every s (rows) and unit (columns), finite for any w, b and s."""
    a = np.multiply.outer(s, w)
    near = np.abs(a) <= 1.0
    with np.errstate(all="ignore"):
        # softplus(a + b) - softplus(b) = log1p(σ(b)·expm1(a)) keeps full precision as w → 0;
        # far from that, logaddexp is a softplus that never overflows (log(1 + e^z) does).
        small = np.log1p(expit(b) * np.expm1(np.where(near, a, 0.0)))
        large = np.logaddexp(0.0, a + b) - np.logaddexp(0.0, b)
        out = np.where(near, small, large) / np.where(w == 0, 1.0, w)
    flat = w == 0
    out[:, flat] = np.multiply.outer(s, expit(b[flat]))  # the w → 0 limit: σ(b)·s
    return out


def _ridge_solver(design: np.ndarray, ridge: float) -> np.ndarray:
    """The matrix taking targets to ridge least-squares coefficients, from one SVD (as lstsq)."""
    u, sv, vt = np.linalg.svd(design, full_matrices=False)
    damping = ridge * sv[0] ** 2  # relative, so the regularization ignores the design's scale
    return (vt.T * (sv / (sv**2 + damping))) @ u.T


def _layer(s: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hidden units at s and their integrals from 0, each with a trailing constant unit."""
    with np.errstate(all="ignore"):
        features = expit(np.multiply.outer(s, w) + b)
    return (np.hstack([features, np.ones((s.size, 1))]),
            np.hstack([_sigmoid_integrals(s, w, b), s[:, None]]))


def _refine(w: np.ndarray, b: np.ndarray, coef: np.ndarray, s: np.ndarray, z: np.ndarray,
            iterations: int, ridge: float) -> np.ndarray:
    """A few damped Levenberg–Marquardt steps on all parameters (analytic Jacobian)."""
    h = w.size
    damp = np.sqrt(ridge)

    def parts(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(all="ignore"):
            features = expit(np.multiply.outer(s, t[:h]) + t[h:2 * h])
        return features, features @ t[2 * h:3 * h] + t[-1]

    def residuals(t: np.ndarray) -> np.ndarray:
        return np.concatenate([parts(t)[1] - z, damp * t[2 * h:3 * h]])

    def jacobian(t: np.ndarray) -> np.ndarray:
        features, _ = parts(t)
        slope = features * (1 - features) * t[2 * h:3 * h]
        jac = np.zeros((s.size + h, t.size))
        jac[:s.size] = np.hstack([slope * s[:, None], slope, features, np.ones((s.size, 1))])
        jac[s.size:, 2 * h:3 * h] = damp * np.eye(h)
        return jac

    start = np.concatenate([w, b, coef])
    method = "lm" if s.size + h >= start.size else "trf"  # MINPACK's lm needs no fewer residuals
    fitted = least_squares(residuals, start, jac=jacobian, method=method, max_nfev=iterations)
    return fitted.x if np.all(np.isfinite(fitted.x)) else start


def _network_areas(y: np.ndarray, x: np.ndarray, coef: np.ndarray, centre: np.ndarray,
                   scale: np.ndarray, design: np.ndarray,
                   integrals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form areas of fitted networks (rows of coef) and honest bounds on their error."""
    width, s = x[-1] - x[0], (x - x[0]) / (x[-1] - x[0])
    with np.errstate(all="ignore"):
        g = width * (scale[:, None] * (coef @ integrals.T) + np.multiply.outer(centre, s))
        residual = np.abs(y - (scale[:, None] * (coef @ design.T) + centre[:, None]))
        # |∫(f - f̂)| ≤ ∫|f - f̂|: measure that by trapezoids plus their own Richardson error.
        fine = _trapezoid_into(residual, x, np.empty_like(residual))
        coarse = _trapezoid_into(residual[:, ::2], x[::2], np.empty_like(residual[:, ::2]))
        bound = fine[:, -1] + np.max(np.abs(fine[:, ::2] - coarse), axis=1) / 3
        # Rounding in the network's own sums is at most eps·Σ|coefficient·term| per point.
        terms = (np.abs(coef) @ np.abs(integrals).T).max(axis=1)
        roundoff = 4 * EPS * (coef.shape[1] + 8) * width * scale * terms
        error = SAFETY * bound + roundoff + _rounding(x.size, np.abs(y) @ _trapezoid_weights(x))
    return g, error


def nni_integrate(x: np.ndarray, y: np.ndarray, ctx: ToolContext | None = None, hidden: int = 64,
                  *, refine: int = 0, subsample: int = 1024, ridge: float = 1e-12) -> AreaCurves:
    """Neural-Network Integration: fit c + Σ v σ(w t + b) per curve, integrate it in closed form."""
    # `refine` > 0 adds that many Levenberg–Marquardt evaluations per curve on `subsample` points;
    # it is off by default because it cost ~16x the time for no typical gain in accuracy.
    started = time.perf_counter()
    ctx = ctx if ctx is not None else ToolContext()
    x, y = _check_samples(y, x, minimum=3)
    if hidden < 1:
        raise ValueError("nni_integrate needs at least one hidden unit")
    n, m = y.shape
    s = (x - x[0]) / (x[-1] - x[0])  # fit on [0, 1] so the same weight scales suit any interval
    # Random hidden units whose transitions cover [0, 1] (one per stratum, so no gaps) at widths
    # from the whole interval down to the spacing of the units; the output layer is then linear
    # and solved exactly, for all curves at once since they share the hidden layer.
    centres = -0.05 + 1.1 * (np.arange(hidden) + ctx.rng.uniform(0.0, 1.0, hidden)) / hidden
    w = np.exp(ctx.rng.uniform(np.log(2.0), np.log(2.0 * hidden), hidden))
    w *= ctx.rng.choice([-1.0, 1.0], hidden)
    b = -w * centres
    design, integrals = _layer(s, w, b)
    solver = _ridge_solver(design, ridge)
    pick = np.unique(np.linspace(0, m - 1, min(m, subsample)).round().astype(int))
    g = np.empty((n, m))
    error = np.empty(n)
    for rows in _rows(n, m):
        ctx.check_cancelled()
        ctx.progress("nni", rows.start, n)
        chunk = y[rows]
        with np.errstate(all="ignore"):
            centre = chunk.mean(axis=1)
            scale = np.max(np.abs(chunk - centre[:, None]), axis=1)
            scale[~(scale > 0)] = 1.0  # constant (or broken) curves: NaN stays NaN below
            coef = ((chunk - centre[:, None]) / scale[:, None]) @ solver.T
        g[rows], error[rows] = _network_areas(chunk, x, coef, centre, scale, design, integrals)
        for k in range(chunk.shape[0] if refine > 0 else 0):
            if not np.isfinite(error[rows.start + k]):
                continue
            ctx.check_cancelled()
            # Refined curves get their own hidden layer; keep it only if its bound is tighter.
            z = (chunk[k, pick] - centre[k]) / scale[k]
            tuned = _refine(w, b, coef[k], s[pick], z, refine, ridge)
            own_design, own_integrals = _layer(s, tuned[:hidden], tuned[hidden:2 * hidden])
            one = slice(k, k + 1)
            area, bound = _network_areas(chunk[one], x, tuned[None, 2 * hidden:], centre[one],
                                         scale[one], own_design, own_integrals)
            if bound[0] < error[rows.start + k]:
                g[rows.start + k], error[rows.start + k] = area[0], bound[0]
    ctx.progress("nni", n, n)
    return _finish(g, error, x, "nni", started, m)


# ---- one call shape for all -----------------------------------------------------------------

def _on_samples(rule: Callable[[np.ndarray, np.ndarray], AreaCurves]) -> Callable[..., AreaCurves]:
    def run(f: Batch, x: np.ndarray) -> AreaCurves:
        started = time.perf_counter()
        x = _check_grid(x)
        measured = rule(_evaluate(f, x), x)
        return replace(measured, seconds=time.perf_counter() - started)
    return run


def _nni(f: Batch, x: np.ndarray, ctx: ToolContext | None = None, **options) -> AreaCurves:
    started = time.perf_counter()
    x = _check_grid(x)
    measured = nni_integrate(x, _evaluate(f, x), ctx if ctx is not None else ToolContext(),
                             **options)
    return replace(measured, seconds=time.perf_counter() - started)


INTEGRATORS: dict[str, Callable[..., AreaCurves]] = {
    "trapezoid": _on_samples(cumulative_trapezoid),
    "simpson": _on_samples(cumulative_simpson),
    "gauss-legendre": gauss_legendre,
    "nni": _nni,
}


def integrate(f: Batch, x: np.ndarray, method: str = "trapezoid", **options) -> AreaCurves:
    """Cumulative areas of a batch of functions on the grid x by the named method (its options)."""
    if method not in INTEGRATORS:
        raise ValueError(f"unknown integration method {method!r}; known: {sorted(INTEGRATORS)}")
    return INTEGRATORS[method](f, x, **options)
