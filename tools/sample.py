"""Sampling designs: which members of a family to measure, seeded from the context's generator.

Three designs share one acceptance check (`check`):

- ``random`` (the paper's): each parameter uniform in its range, rounded to the family's
  decimals, then checked;
- ``one-factor``: one parameter swept evenly (optionally jittered) across an interval while the
  others are held at a base point, to see how the integral responds to that one coefficient;
- ``points``: explicit parameter vectors chosen by a caller (say, where two hypotheses
  disagree). They may lie outside the family's ranges -- that is how extrapolation is tested --
  but constraints and domain guards still apply.

A sample that violates a constraint, evaluates to nan/inf anywhere on the grid, or exceeds the
domain's |f| guard is *rejected with a reason*, never raised; only programmer errors (an unknown
parameter name, a negative n) raise ValueError. Same seed, same batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from eudoxus.tools.context import ToolContext
from eudoxus.tools.families import Family

__all__ = ["DESIGNS", "SampleBatch", "check", "round_params", "sample_one_factor",
           "sample_points", "sample_random"]

DESIGNS = ("random", "one-factor", "points")
MAX_FILL_ROUNDS = 50


@dataclass(frozen=True, eq=False)
class SampleBatch:
    """Parameter vectors of one family, which were accepted (and why not), and f on the grid."""

    family: str
    design: str
    parameters: tuple[str, ...]
    params: np.ndarray  # (n, k) float64, rounded to the family's decimals (points: as given)
    accepted: np.ndarray  # (n,) bool
    reject_reasons: tuple[str | None, ...]  # None where accepted
    x: np.ndarray  # (m,) the evaluation grid
    values: np.ndarray  # (n, m) f on the grid; rows of rejected samples are nan
    varied: str | None = None  # the swept parameter of a one-factor batch

    def __post_init__(self) -> None:
        for name in ("params", "accepted", "x", "values"):
            getattr(self, name).setflags(write=False)

    def __len__(self) -> int:
        return int(self.params.shape[0])

    @property
    def n_accepted(self) -> int:
        return int(np.count_nonzero(self.accepted))

    @property
    def accepted_params(self) -> np.ndarray:
        return self.params[self.accepted]

    @property
    def accepted_values(self) -> np.ndarray:
        return self.values[self.accepted]

    @property
    def rejections(self) -> list[tuple[int, str]]:
        """(row, reason) for every rejected sample."""
        return [(i, r) for i, r in enumerate(self.reject_reasons) if r is not None]

    def row(self, i: int) -> dict[str, float]:
        """Parameter values of sample i by name."""
        return dict(zip(self.parameters, map(float, self.params[i]), strict=True))


def _fmt(value: float) -> str:
    value = float(value)
    if np.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def round_params(family: Family, params: np.ndarray) -> np.ndarray:
    """Round to the family's decimals (no-op for decimals=None); -0.0 becomes 0.0."""
    params = np.asarray(params, dtype=float)
    if family.decimals is None:
        return params.copy()
    return np.round(params, family.decimals) + 0.0


