"""The live lab, driven by Textual's Pilot: scripted events, replay, screens, live campaigns."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from eudoxus.agent import events as ev
from eudoxus.agent.campaign import Campaign
from eudoxus.agent.cli_tui import event_log, viewer_for
from eudoxus.agent.config import load_config
from eudoxus.agent.tui.app import LabApp
from eudoxus.agent.tui.bridge import Bridge
from eudoxus.agent.tui.screens import HelpScreen, HypothesisScreen, RulesScreen
from eudoxus.agent.tui.widgets import HypothesisBoard, Meters, RulesPanel
from eudoxus.agent.view import discoveries
from eudoxus.memory import Lab, Store

RUN_LOG = Path(__file__).parent / "data" / "small-run.jsonl"
SMALL = dict(families=("poly0", "poly1", "exp"), workers=0, falsify_n=8)


@pytest.fixture(scope="module")
def timeline() -> list[ev.Event]:
    return list(ev.read_events(RUN_LOG))


def _text(widget) -> str:
    return str(widget.render())


async def _settle(pilot, app: LabApp, predicate, seconds: float = 60.0) -> None:
    """Let the app run until `predicate()` holds (a live campaign takes a few seconds)."""
    waited = 0.0
    while not predicate() and waited < seconds:
        await pilot.pause(0.1)
        waited += 0.1
    assert predicate(), f"gave up after {seconds} s; app state: {app.state.status}"


# ---- the bridge ---------------------------------------------------------------------------

class _Recorder:
    def __init__(self) -> None:
        self.posted = 0

    def post_message(self, message) -> None:
        self.posted += 1


def test_bridge_batches_a_burst_and_keeps_only_the_latest_progress() -> None:
    app = _Recorder()
    bridge = Bridge(app)
    for done in range(5):
        bridge(ev.Progress(run_id="r", stage="explore", done=done))
    bridge(ev.ExperimentDone(run_id="r", experiment_id=1, tool="sample"))
    bridge(ev.Progress(run_id="r", stage="search", done=9))
    drained = bridge.drain()
    assert [type(e).__name__ for e in drained] == ["Progress", "ExperimentDone", "Progress"]
    assert drained[0].done == 4 and bridge.coalesced == 4
    assert app.posted == 1  # one wake-up for the whole burst
    bridge(ev.Progress(run_id="r", stage="x"))
    assert app.posted == 2 and len(bridge.drain()) == 1


# ---- a scripted stream through the live path ---------------------------------------------

async def test_scripted_events_fill_the_board_rules_and_meters(timeline) -> None:
    app = LabApp.follow(RUN_LOG)
    app.mode = "scripted"  # no feed of its own: the test is the campaign
    async with app.run_test(size=(120, 36)) as pilot:
        for event in timeline[:40]:
            app.bridge(event)
        await pilot.pause(0.3)
        board = app.query_one(HypothesisBoard)
        assert board.row_count == len(app.state.hypotheses) > 0
        assert app.state.n_events == 40
        for event in timeline[40:]:
            app.bridge(event)
        await pilot.pause(0.3)
        assert board.row_count == len(app.state.hypotheses)
        rules = _text(app.query_one(RulesPanel))
        assert "exp:" in rules and "∫₀ˣ" in rules
        meters = _text(app.query_one(Meters))
        assert f"{app.state.functions}/" in meters and "rules 3" in meters
        assert app.state.status == "completed"


async def test_the_intuition_panel_appears_with_the_first_training() -> None:
    app = LabApp.follow(RUN_LOG)
    app.mode = "scripted"
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        models = app.query_one("#models")
        assert not models.display  # a run without an intuition shows no empty panel
        app.bridge(ev.RunStarted(run_id="r", config={"model_seconds": 60}))
        for i, score in enumerate((12.0, 55.5), start=1):
            app.bridge(ev.ModelTrained(run_id="r", model_run_id=i, seconds=60, metrics={
                "polynomial": {"correct": score, "approx_correct": score + 10}}))
        await pilot.pause(0.3)
        assert models.display and [m.scores["polynomial"][0] for m in app.state.models] == [
            12.0, 55.5]


# ---- replay ---------------------------------------------------------------------------------

async def test_replay_jumps_between_discoveries(timeline) -> None:
    marks = discoveries(timeline)
    app = LabApp.replay(timeline, speed=1.0, autoplay=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        assert app._cursor == marks[0] + 1 and len(app.state.rules) == 1
        await pilot.press("n", "n")
        assert len(app.state.rules) == 3
        await pilot.press("b")
        assert app._cursor == marks[1] + 1 and len(app.state.rules) == 2
        await pilot.pause(0.3)
        assert app.query_one(HypothesisBoard).row_count == len(app.state.hypotheses)


async def test_replay_plays_at_speed_and_pauses(timeline) -> None:
    app = LabApp.replay(timeline, speed=200.0)  # the log is 0.25 s per event
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(pilot, app, lambda: app.state.n_events >= 10)
        await pilot.press("p")
        seen = app.state.n_events
        await pilot.pause(0.5)
        assert app.state.n_events == seen
        await pilot.press("p")
        await _settle(pilot, app, lambda: app.state.finished)
        assert len(app.state.rules) == 3


async def test_inspect_shows_tables_matrix_and_fresh_functions(timeline) -> None:
    app = LabApp.replay(timeline, autoplay=False, start_at=len(timeline) - 1)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        exp_rule = next(r for r in app.state.rules if r.family == "exp")
        board = app.query_one(HypothesisBoard)
        board.move_cursor(row=board.get_row_index(str(exp_rule.hypothesis_id)))
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, HypothesisScreen)
        tests = screen.query_one("#evidence-table", DataTable)
        assert tests.row_count == 8  # falsify_n fresh functions
        matrix = screen.query_one("#matrix", DataTable)
        assert matrix.row_count == 4  # c0 + c1*x + c2*exp(c3*x): one row per slot
        assert {"a3", "1/a3"} <= {str(c.label) for c in matrix.columns.values()}
        await pilot.press("right")
        assert screen.function_index == 1
        await pilot.press("escape")
        assert not isinstance(app.screen, HypothesisScreen)


async def test_an_open_hypothesis_gains_its_evidence_live(timeline) -> None:
    proposed = next(i for i, e in enumerate(timeline) if isinstance(e, ev.HypothesisProposed)
                    and e.family == "exp" and e.statement.startswith("a0*x"))  # the integral
    hid = timeline[proposed].hypothesis_id
    tested = next(i for i, e in enumerate(timeline) if isinstance(e, ev.EvidenceRecorded)
                  and e.hypothesis_id == hid and e.evidence_kind == "falsification")
    app = LabApp.replay(timeline, autoplay=False, start_at=proposed)
    async with app.run_test(size=(120, 40)) as pilot:
        board = app.query_one(HypothesisBoard)
        board.move_cursor(row=board.get_row_index(str(hid)))
        await pilot.press("i")
        table = app.screen.query_one("#evidence-table", DataTable)
        assert not table.display  # not tested yet: nothing to show
        app.jump_to(tested)
        await pilot.pause(0.3)
        assert table.display and table.row_count == 8


async def test_inspecting_a_coefficient_law_shows_its_regression_table(timeline) -> None:
    app = LabApp.replay(timeline, autoplay=False, start_at=len(timeline) - 1)
    async with app.run_test(size=(120, 40)) as pilot:
        law = next(h for h in app.state.hypotheses.values()
                   if h.kind == "coefficient" and h.statement.startswith("c1 ="))
        board = app.query_one(HypothesisBoard)
        board.move_cursor(row=board.get_row_index(str(law.hypothesis_id)))
        await pilot.press("enter")
        table = app.screen.query_one("#evidence-table", DataTable)
        (evidence,) = app.state.evidence[law.hypothesis_id]
        assert table.row_count == len(evidence.columns["predictor"])
        assert str(table.get_row_at(0)[0]) == evidence.columns["predictor"][0]


async def test_rules_browser_and_help(timeline) -> None:
    app = LabApp.replay(timeline, autoplay=False, start_at=len(timeline) - 1)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("l")
        assert isinstance(app.screen, RulesScreen)
        table = app.screen.query_one("#rule-table", DataTable)
        assert table.row_count == 3
        detail = str(app.screen.query_one("#rule-detail").render())
        assert "survived" in detail and "never decides" in detail
        await pilot.press("enter")
        assert isinstance(app.screen, HypothesisScreen)
        await pilot.press("escape", "escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen | RulesScreen)


async def test_the_dashboard_fits_80_by_24(timeline) -> None:
    app = LabApp.replay(timeline, autoplay=False, start_at=len(timeline) // 2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        board = app.query_one(HypothesisBoard)
        assert board.region.height >= 5 and board.region.width == 80
        assert app.query_one(RulesPanel).region.height >= 3
        assert "-narrow" in app.screen.classes


def test_dashboard_snapshot(snap_compare, timeline) -> None:
    app = LabApp.replay(timeline, autoplay=False, start_at=50)
    assert snap_compare(app, terminal_size=(110, 32))


# ---- watch ----------------------------------------------------------------------------------

def test_watch_finds_the_latest_log_and_refuses_unknown_runs(tmp_path: Path) -> None:
    from eudoxus.agent.cli import BadInput

    lab = Lab(tmp_path)
    for name in ("old", "new"):
        lab.run_dir(name).mkdir(parents=True)
        lab.events_path(name).write_text(RUN_LOG.read_text())
    assert event_log(lab, None).parent.name == "new"
    assert event_log(lab, "old").parent.name == "old"
    with pytest.raises(BadInput, match="no event log for run 'nope'"):
        event_log(lab, "nope")
    with pytest.raises(BadInput, match="no runs to watch"):
        event_log(Lab(tmp_path / "empty"), None)


async def test_watch_replays_a_finished_run_and_follows_an_unfinished_one(tmp_path: Path,
                                                                         timeline) -> None:
    finished = viewer_for(RUN_LOG, speed=0)
    async with finished.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        assert finished.mode == "replay" and finished.state.status == "completed"
        assert len(finished.state.rules) == 3
        assert finished.query_one(HypothesisBoard).row_count == len(finished.state.hypotheses)
    cut = tmp_path / "events.jsonl"
    cut.write_text("".join(e.to_json() + "\n" for e in timeline[:30]))
    assert viewer_for(cut).mode == "follow"
    assert viewer_for(RUN_LOG, follow=True).mode == "follow"  # to see a resume
    assert viewer_for(RUN_LOG, speed=5).speed == 5


def test_watch_refuses_a_corrupt_log_in_one_line(tmp_path: Path) -> None:
    from eudoxus.agent.cli import BadInput

    bad = tmp_path / "events.jsonl"
    bad.write_text('{"kind":"run_started","run_id":"r"}\nnot json at all\n{}\n')
    with pytest.raises(BadInput, match=r"events.jsonl:2: corrupt event line"):
        viewer_for(bad)


@pytest.mark.parametrize("command", [["watch"], ["run", "--tui", "--preset", "smoke"]])
def test_the_lab_without_a_terminal_is_a_one_line_error(tmp_path: Path, capsys,
                                                        command: list[str]) -> None:
    from eudoxus.agent.cli import main

    code = main(["--home", str(tmp_path / "lab"), *command])  # pytest's stdin is no terminal
    err = capsys.readouterr().err
    assert code == 2
    assert "needs an interactive terminal" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "lab").exists()  # refused before anything was created


async def test_follow_shows_a_log_as_another_process_writes_it(tmp_path, timeline) -> None:
    path = tmp_path / "events.jsonl"
    half = len(timeline) // 2
    with ev.JsonlSink(path) as sink:
        for event in timeline[:half]:
            sink(event)
        app = LabApp.follow(path)
        async with app.run_test(size=(100, 30)) as pilot:
            await _settle(pilot, app, lambda: app.state.n_events == half, 10)
            for event in timeline[half:]:
                sink(event)
            await _settle(pilot, app, lambda: app.state.finished, 10)
            assert app.state.n_events == len(timeline)
            await pilot.press("q")


# ---- live campaigns -------------------------------------------------------------------------

def _campaign(store: Store, lab: Lab, **overrides) -> Campaign:
    return Campaign(store, lab, load_config("smoke").with_overrides(**{**SMALL, **overrides}))


async def test_a_live_campaign_runs_to_the_end_in_the_lab(lab: Lab) -> None:
    with Store.open(lab) as store:
        app = LabApp.live(_campaign(store, lab))
        async with app.run_test(size=(100, 30)) as pilot:
            await _settle(pilot, app, lambda: app.state.finished)
            assert app.wait_for_campaign(30)
            assert app.outcome.status == "completed"
            stored = {r.rule_id for r in store.list_rules(run_id=app.outcome.run_id)}
            assert {r.rule_id for r in app.state.rules} == stored and len(stored) == 3


async def test_pause_and_single_step_hold_the_campaign_between_steps(lab: Lab) -> None:
    with Store.open(lab) as store:
        app = LabApp.live(_campaign(store, lab))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("p")
            await pilot.pause(1.0)  # the step in flight when p was pressed finishes
            held = app.state.tool_calls
            await pilot.pause(1.0)
            assert app.state.tool_calls == held  # nothing runs while paused
            await pilot.press("s")
            await _settle(pilot, app, lambda: app.state.tool_calls > held, 30)
            after_one = app.state.tool_calls
            await pilot.pause(1.0)
            assert app.state.tool_calls == after_one  # exactly one step, then it holds again
            assert not app.state.finished
            await pilot.press("q")
            await _settle(pilot, app, lambda: not app.is_running or app.outcome is not None, 30)
        assert app.outcome.status == "interrupted"


async def test_quitting_mid_campaign_leaves_a_resumable_run(lab: Lab, tmp_path: Path) -> None:
    with Store.open(lab) as store:
        app = LabApp.live(_campaign(store, lab))
        async with app.run_test(size=(100, 30)) as pilot:
            await _settle(pilot, app, lambda: len(app.state.rules) >= 1)
            await pilot.press("q")
            await _settle(pilot, app, lambda: app.outcome is not None, 30)
        assert app.wait_for_campaign(30)
        run_id = app.outcome.run_id
        assert app.outcome.status == "interrupted"
        assert store.get_run(run_id).status == "interrupted"
        resumed = Campaign.resume(store, lab, run_id).run()
        assert resumed.status == "completed"
        rules = {r.family: r.statement for r in store.list_rules(run_id=run_id)}
    assert rules == {"poly0": "a0*x", "poly1": "a0*x + a1*x**2/2",
                     "exp": "a0*x + a4*exp(a3*x)/a3 - a4/a3"}


async def test_retrain_key_explains_a_run_without_an_intuition(lab: Lab) -> None:
    with Store.open(lab) as store:
        app = LabApp.live(_campaign(store, lab))
        async with app.run_test(size=(100, 30)) as pilot:
            await _settle(pilot, app, lambda: len(app.state.rules) >= 1)
            await pilot.press("r")
            assert not app.control.take_retrain()  # nothing requested: there is no model
            assert any("no intuition" in n.message for n in app._notifications)
            await pilot.press("q")
            await _settle(pilot, app, lambda: app.outcome is not None, 30)


# ---- the numbers behind the evidence plots --------------------------------------------------

def test_a_power_law_is_drawn_on_its_instrument_family() -> None:
    import numpy as np

    from eudoxus.agent.tui import series

    test = ev.EvidenceRecorded(run_id="r", hypothesis_id=13, evidence_kind="falsification",
                               points={"family": "power", "names": ["a1", "a2"],
                                       "params": [[1.5, 2.5]], "outside": [True],
                                       "rename": {"a": "a1", "n": "a2"}})
    f, measured, predicted = series.function_curves(test, 0, "a*x**(n + 1)/(n + 1)")
    assert [f.label, measured.label, predicted.label] == ["f(x)", "measured area",
                                                          "predicted area"]
    assert np.allclose(f.y, 1.5 * f.x ** 2.5)
    assert np.allclose(predicted.y, measured.y, atol=1e-4)  # the true law matches the area
    wrong = series.function_curves(test, 0, "a*x**n/n")[2]
    assert not np.allclose(wrong.y, measured.y, atol=1e-2)


def test_a_model_guess_is_drawn_from_its_integrand_text() -> None:
    import numpy as np

    from eudoxus.agent.tui import series

    guess = ev.EvidenceRecorded(run_id="r", hypothesis_id=40, evidence_kind="falsification",
                                columns={"predicted": [1.0], "measured": [1.2],
                                         "passed": [False]},
                                points={"integrand": "2.0*cos(0.5*x)"})
    assert series.n_functions(guess) == 1
    f, measured, predicted = series.function_curves(guess, 0, "4.0*sin(0.5*x)")
    assert np.allclose(predicted.y, measured.y, atol=1e-4)
    assert series.function_curves(guess, 0, "not a formula (")[2:] == []  # nothing to draw
    p, m, ok = series.predicted_vs_measured(guess)
    assert p.tolist() == [1.0] and m.tolist() == [1.2] and ok.tolist() == [False]
