"""Fan-out of independent tool calls: in-process, a local process pool, or a dask cluster.

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
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

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


class TaskFailed(RuntimeError):
    """Chunks of work that still failed after their retries; `partial` holds the rest, in
    order, with None for every item of a failed chunk."""

    def __init__(self, message: str, partial: list[Any]) -> None:
        super().__init__(message)
        self.partial = partial


class Executor(Protocol):
    """What a campaign step needs from an executor: map chunks in order, then close."""

    name: str

    def map_chunks(self, fn: Callable[..., list[Any]], n: int,
                   make_args: Callable[[slice], Sequence[Any]]) -> list[Any]: ...

    def close(self) -> None: ...


class ChunkedExecutor:
    """Chunking, bounded retries and in-order gathering, shared by the local and dask backends.

    A chunk whose task raised, or whose worker died, is sent again up to `retries` times; a
    chunk that still fails becomes None items and a TaskFailed carrying everything else, so
    the step records a failed experiment and loses none of the work that came back.
    """

    retries = 2
    # Seconds to wait for one chunk before counting it as failed: sympy can hang on a rare
    # expression, and a cluster whose workers are all gone would otherwise wait forever.
    task_timeout: float | None = 600.0

    @property
    def name(self) -> str:
        raise NotImplementedError

    def slots(self) -> int:
        """Tasks that can run at once (0 or 1: run in the controller's process)."""
        raise NotImplementedError

    def _submit(self, fn: Callable[..., Any], args: Sequence[Any]) -> Any:
        raise NotImplementedError

    def _result(self, future: Any) -> Any:
        return future.result(timeout=self.task_timeout)

    def _lost_workers(self, error: BaseException) -> bool:
        """Whether every unfinished task was lost with the error (a broken pool)."""
        return False

    def map_chunks(self, fn: Callable[..., list[Any]], n: int, make_args: Callable[[slice],
                   Sequence[Any]]) -> list[Any]:
        """fn(*make_args(chunk)) over chunks covering range(n); results concatenated in order."""
        if n == 0:
            return []
        slots = self.slots()
        if slots <= 1:
            return list(fn(*make_args(slice(0, n))))
        size = max(1, math.ceil(n / (2 * slots)))  # two chunks per slot balances load
        chunks = [slice(i, min(n, i + size)) for i in range(0, n, size)]
        futures = [self._submit(fn, make_args(c)) for c in chunks]
        done: list[list[Any] | None] = [None] * len(chunks)
        tries = [0] * len(chunks)
        failures: list[str] = []
        i = 0
        while i < len(chunks):
            try:
                done[i] = list(self._result(futures[i]))
                i += 1
                continue
            except Exception as error:  # its own error, a lost worker or a timeout: retry it
                futures[i].cancel()  # a timed-out task must not keep a slot (if it can stop)
                tries[i] += 1
                if self._lost_workers(error):
                    # Every chunk not yet collected went down with the pool: send it again.
                    self.close()
                    for j in range(i + 1, len(chunks)):
                        futures[j] = self._submit(fn, make_args(chunks[j]))
                if tries[i] > self.retries:
                    failures.append(f"{type(error).__name__}: {error}".splitlines()[0])
                    done[i] = [None] * (chunks[i].stop - chunks[i].start)
                    i += 1
                else:
                    futures[i] = self._submit(fn, make_args(chunks[i]))
        out = [item for part in done for item in (part or [])]
        if failures:
            raise TaskFailed(f"{len(failures)} of {len(chunks)} chunk(s) failed after "
                             f"{self.retries} retries: {failures[0]}", out)
        return out

    def close(self) -> None:
        """Release the workers (idempotent)."""


class LocalExecutor(ChunkedExecutor):
    """Map a function over chunks of work, in-process (workers=0) or on a process pool."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = int(workers)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def name(self) -> str:
        return f"local[{self.workers}]" if self.workers else "in-process"

    def slots(self) -> int:
        return self.workers

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the controller holds a DuckDB connection and threads; a forked
            # child would inherit both.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                             initializer=_init_worker)
        return self._pool

    def _submit(self, fn: Callable[..., Any], args: Sequence[Any]) -> Any:
        return self._executor().submit(fn, *args)

    def _lost_workers(self, error: BaseException) -> bool:
        return isinstance(error, BrokenProcessPool)

    def close(self) -> None:
        """Stop the pool (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


EXECUTORS = ("local", "dask")


def make_executor(kind: str = "local", workers: int = 2,
                  scheduler: str | None = None) -> ChunkedExecutor:
    """The named executor: `local` (a process pool), or `dask` (a scheduler's address, or a
    local cluster of `workers` processes); dask is imported only here, when asked for."""
    if kind == "local":
        if scheduler is not None:
            raise ValueError("--scheduler needs --executor dask")
        return LocalExecutor(workers)
    if kind == "dask":
        from eudoxus.agent.executor_dask import DaskExecutor

        return DaskExecutor(workers=workers, scheduler=scheduler)
    raise ValueError(f"unknown executor {kind!r}; choose from {', '.join(EXECUTORS)}")