def check(family: Family, params: np.ndarray,
          x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, tuple[str | None, ...]]:
    """Evaluate and accept/reject each parameter row: (values, accepted, reasons).

    In order: finite parameters, the family's constraints (incl. domain guards), then f on the
    grid must be finite everywhere with |f| <= domain.max_abs. Rejected rows of `values` are nan.
    """
    params = np.asarray(params, dtype=float)
    k = len(family.parameters)
    if params.ndim != 2 or params.shape[1] != k:
        raise ValueError(f"family {family.name} takes params of shape (n, {k}), "
                         f"not {params.shape}")
    x = family.domain.grid() if x is None else np.asarray(x, dtype=float)
    n = params.shape[0]
    reasons: list[str | None] = [None] * n
    accepted = np.ones(n, dtype=bool)

    def reject(mask: np.ndarray, why) -> None:
        for i in np.flatnonzero(mask & accepted):
            reasons[i] = why(i)
        accepted[mask] = False

    finite = np.isfinite(params)
    reject(~finite.all(axis=1), lambda i: "; ".join(
        f"{p} = {_fmt(params[i, j])} is not finite"
        for j, p in enumerate(family.parameters) if not finite[i, j]))
    columns = {p: np.where(finite[:, j], params[:, j], 0.0)
               for j, p in enumerate(family.parameters)}
    for constraint in family.constraints:
        if not accepted.any():
            break
        live = np.flatnonzero(accepted)
        sub = {p: c[live] for p, c in columns.items()}
        holds = np.asarray(constraint.holds(sub, x), dtype=bool)
        failed = np.zeros(n, dtype=bool)
        failed[live[~holds]] = True
        reject(failed, lambda i, c=constraint: c.reason(
            {p: float(params[i, j]) for j, p in enumerate(family.parameters)}, x))

    values = np.full((n, x.shape[0]), np.nan)
    live = np.flatnonzero(accepted)
    if live.size and x.size:
        values[live] = family.evaluate(params[live], x)
        block = values[live]
        bad = ~np.isfinite(block)
        nonfinite = np.zeros(n, dtype=bool)
        nonfinite[live[bad.any(axis=1)]] = True

        def why_nonfinite(i: int) -> str:
            row = values[i]
            j = int(np.argmax(~np.isfinite(row)))
            if np.isnan(row[j]):
                return f"nan at x = {x[j]:.4g} (f undefined or not real there)"
            return f"overflow: f = {row[j]} at x = {x[j]:.4g}"

        reject(nonfinite, why_nonfinite)
        with np.errstate(invalid="ignore"):
            big = np.zeros(n, dtype=bool)
            big[live] = (np.abs(block) > family.domain.max_abs).any(axis=1)

        def why_big(i: int) -> str:
            j = int(np.argmax(np.abs(values[i])))
            return (f"|f| = {abs(values[i, j]):.3g} exceeds {family.domain.max_abs:.3g} "
                    f"at x = {x[j]:.4g}")

        reject(big, why_big)
    values[~accepted] = np.nan
    return values, accepted, tuple(reasons)


def _batch(family: Family, design: str, params: np.ndarray, x: np.ndarray,
           varied: str | None = None) -> SampleBatch:
    values, accepted, reasons = check(family, params, x)
    return SampleBatch(family=family.name, design=design, parameters=family.parameters,
                       params=np.array(params, dtype=float), accepted=accepted,
                       reject_reasons=reasons, x=np.array(x, dtype=float), values=values,
                       varied=varied)


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer, not {n!r}")
    return int(n)


def draw_uniform(family: Family, n: int, rng: np.random.Generator) -> np.ndarray:
    """n rows uniform in the family's ranges, rounded to its decimals."""
    lows = np.array([family.ranges[p][0] for p in family.parameters], dtype=float)
    highs = np.array([family.ranges[p][1] for p in family.parameters], dtype=float)
    return round_params(family, rng.uniform(lows, highs, size=(n, len(family.parameters))))


def sample_random(family: Family, n: int, ctx: ToolContext, *, fill: bool = False,
                  x: np.ndarray | None = None) -> SampleBatch:
    """The paper's design: n draws uniform in the ranges, rounded, then checked.

    With ``fill=True`` it keeps drawing (at most MAX_FILL_ROUNDS rounds) until n samples are
    accepted; every draw, rejected ones included, stays in the batch, in draw order.
    """
    n = _check_n(n)
    x = family.domain.grid() if x is None else np.asarray(x, dtype=float)
    ctx.check_cancelled()
    params = draw_uniform(family, n, ctx.rng)
    if not fill:
        batch = _batch(family, "random", params, x)
        ctx.progress("sample", n, n)
        return batch
    values, accepted, reasons = check(family, params, x)
    parts = [(params, values, accepted, reasons)]
    total = int(accepted.sum())
    for _ in range(MAX_FILL_ROUNDS):
        ctx.progress("sample", total, n)
        if total >= n:
            break
        ctx.check_cancelled()
        extra = draw_uniform(family, n - total, ctx.rng)
        values, accepted, reasons = check(family, extra, x)
        parts.append((extra, values, accepted, reasons))
        total += int(accepted.sum())
    return SampleBatch(
        family=family.name, design="random", parameters=family.parameters,
        params=np.concatenate([p[0] for p in parts]),
        accepted=np.concatenate([p[2] for p in parts]),
        reject_reasons=tuple(r for p in parts for r in p[3]), x=np.array(x),
        values=np.concatenate([p[1] for p in parts]))


def _random_base(family: Family, vary: str, rng: np.random.Generator) -> dict[str, float]:
    """One random base point whose fixed parameters satisfy the constraints not involving vary."""
    fixed_constraints = [c for c in family.constraints if vary not in c.names]
    row = draw_uniform(family, 1, rng)
    for _ in range(100):
        columns = {p: row[:, j] for j, p in enumerate(family.parameters)}
        if all(c.holds(columns, family.domain.grid()).all() for c in fixed_constraints):
            break
        row = draw_uniform(family, 1, rng)
    return dict(zip(family.parameters, map(float, row[0]), strict=True))


