"""The view reducer: one test per event kind, purity, and a whole recorded run."""

from __future__ import annotations

from pathlib import Path

import pytest

from eudoxus.agent import events as ev
from eudoxus.agent import view
from eudoxus.agent.view import ViewState, discoveries, reduce, replay

RUN_LOG = Path(__file__).parent / "data" / "small-run.jsonl"


def _running() -> ViewState:
    return reduce(ViewState(), ev.RunStarted(run_id="r", seq=1, ts=100.0, strategy="adaptive",
                                             seed=3, config={"functions": 400,
                                                             "model_seconds": 0}))


def _with_hypothesis() -> ViewState:
    return reduce(_running(), ev.HypothesisProposed(
        run_id="r", seq=2, ts=101.0, hypothesis_id=7, hypothesis_kind="coefficient",
        family="poly1", statement="a0*x + a1*x**2/2"))


def test_every_event_kind_has_a_reducer() -> None:
    assert set(ev.EVENT_TYPES.values()) <= set(view._HANDLERS)


def test_run_started_sets_status_budget_and_config() -> None:
    state = _running()
    assert (state.status, state.strategy, state.seed, state.function_budget) == (
        "running", "adaptive", 3, 400)
    assert state.config["model_seconds"] == 0
    assert state.log[-1].tone == "run" and "seed 3" in state.log[-1].text


def test_progress_shows_the_step_and_never_lowers_the_count() -> None:
    state = reduce(_running(), ev.Progress(run_id="r", seq=2, stage="explore", done=24,
                                           total=500, message="explore poly1"))
    assert (state.current, state.functions, state.function_budget) == ("explore poly1", 24, 500)
    state = reduce(state, ev.Progress(run_id="r", seq=3, stage="search", done=10))
    assert state.functions == 24 and state.function_budget == 500


def test_experiments_count_functions_calls_failures_and_time() -> None:
    state = _running()
    for seq, (tool, n, ok) in enumerate([("sample", 8, True), ("integrate", 8, True),
                                         ("regress", 8, False)], start=2):
        state = reduce(state, ev.ExperimentDone(
            run_id="r", seq=seq, experiment_id=seq, tool=tool, family="poly1", n_items=n,
            ok=ok, error=None if ok else "BrokenProcessPool: a worker died", seconds=0.5))
    assert (state.functions, state.tool_calls, state.failed_calls) == (8, 3, 1)
    assert state.tool_seconds == {"sample": 0.5, "integrate": 0.5, "regress": 0.5}
    assert state.log[-1].tone == "failed" and "a worker died" in state.log[-1].text


def test_a_proposed_hypothesis_joins_the_board() -> None:
    row = _with_hypothesis().hypotheses[7]
    assert (row.kind, row.family, row.status, row.statement) == (
        "coefficient", "poly1", "proposed", "a0*x + a1*x**2/2")
    assert _with_hypothesis().open_hypotheses == 1


def test_a_status_change_moves_the_row_and_keeps_its_reason() -> None:
    state = reduce(_with_hypothesis(), ev.HypothesisChanged(
        run_id="r", seq=3, hypothesis_id=7, from_status="testing", to_status="refuted",
        reason="3/8 fresh functions predicted", score=0.375))
    row = state.hypotheses[7]
    assert (row.status, row.reason, row.score, row.seq) == (
        "refuted", "3/8 fresh functions predicted", 0.375, 3)
    assert state.open_hypotheses == 0 and state.log[-1].tone == "refuted"


def test_a_change_for_an_unseen_hypothesis_still_shows() -> None:
    state = reduce(_running(), ev.HypothesisChanged(
        run_id="r", seq=5, hypothesis_id=99, from_status="proposed", to_status="testing"))
    assert state.hypotheses[99].status == "testing"


def test_evidence_is_kept_per_hypothesis_and_counted_on_the_board() -> None:
    event = ev.EvidenceRecorded(run_id="r", seq=3, hypothesis_id=7,
                                evidence_kind="falsification", experiment_id=4,
                                columns={"predicted": [1.0, 2.0], "measured": [1.0, 2.5],
                                         "passed": [True, False]})
    state = reduce(reduce(_with_hypothesis(), event), event)
    assert state.evidence[7] == (event, event)
    assert state.hypotheses[7].n_evidence == 4


def test_a_rule_is_listed_with_the_functions_it_cost() -> None:
    state = reduce(_running(), ev.Progress(run_id="r", seq=2, stage="falsify", done=40))
    state = reduce(state, ev.RuleAccepted(run_id="r", seq=3, rule_id=1, hypothesis_id=7,
                                          family="poly1", statement="a0*x + a1*x**2/2",
                                          n_falsification=24, max_error=1e-9))
    assert [(r.rule_id, r.functions) for r in state.rules] == [(1, 40)]
    assert state.rules_per_100 == pytest.approx(2.5)
    assert state.log[-1].tone == "rule"


def test_a_training_adds_a_point_to_the_model_history() -> None:
    state = reduce(_running(), ev.ModelTrained(
        run_id="r", seq=2, model_run_id=1, seconds=60, n_params=1_450_000,
        metrics={"polynomial": {"correct": 84.5, "approx_correct": 95.3},
                 "non-polynomial": {"correct": 16.2, "approx_correct": 86.8}, "n": 4000}))
    (point,) = state.models
    assert point.scores == {"polynomial": (84.5, 95.3), "non-polynomial": (16.2, 86.8)}
    assert "84.5%" in state.log[-1].text


def test_run_ended_records_status_reason_and_totals() -> None:
    state = reduce(_running(), ev.RunEnded(run_id="r", seq=2, status="interrupted",
                                           reason="stopped by the user",
                                           totals={"functions": 120, "rules_accepted": 2}))
    assert (state.status, state.reason, state.functions, state.finished) == (
        "interrupted", "stopped by the user", 120, True)


def test_reduce_leaves_its_input_unchanged() -> None:
    before = _with_hypothesis()
    snapshot = (dict(before.hypotheses), before.log, before.n_events)
    reduce(before, ev.HypothesisChanged(run_id="r", seq=3, hypothesis_id=7,
                                        from_status="proposed", to_status="accepted"))
    assert (dict(before.hypotheses), before.log, before.n_events) == snapshot
    assert before.hypotheses[7].status == "proposed"


def test_the_log_keeps_only_its_latest_lines() -> None:
    state = _running()
    for seq in range(2, view.LOG_LINES + 50):
        state = reduce(state, ev.ExperimentDone(run_id="r", seq=seq, experiment_id=seq,
                                                tool="sample"))
    assert len(state.log) == view.LOG_LINES
    assert state.log[-1].seq == view.LOG_LINES + 49


def test_a_recorded_run_replays_to_its_own_totals() -> None:
    events = list(ev.read_events(RUN_LOG))
    state = replay(events)
    totals = events[-1].totals
    assert state.status == "completed"
    assert state.functions == totals["functions"]
    assert state.tool_calls == totals["tool_calls"]
    assert len(state.rules) == totals["rules_accepted"] == 3
    assert sum(h.status == "refuted" for h in state.hypotheses.values()) == totals["refuted"]
    assert [events[i].rule_id for i in discoveries(events)] == [r.rule_id for r in state.rules]
