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
from eudoxus.agent.narrate import describe


class PlainView:
    """Prints one line per notable event."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def __call__(self, event: ev.Event) -> None:
        line = describe(event)
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
        line = describe(event)
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
