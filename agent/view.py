"""What a viewer shows of a run, built from its events by a pure reducer.

`reduce(state, event)` returns a new `ViewState` and never mutates its input, so the TUI, a
replay that jumps back and forth, and the tests all share one definition of what a run looks
like at any event. It knows events only: no store, no planner, no terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from eudoxus.agent import events as ev
from eudoxus.agent.narrate import describe

LOG_LINES = 400  # experiment-log lines kept; older ones scroll away
OPEN_STATUSES = ("proposed", "testing")
SPLITS = ("polynomial", "non-polynomial")



def _empty() -> Mapping[Any, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class HypothesisRow:
    """One line of the hypotheses board."""

    hypothesis_id: int
    kind: str
    family: str | None
    statement: str
    status: str
    score: float | None = None  # R² for a coefficient law, pass fraction once tested
    reason: str = ""
    n_evidence: int = 0
    seq: int = 0  # the event that last changed it, so a board can show the freshest first


@dataclass(frozen=True)
class RuleRow:
    """An accepted rule as the viewer shows it."""

    rule_id: int
    hypothesis_id: int | None
    family: str | None
    statement: str
    conditions: tuple[str, ...]
    n_falsification: int
    max_error: float | None
    audit_passed: bool | None
    seq: int
    functions: int  # functions measured when it was accepted: the efficiency curve


@dataclass(frozen=True)
class LogLine:
    """One experiment-log line: when, what, and how it should stand out."""

    seq: int
    text: str
    tone: str = "info"  # info | rule | refuted | failed | model | run


@dataclass(frozen=True)
class ModelPoint:
    """One training of the intuition and its held-out scores (percent)."""

    model_run_id: int | str
    scores: Mapping[str, tuple[float, float]]  # split -> (correct, approx-correct)


@dataclass(frozen=True)
class ViewState:
    """Everything a viewer of a run shows, as of the last event reduced."""

    run_id: str | None = None
    status: str = "waiting"  # waiting | running | completed | interrupted | failed | ...
    reason: str = ""
    strategy: str = ""
    seed: int = 0
    config: Mapping[str, Any] = field(default_factory=_empty)
    started_ts: float | None = None
    last_ts: float | None = None
    current: str = ""  # the step in progress
    functions: int = 0
    function_budget: int | None = None
    tool_calls: int = 0
    failed_calls: int = 0
    tool_seconds: Mapping[str, float] = field(default_factory=_empty)
    hypotheses: Mapping[int, HypothesisRow] = field(default_factory=_empty)
    evidence: Mapping[int, tuple[ev.EvidenceRecorded, ...]] = field(default_factory=_empty)
    rules: tuple[RuleRow, ...] = ()
    log: tuple[LogLine, ...] = ()
    models: tuple[ModelPoint, ...] = ()
    last_seq: int = 0
    n_events: int = 0

    @property
    def rules_per_100(self) -> float:
        """Rules accepted per 100 measured functions: the campaign's efficiency."""
        return 100.0 * len(self.rules) / self.functions if self.functions else 0.0

    @property
    def open_hypotheses(self) -> int:
        """Hypotheses still proposed or under test."""
        return sum(h.status in OPEN_STATUSES for h in self.hypotheses.values())

    @property
    def elapsed(self) -> float:
        """Seconds from the run's first event to its latest (log time, not wall time)."""
        if self.started_ts is None or self.last_ts is None:
            return 0.0
        return max(0.0, self.last_ts - self.started_ts)

    @property
    def finished(self) -> bool:
        """Whether the run's last segment has ended."""
        return self.status not in ("waiting", "running")


