"""The morning report's plots, drawn with matplotlib (Agg) as inline SVG text.

matplotlib is imported here and only when a report is drawn, and it is optional: without it
`available()` is False and the report says so instead of showing plots.
"""

from __future__ import annotations

import io
import math
from typing import Any

from eudoxus.agent.report_data import ReportData


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _axes(width: float = 6.4, height: float = 3.2):
    """A fresh (figure, axes) pair."""
    import matplotlib

    matplotlib.use("Agg", force=False)  # no display overnight; never opens a window
    from matplotlib.figure import Figure

    # A bare Figure, not pyplot: nothing is kept in a global registry between reports, so a
    # campaign process that writes many reports does not accumulate figures.
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: inlined in HTML


def efficiency(data: ReportData) -> str | None:
    """Rules accepted against functions measured, step by step."""
    points = data.efficiency
    if not points:
        return None
    figure, ax = _axes()
    ax.step([p["functions"] for p in points], [p["rules"] for p in points], where="post")
    ax.set_xlabel("functions measured")
    ax.set_ylabel("rules accepted")
    ax.set_title("Efficiency: rules accepted vs. functions sampled")
    ax.grid(alpha=0.3)
    return _svg(figure)


def tool_time(data: ReportData) -> str | None:
    """Seconds spent in each tool (horizontal bars)."""
    rows = [r for r in data.tools if r["seconds"] > 0]
    if not rows:
        return None
    figure, ax = _axes(height=0.45 * len(rows) + 1.0)
    ax.barh([r["tool"] for r in rows][::-1], [r["seconds"] for r in rows][::-1])
    ax.set_xlabel("seconds")
    ax.set_title("Where the time went")
    return _svg(figure)


def falsification(data: ReportData) -> str | None:
    """Every falsification error of every accepted rule, on a log scale, with the tolerance."""
    rules = [r for r in data.rules if r.errors]
    if not rules:
        return None
    figure, ax = _axes(height=0.35 * len(rules) + 1.4)
    floor = 1e-17  # an exact prediction (error 0) still gets a place on a log axis
    for i, rule in enumerate(rules):
        values = [max(e, floor) for e in rule.errors if math.isfinite(e)]
        ax.scatter(values, [i] * len(values), s=9, alpha=0.6)
    ax.axvline(data.falsify_tol, color="red", linestyle="--", label="tolerance")
    ax.set_xscale("log")
    ax.set_yticks(range(len(rules)), [f"#{r.rule_id} {r.family or 'power law'}"
                                      for r in rules])
    ax.set_xlabel("eq. 1 error of each prediction on fresh functions")
    ax.set_title("Falsification: how far each accepted rule's predictions were off")
    ax.legend(loc="lower right")
    return _svg(figure)


def model_accuracy(data: ReportData) -> str | None:
    """Exact-match accuracy of each retraining, per split."""
    runs = data.model_runs
    if not runs:
        return None
    figure, ax = _axes()
    x = list(range(1, len(runs) + 1))
    for key, label in (("polynomial", "polynomial"), ("non_polynomial", "non-polynomial")):
        ax.plot(x, [r[key] if r[key] is not None else math.nan for r in runs], marker="o",
                label=label)
    ax.set_xlabel("training")
    ax.set_ylabel("% correct")
    ax.set_title("Model accuracy history")
    ax.legend()
    return _svg(figure)


def all_plots(data: ReportData) -> dict[str, str]:
    """{section: svg} for every plot the data supports."""
    out = {}
    for name, draw in (("efficiency", efficiency), ("tools", tool_time),
                       ("falsification", falsification), ("model", model_accuracy)):
        svg = draw(data)
        if svg is not None:
            out[name] = svg
    return out
