"""The headless view of a campaign: a rich live panel on a terminal, plain lines otherwise.

It is only an event-bus subscriber; it knows nothing of the store or the planner.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from eudoxus.agent import events as ev


def _plain_line(event: ev.Event) -> str | None:
    """The one line a non-terminal reader gets for an event (None: not worth a line)."""
    if isinstance(event, ev.RunStarted):
        verb = "resumed" if event.resumed else "started"
        return f"run {event.run_id} {verb}: strategy {event.strategy}, seed {event.seed}"
    if isinstance(event, ev.Progress):
        return f"step: {event.message}"
    if isinstance(event, ev.ExperimentDone):
        what = f" {event.family}" if event.family else ""
        state = "ok" if event.ok else f"FAILED ({event.error})"
        return f"  {event.tool}{what}: {event.n_items} item(s) in {event.seconds:.2f} s, {state}"
    if isinstance(event, ev.HypothesisProposed):
        return f"  proposed #{event.hypothesis_id} [{event.hypothesis_kind}] {event.statement}"
    if isinstance(event, ev.HypothesisChanged):
        if event.to_status in ("accepted", "refuted"):
            return f"  #{event.hypothesis_id} {event.to_status}: {event.reason}"
        return None
    if isinstance(event, ev.RuleAccepted):
        family = event.family or "power law"
        return f"RULE #{event.rule_id} ({family}): {event.statement}"
    if isinstance(event, ev.ModelTrained):
        scores = ", ".join(f"{split} {m['correct']:.1f}% correct, {m['approx_correct']:.1f}% "
                           "approx" for split, m in event.metrics.items()
                           if split in ("polynomial", "non-polynomial") and isinstance(m, dict))
        return (f"MODEL #{event.model_run_id} trained in {event.seconds:.0f} s on "
                f"{event.device} ({event.n_params / 1e6:.2f}M parameters): {scores}")
    if isinstance(event, ev.RunEnded):
        totals = event.totals
        return (f"run {event.status}: {event.reason}; {totals.get('functions', 0)} functions, "
                f"{totals.get('rules_accepted', 0)} rules, "
                f"{float(totals.get('wall_seconds') or 0):.1f} s")
    return None


class PlainView:
    """Prints one line per notable event."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def __call__(self, event: ev.Event) -> None:
        line = _plain_line(event)
        if line is not None:
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        return None


class LiveView:
    """A refreshing panel: current step, open hypotheses, accepted rules, budget spent."""

    def __init__(self, console: Console, function_budget: int) -> None:
        self.console = console
        self.budget = function_budget
        self.current = ""
        self.functions = 0
        self.started = time.monotonic()
        self.open: dict[int, str] = {}
        self.rules: list[str] = []
        self.log: deque[str] = deque(maxlen=6)
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=False)
        self.live.start()

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.Progress):
            self.current, self.functions = event.message, event.done
        elif isinstance(event, ev.HypothesisProposed):
            self.open[event.hypothesis_id] = f"[{event.hypothesis_kind}] {event.statement}"
        elif isinstance(event, ev.HypothesisChanged) and event.to_status in ("accepted",
                                                                             "refuted"):
            self.open.pop(event.hypothesis_id, None)
        elif isinstance(event, ev.RuleAccepted):
            self.rules.append(f"#{event.rule_id} {event.family or 'power law'}: "
                              f"{event.statement}")
        line = _plain_line(event)
        if line and not isinstance(event, ev.Progress):
            self.log.append(line.strip())
        self.live.update(self._render())

    def _render(self) -> Group:
        head = Text.assemble(("Eudoxus ", "bold"), f"{self.functions}/{self.budget} functions, ",
                             f"{time.monotonic() - self.started:.0f} s  ", ("now: ", "dim"),
                             self.current)
        hypotheses = Table(title="open hypotheses", expand=True, show_header=False)
        for text in list(self.open.values())[-8:]:
            hypotheses.add_row(text)
        accepted = Table(title="accepted rules", expand=True, show_header=False)
        for text in self.rules[-12:]:
            accepted.add_row(text)
        return Group(head, hypotheses, accepted, Text("\n".join(self.log), style="dim"))

    def close(self) -> None:
        self.live.stop()


def console_view(function_budget: int) -> PlainView | LiveView:
    """A live panel when stdout is a terminal, else plain lines."""
    console = Console()
    if console.is_terminal:
        return LiveView(console, function_budget)
    return PlainView()
