"""The campaign: the one loop that runs discovery, for the headless CLI, the TUI and resumes.

    while budget left and not stop:
        action = planner.next_action(state rebuilt from the store)
        run it (tools, fanned out to the pool), record it in one transaction
        publish the step's events (JSONL log, console, TUI)

Every step is one transaction seeded by (run seed, step number), so a killed campaign loses
at most the step in flight and `resume` redoes exactly that step.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from eudoxus.agent import events as ev
from eudoxus.agent.config import CampaignConfig
from eudoxus.agent.control import RunControl
from eudoxus.agent.executor import Executor, LocalExecutor
from eudoxus.agent.planner import OPEN, Action, LabState, Line, next_action
from eudoxus.memory.lab import Lab
from eudoxus.memory.store import Store

logger = logging.getLogger("eudoxus.campaign")
SNAPSHOT_EVERY = 300.0  # seconds between snapshot refreshes when no rule was accepted


class CampaignError(RuntimeError):
    """A campaign that cannot start or resume (unknown run, finished run, ...)."""


@dataclass(frozen=True)
class Outcome:
    """How a campaign segment ended."""

    run_id: str
    status: str  # completed | interrupted | budget_exhausted | failed
    reason: str
    counters: dict[str, Any]


def new_run_id(config: CampaignConfig) -> str:
    """A readable, unique run id: date, time, preset, seed."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{config.preset or 'custom'}-s{config.seed}-{secrets.token_hex(2)}"


