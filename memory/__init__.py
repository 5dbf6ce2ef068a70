"""The lab store: DuckDB schema, migrations, typed records and named queries (sole duckdb user)."""

from eudoxus.memory.connection import ReadOnlyViolation, StoreError, StoreUnavailable
from eudoxus.memory.lab import Lab
from eudoxus.memory.store import Store

__all__ = ["Lab", "ReadOnlyViolation", "Store", "StoreError", "StoreUnavailable"]