def sample_one_factor(family: Family, n: int, ctx: ToolContext, vary: str,
                      base: Mapping[str, float] | None = None, low: float | None = None,
                      high: float | None = None, *, jitter: float = 0.0,
                      x: np.ndarray | None = None) -> SampleBatch:
    """Sweep one parameter over n evenly spaced values in [low, high], the others held fixed.

    low/high default to the parameter's range (they may reach outside it). The others are held
    at `base`; parameters missing from `base` (all of them when it is None) come from one
    random draw. ``jitter`` in [0, 1) moves each value uniformly by up to that fraction of the
    spacing (clipped to [low, high]). Values are rounded to the family's decimals.
    """
    n = _check_n(n)
    if vary not in family.parameters:
        raise ValueError(f"family {family.name} has no parameter {vary!r} "
                         f"(parameters: {', '.join(family.parameters)})")
    if base is not None:
        unknown = [p for p in base if p not in family.parameters]
        if unknown:
            raise ValueError(f"base names unknown parameter {', '.join(map(str, unknown))} "
                             f"of family {family.name}")
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter must be in [0, 1), not {jitter!r}")
    lo = family.ranges[vary][0] if low is None else float(low)
    hi = family.ranges[vary][1] if high is None else float(high)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValueError(f"bad sweep interval [{lo}, {hi}] for {vary}")
    x = family.domain.grid() if x is None else np.asarray(x, dtype=float)
    ctx.check_cancelled()
    point = _random_base(family, vary, ctx.rng) if base is None or any(
        p not in base for p in family.parameters if p != vary) else {}
    point.update({p: float(v) for p, v in (base or {}).items()})
    sweep = np.linspace(lo, hi, n)
    if jitter > 0 and n > 1:
        step = (hi - lo) / (n - 1)
        sweep = np.clip(sweep + ctx.rng.uniform(-jitter, jitter, size=n) * step, lo, hi)
    j = family.parameters.index(vary)
    params = np.tile(np.array([point.get(p, 0.0) for p in family.parameters], dtype=float),
                     (n, 1))
    params[:, j] = round_params(family, sweep)
    batch = _batch(family, "one-factor", params, x, varied=vary)
    ctx.progress("sample", n, n)
    return batch


def sample_points(family: Family, points: np.ndarray | Sequence[Mapping[str, float]],
                  ctx: ToolContext | None = None, *, round_values: bool = False,
                  x: np.ndarray | None = None) -> SampleBatch:
    """Explicit parameter vectors: an (n, k) array in parameter order, or mappings by name.

    Points may lie outside the family's ranges; constraints and domain guards still apply.
    They are used as given unless ``round_values`` rounds them to the family's decimals.
    """
    k = len(family.parameters)
    if isinstance(points, np.ndarray) or (len(points) and not isinstance(points[0], Mapping)):
        params = np.asarray(points, dtype=float)
        if params.ndim == 1 and params.size == k and k:
            params = params[None, :]
        if params.size == 0:
            params = params.reshape(0, k)
        if params.ndim != 2 or params.shape[1] != k:
            raise ValueError(f"points for family {family.name} must have shape (n, {k}), "
                             f"not {params.shape}")
    else:
        params = np.empty((len(points), k))
        for i, point in enumerate(points):
            if not isinstance(point, Mapping):
                raise ValueError("points must all be mappings, or an (n, k) array")
            unknown = [str(p) for p in point if p not in family.parameters]
            missing = [p for p in family.parameters if p not in point]
            if unknown or missing:
                problems = ([f"unknown {', '.join(unknown)}"] if unknown else []) + (
                    [f"missing {', '.join(missing)}"] if missing else [])
                raise ValueError(f"point {i} for family {family.name}: {'; '.join(problems)} "
                                 f"(parameters: {', '.join(family.parameters)})")
            params[i] = [float(point[p]) for p in family.parameters]
    if round_values:
        params = round_params(family, params)
    if ctx is not None:
        ctx.check_cancelled()
    x = family.domain.grid() if x is None else np.asarray(x, dtype=float)
    batch = _batch(family, "points", params, x)
    if ctx is not None:
        ctx.progress("sample", len(batch), len(batch))
    return batch
