"""Typed rows of the lab store: every read returns one of these, never a raw tuple."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, get_type_hints

HYPOTHESIS_KINDS = ("form", "coefficient", "meta", "model")
HYPOTHESIS_STATUSES = ("proposed", "testing", "accepted", "refuted", "superseded")
RUN_STATUSES = ("running", "completed", "interrupted", "failed", "budget_exhausted")
EVIDENCE_KINDS = ("regression", "falsification", "support", "audit")
RULE_RELATIONS = ("generalizes", "derived_from", "supersedes")

# Allowed lifecycle moves; anything else is a bug in the controller, not bad user input.
HYPOTHESIS_TRANSITIONS: dict[str | None, tuple[str, ...]] = {
    None: ("proposed",),
    "proposed": ("testing", "accepted", "refuted"),
    "testing": ("accepted", "refuted", "testing"),
    "accepted": ("superseded", "refuted"),
    "refuted": (),
    "superseded": (),
}


@dataclass(frozen=True)
class Run:
    """One campaign: its configuration, seed and how it ended."""

    run_id: str
    preset: str | None
    strategy: str
    seed: int
    config: dict[str, Any]
    status: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    eudoxus_version: str
    host: str | None


@dataclass(frozen=True)
class Family:
    """A parametric function family as stored: template text in the safe-parser syntax."""

    family_id: int
    name: str
    template: str
    parameters: list[str]
    ranges: dict[str, Any]
    constraints: list[Any]
    domain: dict[str, Any]
    source: str
    created_at: datetime


@dataclass(frozen=True)
class Experiment:
    """One tool call made by the controller, successful or not."""

    experiment_id: int
    run_id: str
    step: int
    tool: str
    tool_version: str
    family_id: int | None
    design: str | None
    params: dict[str, Any]
    seed: int | None
    n_items: int
    ok: bool
    error: str | None
    seconds: float
    created_at: datetime


@dataclass(frozen=True)
class Sample:
    """One sampled function: its parameter vector, and its measured area if accepted."""

    sample_id: int
    experiment_id: int
    family_id: int
    params: list[float]
    integrand: str | None
    accepted: bool
    reject_reason: str | None
    area_at_t: float | None
    area_error: float | None


@dataclass(frozen=True)
class Observation:
    """A closed form inferred for one sample's area curve by a regression engine."""

    observation_id: int
    sample_id: int
    experiment_id: int
    engine: str
    rank: int
    expression: str
    skeleton: str
    coefficients: list[float]
    fit_error: float
    complexity: int
    seconds: float
    accepted: bool


@dataclass(frozen=True)
class Hypothesis:
    """A conjecture about integrals, with its current place in the lifecycle."""

    hypothesis_id: int
    run_id: str
    kind: str
    family_id: int | None
    parent_id: int | None
    target: str | None
    statement: str
    status: str
    score: float | None
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class HypothesisEvent:
    """One status change of a hypothesis and the reason for it."""

    event_id: int
    hypothesis_id: int
    from_status: str | None
    to_status: str
    reason: str
    experiment_id: int | None
    changed_at: datetime


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence for or against a hypothesis (a regression row or a test case)."""

    evidence_id: int
    hypothesis_id: int
    experiment_id: int | None
    sample_id: int | None
    kind: str
    predictor: str | None
    r2: float | None
    slope: float | None
    intercept: float | None
    predicted: float | None
    measured: float | None
    error: float | None
    passed: bool | None


@dataclass(frozen=True)
class Rule:
    """An accepted integration rule with its conditions, audit flag and provenance."""

    rule_id: int
    run_id: str | None
    hypothesis_id: int | None
    family_id: int | None
    kind: str
    integrand: str
    statement: str
    latex: str
    srepr: str
    conditions: list[str]
    status: str
    n_support: int
    n_falsification: int
    max_error: float | None
    audit_passed: bool | None
    audit_detail: str | None
    provenance: dict[str, Any]
    accepted_at: datetime
    family: str | None = None  # joined from families for display; not a rules column


@dataclass(frozen=True)
class RuleEdge:
    """A lineage link between two rules (one generalizes or was derived from the other)."""

    src_rule_id: int
    dst_rule_id: int
    relation: str


@dataclass(frozen=True)
class ModelRun:
    """One training of the seq2seq intuition: configuration, data sizes, metrics, checkpoint."""

    model_run_id: int
    run_id: str | None
    started_at: datetime
    seconds: float
    device: str
    n_params: int
    config: dict[str, Any]
    n_train: int
    n_valid: int
    n_test: int
    label_source: str
    metrics: dict[str, Any]
    checkpoint_path: str | None


@dataclass(frozen=True)
class AppliedMigration:
    """A row of `_migrations`."""

    version: int
    name: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class RunSummary:
    """A run with the counts a listing shows beside it."""

    run: Run
    n_experiments: int
    n_functions: int
    n_rules: int


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of an ad-hoc read query."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        """Rows as column-name dictionaries."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class StoreStatus:
    """What `eudoxus db status` reports about a lab store."""

    path: str
    source: str  # "database", "snapshot" or "missing"
    size_bytes: int
    schema_version: int
    latest_version: int
    table_rows: dict[str, int]
    snapshot_path: str | None
    snapshot_age_seconds: float | None


T = TypeVar("T")


@cache
def _json_fields(cls: type) -> frozenset[str]:
    """Fields stored as JSON text: those typed as a dict, or as a list of Any."""
    hints = get_type_hints(cls)
    return frozenset(
        f.name for f in fields(cls) if str(hints[f.name]).startswith(("dict", "list[typing.Any]"))
    )


def from_row(cls: type[T], columns: list[str], row: tuple[Any, ...]) -> T:
    """Build a record from a result row, decoding JSON columns that DuckDB returns as text."""
    values = dict(zip(columns, row, strict=True))
    for name in _json_fields(cls):
        if isinstance(values.get(name), str):
            values[name] = json.loads(values[name])
    return cls(**values)
