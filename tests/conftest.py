"""Shared fixtures: a throw-away lab, and a second process that holds a lab's write lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from eudoxus.memory import Lab, Store


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    """A lab directory that does not exist yet."""
    return Lab(tmp_path / "lab")


@pytest.fixture
def store(lab: Lab) -> Iterator[Store]:
    """A writable, migrated store in a fresh lab."""
    with Store.open(lab) as opened:
        yield opened


@contextmanager
def campaign_holding_lock(lab: Lab, *, snapshot: bool) -> Iterator[subprocess.Popen]:
    """Run another process that opens the lab for writing (as a campaign does) and waits."""
    script = textwrap.dedent(
        f"""
        import sys
        from eudoxus.memory import Store
        store = Store.open({str(lab.home)!r})
        store.start_run("held", seed=7, config={{}})
        if {snapshot!r}:
            store.snapshot()
        print("ready", flush=True)
        sys.stdin.readline()
        store.close()
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        process.stdin.close()
        process.wait(timeout=30)
