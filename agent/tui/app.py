"""The live lab: a Textual app that shows a campaign from its events.

Three ways to feed it, one dashboard:
- live: the app runs a `Campaign` in a thread and steers it (pause, step, retrain, quit);
- follow: it tails the `events.jsonl` of a campaign running in another process (DuckDB's
  lock forbids opening that database, and the log is all a viewer needs);
- replay: it plays a finished run's log back at a chosen speed and jumps between discoveries.
Every event goes through `Bridge` (live, follow) or the replay clock into the pure reducer
`agent.view.reduce`; the widgets draw the resulting `ViewState`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Footer, Header

from eudoxus.agent import events as ev
from eudoxus.agent.control import RunControl
from eudoxus.agent.tui.bridge import Bridge, EventsArrived
from eudoxus.agent.tui.screens import HelpScreen, HypothesisScreen, RulesScreen
from eudoxus.agent.tui.widgets import (
    EfficiencyPlot,
    ExperimentLog,
    HypothesisBoard,
    Meters,
    ModelHistory,
    RulesPanel,
)
from eudoxus.agent.view import ViewState, discoveries, reduce, replay

REDRAW_SECONDS = 0.1  # at most ten redraws a second, however fast events come
REPLAY_TICK = 0.05
DASHBOARD_ACTIONS = ("pause", "step", "inspect", "rules", "retrain", "discovery", "speed")
MAX_REPLAY_GAP = 2.0  # log seconds: a replay does not sit through a long silent step


class CampaignFinished(Message):
    """The campaign thread returned (or raised)."""

    def __init__(self, outcome: Any, error: BaseException | None) -> None:
        super().__init__()
        self.outcome, self.error = outcome, error


class LabApp(App):
    """Eudoxus live lab: hypotheses, experiments, rules and meters of one campaign."""

    TITLE = "Eudoxus live lab"
    CSS = """
    #meters { height: auto; max-height: 3; padding: 0 1; background: $boost; }
    #main { height: 1fr; }
    #board { width: 1fr; height: 1fr; overflow-x: hidden; }
    #side { width: 36%; height: 1fr; }
    #rules { height: auto; max-height: 60%; border: round $accent; padding: 0 1; }
    #efficiency { height: 1fr; min-height: 6; }
    #models { height: 1fr; min-height: 8; display: none; }
    .-narrow #efficiency { display: none; }
    #log { height: 8; border: round $panel; }
    .caption { color: $text-muted; padding: 1 1 0 1; }
    #plots { height: 18; }
    .-narrow #main { layout: vertical; }
    .-narrow #board { width: 1fr; }
    .-narrow #side { width: 1fr; height: 7; }
    .-narrow #rules { max-height: 100%; height: 1fr; }
    .-narrow #log { height: 6; }
    #plots PlotextPlot { width: 1fr; }
    #evidence-table { max-height: 14; }
    #matrix { height: auto; max-height: 12; }
    #help { width: 90%; max-width: 86; height: auto; max-height: 90%; padding: 1 2;
            border: thick $accent; background: $panel; }
    HelpScreen { align: center middle; }
    """
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("p", "pause", "Pause/Resume"),
        Binding("s", "step", "Step"),
        Binding("i,enter", "inspect", "Inspect"),
        Binding("l", "rules", "Rules"),
        Binding("r", "retrain", "Retrain"),
        Binding("n", "discovery(1)", "Next discovery"),
        Binding("b", "discovery(-1)", "Prev discovery"),
        Binding("plus,equals_sign", "speed(2.0)", "Faster", show=False),
        Binding("minus", "speed(0.5)", "Slower", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_lab", "Quit"),
    ]

    def __init__(self, mode: str, *, campaign: Any = None, path: Any = None,
                 timeline: Sequence[ev.Event] = (), speed: float = 10.0,
                 autoplay: bool = True, start_at: int | None = None,
                 integrands: dict[str, str] | None = None) -> None:
        super().__init__()
        self.mode = mode  # live | follow | replay
        self.campaign, self.path = campaign, path
        self.timeline = list(timeline)
        self.speed = speed
        self.state = ViewState()
        self.bridge = Bridge(self)
        self.control = RunControl()
        self.outcome: Any = None
        self.error: BaseException | None = None
        self.stopping = False
        self._integrands = dict(integrands or {})
        self._dirty = True
        self._cursor = 0  # replay: events of the timeline reduced so far
        self._clock = timeline[0].ts if timeline else 0.0  # replay: the log time shown
        self._playing = autoplay
        self._start_at = start_at  # replay: the event to show first
        self._follow_stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- constructors for the three feeds --------------------------------------------------

    @classmethod
    def live(cls, campaign: Any, **kwargs: Any) -> LabApp:
        """Run `campaign` in a thread and show it; quitting stops it after its step."""
        return cls("live", campaign=campaign, **kwargs)

    @classmethod
    def follow(cls, path: Any, **kwargs: Any) -> LabApp:
        """Tail a run's event log as another process writes it."""
        return cls("follow", path=path, **kwargs)

    @classmethod
    def replay(cls, timeline: Sequence[ev.Event], *, speed: float = 10.0,
               **kwargs: Any) -> LabApp:
        """Play a recorded run back, `speed` times faster than it ran."""
        return cls("replay", timeline=timeline, speed=speed, **kwargs)

    # ---- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Meters(id="meters")
        with Horizontal(id="main"):
            yield HypothesisBoard(id="board")
            with Vertical(id="side"):
                yield RulesPanel(id="rules")
                yield EfficiencyPlot(id="efficiency")
                yield ModelHistory(id="models")
        yield ExperimentLog(id="log", wrap=False, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rules").border_title = "accepted rules"
        self.query_one("#log").border_title = "experiment log"
        self.set_interval(REDRAW_SECONDS, self._redraw)
        if self.mode == "live":
            self._start_campaign()
        elif self.mode == "follow":
            self._thread = threading.Thread(target=self._follow, daemon=True,
                                            name="eudoxus-follow")
            self._thread.start()
        else:
            if self._start_at is not None:
                self.jump_to(self._start_at)
            self.set_interval(REPLAY_TICK, self._tick)
        self.query_one(HypothesisBoard).focus()
        self._redraw()

    # ---- feeds ------------------------------------------------------------------------------

    def _start_campaign(self) -> None:
        campaign = self.campaign
        campaign.bus.subscribe(self.bridge)

        def work() -> None:
            outcome, error = None, None
            try:
                outcome = campaign.run(control=self.control)
            except BaseException as e:  # reported in the app and by the CLI, never lost
                error = e
            self.outcome, self.error = outcome, error  # kept even if the app is gone
            self.post_message(CampaignFinished(outcome, error))

        self._thread = threading.Thread(target=work, daemon=True, name="eudoxus-campaign")
        self._thread.start()

    def _follow(self) -> None:
        for event in ev.follow(self.path, stop=self._follow_stop.is_set, poll_seconds=0.2):
            self.bridge(event)

    def on_events_arrived(self, _: EventsArrived) -> None:
        for event in self.bridge.drain():
            self.apply(event)

    def apply(self, event: ev.Event) -> None:
        """Reduce one event into the view (the widgets redraw on the next tick)."""
        self.state = reduce(self.state, event)
        if isinstance(event, ev.RunStarted):
            self._learn_integrands(event.config.get("families") or [])
        self._dirty = True

    def _learn_integrands(self, families: Sequence[str]) -> None:
        from eudoxus.tools.expr import canonical
        from eudoxus.tools.families import get_family

        for name in families:
            try:
                self._integrands.setdefault(name, canonical(get_family(name).template))
            except (KeyError, ValueError):  # a family this version does not know
                continue

    def on_campaign_finished(self, message: CampaignFinished) -> None:
        if self.stopping or message.error is not None:
            self.exit()
            return
        self.notify(f"campaign {message.outcome.status}: {message.outcome.reason}",
                    title="run ended", timeout=8)
        self._dirty = True

    # ---- replay -----------------------------------------------------------------------------

    def _tick(self) -> None:
        if not self._playing or self._cursor >= len(self.timeline):
            return
        self._clock += REPLAY_TICK * self.speed
        upcoming = self.timeline[self._cursor].ts
        if upcoming - self._clock > MAX_REPLAY_GAP:  # skip the silence of a long step
            self._clock = upcoming - MAX_REPLAY_GAP
        while self._cursor < len(self.timeline) and self.timeline[self._cursor].ts <= self._clock:
            self.apply(self.timeline[self._cursor])
            self._cursor += 1

    def jump_to(self, index: int) -> None:
        """Show the replay as of timeline event `index` (inclusive)."""
        index = max(-1, min(index, len(self.timeline) - 1))
        if index + 1 >= self._cursor:
            for event in self.timeline[self._cursor:index + 1]:
                self.apply(event)
        else:  # backwards: the reducer is pure, so rebuild from the start
            self.state = replay(self.timeline[:index + 1])
            self._dirty = True
        self._cursor = index + 1
        if self.timeline:
            self._clock = self.timeline[max(index, 0)].ts

    # ---- drawing ----------------------------------------------------------------------------

    def _note(self) -> str:
        if self.mode == "live":
            if self.stopping:
                return "stopping after this step"
            return "paused" if self.control.paused else ""
        if self.mode == "replay":
            where = f"replay {self._cursor}/{len(self.timeline)} events, {self.speed:g}x"
            return where + ("" if self._playing else ", paused")
        return "following the log"

    def _redraw(self) -> None:
        if len(self.screen_stack) > 1:  # the dashboard is covered; draw it when it is back
            if self._dirty and isinstance(self.screen, HypothesisScreen):
                self.screen.show(self.state)  # a hypothesis under test gains evidence live
            return
        if not self._dirty:
            return
        try:
            panels = [self.query_one(kind) for kind in (Meters, HypothesisBoard, RulesPanel,
                                                        EfficiencyPlot, ExperimentLog,
                                                        ModelHistory)]
        except NoMatches:  # the app is still composing or already shutting down
            return
        meters, board, rules, efficiency, log, models = panels
        self._dirty = False
        state = self.state
        self.sub_title = f"{state.run_id or 'waiting for a run'} · {state.status}"
        meters.show(state, self._note())
        board.show(state)
        rules.show(state, self._integrands)
        efficiency.show(state)
        log.show(state)
        if state.models:
            models.display = True
            models.show(state)

    # ---- actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide keys that mean nothing here (steering a log, jumping in a live run, or
        dashboard keys while another screen is open)."""
        if len(self.screen_stack) > 1 and action in DASHBOARD_ACTIONS:
            return False
        if action in ("step", "retrain"):
            return self.mode == "live"
        if action == "pause":
            return self.mode in ("live", "replay")
        if action in ("discovery", "speed"):
            return self.mode == "replay"
        return True

    def action_pause(self) -> None:
        """Pause or resume the campaign (live) or the replay clock."""
        if self.mode == "replay":
            self._playing = not self._playing
        else:
            paused = self.control.toggle_pause()
            self.notify("paused: the campaign waits before its next step" if paused
                        else "resumed", timeout=3)
        self._dirty = True

    def action_step(self) -> None:
        """Run exactly one more step, then hold."""
        self.control.step_once()
        self._dirty = True

    def action_retrain(self) -> None:
        """Ask for a retraining of the intuition as the next step."""
        seconds = float(self.state.config.get("model_seconds") or 0)
        if seconds <= 0:
            self.notify("this run has no intuition (model_seconds = 0); start one with "
                        "--preset intuition", severity="warning", timeout=6)
            return
        if not self.state.rules:
            self.notify("nothing to teach yet: no rule accepted", severity="warning")
            return
        self.control.request_retrain()
        self.notify(f"retraining next ({seconds:g} s budget)", timeout=4)

    def action_inspect(self) -> None:
        """Open the hypothesis under the cursor."""
        hid = self.query_one(HypothesisBoard).selected_id()
        if hid is not None:
            self.push_screen(HypothesisScreen(self.state, hid))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, HypothesisBoard):  # enter on the board inspects
            self.action_inspect()

    def action_rules(self) -> None:
        """Browse the accepted rules."""
        self.push_screen(RulesScreen(self.state, self._integrands))

    def action_help(self) -> None:
        """Show what the panels and keys mean."""
        self.push_screen(HelpScreen())

    def action_discovery(self, direction: int) -> None:
        """Replay: jump to the next (1) or previous (-1) accepted rule."""
        marks = discoveries(self.timeline)
        here = self._cursor - 1
        target = (next((i for i in marks if i > here), None) if direction > 0 else
                  next((i for i in reversed(marks) if i < here), None))
        if target is None:
            self.notify("no further discovery" if direction > 0 else "no earlier discovery",
                        timeout=2)
            return
        self._playing = False
        self.jump_to(target)

    def action_speed(self, factor: float) -> None:
        """Replay faster or slower."""
        self.speed = min(1000.0, max(0.25, self.speed * factor))
        self._dirty = True

    async def action_quit(self) -> None:
        """Ctrl+Q quits the same careful way as q."""
        self.action_quit_lab()

    def action_quit_lab(self) -> None:
        """Quit; a live campaign first finishes and commits its step (resumable)."""
        self._follow_stop.set()
        if self.mode == "live" and self._thread is not None and self._thread.is_alive():
            if not self.stopping:
                self.stopping = True
                self.control.request_stop()
                self.notify("stopping after the current step…", timeout=10)
                self._dirty = True
            return
        self.exit()

    def wait_for_campaign(self, timeout: float | None = None) -> bool:
        """Block until the campaign thread ends (after the app exits); True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

