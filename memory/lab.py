"""Where a lab lives on disk: the database, its snapshot, and one folder per run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "EUDOXUS_HOME"
DEFAULT_HOME = ".eudoxus"
DB_NAME = "eudoxus.duckdb"
SNAPSHOT_NAME = "eudoxus.snapshot.duckdb"


@dataclass(frozen=True)
class Lab:
    """Paths of one lab directory (`--home`, else `$EUDOXUS_HOME`, else `./.eudoxus`)."""

    home: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Lab:
        """The lab chosen by an explicit path, the environment, or the default, in that order."""
        chosen = home if home not in (None, "") else os.environ.get(HOME_ENV) or DEFAULT_HOME
        return cls(Path(chosen).expanduser().absolute())

    @property
    def db_path(self) -> Path:
        """The campaign database."""
        return self.home / DB_NAME

    @property
    def snapshot_path(self) -> Path:
        """The read-only copy that outside readers open while a campaign holds the database."""
        return self.home / SNAPSHOT_NAME

    @property
    def runs_dir(self) -> Path:
        """Parent of the per-run folders."""
        return self.home / "runs"

    @property
    def backups_dir(self) -> Path:
        """Default destination of `eudoxus db backup`."""
        return self.home / "backups"

    def run_dir(self, run_id: str) -> Path:
        """Folder of one run: events.jsonl, resolved config, model checkpoints."""
        return self.runs_dir / run_id

    def events_path(self, run_id: str) -> Path:
        """The JSONL event log that live watchers follow."""
        return self.run_dir(run_id) / "events.jsonl"
