"""What the morning report says, gathered from the store as plain values.

One read of a run — its rules with their evidence, refuted hypotheses with their reasons, the
budget it spent, time per tool, efficiency over time and the model's accuracy history — so the
Markdown and HTML renderers share one set of facts and never query the store themselves.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from eudoxus.memory.store import Store

EVIDENCE_ROWS = 8  # falsification rows shown per rule; the counts cover all of them
OPEN = ("proposed", "testing")


@dataclass
class RuleFacts:
    """One accepted rule with the tests it passed and the regressions it came from."""

    rule_id: int
    family: str | None
    kind: str
    integrand: str
    statement: str
    latex: str
    conditions: list[str]
    found_by: str
    n_support: int
    n_falsification: int
    n_passed: int
    max_error: float | None
    audit_passed: bool | None
    step: int | None  # the step of the falsification that accepted it
    tests: list[dict[str, Any]] = field(default_factory=list)  # predicted, measured, error
    errors: list[float] = field(default_factory=list)  # every test's eq. 1 error (for a plot)
    regressions: list[dict[str, Any]] = field(default_factory=list)  # passing predictors


@dataclass
class ReportData:
    """Everything one run's report shows."""

    run: dict[str, Any]
    counters: dict[str, Any]
    budget: dict[str, Any]
    rules: list[RuleFacts]
    refuted: list[dict[str, Any]]
    open: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    efficiency: list[dict[str, Any]]  # per step: cumulative functions and rules
    model_runs: list[dict[str, Any]]
    failures: list[dict[str, Any]]  # failed tool calls
    falsify_tol: float


def _last_reason(store: Store, hypothesis_id: int) -> tuple[str, int | None]:
    events = store.hypothesis_events(hypothesis_id)
    last = events[-1] if events else None
    return (last.reason, last.experiment_id) if last else ("", None)


def _rule_facts(store: Store, rule: Any, steps: dict[int, int]) -> RuleFacts:
    falsified_by = rule.provenance.get("falsified_by")
    facts = RuleFacts(
        rule_id=rule.rule_id, family=rule.family, kind=rule.kind, integrand=rule.integrand,
        statement=rule.statement, latex=rule.latex, conditions=list(rule.conditions),
        found_by=str(rule.provenance.get("found_by", "")), n_support=rule.n_support,
        n_falsification=rule.n_falsification, n_passed=0, max_error=rule.max_error,
        audit_passed=rule.audit_passed, step=steps.get(falsified_by))
    if rule.hypothesis_id is None:
        return facts
    tests = [e for e in store.evidence(rule.hypothesis_id, "falsification")
             if falsified_by is None or e.experiment_id == falsified_by]
    facts.n_passed = sum(bool(e.passed) for e in tests)
    facts.errors = [float(e.error) for e in tests if e.error is not None]
    facts.tests = [{"sample": e.sample_id, "predicted": e.predicted, "measured": e.measured,
                    "error": e.error, "passed": e.passed} for e in tests[:EVIDENCE_ROWS]]
    # The regressions behind it: its own (a power law) or its coefficient hypotheses'.
    hypothesis = store.get_hypothesis(rule.hypothesis_id)
    sources = [rule.hypothesis_id, *(hypothesis.details.get("coefficients", [])
                                     if hypothesis else [])]
    for hid in sources:
        child = store.get_hypothesis(hid) if hid != rule.hypothesis_id else hypothesis
        target = (child.target or "") if child else ""
        for e in store.evidence(hid, "regression"):
            if e.passed:
                facts.regressions.append({"target": target, "predictor": e.predictor,
                                          "r2": e.r2, "slope": e.slope,
                                          "intercept": e.intercept})
    return facts


def gather(store: Store, run_id: str) -> ReportData:
    """Read one run's report from the store (raises KeyError for an unknown run)."""
    run = store.get_run(run_id)
    if run is None:
        raise KeyError(run_id)
    counters = store.run_counters(run_id)
    experiments = store.list_experiments(run_id)
    steps = {e.experiment_id: e.step for e in experiments}
    families = {f.family_id: f.name for f in store.list_families()}

    rules = [_rule_facts(store, r, steps)
             for r in sorted(store.list_rules(run_id=run_id), key=lambda r: r.rule_id)
             if r.status == "accepted"]

    refuted, still_open = [], []
    for h in store.list_hypotheses(run_id):
        row = {"id": h.hypothesis_id, "kind": h.kind, "family": families.get(h.family_id),
               "statement": h.statement, "status": h.status}
        if h.status == "refuted":
            row["reason"], eid = _last_reason(store, h.hypothesis_id)
            row["step"] = steps.get(eid)
            refuted.append(row)
        elif h.status in OPEN:
            still_open.append(row)

    tools: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "failed": 0, "items": 0, "seconds": 0.0})
    for e in experiments:
        t = tools[e.tool]
        t["calls"] += 1
        t["failed"] += not e.ok
        t["items"] += e.n_items
        t["seconds"] += e.seconds
    total = sum(t["seconds"] for t in tools.values()) or 1.0
    tool_rows = [{"tool": name, **t, "share": t["seconds"] / total}
                 for name, t in sorted(tools.items(), key=lambda kv: -kv[1]["seconds"])]

    # Functions measured per step (sample experiments count their accepted draws), and the
    # step at which each rule was accepted: the efficiency curve.
    per_step: dict[int, int] = defaultdict(int)
    for e in experiments:
        if e.tool == "integrate":
            per_step[e.step] += e.n_items
    accepted_at: dict[int, int] = defaultdict(int)
    for r in rules:
        if r.step is not None:
            accepted_at[r.step] += 1
    efficiency, functions, found = [], 0, 0
    for step in sorted(set(per_step) | set(accepted_at)):
        functions += per_step.get(step, 0)
        found += accepted_at.get(step, 0)
        efficiency.append({"step": step, "functions": functions, "rules": found})

    model_runs = []
    for m in store.list_model_runs(run_id):
        metrics = m.metrics.get("metrics", {})
        model_runs.append({
            "id": m.model_run_id, "seconds": m.seconds, "device": m.device,
            "n_params": m.n_params, "n_train": m.n_train,
            "polynomial": metrics.get("polynomial", {}).get("correct"),
            "non_polynomial": metrics.get("non-polynomial", {}).get("correct")})

    config = run.config
    budget = {"functions": (counters["functions"], config.get("functions")),
              "tool calls": (counters["tool_calls"], config.get("tool_calls")),
              "wall seconds": (round(float(counters["wall_seconds"]), 1),
                               config.get("wall_seconds"))}
    failures = [{"step": e.step, "tool": e.tool, "family": families.get(e.family_id),
                 "error": e.error} for e in experiments if not e.ok]
    return ReportData(
        run={"run_id": run.run_id, "status": run.status, "end_reason": run.end_reason,
             "preset": run.preset, "strategy": run.strategy, "seed": run.seed,
             "started_at": run.started_at, "ended_at": run.ended_at,
             "families": list(config.get("families", [])),
             "version": run.eudoxus_version, "host": run.host},
        counters=counters, budget=budget, rules=rules, refuted=refuted, open=still_open,
        tools=tool_rows, efficiency=efficiency, model_runs=model_runs, failures=failures,
        falsify_tol=float(config.get("falsify_tol", 1e-5)))
