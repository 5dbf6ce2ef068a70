"""Named read queries shared by the CLI and the TUI, so both show the same facts the same way.

Each query takes named parameters (`$name`); a filter left as NULL matches everything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NamedQuery:
    """A read query with a name, a one-line description and its named parameters."""

    name: str
    description: str
    sql: str
    parameters: tuple[str, ...] = ()


_RULE_COLUMNS = """
    r.rule_id, r.run_id, r.hypothesis_id, r.family_id, r.kind, r.integrand, r.statement,
    r.latex, r.srepr, r.conditions, r.status, r.n_support, r.n_falsification, r.max_error,
    r.audit_passed, r.audit_detail, r.provenance, r.accepted_at, f.name AS family
"""

RULES = NamedQuery(
    "rules",
    "Rules, newest first, optionally filtered by status, family name and run.",
    f"""
    SELECT {_RULE_COLUMNS}
    FROM rules r LEFT JOIN families f USING (family_id)
    WHERE ($status IS NULL OR r.status = $status)
      AND ($family IS NULL OR f.name = $family)
      AND ($run_id IS NULL OR r.run_id = $run_id)
    ORDER BY r.rule_id DESC
    """,
    ("status", "family", "run_id"),
)

RULE = NamedQuery(
    "rule",
    "One rule by id.",
    f"SELECT {_RULE_COLUMNS} FROM rules r LEFT JOIN families f USING (family_id) "
    "WHERE r.rule_id = $rule_id",
    ("rule_id",),
)

RUNS = NamedQuery(
    "runs",
    "Runs, newest first, with experiment, function and rule counts.",
    """
    SELECT r.*,
        (SELECT count(*) FROM experiments e WHERE e.run_id = r.run_id) AS n_experiments,
        (SELECT count(*) FROM samples s JOIN experiments e USING (experiment_id)
            WHERE e.run_id = r.run_id) AS n_functions,
        (SELECT count(*) FROM rules u WHERE u.run_id = r.run_id) AS n_rules
    FROM runs r
    WHERE ($status IS NULL OR r.status = $status)
    ORDER BY r.started_at DESC, r.run_id DESC
    """,
    ("status",),
)

HYPOTHESES = NamedQuery(
    "hypotheses",
    "Hypotheses of a run (or all), open ones first, for the hypotheses board.",
    """
    SELECT h.* FROM hypotheses h
    WHERE ($run_id IS NULL OR h.run_id = $run_id)
      AND ($status IS NULL OR h.status = $status)
    ORDER BY (h.status IN ('proposed', 'testing')) DESC, h.hypothesis_id
    """,
    ("run_id", "status"),
)

HYPOTHESIS_EVENTS = NamedQuery(
    "hypothesis_events",
    "Every status change of one hypothesis, oldest first.",
    "SELECT * FROM hypothesis_events WHERE hypothesis_id = $hypothesis_id ORDER BY event_id",
    ("hypothesis_id",),
)

EVIDENCE = NamedQuery(
    "evidence",
    "Evidence rows of one hypothesis, optionally of one kind.",
    """
    SELECT * FROM evidence
    WHERE hypothesis_id = $hypothesis_id AND ($kind IS NULL OR kind = $kind)
    ORDER BY evidence_id
    """,
    ("hypothesis_id", "kind"),
)

EXPERIMENTS = NamedQuery(
    "experiments",
    "Experiments of one run in step order, optionally of one tool.",
    "SELECT * FROM experiments WHERE run_id = $run_id AND ($tool IS NULL OR tool = $tool) "
    "ORDER BY step, experiment_id",
    ("run_id", "tool"),
)

EXPERIMENT_TALLY = NamedQuery(
    "experiment_tally",
    "Per family and tool of one run: calls, failed calls, items, the most observations a rule "
    "search "
    "saw, and the latest experiment id (what the planner needs, without reading every row).",
    """
    SELECT family_id, tool, count(*) AS n, count(*) FILTER (WHERE NOT ok) AS failed,
        coalesce(sum(n_items), 0) AS items,
        max(TRY_CAST(json_extract_string(params, '$.n_observations') AS BIGINT))
            AS max_observations,
        max(experiment_id) AS last_experiment_id
    FROM experiments WHERE run_id = $run_id
    GROUP BY family_id, tool ORDER BY family_id NULLS FIRST, tool
    """,
    ("run_id",),
)

FAMILIES = NamedQuery(
    "families", "Known function families.", "SELECT * FROM families ORDER BY name"
)

MODEL_RUNS = NamedQuery(
    "model_runs",
    "Seq2seq trainings, oldest first (the model's accuracy history).",
    "SELECT * FROM model_runs WHERE ($run_id IS NULL OR run_id = $run_id) ORDER BY model_run_id",
    ("run_id",),
)

RUN_COUNTERS = NamedQuery(
    "run_counters",
    "What one run spent and found: functions, tool calls by kind, wall time, rules.",
    """
    SELECT
        (SELECT count(*) FROM samples s JOIN experiments e USING (experiment_id)
            WHERE e.run_id = $run_id AND s.accepted) AS functions,
        (SELECT count(*) FROM samples s JOIN experiments e USING (experiment_id)
            WHERE e.run_id = $run_id AND NOT s.accepted) AS rejected_draws,
        (SELECT count(*) FROM experiments WHERE run_id = $run_id) AS tool_calls,
        (SELECT coalesce(sum(n_items), 0) FROM experiments
            WHERE run_id = $run_id AND tool = 'integrate') AS integrations,
        (SELECT coalesce(sum(n_items), 0) FROM experiments
            WHERE run_id = $run_id AND tool = 'regress') AS sr_calls,
        (SELECT count(*) FROM experiments WHERE run_id = $run_id AND NOT ok) AS failed_calls,
        (SELECT coalesce(sum(wall_seconds), 0) FROM run_segments
            WHERE run_id = $run_id) AS wall_seconds,
        (SELECT count(*) FROM run_segments WHERE run_id = $run_id) AS segments,
        (SELECT coalesce(max(step), -1) + 1 FROM experiments WHERE run_id = $run_id) AS steps,
        (SELECT count(*) FROM hypotheses WHERE run_id = $run_id) AS hypotheses,
        (SELECT count(*) FROM hypotheses WHERE run_id = $run_id AND status = 'refuted')
            AS refuted,
        (SELECT count(*) FROM rules WHERE run_id = $run_id AND status = 'accepted')
            AS rules_accepted
    """,
    ("run_id",),
)

FAMILY_OBSERVATIONS = NamedQuery(
    "family_observations",
    "Accepted best-rank observations of one family in one run, with the sample parameters.",
    """
    SELECT o.*, s.params AS params
    FROM observations o JOIN samples s USING (sample_id) JOIN experiments e
        ON e.experiment_id = o.experiment_id
    WHERE e.run_id = $run_id AND s.family_id = $family_id AND o.rank = 1 AND o.accepted
    ORDER BY o.observation_id
    """,
    ("run_id", "family_id"),
)

FAMILY_OBSERVATION_COUNTS = NamedQuery(
    "family_observation_counts",
    "How many accepted best-rank observations each family has in one run.",
    """
    SELECT s.family_id, count(*) AS n
    FROM observations o JOIN samples s USING (sample_id) JOIN experiments e
        ON e.experiment_id = o.experiment_id
    WHERE e.run_id = $run_id AND o.rank = 1 AND o.accepted
    GROUP BY s.family_id
    """,
    ("run_id",),
)

RULE_EDGES = NamedQuery("rule_edges", "Rule lineage links.", "SELECT * FROM rule_edges")

ACCEPTED_FITS = NamedQuery(
    "accepted_fits",
    "Accepted best-rank regression fits with their family and sample parameters (all runs or one).",
    """
    SELECT f.name AS family, s.params AS params, o.expression, o.observation_id
    FROM observations o JOIN samples s USING (sample_id) JOIN families f
        ON f.family_id = s.family_id JOIN experiments e ON e.experiment_id = o.experiment_id
    WHERE ($run_id IS NULL OR e.run_id = $run_id) AND o.rank = 1 AND o.accepted
    ORDER BY o.observation_id
    """,
    ("run_id",),
)

NAMED_QUERIES: dict[str, NamedQuery] = {
    q.name: q
    for q in (
        RULES, RULE, RUNS, HYPOTHESES, HYPOTHESIS_EVENTS, EVIDENCE, EXPERIMENTS, FAMILIES,
        EXPERIMENT_TALLY,
        MODEL_RUNS, RULE_EDGES, RUN_COUNTERS, FAMILY_OBSERVATIONS,
        FAMILY_OBSERVATION_COUNTS, ACCEPTED_FITS,
    )
}
