"""Executors: bounded retries, partial results, the dask backend, and a worker killed mid-run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from eudoxus.agent.campaign import Campaign
from eudoxus.agent.config import load_config
from eudoxus.agent.executor import ChunkedExecutor, LocalExecutor, TaskFailed, regress_curves
from eudoxus.memory import Lab, Store

pytest.importorskip("distributed")

SMALL = dict(families=("poly0", "poly1", "exp"), falsify_n=8, workers=2)


class ThreadExecutor(ChunkedExecutor):
    """The shared retry logic on threads: fast, and lets a test count attempts."""

    def __init__(self, slots: int = 2) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._slots, self._pool = slots, ThreadPoolExecutor(slots)

    name = "threads"

    def slots(self) -> int:
        return self._slots

    def _submit(self, fn, args):
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown()


def test_a_chunk_that_fails_once_is_retried_and_nothing_is_lost() -> None:
    calls: dict[int, int] = {}

    def flaky(items: list[int]) -> list[int]:
        calls[items[0]] = calls.get(items[0], 0) + 1
        if items[0] == 2 and calls[items[0]] == 1:
            raise RuntimeError("transient")
        return [i * 10 for i in items]

    executor = ThreadExecutor()
    try:
        out = executor.map_chunks(flaky, 8, lambda part: (list(range(8))[part],))
    finally:
        executor.close()
    assert out == [i * 10 for i in range(8)]
    assert calls[2] == 2  # retried once


def test_a_chunk_that_keeps_failing_gives_up_after_the_retries_and_keeps_the_rest() -> None:
    attempts = []

    def broken(items: list[int]) -> list[int]:
        if 4 in items:
            attempts.append(1)
            raise ValueError("always")
        return list(items)

    executor = ThreadExecutor()
    try:
        with pytest.raises(TaskFailed, match="ValueError: always") as failed:
            executor.map_chunks(broken, 8, lambda part: (list(range(8))[part],))
    finally:
        executor.close()
    assert len(attempts) == 1 + executor.retries
    partial = failed.value.partial
    assert len(partial) == 8 and partial[4] is None
    assert [v for v in partial if v is not None] == [0, 1, 2, 3, 6, 7]
    assert partial[5] is None  # the same chunk as 4


def _curves():
    x = np.linspace(0, 4, 2001)
    curves = np.stack([a * x**2 / 2 + b * x for a, b in ((1, 2), (3, -1), (-2, 5), (0.5, 0.5))])
    return x, curves, np.full(len(curves), 1e-9)


def test_dask_local_cluster_gives_the_in_process_fits_in_order() -> None:
    from eudoxus.agent.executor_dask import DaskExecutor

    x, curves, noises = _curves()
    local = regress_curves("grammar", x, curves, noises)
    executor = DaskExecutor(workers=2)
    try:
        fanned = executor.map_chunks(regress_curves, len(curves),
                                     lambda part: ("grammar", x, curves[part], noises[part]))
    finally:
        executor.close()
    assert [f.expression for f in fanned] == [f.expression for f in local]
    assert executor.name == "dask-local[2]"


def test_an_unreachable_scheduler_is_a_one_line_error() -> None:
    from eudoxus.agent.executor_dask import DaskExecutor, DaskUnavailable

    port = _free_port()
    executor = DaskExecutor(scheduler=f"tcp://127.0.0.1:{port}")
    executor_timeout = pytest.MonkeyPatch()
    executor_timeout.setattr("eudoxus.agent.executor_dask.CONNECT_TIMEOUT", 2.0)
    try:
        with pytest.raises(DaskUnavailable, match="cannot reach dask scheduler"):
            executor.start()
    finally:
        executor_timeout.undo()


def _rules(lab: Lab, executor, **overrides) -> tuple[str, dict[str | None, str], list]:
    config = load_config("smoke").with_overrides(**{**SMALL, **overrides})
    with Store.open(lab) as store:
        outcome = Campaign(store, lab, config, executor=executor, report=False).run()
        rules = {r.family: r.statement for r in store.list_rules(run_id=outcome.run_id)}
        experiments = store.list_experiments(outcome.run_id)
    return outcome.status, rules, experiments


def test_a_campaign_on_dask_accepts_the_same_rules_as_the_local_pool(tmp_path: Path) -> None:
    from eudoxus.agent.executor_dask import DaskExecutor

    two = {"families": ("poly0", "poly1")}  # kept small: this one runs by default
    local = _rules(Lab(tmp_path / "local"), LocalExecutor(2), **two)
    dask = _rules(Lab(tmp_path / "dask"), DaskExecutor(workers=2), **two)
    assert local[0] == dask[0] == "completed"
    assert dask[1] == local[1] and len(local[1]) == 2
    fits = [(e.step, e.tool, e.n_items, e.ok) for e in local[2]]
    assert [(e.step, e.tool, e.n_items, e.ok) for e in dask[2]] == fits
    assert {e.params.get("executor") for e in dask[2] if e.tool == "regress"} == {
        "dask-local[2]"}


# ---- a real scheduler and two workers, one killed mid-run ----------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([str(Path(sys.executable).parent / "dask"), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


@pytest.mark.slow
def test_a_worker_killed_mid_run_stops_nothing_and_loses_nothing(tmp_path: Path) -> None:
    from eudoxus.agent.executor_dask import DaskExecutor

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", str(port),
                       "--dashboard-address", ":0")]
    try:
        # --no-nanny: killing the worker process kills the worker (a nanny would restart it).
        workers = [_dask("worker", address, "--nthreads", "1", "--no-nanny",
                         "--host", "127.0.0.1") for _ in range(2)]
        processes += workers
        executor = DaskExecutor(scheduler=address)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # both workers registered
            try:
                info = executor.start()._client.scheduler_info()
                if len(info["workers"]) == 2:
                    break
            except Exception:  # the scheduler is still starting
                executor.close()
            time.sleep(0.2)
        else:
            pytest.fail("the dask workers never registered")
        lab = Lab(tmp_path / "lab")
        result: dict[str, object] = {}
        runner = threading.Thread(target=lambda: result.update(
            zip(("status", "rules", "experiments"), _rules(lab, executor), strict=True)))
        runner.start()
        killed = False
        while runner.is_alive():
            # Kill one worker while the exp family's regressions are in flight (its explore
            # step is the slow one): the last event is that step's progress line.
            logs = list((lab.home / "runs").glob("*/events.jsonl")) if (
                lab.home / "runs").exists() else []
            lines = logs[0].read_text().splitlines() if logs else []
            if not killed and lines and '"message":"explore exp' in lines[-1]:
                os.kill(workers[0].pid, signal.SIGKILL)
                killed = True
            time.sleep(0.02)
        runner.join()
        assert killed, "the campaign ended before a worker could be killed"
        survivors = executor.start()._client.scheduler_info()["workers"]
        executor.close()
        assert len(survivors) == 1  # the kill was real; the campaign finished on one worker
        reference = _rules(Lab(tmp_path / "reference"), LocalExecutor(0))
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
    assert result["status"] == "completed"
    assert result["rules"] == reference[1]
    # Nothing lost: every regression returned all its fits, none recorded as failed.
    regressions = [e for e in result["experiments"] if e.tool == "regress"]
    assert all(e.ok for e in regressions)
    assert [e.n_items for e in regressions] == [e.n_items for e in reference[2]
                                                if e.tool == "regress"]


def test_run_refuses_a_scheduler_without_dask_and_an_unknown_executor(capsys, tmp_path) -> None:
    from tests.test_cli import run_cli

    home = str(tmp_path / "lab")
    code, _, err = run_cli(capsys, "--home", home, "run", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and "--scheduler needs --executor dask" in err
    code, _, err = run_cli(capsys, "--home", home, "run", "--executor", "ray")
    assert code == 2 and "unknown executor 'ray'" in err


@pytest.mark.slow
def test_bench_discovery_compares_executors_in_one_run(capsys, tmp_path) -> None:
    import json

    from tests.test_cli import run_cli

    target = tmp_path / "bench.json"
    code, out, err = run_cli(capsys, "bench", "discovery", "--preset", "smoke",
                             "--executor", "local,dask", "--json", str(target))
    assert code == 0 and "functions/s" in out
    document = json.loads(target.read_text())
    assert [r["executor"] for r in document["runs"]] == ["local", "dask"]
    assert all(r["throughput"] > 0 for r in document["runs"])
    assert "accepted rules identical on both executors: yes" in document["notes"]
    assert any(line.startswith("overhead: local / dask throughput") for line in
               document["notes"])


def test_a_chunk_that_hangs_past_the_timeout_is_sent_again() -> None:
    import time as clock

    calls: list[int] = []

    def sometimes_hangs(items: list[int]) -> list[int]:
        calls.append(items[0])
        if items[0] == 0 and calls.count(0) == 1:
            clock.sleep(1.0)  # the first attempt hangs; the executor stops waiting
        return list(items)

    executor = ThreadExecutor(slots=4)
    executor.task_timeout = 0.2
    try:
        assert executor.map_chunks(sometimes_hangs, 4, lambda part: (list(range(4))[part],)) \
            == [0, 1, 2, 3]
    finally:
        executor.close()
    assert calls.count(0) == 2


@pytest.mark.slow
def test_ctrl_c_to_the_process_group_spares_the_local_dask_workers(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches every process of the group: the workers of a local cluster
    must outlive it, so the step in flight finishes and is recorded."""
    home = tmp_path / "lab"
    process = subprocess.Popen(
        [sys.executable, "-m", "eudoxus.agent.cli", "run", "--preset", "smoke",
         "--executor", "dask", "--workers", "2"],
        env={**os.environ, "EUDOXUS_HOME": str(home)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    lines: list[str] = []
    while time.monotonic() < deadline:  # signal while the exp family's regressions run
        logs = list((home / "runs").glob("*/events.jsonl")) if (home / "runs").exists() else []
        lines = logs[0].read_text().splitlines() if logs else []
        if lines and '"message":"explore exp' in lines[-1]:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    with Store.open(Lab(home)) as store:
        run_id = store.list_runs()[0].run.run_id
        experiments = store.list_experiments(run_id)
    assert all(e.ok for e in experiments)
    assert experiments[-1].family_id is not None and any(
        e.tool == "regress" and e.step == experiments[-1].step for e in experiments)
