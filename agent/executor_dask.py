"""The dask.distributed executor: the same chunks as the local pool, on a cluster.

Imported only when `--executor dask` is asked for, so dask stays an optional extra. Workers
need eudoxus installed (the task is `eudoxus.agent.executor.regress_curves`, sent by
reference); they get arrays and names and send back `Fit` dataclasses, never touching the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eudoxus.agent.executor import ChunkedExecutor

CONNECT_TIMEOUT = 20.0  # seconds to reach a scheduler before saying it cannot be reached


def ignore_interrupts() -> bool:
    """Run in each worker of a local cluster: Ctrl-C reaches the whole process group, and the
    controller, not the workers, decides when to stop (a dead worker strands the step)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return False  # signal handlers can only be set from a process's main thread
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return True


class DaskUnavailable(RuntimeError):
    """dask.distributed is not installed, or its scheduler cannot be reached."""


class DaskExecutor(ChunkedExecutor):
    """Chunks of work on a dask scheduler (`scheduler`) or a local cluster of `workers`."""

    def __init__(self, workers: int = 2, scheduler: str | None = None) -> None:
        self.workers = max(1, int(workers))
        self.scheduler = scheduler
        self._client: Any = None
        self._cluster: Any = None

    @property
    def name(self) -> str:
        return f"dask[{self.scheduler}]" if self.scheduler else f"dask-local[{self.workers}]"

    def start(self) -> DaskExecutor:
        """Connect (or start the local cluster) now; raise DaskUnavailable with a reason."""
        if self._client is not None:
            return self
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as error:
            raise DaskUnavailable("the dask executor needs the distributed extra: "
                                  "pip install 'eudoxus[distributed]'") from error
        try:
            if self.scheduler:
                self._client = Client(self.scheduler, timeout=CONNECT_TIMEOUT)
            else:
                # One thread per worker process: the regressions are CPU-bound Python.
                # dashboard_address=":0": a fixed port may be taken (and bokeh is optional).
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                             processes=True, dashboard_address=":0")
                self._client = Client(self._cluster)
                self._client.run(ignore_interrupts)
        except (OSError, TimeoutError) as error:
            self.close()
            where = self.scheduler or "a local cluster"
            raise DaskUnavailable(f"cannot reach dask scheduler {where}: "
                                  f"{str(error).splitlines()[0]}") from error
        return self

    def slots(self) -> int:
        client = self.start()._client
        threads = sum(w.get("nthreads", 1)
                      for w in client.scheduler_info().get("workers", {}).values())
        # Even a single worker goes through the cluster: the point is to leave the controller.
        return max(2, threads)

    def _submit(self, fn: Callable[..., Any], args: Sequence[Any]) -> Any:
        # pure=False: a resubmitted chunk must run again, not reuse a failed result's key.
        return self.start()._client.submit(fn, *args, pure=False)

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this executor started it."""
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
