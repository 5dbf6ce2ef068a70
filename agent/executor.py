"""Fan-out of independent tool calls: in-process, or a local process pool sized to the cores.

Workers receive plain inputs (arrays, names) and return plain results; only the controller
talks to the store. Results come back in input order, so a campaign is deterministic however
the work is spread.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _init_worker() -> None:
    # One BLAS thread per worker: with more, two workers on two cores slow each other ~2x.
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    # Ctrl-C reaches the whole process group; the controller decides when to stop, and a
    # worker killed mid-task would break the pool under the step being finished.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass(frozen=True)
class Fit:
    """A regression engine's best closed form for one curve, as plain values."""

    expression: str
    skeleton: str
    coefficients: tuple[float, ...]
    error: float
    complexity: int
    seconds: float


_ENGINES: dict[str, Any] = {}


def regress_curves(engine: str, x: np.ndarray, curves: np.ndarray,
                   noises: np.ndarray) -> list[Fit | None]:
    """Best fit of each area curve (None where the engine found nothing); runs in a worker."""
    from eudoxus.tools.regress import get_engine

    if engine not in _ENGINES:  # built once per process: the grammar is enumerated once
        _ENGINES[engine] = get_engine(engine)
    fits: list[Fit | None] = []
    for curve, noise in zip(curves, noises, strict=True):
        result = _ENGINES[engine].fit(x, curve, noise=float(noise))
        best = result.best
        fits.append(None if best is None else Fit(best.text, best.skeleton, best.coefficients,
                                                  best.error, best.complexity, best.seconds))
    return fits


class LocalExecutor:
    """Map a function over chunks of work, in-process (workers=0) or on a process pool."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = int(workers)
        self._pool: Executor | None = None

    @property
    def name(self) -> str:
        return f"local[{self.workers}]" if self.workers else "in-process"

    def _executor(self) -> Executor:
        if self._pool is None:
            # spawn, not fork: the controller holds a DuckDB connection and threads; a forked
            # child would inherit both.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                             initializer=_init_worker)
        return self._pool

    def map_chunks(self, fn: Callable[..., list[Any]], n: int, make_args: Callable[[slice],
                   Sequence[Any]]) -> list[Any]:
        """fn(*make_args(chunk)) over chunks covering range(n); results concatenated in order."""
        if n == 0:
            return []
        if self.workers <= 1:
            return list(fn(*make_args(slice(0, n))))
        size = max(1, math.ceil(n / (2 * self.workers)))  # two chunks per worker balances load
        chunks = [slice(i, min(n, i + size)) for i in range(0, n, size)]
        futures = [self._executor().submit(fn, *make_args(c)) for c in chunks]
        out: list[Any] = []
        for future in futures:
            out.extend(future.result())
        return out

    def close(self) -> None:
        """Stop the pool (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
