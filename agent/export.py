"""Rendering rule listings as JSON, CSV, Markdown or LaTeX documents."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from eudoxus.agent.output import plain

_CSV_COLUMNS = ("id", "family", "integrand", "integral", "conditions", "status", "max_error",
                "falsification", "audit_passed", "run_id")


def render_rules(rules: Sequence[dict[str, Any]], fmt: str) -> str:
    """A document holding the rules (dicts as `eudoxus rules list --json` prints them)."""
    rules = [plain(r) for r in rules]
    if fmt == "json":
        return json.dumps(rules, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_CSV_COLUMNS)
        for r in rules:
            writer.writerow([r["id"], r["family"], r["integrand"], r["integral"],
                             "; ".join(r["conditions"]), r["status"], r["evidence"]["max_error"],
                             r["evidence"]["falsification"], r["audit_passed"], r["run_id"]])
        return buffer.getvalue()
    if fmt == "markdown":
        lines = ["# Rules discovered by Eudoxus", "",
                 "| id | family | ∫₀ˣ f dt | = | conditions | fresh tests | max error | audit |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in rules:
            cells = [r["id"], r["family"] or "", f"`{r['integrand']}`", f"`{r['integral']}`",
                     ", ".join(r["conditions"]), r["evidence"]["falsification"],
                     r["evidence"]["max_error"], r["audit_passed"]]
            lines.append("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
        lines += ["", "Audit: symbolic differentiation of the rule, recorded beside it; "
                  "acceptance was decided by measured areas only."]
        return "\n".join(lines) + "\n"
    if fmt == "latex":
        lines = [r"\begin{align*}"]
        for r in rules:
            where = r", \quad " + r",\ ".join(rf"\text{{{c}}}" for c in r["conditions"])
            lines.append(rf"  \int_0^x {r['integrand']}\,dt &= {r['latex']}"
                         f"{where if r['conditions'] else ''} \\\\  % rule {r['id']}")
        lines.append(r"\end{align*}")
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown export format {fmt!r}")
