"""Mechanics of a lab store connection: opening, transactions, bulk batches, copies, ad-hoc SQL."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pyarrow as pa

from eudoxus.memory import queries
from eudoxus.memory.connection import (
    Opened,
    ReadOnlyViolation,
    StoreError,
    copy_database,
    fetch,
    open_reader,
    open_writer,
    schema_version,
)
from eudoxus.memory.lab import Lab
from eudoxus.memory.migrations import LATEST_VERSION, TABLES
from eudoxus.memory.records import AppliedMigration, QueryResult, StoreStatus, from_row

T = TypeVar("T")
S = TypeVar("S", bound="StoreBase")

# Statements `query` lets through; everything else is refused before DuckDB sees it.
_READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA"})

class StoreBase:
    """A lab's DuckDB connection with transactions, batches, copies and guarded queries."""

    def __init__(self, opened: Opened, lab: Lab, *, read_only: bool) -> None:
        self._con = opened.con
        self.lab = lab
        self.source = opened.source
        self.path = opened.path
        self.read_only = read_only
        self._depth = 0

    # ---- opening and closing -------------------------------------------------------------

    @classmethod
    def open(cls: type[S], home: str | os.PathLike[str] | Lab | None = None) -> S:
        """Open a lab for writing (the campaign's connection), migrating it to the latest schema."""
        lab = home if isinstance(home, Lab) else Lab.resolve(home)
        return cls(open_writer(lab), lab, read_only=False)

    @classmethod
    def open_read_only(
        cls: type[S],
        home: str | os.PathLike[str] | Lab | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> S:
        """Open a lab for reading, falling back to its snapshot while a campaign holds it."""
        lab = home if isinstance(home, Lab) else Lab.resolve(home)
        return cls(open_reader(lab, notify), lab, read_only=True)

    def close(self) -> None:
        """Close the connection (checkpointing the WAL for a writer)."""
        self._con.close()

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- low level -----------------------------------------------------------------------

    def _fetch(self, sql: str, params: Any = None) -> list[tuple]:
        return fetch(self._con, sql, params)

    def _records(self, cls: type[T], sql: str, params: Any = None) -> list[T]:
        cursor = self._con.execute(sql, params)
        columns = [d[0] for d in cursor.description]
        return [from_row(cls, columns, row) for row in cursor.fetchall()]

    def read(self, name: str, cls: type[T], **params: Any) -> list[T]:
        """Run a named query (see `queries.NAMED_QUERIES`) and build records of type `cls`."""
        query = queries.NAMED_QUERIES[name]
        unknown = set(params) - set(query.parameters)
        if unknown:
            raise TypeError(f"query {name!r} has no parameter(s) {sorted(unknown)}")
        bound = {p: params.get(p) for p in query.parameters}
        return self._records(cls, query.sql, bound or None)

    def _require_writer(self) -> None:
        if self.read_only:
            raise ReadOnlyViolation(f"{self.path} is open read-only")

    @contextmanager
    def transaction(self: S) -> Iterator[S]:
        """All writes inside commit together or not at all; nested blocks join the outer one."""
        self._require_writer()
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._fetch("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._fetch("ROLLBACK")
            raise
        self._depth = 0
        self._fetch("COMMIT")

    def _insert_one(self, cls: type[T], table: str, values: Mapping[str, Any]) -> T:
        names = [k for k, v in values.items() if v is not None]
        placeholders = ", ".join("?" for _ in names)
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders}) RETURNING *"
        with self.transaction():
            return self._records(cls, sql, [values[k] for k in names])[0]

    def _reserve_ids(self, sequence: str, n: int) -> np.ndarray:
        # Ids drawn up front so a bulk insert knows its ids in row order without RETURNING;
        # one writer means they come out contiguous.
        rows = self._fetch(f"SELECT nextval('{sequence}') FROM range(?)", [n])
        return np.sort(np.fromiter((r[0] for r in rows), dtype=np.int64, count=n))

    def _insert_batch(self, table: str, columns: Mapping[str, Any]) -> None:
        """Insert columnar data (numpy arrays, lists, 2-D arrays for list columns) via Arrow."""
        arrays = {name: _to_arrow(values) for name, values in columns.items()}
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns for {table} have different lengths: {sorted(lengths)}")
        batch = pa.table(arrays)
        view = f"_batch_{table}"
        names = ", ".join(arrays)
        with self.transaction():
            self._con.register(view, batch)
            try:
                self._fetch(f"INSERT INTO {table} ({names}) SELECT {names} FROM {view}")
            finally:
                self._con.unregister(view)

    # ---- migrations, status, snapshots ---------------------------------------------------

    def schema_version(self) -> int:
        """Number of migrations applied."""
        return schema_version(self._con)

    def applied_migrations(self) -> list[AppliedMigration]:
        """Rows of `_migrations`, oldest first."""
        return self._records(AppliedMigration, "SELECT * FROM _migrations ORDER BY version")

    def table_rows(self) -> dict[str, int]:
        """Row count of every table of the schema."""
        union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
        return {name: int(n) for name, n in self._fetch(union)}

    def status(self) -> StoreStatus:
        """Schema version, sizes, row counts and snapshot age."""
        snap = self.lab.snapshot_path
        return StoreStatus(
            path=str(self.path),
            source=self.source,
            size_bytes=self.path.stat().st_size if self.path.exists() else 0,
            schema_version=self.schema_version(),
            latest_version=LATEST_VERSION,
            table_rows=self.table_rows(),
            snapshot_path=str(snap) if snap.exists() else None,
            snapshot_age_seconds=time.time() - snap.stat().st_mtime if snap.exists() else None,
        )

    def snapshot(self) -> Path:
        """Refresh `eudoxus.snapshot.duckdb` atomically for readers outside the campaign."""
        return self.backup(self.lab.snapshot_path)

    def backup(self, destination: str | os.PathLike[str] | None = None) -> Path:
        """Copy the database, checkpointed, to `destination` (default: a timestamped file)."""
        self._require_writer()
        if self._depth:
            raise StoreError("cannot copy the database in the middle of a transaction")
        if destination is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            destination = self.lab.backups_dir / f"eudoxus-{stamp}.duckdb"
        return copy_database(self._con, self.path, Path(destination))

    def query(self, sql: str, params: Sequence[Any] | None = None) -> QueryResult:
        """Run ad-hoc read-only SQL; any statement that could write is refused first."""
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.Error as error:
            raise StoreError(f"SQL error: {str(error).strip().splitlines()[0]}") from error
        if not statements:
            raise StoreError("empty query")
        for i, statement in enumerate(statements, 1):
            kind = statement.type.name
            if kind not in _READ_STATEMENTS:
                raise ReadOnlyViolation(
                    f"refused: statement {i} is {kind}; `query` is read-only (SELECT only)"
                )
        cursor = self._con.cursor() if self.read_only else self._con
        try:
            result = cursor.execute(sql, params)
            columns = [d[0] for d in result.description] if result.description else []
            types = [str(d[1]) for d in result.description] if result.description else []
            return QueryResult(columns, types, result.fetchall())
        except duckdb.Error as error:
            message = str(error).strip().splitlines()[0]
            if "read-only" in message or "disabled by configuration" in message:
                raise ReadOnlyViolation(f"refused: {message}") from error
            raise StoreError(f"SQL error: {message}") from error


def broadcast(value: Any, n: int) -> Any:
    """Repeat a scalar to a column of length n; pass sequences through."""
    if isinstance(value, list | tuple):  # a column (possibly ragged lists): never np.ndim it
        return value
    if isinstance(value, str | bytes) or np.ndim(value) == 0:
        return [value] * n
    return value


def _to_arrow(values: Any) -> pa.Array:
    """Arrow column from a numpy array, a 2-D array (a list column) or a Python list."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    if isinstance(values, np.ndarray) and values.ndim == 2:
        n, k = values.shape
        offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, pa.array(values.ravel()))
    if isinstance(values, np.ndarray):
        return pa.array(values)
    return pa.array(list(values))
