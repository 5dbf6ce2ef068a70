"""Screens over the dashboard: a hypothesis in detail, the rules browser, and help."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static
from textual_plotext import PlotextPlot

from eudoxus.agent import events as ev
from eudoxus.agent.tui import series
from eudoxus.agent.tui.widgets import STATUS_STYLE, cursor_key
from eudoxus.agent.view import ViewState
from eudoxus.tools.notation import integral_line, pretty


def _number(value: object, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 or abs(value) >= 1e5 else \
            f"{value:.{digits}f}"
    return str(value)


class HypothesisScreen(Screen):
    """One hypothesis: statement, history, regression tables, R² matrix, evidence plots."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back"),
                Binding("right,]", "function(1)", "Next function"),
                Binding("left,[", "function(-1)", "Prev function")]

    def __init__(self, state: ViewState, hypothesis_id: int) -> None:
        super().__init__()
        self.state, self.hypothesis_id = state, hypothesis_id
        self.function_index = 0

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="summary")
            with Horizontal(id="plots"):
                yield PlotextPlot(id="scatter")
                yield PlotextPlot(id="curves")
            yield Static("R² matrix of the family's latest rule search", classes="caption",
                         id="matrix-caption")
            yield DataTable(id="matrix", zebra_stripes=True)
            yield Static("regression table", classes="caption", id="table-caption")
            yield DataTable(id="evidence-table", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self._draw()

    def show(self, state: ViewState) -> None:
        """Redraw from a newer state if this hypothesis or its evidence changed meanwhile."""
        hid = self.hypothesis_id
        if (state.hypotheses.get(hid) == self.state.hypotheses.get(hid)
                and state.evidence.get(hid) == self.state.evidence.get(hid)):
            return
        self.state = state
        for table in self.query(DataTable):
            table.clear(columns=True)
        self._draw()

    def _draw(self) -> None:
        self._draw_summary()
        self._draw_table()
        self._draw_matrix()
        self._draw_scatter()
        self._draw_curves()

    @property
    def _evidence(self) -> tuple[ev.EvidenceRecorded, ...]:
        return self.state.evidence.get(self.hypothesis_id, ())

    def _falsifications(self) -> list[ev.EvidenceRecorded]:
        return [e for e in self._evidence if e.evidence_kind == "falsification"]

    def _draw_summary(self) -> None:
        row = self.state.hypotheses.get(self.hypothesis_id)
        if row is None:
            self.query_one("#summary", Static).update(f"no hypothesis #{self.hypothesis_id}")
            return
        text = Text.assemble((f"#{row.hypothesis_id} ", "dim"), (f"[{row.kind}] ", "bold"),
                             f"{row.family or 'all families'}  ",
                             (row.status, STATUS_STYLE.get(row.status, "")))
        if row.score is not None:
            text.append(f"  score {row.score:.6g}")
        text.append("\n\n" + pretty(row.statement) + "\n\n")
        text.append(row.reason or "", style="italic")
        self.query_one("#summary", Static).update(text)

    def _draw_table(self) -> None:
        table = self.query_one("#evidence-table", DataTable)
        table.display = True
        regressions = [e for e in self._evidence if e.evidence_kind == "regression"]
        if regressions:
            table.add_columns("predictor", "R²", "slope", "intercept", "passed")
            for e in regressions:
                c = e.columns
                for i, predictor in enumerate(c.get("predictor", [])):
                    table.add_row(predictor, *(_number(c[k][i]) for k in
                                               ("r2", "slope", "intercept", "passed")))
            return
        tests = self._falsifications()
        self.query_one("#table-caption", Static).update("falsification: fresh functions")
        if not tests:
            table.display = False
            return
        table.add_columns("experiment", "fn", "predicted", "measured", "error", "passed",
                          "outside range")
        for e in tests:
            outside = e.points.get("outside") or []
            for i, predicted in enumerate(e.columns.get("predicted", [])):
                table.add_row(e.experiment_id, i, _number(predicted),
                              _number(e.columns["measured"][i]),
                              _number(e.columns["error"][i], 2),
                              _number(e.columns["passed"][i]),
                              _number(bool(outside[i])) if i < len(outside) else "—")

    def _draw_matrix(self) -> None:
        row = self.state.hypotheses.get(self.hypothesis_id)
        matrix = series.r2_matrix(self.state, row.family) if row and row.family else None
        table = self.query_one("#matrix", DataTable)
        table.display = self.query_one("#matrix-caption", Static).display = matrix is not None
        if matrix is None:
            return
        table.add_columns("coefficient", *matrix.columns, "law kept")
        for name, values in zip(matrix.rows, matrix.r2, strict=True):
            cells = [Text(_number(v, 3), style="bold green" if v is not None and v > 0.95
                          else "") for v in values]
            table.add_row(name, *cells, matrix.chosen.get(name, ""))

    def _draw_scatter(self) -> None:
        plot = self.query_one("#scatter", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        batches = [e for e in self._evidence if e.points.get("measured") is not None
                   or e.evidence_kind == "falsification"]
        plot.display = bool(batches)
        if not batches:
            return
        what = "coefficient" if batches[-1].evidence_kind == "regression" else "area"
        plt.title(f"predicted vs measured {what}")
        for e in batches:
            predicted, measured, passed = series.predicted_vs_measured(e)
            for mask, label, color in ((passed, "agrees", "green"), (~passed, "disagrees",
                                                                      "red")):
                if mask.any():
                    plt.scatter(measured[mask].tolist(), predicted[mask].tolist(), label=label,
                                color=color, marker="dot")
        plt.xlabel("measured")
        plt.ylabel("predicted")
        plot.refresh()

    def _draw_curves(self) -> None:
        plot = self.query_one("#curves", PlotextPlot)
        tests = self._falsifications()
        row = self.state.hypotheses.get(self.hypothesis_id)
        plot.display = bool(tests) and row is not None
        if not plot.display:
            return
        batch = tests[-1]
        count = series.n_functions(batch)
        self.function_index %= max(count, 1)
        plt = plot.plt
        plt.clear_figure()
        plt.title(f"fresh function {self.function_index + 1}/{count} of experiment "
                  f"#{batch.experiment_id}  (←/→)")
        for line, color in zip(series.function_curves(batch, self.function_index,
                                                      row.statement),
                               ("blue", "green", "orange"), strict=False):
            plt.plot(line.x.tolist(), line.y.tolist(), label=line.label, color=color,
                     marker="braille")
        plot.refresh()

    def action_function(self, step: int) -> None:
        """Show the next or previous fresh function of the latest falsification."""
        self.function_index += step
        self._draw_curves()


class RulesScreen(Screen):
    """Every accepted rule; the one under the cursor in full, with its test record."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back"),
                Binding("enter,i", "inspect", "Inspect hypothesis")]

    def __init__(self, state: ViewState, integrands: dict[str, str]) -> None:
        super().__init__()
        self.state, self.integrands = state, integrands

    def compose(self) -> ComposeResult:
        with Vertical():
            yield DataTable(id="rule-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="rule-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#rule-table", DataTable)
        table.add_columns("id", "family", "rule", "fresh tests", "max error")
        for rule in self.state.rules:
            integrand = self.integrands.get(rule.family or "", "a*x**n")
            table.add_row(rule.rule_id, rule.family or "power law",
                          integral_line(integrand, rule.statement), rule.n_falsification,
                          _number(rule.max_error, 2), key=str(rule.rule_id))
        if not self.state.rules:
            self.query_one("#rule-detail", Static).update("No rule accepted yet.")
        table.focus()

    def _selected(self):
        key = cursor_key(self.query_one("#rule-table", DataTable))
        return next((r for r in self.state.rules if str(r.rule_id) == key), None)

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        rule = self._selected()
        if rule is None:
            return
        audit = {True: "passed", False: "FAILED", None: "not run"}[rule.audit_passed]
        integrand = self.integrands.get(rule.family or "", "a*x**n")
        text = Text.assemble((f"Rule #{rule.rule_id} ", "bold"),
                             f"({rule.family or 'power law'})\n\n",
                             (integral_line(integrand, rule.statement), "green"), "\n\n",
                             pretty(rule.statement), "\n\n")
        if rule.conditions:
            text.append("when " + ", ".join(rule.conditions) + "\n")
        text.append(f"survived {rule.n_falsification} fresh functions, max error "
                    f"{_number(rule.max_error, 2)} (decided by measured areas)\n")
        text.append(f"symbolic audit (outside knowledge, recorded, never decides): {audit}",
                    style="dim")
        self.query_one("#rule-detail", Static).update(text)

    def on_data_table_row_selected(self, _: DataTable.RowSelected) -> None:
        self.action_inspect()

    def action_inspect(self) -> None:
        """Open the hypothesis the rule came from."""
        rule = self._selected()
        if rule is not None and rule.hypothesis_id is not None:
            self.app.push_screen(HypothesisScreen(self.state, rule.hypothesis_id))


HELP = (
    "[b]Eudoxus live lab[/b]\n\n"
    "The dashboard shows one campaign as its events arrive: the [b]hypotheses board[/b] "
    "(every hypothesis: its kind, family, statement, status, R² or the share of fresh "
    "functions it predicted, and how many evidence rows back it), the [b]experiment log[/b], "
    "the [b]accepted rules[/b] as math, the [b]efficiency plot[/b] (rules against functions "
    "measured) and the [b]meters[/b]: functions measured against the budget, tool calls, "
    "rules per 100 functions, open hypotheses and time.\n\n"
    "[b]Keys[/b]\n"
    "  p        pause / resume (between steps; a step always finishes)\n"
    "  s        run one step, then pause\n"
    "  i, enter inspect the hypothesis under the cursor: regression table, R² matrix,\n"
    "           predicted vs measured, a fresh function and its areas (←/→)\n"
    "  l        browse the accepted rules\n"
    "  r        retrain the intuition now (runs with a model budget only)\n"
    "  n / b    replay: jump to the next / previous discovery\n"
    "  + / -    replay: faster / slower\n"
    "  ?        this help\n"
    "  q        quit (a live campaign stops after its step, resumable)\n\n"
    "Everything shown comes from measured areas; the symbolic audit is outside knowledge, "
    "recorded beside each rule and never used to decide."
)


class HelpScreen(ModalScreen):
    """What the panels mean and which keys do what."""

    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(HELP)
