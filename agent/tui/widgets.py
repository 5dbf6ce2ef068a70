"""The dashboard's panels; each draws itself from a `ViewState` and nothing else."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable, RichLog, Static
from textual_plotext import PlotextPlot

from eudoxus.agent.tui.series import efficiency_curve
from eudoxus.agent.view import SPLITS, HypothesisRow, ViewState
from eudoxus.tools.notation import integral_line, readable

STATUS_STYLE = {"proposed": "cyan", "testing": "yellow", "accepted": "bold green",
                "refuted": "red", "superseded": "dim"}
TONE_STYLE = {"rule": "bold green", "refuted": "red", "failed": "bold red", "model": "magenta",
              "run": "bold", "info": ""}


def _clock(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{s:02d}" if hours else f"{minutes}:{s:02d}"


def _bar(done: int, total: int | None, width: int = 16) -> str:
    if not total:
        return ""
    filled = min(width, round(width * done / total))
    return "█" * filled + "░" * (width - filled)


class Meters(Static):
    """Budget and efficiency: functions, tool calls, rules per 100 functions, time, the step."""

    def show(self, state: ViewState, note: str = "") -> None:
        """Draw the meters for this state (`note`: paused, replay speed...)."""
        budget = state.function_budget
        text = Text.assemble(
            ("functions ", "dim"), f"{state.functions}" + (f"/{budget} " if budget else " "),
            (_bar(state.functions, budget), "green"), "  ",
            ("tool calls ", "dim"), f"{state.tool_calls}",
            (f" ({state.failed_calls} failed)" if state.failed_calls else "", "red"), "  ",
            ("rules ", "dim"), (f"{len(state.rules)}", "bold green"), "  ",
            ("rules/100 fn ", "dim"), f"{state.rules_per_100:.1f}", "  ",
            ("open ", "dim"), f"{state.open_hypotheses}", "  ",
            ("time ", "dim"), _clock(state.elapsed))
        status = state.status + (f" · {note}" if note else "")
        style = "bold yellow" if note else STATUS_STYLE.get(state.status, "bold")
        text.append("\n")
        text.append(f"{status:<12} ", style=style)
        text.append(state.current or state.reason, style="italic")
        self.update(text)


def cursor_key(table: DataTable) -> str | None:
    """The key of the row under a table's cursor (None for an empty table)."""
    if not table.row_count:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


def _score(row: HypothesisRow) -> str:
    return "" if row.score is None else f"{row.score:.4f}"


class HypothesisBoard(DataTable):
    """Every hypothesis of the run: kind, family, statement, status, R² or pass rate, evidence."""

    COLUMNS = ("id", "kind", "family", "statement", "status", "R²/pass", "evid.")
    # Fixed widths: the statement takes what is left, so a board fits 80 columns and grows.
    WIDTHS = {"id": 3, "kind": 5, "family": 6, "status": 8, "R²/pass": 7, "evid.": 5}
    KINDS = {"coefficient": "coef"}

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for name in self.COLUMNS:
            self.add_column(name, key=name, width=self.WIDTHS.get(name, 24))
        self._shown: dict[int, HypothesisRow] = {}

    def on_resize(self) -> None:
        fixed = sum(self.WIDTHS.values()) + 2 * self.cell_padding * len(self.COLUMNS)
        statement = next(c for c in self.columns.values() if c.key.value == "statement")
        statement.width = max(12, self.size.width - fixed - 3)  # the vertical scrollbar
        self.refresh(layout=True)

    def show(self, state: ViewState) -> None:
        """Add new hypotheses and update changed ones (rows keep their place and the cursor)."""
        if len(self._shown) > len(state.hypotheses):  # a replay jumped back: start over
            self.clear()
            self._shown = {}
        at_end = self.cursor_row >= self.row_count - 1
        for hid, row in state.hypotheses.items():
            old = self._shown.get(hid)
            if old == row:
                continue
            cells = self._cells(row)
            if old is None:
                self.add_row(*cells, key=str(hid))
            else:
                for name, value in zip(self.COLUMNS, cells, strict=True):
                    self.update_cell(str(hid), name, value)
            self._shown[hid] = row
        if at_end and self.row_count:  # follow the newest unless the user moved away
            self.move_cursor(row=self.row_count - 1)

    @staticmethod
    def _cells(row: HypothesisRow) -> tuple:
        kind = HypothesisBoard.KINDS.get(row.kind, row.kind)
        return (row.hypothesis_id, kind, row.family or "—", readable(row.statement),
                Text(row.status, style=STATUS_STYLE.get(row.status, "")), _score(row),
                row.n_evidence or "")

    def selected_id(self) -> int | None:
        """The hypothesis under the cursor, if any."""
        key = cursor_key(self)
        return int(key) if key is not None else None


class RulesPanel(Static):
    """The accepted rules as readable math, the newest first (so it stays in view)."""

    def show(self, state: ViewState, integrands: dict[str, str]) -> None:
        """Draw the rules; `integrands` maps family names to their templates."""
        if not state.rules:
            self.update(Text("no rule accepted yet", style="dim italic"))
            return
        text = Text()
        for rule in reversed(state.rules):
            integrand = integrands.get(rule.family or "", "a*x**n" if rule.family is None
                                       else "")
            text.append(f"#{rule.rule_id} ", style="dim")
            text.append(f"{rule.family or 'power law'}: ", style="bold")
            text.append(integral_line(integrand, rule.statement) + "\n", style="green")
        self.update(text)


class ExperimentLog(RichLog):
    """One line per experiment, status change and discovery, newest last."""

    def on_mount(self) -> None:
        self._last_seq = 0

    def show(self, state: ViewState) -> None:
        """Write the log lines not shown yet (all of them again after a jump back)."""
        if state.log and state.log[-1].seq < self._last_seq:
            self.clear()
            self._last_seq = 0
        for line in state.log:
            if line.seq > self._last_seq:
                self.write(Text(line.text, style=TONE_STYLE.get(line.tone, "")))
        if state.log:
            self._last_seq = state.log[-1].seq


def _blank(plot: PlotextPlot, title: str):
    """The plot's plotext figure, emptied and titled for a fresh drawing."""
    plot.plt.clear_figure()  # data, limits and ticks too
    plot.plt.title(title)
    return plot.plt


class ModelHistory(PlotextPlot):
    """The intuition's held-out accuracy after each training."""

    def show(self, state: ViewState) -> None:
        """Plot %-correct per training for both splits."""
        plt = _blank(self, "intuition: % correct per training")
        plt.ylim(0, 100)
        runs = list(range(1, len(state.models) + 1))
        for split in SPLITS:
            ys = [m.scores[split][0] for m in state.models if split in m.scores]
            if ys:
                plt.plot(runs[:len(ys)], ys, label=split, marker="braille")
        self.refresh()


class EfficiencyPlot(PlotextPlot):
    """Rules accepted against functions measured: how economical the campaign is."""

    def show(self, state: ViewState) -> None:
        """Plot the running count of rules at the functions each one cost."""
        plt = _blank(self, "rules vs functions measured")
        spent, count = efficiency_curve(state)
        plt.plot(spent, count, marker="braille", color="green")
        plt.xlim(0, max(1, state.function_budget or 0, spent[-1]))
        plt.yticks(list(range(count[-1] + 2)))  # rules come in whole numbers
        self.refresh()
