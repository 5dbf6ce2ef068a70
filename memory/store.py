"""The typed lab store: the only API through which the rest of Eudoxus reads and writes DuckDB."""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from eudoxus.memory import queries
from eudoxus.memory.base import StoreBase, broadcast
from eudoxus.memory.connection import StoreError
from eudoxus.memory.records import (
    HYPOTHESIS_TRANSITIONS,
    Evidence,
    Experiment,
    Family,
    Hypothesis,
    HypothesisEvent,
    ModelRun,
    Observation,
    Rule,
    RuleEdge,
    Run,
    RunSummary,
    from_row,
)


def _package_version() -> str:
    try:
        return version("eudoxus")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def _jsonable(value: Any) -> Any:
    return json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))


class Store(StoreBase):
    """A lab's DuckDB database behind typed reads, writes and named queries."""

    # ---- runs ----------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        *,
        seed: int,
        config: Mapping[str, Any],
        strategy: str = "adaptive",
        preset: str | None = None,
    ) -> Run:
        """Record a new campaign as running."""
        return self._insert_one(
            Run,
            "runs",
            {
                "run_id": run_id,
                "preset": preset,
                "strategy": strategy,
                "seed": int(seed),
                "config": _jsonable(dict(config)),
                "eudoxus_version": _package_version(),
                "host": socket.gethostname(),
            },
        )

    def resume_run(self, run_id: str) -> Run:
        """Mark an ended run as running again."""
        return self._update_run(run_id, "running", None, ended=False)

    def end_run(self, run_id: str, status: str, reason: str | None = None) -> Run:
        """Record how a campaign ended."""
        return self._update_run(run_id, status, reason, ended=True)

    def _update_run(self, run_id: str, status: str, reason: str | None, *, ended: bool) -> Run:
        ended_sql = "current_timestamp" if ended else "NULL"
        with self.transaction():
            self._fetch(
                f"UPDATE runs SET status = ?, end_reason = ?, ended_at = {ended_sql} "
                "WHERE run_id = ?",
                [status, reason, run_id],
            )
        run = self.get_run(run_id)
        if run is None:
            raise StoreError(f"no run {run_id!r}")
        return run

    def get_run(self, run_id: str) -> Run | None:
        """One run, or None."""
        rows = self._records(Run, "SELECT * FROM runs WHERE run_id = ?", [run_id])
        return rows[0] if rows else None

    def list_runs(self, status: str | None = None) -> list[RunSummary]:
        """Runs, newest first, with their counts."""
        cursor = self._con.execute(queries.RUNS.sql, {"status": status})
        columns = [d[0] for d in cursor.description]
        n_run = len(columns) - 3
        return [
            RunSummary(from_row(Run, columns[:n_run], row[:n_run]), *row[n_run:])
            for row in cursor.fetchall()
        ]

    def begin_segment(self, run_id: str) -> int:
        """Open the next wall-time segment of a run (0 at start, then one per resume)."""
        with self.transaction():
            segment = int(self._fetch("SELECT coalesce(max(segment), -1) + 1 FROM run_segments "
                                      "WHERE run_id = ?", [run_id])[0][0])
            self._fetch("INSERT INTO run_segments (run_id, segment) VALUES (?, ?)",
                        [run_id, segment])
        return segment

    def add_wall_seconds(self, run_id: str, segment: int, seconds: float) -> None:
        """Add wall time to a segment (called in each step's transaction)."""
        self._fetch("UPDATE run_segments SET wall_seconds = wall_seconds + ? "
                    "WHERE run_id = ? AND segment = ?", [float(seconds), run_id, segment])

    def run_counters(self, run_id: str) -> dict[str, Any]:
        """Functions, tool calls, SR calls, wall seconds and rules of one run."""
        cursor = self._con.execute(queries.RUN_COUNTERS.sql, {"run_id": run_id})
        columns = [d[0] for d in cursor.description]
        return dict(zip(columns, cursor.fetchall()[0], strict=True))

    def family_observations(self, run_id: str, family_id: int) -> list[tuple[Observation,
                                                                          list[float]]]:
        """Best accepted observations of one family in a run, each with its sample's params."""
        cursor = self._con.execute(queries.FAMILY_OBSERVATIONS.sql,
                                   {"run_id": run_id, "family_id": family_id})
        columns = [d[0] for d in cursor.description]
        return [(from_row(Observation, columns[:-1], row[:-1]), list(row[-1]))
                for row in cursor.fetchall()]

    def accepted_fits(self, run_id: str | None = None) -> list[tuple[str, list[float], str, int]]:
        """(family name, sample params, expression, observation id) of every accepted fit."""
        rows = self._con.execute(queries.ACCEPTED_FITS.sql, {"run_id": run_id}).fetchall()
        return [(family, list(params), expression, int(oid))
                for family, params, expression, oid in rows]

    def family_observation_counts(self, run_id: str) -> dict[int, int]:
        """{family_id: accepted best observations} for one run (families with none are absent)."""
        rows = self._con.execute(queries.FAMILY_OBSERVATION_COUNTS.sql,
                                 {"run_id": run_id}).fetchall()
        return {int(family_id): int(n) for family_id, n in rows}

    # ---- families and experiments --------------------------------------------------------

    def upsert_family(
        self,
        name: str,
        *,
        template: str,
        parameters: Sequence[str],
        ranges: Mapping[str, Any],
        constraints: Sequence[Any] = (),
        domain: Mapping[str, Any] | None = None,
        source: str = "builtin",
    ) -> Family:
        """Insert a family, or update its definition if the name exists."""
        values = {
            "template": template,
            "parameters": list(parameters),
            "ranges": _jsonable(dict(ranges)),
            "constraints": _jsonable(list(constraints)),
            "domain": _jsonable(dict(domain or {})),
            "source": source,
        }
        with self.transaction():
            existing = self.get_family(name)
            if existing is None:
                return self._insert_one(Family, "families", {"name": name, **values})
            if existing.parameters != values.pop("parameters"):
                # Samples store parameter vectors by position, so the list is fixed for good
                # (DuckDB 2.0 could not update a referenced LIST column anyway).
                raise StoreError(
                    f"family {name!r} already exists with parameters {existing.parameters}; "
                    "give a definition with other parameters a new name"
                )
            # A plain UPDATE, not INSERT ... ON CONFLICT, which DuckDB 2.0 refuses on a row
            # that experiments reference.
            assignments = ", ".join(f"{column} = ?" for column in values)
            self._fetch(f"UPDATE families SET {assignments} WHERE name = ?",
                        [*values.values(), name])
        return self.get_family(name)

    def get_family(self, name: str) -> Family | None:
        """A family by name, or None."""
        rows = self._records(Family, "SELECT * FROM families WHERE name = ?", [name])
        return rows[0] if rows else None

    def list_families(self) -> list[Family]:
        """All known families by name."""
        return self.read("families", Family)

    def add_experiment(
        self,
        run_id: str,
        *,
        step: int,
        tool: str,
        tool_version: str,
        ok: bool,
        family_id: int | None = None,
        design: str | None = None,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        n_items: int = 0,
        error: str | None = None,
        seconds: float = 0.0,
    ) -> Experiment:
        """Record one tool call (a failed call is a row with ok = false, not an exception)."""
        return self._insert_one(
            Experiment,
            "experiments",
            {
                "run_id": run_id,
                "step": step,
                "tool": tool,
                "tool_version": tool_version,
                "ok": ok,
                "family_id": family_id,
                "design": design,
                "params": _jsonable(dict(params or {})),
                "seed": seed,
                "n_items": n_items,
                "error": error,
                "seconds": float(seconds),
            },
        )

    def list_experiments(self, run_id: str, tool: str | None = None) -> list[Experiment]:
        """Experiments of a run in step order (only one tool's, if given)."""
        return self.read("experiments", Experiment, run_id=run_id, tool=tool)

    def experiment_tally(self, run_id: str) -> dict[tuple[int | None, str], dict[str, int]]:
        """{(family_id, tool): n, failed, items, max_observations, last_experiment_id} of one
        run: what the planner counts, in one aggregate instead of every experiment row."""
        rows = self._con.execute(queries.EXPERIMENT_TALLY.sql, {"run_id": run_id}).fetchall()
        return {(family_id, tool): {"n": int(n), "failed": int(failed), "items": int(items),
                                    "max_observations": -1 if top is None else int(top),
                                    "last_experiment_id": int(last)}
                for family_id, tool, n, failed, items, top, last in rows}

    def last_step(self, run_id: str) -> int:
        """Highest step recorded for a run (-1 if none), where a resumed campaign continues."""
        return int(
            self._fetch("SELECT coalesce(max(step), -1) FROM experiments WHERE run_id = ?",
                        [run_id])[0][0]
        )

    # ---- bulk rows: samples, observations, evidence --------------------------------------

    def add_samples(self, experiment_id: int, family_id: int, params: np.ndarray,
                    **columns: Any) -> np.ndarray:
        """Insert one row per parameter vector (rows of `params`); returns their ids in order.

        Optional columns (arrays or lists of the same length): accepted, integrand,
        reject_reason, area_at_t, area_error.
        """
        params = np.atleast_2d(np.asarray(params, dtype=np.float64))
        n = len(params)
        ids = self._reserve_ids("seq_sample_id", n)
        batch = {
            "sample_id": ids,
            "experiment_id": np.full(n, experiment_id, dtype=np.int64),
            "family_id": np.full(n, family_id, dtype=np.int32),
            "params": params,
            "accepted": columns.pop("accepted", np.ones(n, dtype=bool)),
            **columns,
        }
        with self.transaction():
            self._insert_batch("samples", batch)
        return ids

    def add_observations(self, experiment_id: int, sample_ids: Sequence[int],
                         **columns: Any) -> np.ndarray:
        """Insert inferred closed forms, one per sample id; returns their ids in order.

        Required columns: engine, expression, skeleton, coefficients (list of lists or a 2-D
        array), fit_error, complexity, accepted; optional: rank, seconds.
        """
        n = len(sample_ids)
        ids = self._reserve_ids("seq_observation_id", n)
        batch = {
            "observation_id": ids,
            "sample_id": np.asarray(sample_ids, dtype=np.int64),
            "experiment_id": np.full(n, experiment_id, dtype=np.int64),
            **{k: broadcast(v, n) for k, v in columns.items()},
        }
        with self.transaction():
            self._insert_batch("observations", batch)
        return ids

    def add_evidence(self, hypothesis_id: int, kind: str, n: int, **columns: Any) -> np.ndarray:
        """Insert `n` evidence rows of one kind for a hypothesis; returns their ids in order.

        Columns (arrays of length n, or scalars broadcast to n): experiment_id, sample_id,
        predictor, r2, slope, intercept, predicted, measured, error, passed.
        """
        ids = self._reserve_ids("seq_evidence_id", n)
        batch = {
            "evidence_id": ids,
            "hypothesis_id": np.full(n, hypothesis_id, dtype=np.int64),
            "kind": [kind] * n,
            **{k: broadcast(v, n) for k, v in columns.items()},
        }
        with self.transaction():
            self._insert_batch("evidence", batch)
        return ids

    def evidence(self, hypothesis_id: int, kind: str | None = None) -> list[Evidence]:
        """Evidence of a hypothesis, optionally of one kind."""
        return self.read("evidence", Evidence, hypothesis_id=hypothesis_id, kind=kind)

    # ---- hypotheses ----------------------------------------------------------------------

    def add_hypothesis(
        self,
        run_id: str,
        *,
        kind: str,
        statement: str,
        family_id: int | None = None,
        parent_id: int | None = None,
        target: str | None = None,
        score: float | None = None,
        details: Mapping[str, Any] | None = None,
        reason: str = "proposed",
        experiment_id: int | None = None,
    ) -> Hypothesis:
        """Propose a hypothesis and record its first lifecycle event."""
        with self.transaction():
            hypothesis = self._insert_one(
                Hypothesis,
                "hypotheses",
                {
                    "run_id": run_id,
                    "kind": kind,
                    "statement": statement,
                    "family_id": family_id,
                    "parent_id": parent_id,
                    "target": target,
                    "score": score,
                    "details": _jsonable(dict(details or {})),
                },
            )
            self._add_hypothesis_event(hypothesis.hypothesis_id, None, "proposed", reason,
                                       experiment_id)
        return hypothesis

    def set_hypothesis_status(
        self,
        hypothesis_id: int,
        to_status: str,
        reason: str,
        *,
        experiment_id: int | None = None,
        score: float | None = None,
    ) -> Hypothesis:
        """Move a hypothesis along its lifecycle, recording why; illegal moves raise."""
        with self.transaction():
            current = self.get_hypothesis(hypothesis_id)
            if current is None:
                raise StoreError(f"no hypothesis {hypothesis_id}")
            if to_status not in HYPOTHESIS_TRANSITIONS[current.status]:
                raise ValueError(
                    f"hypothesis {hypothesis_id}: cannot go from {current.status} to {to_status}"
                )
            # No RETURNING here: DuckDB 2.0 rejects UPDATE ... RETURNING on a row that a
            # foreign key references (hypothesis_events does).
            self._fetch(
                "UPDATE hypotheses SET status = ?, score = coalesce(?, score), "
                "updated_at = current_timestamp WHERE hypothesis_id = ?",
                [to_status, score, hypothesis_id],
            )
            self._add_hypothesis_event(hypothesis_id, current.status, to_status, reason,
                                       experiment_id)
        return self.get_hypothesis(hypothesis_id)

    def _add_hypothesis_event(self, hypothesis_id: int, from_status: str | None, to_status: str,
                              reason: str, experiment_id: int | None) -> HypothesisEvent:
        return self._insert_one(
            HypothesisEvent,
            "hypothesis_events",
            {
                "hypothesis_id": hypothesis_id,
                "from_status": from_status,
                "to_status": to_status,
                "reason": reason,
                "experiment_id": experiment_id,
            },
        )

    def get_hypothesis(self, hypothesis_id: int) -> Hypothesis | None:
        """One hypothesis, or None."""
        rows = self._records(Hypothesis, "SELECT * FROM hypotheses WHERE hypothesis_id = ?",
                             [hypothesis_id])
        return rows[0] if rows else None

    def list_hypotheses(self, run_id: str | None = None,
                        status: str | None = None) -> list[Hypothesis]:
        """Hypotheses, open ones first."""
        return self.read("hypotheses", Hypothesis, run_id=run_id, status=status)

    def hypothesis_events(self, hypothesis_id: int) -> list[HypothesisEvent]:
        """The lifecycle of one hypothesis."""
        return self.read("hypothesis_events", HypothesisEvent, hypothesis_id=hypothesis_id)

    # ---- rules and lineage ---------------------------------------------------------------

    def add_rule(
        self,
        *,
        kind: str,
        integrand: str,
        statement: str,
        latex: str,
        srepr: str,
        run_id: str | None = None,
        hypothesis_id: int | None = None,
        family_id: int | None = None,
        conditions: Sequence[str] = (),
        n_support: int = 0,
        n_falsification: int = 0,
        max_error: float | None = None,
        audit_passed: bool | None = None,
        audit_detail: str | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> Rule:
        """Record an accepted rule."""
        with self.transaction():
            rule = self._insert_one(
                Rule,
                "rules",
                {
                    "kind": kind,
                    "integrand": integrand,
                    "statement": statement,
                    "latex": latex,
                    "srepr": srepr,
                    "run_id": run_id,
                    "hypothesis_id": hypothesis_id,
                    "family_id": family_id,
                    "conditions": list(conditions),
                    "n_support": n_support,
                    "n_falsification": n_falsification,
                    "max_error": max_error,
                    "audit_passed": audit_passed,
                    "audit_detail": audit_detail,
                    "provenance": _jsonable(dict(provenance or {})),
                },
            )
        return self.get_rule(rule.rule_id) or rule

    def supersede_rule(self, rule_id: int, by_rule_id: int) -> None:
        """Mark a rule superseded by a more general one and link the two."""
        with self.transaction():
            self._fetch("UPDATE rules SET status = 'superseded' WHERE rule_id = ?", [rule_id])
            self.add_rule_edge(by_rule_id, rule_id, "supersedes")

    def get_rule(self, rule_id: int) -> Rule | None:
        """One rule, or None."""
        rows = self.read("rule", Rule, rule_id=rule_id)
        return rows[0] if rows else None

    def list_rules(self, status: str | None = None, family: str | None = None,
                   run_id: str | None = None) -> list[Rule]:
        """Rules, newest first."""
        return self.read("rules", Rule, status=status, family=family, run_id=run_id)

    def add_rule_edge(self, src_rule_id: int, dst_rule_id: int, relation: str) -> RuleEdge:
        """Link two rules in the lineage graph."""
        return self._insert_one(
            RuleEdge,
            "rule_edges",
            {"src_rule_id": src_rule_id, "dst_rule_id": dst_rule_id, "relation": relation},
        )

    def rule_edges(self) -> list[RuleEdge]:
        """Every lineage link."""
        return self.read("rule_edges", RuleEdge)

    # ---- model runs ----------------------------------------------------------------------

    def add_model_run(
        self,
        *,
        device: str,
        n_params: int,
        config: Mapping[str, Any],
        label_source: str,
        run_id: str | None = None,
        seconds: float = 0.0,
        n_train: int = 0,
        n_valid: int = 0,
        n_test: int = 0,
        metrics: Mapping[str, Any] | None = None,
        checkpoint_path: str | None = None,
    ) -> ModelRun:
        """Record one training of the seq2seq model."""
        return self._insert_one(
            ModelRun,
            "model_runs",
            {
                "run_id": run_id,
                "device": device,
                "n_params": int(n_params),
                "config": _jsonable(dict(config)),
                "label_source": label_source,
                "seconds": float(seconds),
                "n_train": n_train,
                "n_valid": n_valid,
                "n_test": n_test,
                "metrics": _jsonable(dict(metrics or {})),
                "checkpoint_path": checkpoint_path,
            },
        )

    def list_model_runs(self, run_id: str | None = None) -> list[ModelRun]:
        """Trainings, oldest first."""
        return self.read("model_runs", ModelRun, run_id=run_id)
