"""The morning report: what a run discovered, refuted and spent, as Markdown or HTML.

`build` turns the gathered facts into a list of blocks (headings, paragraphs, tables, math,
plots); `markdown` and `html` render the same blocks, so both formats say the same things.
HTML embeds its plots as inline SVG; Markdown points to the HTML for them.
"""

from __future__ import annotations

import html as html_lib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eudoxus.agent.report_data import ReportData, gather

logger = logging.getLogger("eudoxus.report")
FORMATS = ("markdown", "html")


@dataclass(frozen=True)
class Block:
    """One piece of the report: kind is h2, h3, p, table, math or plot."""

    kind: str
    text: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):  # seconds and counts in full; errors and fits in 3 digits
        return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def _table(columns: list[str], rows: list[list[Any]]) -> Block:
    return Block("table", columns=tuple(columns),
                 rows=tuple(tuple(_num(v) for v in row) for row in rows))


def _overview(d: ReportData) -> list[Block]:
    run, c = d.run, d.counters
    blocks = [Block("p", f"Run {run['run_id']}: **{run['status']}** ({run['end_reason'] or '—'})"
                         f". Preset {run['preset'] or 'custom'}, {run['strategy']} strategy, "
                         f"seed {run['seed']}; families {', '.join(run['families'])}.")]
    if run["status"] != "completed":
        why = (f"with {len(d.open)} hypothesis(es) still open" if d.open else
               "before its planner ran out of work (in soak mode it never does)")
        blocks.append(Block("p", f"This run stopped {why}; continue it with "
                                 f"`eudoxus run --resume {run['run_id']}`."))
    blocks.append(Block("p", f"{c['rules_accepted']} rule(s) accepted, {c['refuted']} "
                             f"hypothesis(es) refuted, from {c['functions']} measured "
                             f"functions in {float(c['wall_seconds']):.1f} s."))
    return blocks


def _discovered(d: ReportData) -> list[Block]:
    blocks = [Block("h2", "Discovered rules")]
    if not d.rules:
        return [*blocks, Block("p", "No rule was accepted in this run.")]
    blocks.append(_table(
        ["rule", "family", "∫₀ˣ f dx", "=", "when", "tests passed", "max error", "audit*"],
        [[f"#{r.rule_id}", r.family or "power law", r.integrand, r.statement,
          "; ".join(r.conditions) or "—", f"{r.n_passed}/{r.n_falsification}", r.max_error,
          r.audit_passed] for r in d.rules]))
    blocks.append(Block("p", "audit* = sympy differentiation, outside knowledge recorded beside "
                             "the verdict; acceptance came only from predicting measured areas."))
    blocks.append(Block("plot", "falsification"))
    for r in d.rules:
        blocks.append(Block("h3", f"Rule #{r.rule_id}: {r.family or 'power law'}"))
        blocks.append(Block("math", r.latex, rows=((f"∫₀ˣ {r.integrand} dx = {r.statement}",),)))
        at = f" at step {r.step}" if r.step is not None else ""
        blocks.append(Block("p", f"Found by {r.found_by or 'regression'} ({r.n_support} "
                                 f"supporting observation(s)); accepted{at} after {r.n_passed} of "
                                 f"{r.n_falsification} predictions on fresh functions were "
                                 f"within the tolerance {d.falsify_tol:g} (max error "
                                 f"{_num(r.max_error)})."))
        if r.regressions:
            blocks.append(_table(["coefficient", "predictor", "R²", "slope", "intercept"],
                                 [[g["target"], g["predictor"], g["r2"], g["slope"],
                                   g["intercept"]] for g in r.regressions]))
        if r.tests:
            shown = len(r.tests)
            blocks.append(Block("p", f"Falsification evidence (first {shown} of "
                                     f"{r.n_falsification} fresh functions):"))
            blocks.append(_table(["sample", "predicted", "measured", "error", "passed"],
                                 [[t["sample"], t["predicted"], t["measured"], t["error"],
                                   t["passed"]] for t in r.tests]))
    return blocks


def _refuted(d: ReportData) -> list[Block]:
    blocks = [Block("h2", "Refuted, and why")]
    if not d.refuted:
        blocks.append(Block("p", "Nothing was refuted."))
    else:
        blocks.append(_table(["hypothesis", "kind", "family", "statement", "step", "reason"],
                             [[f"#{h['id']}", h["kind"], h["family"] or "—", h["statement"],
                               h.get("step"), h["reason"]] for h in d.refuted]))
    if d.open:
        blocks.append(Block("h3", "Still open when the run stopped"))
        blocks.append(_table(["hypothesis", "kind", "family", "statement", "status"],
                             [[f"#{h['id']}", h["kind"], h["family"] or "—", h["statement"],
                               h["status"]] for h in d.open]))
    return blocks


def _budget(d: ReportData) -> list[Block]:
    c = d.counters
    rows = [[name, used, limit, f"{100 * float(used) / float(limit):.1f}%" if limit else "—"]
            for name, (used, limit) in d.budget.items()]
    blocks = [Block("h2", "How the budget was spent"),
              _table(["budget", "used", "allowed", "share"], rows),
              Block("p", f"{c['rejected_draws']} rejected draws (outside a family's domain), "
                         f"{c['integrations']} integrations, {c['sr_calls']} symbolic "
                         f"regressions, {c['failed_calls']} failed tool call(s), "
                         f"{c['segments']} segment(s) (1 + resumes)."),
              Block("h3", "Time per tool"),
              _table(["tool", "calls", "failed", "items", "seconds", "share"],
                     [[t["tool"], t["calls"], t["failed"], t["items"], round(t["seconds"], 2),
                       f"{100 * t['share']:.1f}%"] for t in d.tools]),
              Block("plot", "tools")]
    if d.failures:
        blocks += [Block("h3", "Failed tool calls"),
                   _table(["step", "tool", "family", "error"],
                          [[f["step"], f["tool"], f["family"] or "—", f["error"]]
                           for f in d.failures[:20]])]
    return blocks