def _frozen(mapping: dict[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(mapping)


def _with(mapping: Mapping[Any, Any], key: Any, value: Any) -> Mapping[Any, Any]:
    return _frozen({**mapping, key: value})


def _log(state: ViewState, event: ev.Event, tone: str = "info") -> tuple[LogLine, ...]:
    """The log with the event's line added (as it was, for an event not worth a line)."""
    text = describe(event)
    if text is None:
        return state.log
    return (*state.log[-(LOG_LINES - 1):], LogLine(event.seq, text.strip(), tone))


def _scores(metrics: Mapping[str, Any]) -> Mapping[str, tuple[float, float]]:
    out = {}
    for split in SPLITS:
        m = metrics.get(split)
        if isinstance(m, Mapping) and "correct" in m:
            out[split] = (float(m["correct"]), float(m.get("approx_correct") or 0.0))
    return _frozen(out)


def reduce(state: ViewState, event: ev.Event) -> ViewState:
    """The view after `event` (a new state; `state` is left as it was)."""
    state = replace(state, last_seq=max(state.last_seq, event.seq), n_events=state.n_events + 1,
                    last_ts=event.ts, run_id=state.run_id or event.run_id)
    if state.started_ts is None:
        state = replace(state, started_ts=event.ts)
    handler = _HANDLERS.get(type(event))
    return handler(state, event) if handler else state


def _run_started(state: ViewState, e: ev.RunStarted) -> ViewState:
    return replace(state, status="running", reason="", strategy=e.strategy, seed=e.seed,
                   config=_frozen(dict(e.config)), current="",
                   function_budget=e.config.get("functions", state.function_budget),
                   log=_log(state, e, "run"))


def _progress(state: ViewState, e: ev.Progress) -> ViewState:
    return replace(state, current=e.message or e.stage, functions=max(state.functions, e.done),
                   function_budget=e.total if e.total is not None else state.function_budget)


def _experiment(state: ViewState, e: ev.ExperimentDone) -> ViewState:
    functions = state.functions + (e.n_items if e.tool == "integrate" and e.ok else 0)
    seconds = _with(state.tool_seconds, e.tool, state.tool_seconds.get(e.tool, 0.0) + e.seconds)
    return replace(state, functions=functions, tool_calls=state.tool_calls + 1,
                   failed_calls=state.failed_calls + (not e.ok), tool_seconds=seconds,
                   log=_log(state, e, "info" if e.ok else "failed"))


def _proposed(state: ViewState, e: ev.HypothesisProposed) -> ViewState:
    row = HypothesisRow(e.hypothesis_id, e.hypothesis_kind, e.family, e.statement, e.status,
                        e.score, seq=e.seq)
    return replace(state, hypotheses=_with(state.hypotheses, e.hypothesis_id, row),
                   log=_log(state, e))


def _changed(state: ViewState, e: ev.HypothesisChanged) -> ViewState:
    old = state.hypotheses.get(e.hypothesis_id)
    if old is None:  # a log that starts mid-run: show it with what we know
        old = HypothesisRow(e.hypothesis_id, "?", None, f"#{e.hypothesis_id}", e.from_status)
    row = replace(old, status=e.to_status, reason=e.reason, seq=e.seq,
                  score=e.score if e.score is not None else old.score)
    return replace(state, hypotheses=_with(state.hypotheses, e.hypothesis_id, row),
                   log=_log(state, e, "refuted" if e.to_status == "refuted" else "info"))


def _evidence(state: ViewState, e: ev.EvidenceRecorded) -> ViewState:
    kept = (*state.evidence.get(e.hypothesis_id, ()), e)
    state = replace(state, evidence=_with(state.evidence, e.hypothesis_id, kept))
    row = state.hypotheses.get(e.hypothesis_id)
    if row is not None:
        n = len(next(iter(e.columns.values()), ()))
        row = replace(row, n_evidence=row.n_evidence + n)
        state = replace(state, hypotheses=_with(state.hypotheses, e.hypothesis_id, row))
    return state


def _rule(state: ViewState, e: ev.RuleAccepted) -> ViewState:
    rule = RuleRow(e.rule_id, e.hypothesis_id, e.family, e.statement, tuple(e.conditions),
                   e.n_falsification, e.max_error, e.audit_passed, e.seq, state.functions)
    return replace(state, rules=(*state.rules, rule), log=_log(state, e, "rule"))


def _model(state: ViewState, e: ev.ModelTrained) -> ViewState:
    point = ModelPoint(e.model_run_id, _scores(e.metrics))
    return replace(state, models=(*state.models, point), log=_log(state, e, "model"))


def _ended(state: ViewState, e: ev.RunEnded) -> ViewState:
    functions = int(e.totals.get("functions") or state.functions)
    return replace(state, status=e.status, reason=e.reason, current="", functions=functions,
                   log=_log(state, e, "run"))


_HANDLERS: dict[type, Any] = {
    ev.RunStarted: _run_started, ev.Progress: _progress, ev.ExperimentDone: _experiment,
    ev.HypothesisProposed: _proposed, ev.HypothesisChanged: _changed,
    ev.EvidenceRecorded: _evidence, ev.RuleAccepted: _rule, ev.ModelTrained: _model,
    ev.RunEnded: _ended,
}


def replay(events: Iterable[ev.Event], state: ViewState | None = None) -> ViewState:
    """The view after reducing every event in order."""
    state = state or ViewState()
    for event in events:
        state = reduce(state, event)
    return state


def discoveries(events: Iterable[ev.Event]) -> list[int]:
    """Indexes of the events at which a rule was accepted: where a replay can jump to."""
    return [i for i, e in enumerate(events) if isinstance(e, ev.RuleAccepted)]