class Campaign:
    """Plans, runs and records experiments until every line of inquiry closes or a budget ends."""

    def __init__(self, store: Store, lab: Lab, config: CampaignConfig, *,
                 run_id: str | None = None, bus: ev.EventBus | None = None,
                 executor: Executor | None = None, report: bool = True) -> None:
        self.store, self.lab, self.config = store, lab, config
        self.run_id = run_id or new_run_id(config)
        self.bus = bus or ev.EventBus()
        self.executor = executor or LocalExecutor(config.workers)
        self.report = report  # write report.md and report.html into runs/<id>/ at the end
        self.current: Action | None = None  # the step in progress, for a front end to show
        self._family_ids: dict[str, int] = {}

    # ---- starting and resuming -----------------------------------------------------------

    @classmethod
    def resume(cls, store: Store, lab: Lab, run_id: str, **kwargs: Any) -> Campaign:
        """Continue a stored run with the configuration it was started with."""
        run = store.get_run(run_id)
        if run is None:
            raise CampaignError(f"no run {run_id!r} in {lab.db_path}")
        if run.status == "completed":
            raise CampaignError(f"run {run_id} already completed; nothing to resume")
        return cls(store, lab, CampaignConfig.from_dict(run.config), run_id=run_id, **kwargs)

    def _register_families(self) -> None:
        from eudoxus.agent.steps import META_FAMILY
        from eudoxus.tools.families import get_family

        for name in (*self.config.families, META_FAMILY):
            record = get_family(name).to_record()
            row = self.store.get_family(name) or self.store.upsert_family(
                record.pop("name"), **record)
            self._family_ids[name] = row.family_id

    # ---- the state the planner sees ------------------------------------------------------

    def observe(self) -> LabState:
        """Rebuild the planner's view from the store (so a resume sees what a run saw)."""
        from eudoxus.tools.families import get_family

        run_id = self.run_id
        hypotheses = self.store.list_hypotheses(run_id)
        accepted = [r for r in self.store.list_rules(run_id=run_id) if r.status == "accepted"]
        # Aggregates, not every experiment row: a soak run has tens of thousands of them, and
        # reading them all before each step made every step slower than the last.
        tally = self.store.experiment_tally(run_id)
        observed = self.store.family_observation_counts(run_id)
        lines: dict[str, Line] = {}
        for name in self.config.families:
            fid = self._family_ids[name]
            mine = [h for h in hypotheses if h.family_id == fid]
            integrals = [h for h in mine if h.kind == "coefficient" and h.target == "integral"]
            forms = [h for h in mine if h.kind == "form" and h.status != "refuted"]
            searches = tally.get((fid, "rules"), {})
            lines[name] = Line(
                family=get_family(name), family_id=fid,
                n_observations=observed.get(fid, 0),
                searched_at=searches.get("max_observations", -1),
                form=max(forms, key=lambda h: h.hypothesis_id) if forms else None,
                open_integrals=sorted((h for h in integrals if h.status in OPEN),
                                      key=lambda h: h.hypothesis_id),
                # Rivals proposed by one search fall together: one attempt, not one per rival.
                refuted_integrals=len({(h.details.get("source"), h.details.get("n_observations"))
                                       for h in integrals if h.status == "refuted"}),
                failed_searches=searches.get("failed", 0),
                explorations=tally.get((fid, "regress"), {}).get("n", 0),
                rule=next((r for r in accepted if r.family_id == fid and r.kind != "meta"),
                          None),
                deduced=any(h.details.get("derived_from_rule") for h in integrals))
        metas = [h for h in hypotheses if h.kind == "meta"]
        trainings = (self.store.list_experiments(run_id, tool="retrain")
                     if any(tool == "retrain" for _, tool in tally) else [])
        latest = trainings[-1] if trainings else None
        names = {fid: name for name, fid in self._family_ids.items()}
        guessed = {names[family_id] for (family_id, tool), t in tally.items() if tool == "guess"
                   and latest is not None and t["last_experiment_id"] > latest.experiment_id}
        return LabState(
            lines=lines, meta_open=[h for h in metas if h.status in OPEN],
            meta_rule=next((r for r in accepted if r.kind == "meta"), None),
            meta_refuted=sum(h.status == "refuted" for h in metas),
            # Every measured function is one item of an `integrate` call: counted from the
            # experiments alone, not by joining the ever-growing samples table each step.
            functions=sum(t["items"] for (_, tool), t in tally.items() if tool == "integrate"),
            tool_calls=sum(t["n"] for t in tally.values()),
            rules=sum(r.kind != "meta" for r in accepted),
            model_rules=int(latest.params.get("rules", 0)) if latest else None,
            has_model=any(e.ok for e in trainings), guessed=guessed)

    # ---- the loop ------------------------------------------------------------------------

    def _budget_left(self, state: LabState, action: Action, started: float,
                     spent_before: float) -> str | None:
        """Why the budget forbids this action, or None."""
        config = self.config
        if state.functions + action.n > config.functions:
            return (f"function budget: {state.functions} measured, the next step needs "
                    f"{action.n} of the {config.functions} allowed")
        if state.tool_calls >= config.tool_calls:
            return f"tool-call budget of {config.tool_calls} spent"
        if spent_before + time.monotonic() - started >= config.wall_seconds:
            return f"wall-time budget of {config.wall_seconds:g} s spent"
        return None

    def run(self, stop: threading.Event | None = None, *, max_steps: int | None = None,
            control: RunControl | None = None) -> Outcome:
        """Run (or continue) the campaign until done, out of budget, or `stop` is set.

        A `control` lets another thread pause, single-step or ask for a retraining between
        steps; its stop event is used when no `stop` is given.
        """
        from eudoxus.agent import steps

        stop = stop or (control.stop if control else threading.Event())
        existing = self.store.get_run(self.run_id)
        resumed = existing is not None
        if resumed:
            self.store.resume_run(self.run_id)
        else:
            self.store.start_run(self.run_id, seed=self.config.seed,
                                 config=self.config.to_dict(), strategy=self.config.strategy,
                                 preset=self.config.preset)
        self._register_families()
        segment = self.store.begin_segment(self.run_id)
        spent_before = float(self.store.run_counters(self.run_id)["wall_seconds"])
        run_dir = self.lab.run_dir(self.run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2) + "\n",
                                             encoding="utf-8")
        sink = ev.JsonlSink(self.lab.events_path(self.run_id))
        if resumed:
            self.bus.advance_to(_last_seq(Path(sink.path)))
        unsubscribe = self.bus.subscribe(sink)
        self.bus.publish(ev.RunStarted(run_id=self.run_id, config=self.config.to_dict(),
                                       strategy=self.config.strategy, seed=self.config.seed,
                                       resumed=resumed))
        started = time.monotonic()
        last_snapshot = started
        status, reason = "completed", "every line of inquiry is closed"
        number = self.store.last_step(self.run_id) + 1
        taken = 0
        try:
            while True:
                if control is not None and not control.wait_for_turn():
                    status, reason = "interrupted", "stopped by the user"
                    break
                if stop.is_set():
                    status, reason = "interrupted", "stopped by the user"
                    break
                if max_steps is not None and taken >= max_steps:
                    status, reason = "interrupted", f"stopped after {max_steps} steps"
                    break
                step_started = time.monotonic()  # planning is part of the step's time
                state = self.observe()
                self._close_abandoned(state)
                action = next_action(state, self.config)
                if control is not None and control.take_retrain():
                    action = self._requested_retrain(state) or action
                if action is None:
                    break
                over = self._budget_left(state, action, started, spent_before)
                if over:
                    status, reason = "budget_exhausted", over
                    break
                self.current = action
                self.bus.publish(ev.Progress(run_id=self.run_id, stage=action.kind,
                                             done=state.functions, total=self.config.functions,
                                             message=action.describe()))
                step = steps.Step(self.store, self.run_id, self.config, number, self.executor,
                                  self._family_ids)
                self._execute(step, action, state)
                with self.store.transaction():
                    self.store.add_wall_seconds(self.run_id, segment,
                                                time.monotonic() - step_started)
                for event in step.events:
                    self.bus.publish(event)
                if step.accepted_rules or time.monotonic() - last_snapshot > SNAPSHOT_EVERY:
                    self.store.snapshot()
                    last_snapshot = time.monotonic()
                number += 1
                taken += 1
        except BaseException as error:
            status, reason = "failed", f"{type(error).__name__}: {error}"
            if isinstance(error, KeyboardInterrupt):
                status, reason = "interrupted", "interrupted"
            raise
        finally:
            self.current = None
            self.executor.close()
            self.store.end_run(self.run_id, status, reason)
            counters = self.store.run_counters(self.run_id)
            if self.report:
                self._write_report()
            self.bus.publish(ev.RunEnded(run_id=self.run_id, status=status, reason=reason,
                                         totals=counters))
            unsubscribe()
            sink.close()
            self.store.snapshot()
        return Outcome(self.run_id, status, reason, counters)

    def _requested_retrain(self, state: LabState) -> Action | None:
        """A retraining asked for by the user, when the run has an intuition and rules to teach."""
        if self.config.model_seconds <= 0 or state.rules == 0:
            return None
        return Action("retrain", why="requested by the user")

    def _write_report(self) -> None:
        """The morning report in the run's folder; a failure here never fails the run."""
        try:
            from eudoxus.agent.report import write_reports

            write_reports(self.store, self.lab.run_dir(self.run_id), self.run_id)
        except Exception:  # the run's record is complete without it; say why and go on
            logger.exception("could not write the report of run %s", self.run_id)

    def _close_abandoned(self, state: LabState) -> None:
        """Refute the open form of a line given up on, so the record says why it closed."""
        for line in state.lines.values():
            form = line.form
            if form is None or form.status not in OPEN or not line.abandoned(self.config):
                continue
            reason = (f"line of inquiry abandoned: {line.refuted_integrals} refuted rule(s), "
                      f"{line.failed_searches} failed search(es), {line.explorations} batch(es)")
            with self.store.transaction():
                self.store.set_hypothesis_status(form.hypothesis_id, "refuted", reason)
            self.bus.publish(ev.HypothesisChanged(
                run_id=self.run_id, hypothesis_id=form.hypothesis_id, from_status=form.status,
                to_status="refuted", reason=reason))

    def _execute(self, step, action: Action, state: LabState) -> None:
        from eudoxus.agent import steps

        if action.kind == "explore":
            steps.run_explore(step, action)
        elif action.kind == "search":
            steps.run_search(step, action, state.lines[action.family])
        elif action.kind == "falsify":
            steps.run_falsify(step, action, state)
        elif action.kind == "generalize":
            steps.run_generalize(step, action, state)
        elif action.kind == "deduce":
            steps.run_deduce(step, action, state.lines[action.family], state)
        elif action.kind in ("retrain", "guess"):
            from eudoxus.agent import steps_model

            run = steps_model.run_retrain if action.kind == "retrain" else steps_model.run_guess
            run(step, action, state)
        else:  # a planner bug, not a tool failure
            raise ValueError(f"unknown action {action.kind!r}")


def _last_seq(path: Path) -> int:
    """The highest seq in an event log (0 if none), so numbering keeps increasing on resume."""
    if not path.exists():
        return 0
    return max((event.seq for event in ev.read_events(path, skip_unknown=True)), default=0)
