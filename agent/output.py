"""Writing results for people (rich tables) and programs (JSON, CSV) on stdout."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)
if not stdout.is_terminal and "COLUMNS" not in os.environ:
    # A pipe or a log file has no width to wrap at: keep table cells (formulas) whole.
    stdout.width = 200


def plain(value: Any) -> Any:
    """A JSON-safe version of a record, list, numpy value, timestamp or decimal."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def write_json(path: Path | None, document: Any) -> None:
    """Write a result document as indented JSON to `path` (if given) and say so on stderr."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(plain(document), indent=2) + "\n", encoding="utf-8")
        note(f"wrote {path}")


def percent(value: float | None) -> str:
    """A percentage with one decimal, or n/a."""
    return "n/a" if value is None else f"{value:.1f}"


def emit_json(value: Any) -> None:
    """Print a value as indented JSON on stdout."""
    sys.stdout.write(json.dumps(plain(value), indent=2, ensure_ascii=False) + "\n")


def emit_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print rows as CSV with a header line on stdout."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell_text(plain(v)) for v in row])


def emit_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a rich table on stdout (plain text when stdout is not a terminal)."""
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell_text(plain(v)) for v in row))
    stdout.print(table)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def note(message: str) -> None:
    """A diagnostic line on stderr (never mixed into results)."""
    stderr.print(message, markup=False, highlight=False)