def _efficiency(d: ReportData) -> list[Block]:
    blocks = [Block("h2", "Efficiency over time"), Block("plot", "efficiency")]
    marks = [p for i, p in enumerate(d.efficiency)
             if i == 0 or p["rules"] != d.efficiency[i - 1]["rules"]]
    if d.efficiency and d.efficiency[-1] not in marks:
        marks.append(d.efficiency[-1])
    if marks:
        blocks.append(_table(["step", "functions measured so far", "rules accepted so far"],
                             [[p["step"], p["functions"], p["rules"]] for p in marks]))
    return blocks


def _model(d: ReportData) -> list[Block]:
    blocks = [Block("h2", "Model accuracy history")]
    if not d.model_runs:
        return [*blocks, Block("p", "The seq2seq intuition was not trained in this run "
                                    "(model_seconds = 0).")]
    return [*blocks, Block("plot", "model"),
            _table(["training", "seconds", "device", "parameters", "pairs", "polynomial % "
                    "correct", "non-polynomial % correct"],
                   [[m["id"], round(m["seconds"], 1), m["device"], m["n_params"], m["n_train"],
                     m["polynomial"], m["non_polynomial"]] for m in d.model_runs])]


def build(d: ReportData) -> list[Block]:
    """The report's blocks, in reading order."""
    return [Block("h1", f"Morning report: {d.run['run_id']}"), *_overview(d), *_discovered(d),
            *_refuted(d), *_budget(d), *_efficiency(d), *_model(d)]


# ---- rendering ---------------------------------------------------------------------------

def _md_cell(text: str) -> str:
    # `*` in a formula (a*x**2) would otherwise start emphasis in a Markdown table.
    return text.replace("|", "\\|").replace("*", "\\*").replace("\n", " ")


def markdown(blocks: list[Block]) -> str:
    """Render blocks as GitHub-flavoured Markdown (plots: see the HTML report)."""
    out: list[str] = []
    noted = False
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append("#" * int(b.kind[1]) + " " + b.text)
        elif b.kind == "p":
            out.append(b.text)
        elif b.kind == "math":
            out.append(f"$$ {b.text} $$\n\n`{b.rows[0][0]}`")
        elif b.kind == "table":
            out.append("| " + " | ".join(_md_cell(c) for c in b.columns) + " |")
            out.append("|" + "---|" * len(b.columns))
            out.extend("| " + " | ".join(_md_cell(v) for v in row) + " |" for row in b.rows)
        elif b.kind == "plot" and not noted:
            out.append("_Plots are in the HTML report (`eudoxus report RUN --format html`)._")
            noted = True
        out.append("")
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222}table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;
padding:.2rem .5rem;text-align:left;font-size:.9rem}th{background:#f3f3f3}code{background:#f6f6f6;
padding:0 .2rem}.math{font-family:ui-monospace,monospace;font-size:1.05rem;margin:.5rem 0}
svg{max-width:100%;height:auto}.note{color:#666}"""


def _inline(text: str) -> str:
    """Escape, then turn **bold** and `code` spans into tags (the only markup blocks use)."""
    import re

    escaped = html_lib.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def html(blocks: list[Block], plots: dict[str, str] | None) -> str:
    """Render blocks as one self-contained HTML page with inline SVG plots."""
    title = next((b.text for b in blocks if b.kind == "h1"), "Morning report")
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html_lib.escape(title)}"
           f"</title><style>{_CSS}</style></head><body>"]
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append(f"<{b.kind}>{html_lib.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "math":
            out.append(f"<div class='math' title='{html_lib.escape(b.text, quote=True)}'>"
                       f"{html_lib.escape(b.rows[0][0])}</div>")
        elif b.kind == "table":
            head = "".join(f"<th>{html_lib.escape(c)}</th>" for c in b.columns)
            body = "".join("<tr>" + "".join(f"<td>{html_lib.escape(v)}</td>" for v in row)
                           + "</tr>" for row in b.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif b.kind == "plot":
            if plots is None:
                if not any("matplotlib" in s for s in out):
                    out.append("<p class='note'>Plots need matplotlib "
                               "(pip install 'eudoxus[report]').</p>")
            elif b.text in plots:
                out.append(f"<figure>{plots[b.text]}</figure>")
    out.append("</body></html>\n")
    return "\n".join(out)


def render(data: ReportData, fmt: str = "markdown") -> str:
    """The report of gathered data in one format (markdown or html)."""
    blocks = build(data)
    if fmt == "markdown":
        return markdown(blocks)
    if fmt != "html":
        raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
    from eudoxus.agent import report_plots

    return html(blocks, report_plots.all_plots(data) if report_plots.available() else None)


def write_reports(store: Any, run_dir: Path, run_id: str) -> list[Path]:
    """Write report.md and report.html into the run's folder; returns the paths written."""
    data = gather(store, run_id)
    written = []
    for fmt, name in (("markdown", "report.md"), ("html", "report.html")):
        path = run_dir / name
        path.write_text(render(data, fmt), encoding="utf-8")
        written.append(path)
    return written
