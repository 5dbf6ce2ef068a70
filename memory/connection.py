"""Opening the lab database: the campaign's writer, and readers that fall back to the snapshot."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from eudoxus.memory.lab import Lab
from eudoxus.memory.migrations import LATEST_VERSION, MIGRATIONS


class StoreError(RuntimeError):
    """A problem with the lab store that the user can act on."""


class StoreUnavailable(StoreError):
    """The store cannot be opened now (locked with no snapshot, corrupt, or too new)."""


class ReadOnlyViolation(StoreError):
    """A statement tried to change a store opened for reading."""


@dataclass
class Opened:
    """A connection and what it is connected to."""

    con: duckdb.DuckDBPyConnection
    source: str  # "database", "snapshot" or "missing" (an empty in-memory schema)
    path: Path


_LOCK_RE = re.compile(r"Could not set lock on file|Conflicting lock", re.IGNORECASE)
_PID_RE = re.compile(r"\(PID (\d+)\)")


def is_lock_error(error: BaseException) -> bool:
    """True when DuckDB refused to open a file because another process holds it."""
    return isinstance(error, duckdb.IOException) and bool(_LOCK_RE.search(str(error)))


def _holder(error: BaseException) -> str:
    match = _PID_RE.search(str(error))
    return f"process {match.group(1)}" if match else "another process"


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[tuple]:
    """Execute and fully fetch, since DuckDB refuses new work while a result is unfinished."""
    return con.execute(sql, params).fetchall()


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Number of migrations applied to the database behind `con` (0 for a blank file)."""
    exists = fetch(
        con,
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = '_migrations' AND table_schema = 'main'",
    )[0][0]
    if not exists:
        return 0
    return int(fetch(con, "SELECT coalesce(max(version), 0) FROM _migrations")[0][0])


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations, each in its own transaction; returns the versions applied."""
    fetch(
        con,
        "CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, "
        "name VARCHAR NOT NULL, checksum VARCHAR NOT NULL, "
        "applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)",
    )
    current = schema_version(con)
    if current > LATEST_VERSION:
        raise StoreUnavailable(
            f"the store has schema version {current}, newer than this eudoxus knows "
            f"({LATEST_VERSION}); upgrade eudoxus"
        )
    applied: list[int] = []
    for migration in MIGRATIONS[current:]:
        fetch(con, "BEGIN TRANSACTION")
        try:
            fetch(con, migration.sql)
            fetch(
                con,
                "INSERT INTO _migrations (version, name, checksum) VALUES (?, ?, ?)",
                [migration.version, migration.name, migration.checksum],
            )
        except BaseException:
            fetch(con, "ROLLBACK")
            raise
        fetch(con, "COMMIT")
        applied.append(migration.version)
    return applied


def open_writer(lab: Lab) -> Opened:
    """Open (creating if needed) and migrate the lab database for writing."""
    lab.home.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(lab.db_path))
    except duckdb.IOException as error:
        if is_lock_error(error):
            raise StoreUnavailable(
                f"the lab store {lab.db_path} is in use by {_holder(error)} "
                "(a running campaign?); wait for it or use another --home"
            ) from error
        raise StoreUnavailable(f"cannot open {lab.db_path}: {_first_line(error)}") from error
    try:
        migrate(con)
    except BaseException:
        con.close()
        raise
    return Opened(con, "database", lab.db_path)


def open_reader(lab: Lab, notify: Callable[[str], None] | None = None) -> Opened:
    """Open the lab for reading: the database, else its snapshot while a campaign holds it."""
    if not lab.db_path.exists():
        # Nothing recorded yet: an empty schema in memory answers every query with no rows,
        # without creating files as a side effect of reading.
        con = duckdb.connect(":memory:")
        migrate(con)
        _lock_down(con)
        return Opened(con, "missing", lab.db_path)
    try:
        con = duckdb.connect(str(lab.db_path), read_only=True)
    except duckdb.IOException as error:
        if not is_lock_error(error):
            raise StoreUnavailable(f"cannot open {lab.db_path}: {_first_line(error)}") from error
        if not lab.snapshot_path.exists():
            raise StoreUnavailable(
                f"the lab store {lab.db_path} is in use by {_holder(error)} and has no snapshot "
                "yet; try again once the campaign has written one"
            ) from error
        if notify:
            notify(
                f"note: {lab.db_path.name} is in use by {_holder(error)}; "
                f"reading the snapshot {lab.snapshot_path.name} instead (may lag a few minutes)"
            )
        con = duckdb.connect(str(lab.snapshot_path), read_only=True)
        return Opened(_checked(con, lab.snapshot_path), "snapshot", lab.snapshot_path)
    if schema_version(con) < LATEST_VERSION:
        # An older store is brought up to date once, by a short-lived writer.
        con.close()
        open_writer(lab).con.close()
        con = duckdb.connect(str(lab.db_path), read_only=True)
    return Opened(_checked(con, lab.db_path), "database", lab.db_path)


def _checked(con: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyConnection:
    version = schema_version(con)
    if version != LATEST_VERSION:
        con.close()
        raise StoreUnavailable(
            f"{path} has schema version {version} but this eudoxus needs {LATEST_VERSION}"
        )
    _lock_down(con)
    return con


def _lock_down(con: duckdb.DuckDBPyConnection) -> None:
    # A read-only database still lets COPY ... TO write files and ATTACH open others; readers
    # get no file-system access at all, and cannot switch it back on.
    fetch(con, "SET enable_external_access = false")
    fetch(con, "SET lock_configuration = true")


def copy_database(con: duckdb.DuckDBPyConnection, source: Path, destination: Path) -> Path:
    """Checkpoint the writer and copy its file atomically (temporary file, then rename)."""
    fetch(con, "CHECKPOINT")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    # The copy runs in a child process on purpose: DuckDB's lock is an fcntl lock, and closing
    # *any* descriptor of the file in this process would silently release it.
    done = subprocess.run(["cp", "--", str(source), str(partial)], capture_output=True, text=True)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise StoreError(f"cannot copy {source} to {partial}: {done.stderr.strip()}")
    partial.replace(destination)
    return destination


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
