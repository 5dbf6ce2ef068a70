"""The numbers behind the TUI's evidence views, computed from events (no Textual here).

The R² matrix and the predicted-vs-measured points come straight from `EvidenceRecorded`
events. The curves of one fresh function are recomputed for display: f from its family and
recorded parameters, the hypothesis's predicted area from its statement, and the measured area
with the lab's own instrument (the trapezoid rule), so the picture shows what the test compared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from eudoxus.agent import events as ev
from eudoxus.agent.view import ViewState

_PARAMETER = re.compile(r"\ba\d+\b")


@dataclass(frozen=True)
class Matrix:
    """R² of each integral coefficient (row) against each single predictor (column)."""

    family: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    r2: tuple[tuple[float | None, ...], ...]
    chosen: Mapping[str, str]  # row -> the law the search kept for it


@dataclass(frozen=True)
class Series:
    """One named line of a plot."""

    label: str
    x: np.ndarray
    y: np.ndarray


def r2_matrix(state: ViewState, family: str) -> Matrix | None:
    """The paper-style table of a family's latest rule search (None before any search)."""
    found = [e for events in state.evidence.values() for e in events
             if e.evidence_kind == "regression" and e.family == family and e.target]
    if not found:
        return None
    latest = max(e.experiment_id or 0 for e in found)
    found = sorted((e for e in found if (e.experiment_id or 0) == latest),
                   key=lambda e: e.target or "")
    columns: list[str] = []
    for e in found:
        for predictor in e.columns.get("predictor", []):
            if len(_PARAMETER.findall(predictor)) == 1 and predictor not in columns:
                columns.append(predictor)
    rows, values, chosen = [], [], {}
    for e in found:
        r2 = dict(zip(e.columns.get("predictor", []), e.columns.get("r2", []), strict=False))
        rows.append(e.target or "?")
        values.append(tuple(r2.get(c) for c in columns))
        statement = state.hypotheses.get(e.hypothesis_id)
        if statement is not None:
            chosen[e.target or "?"] = statement.statement
    return Matrix(family, tuple(rows), tuple(columns), tuple(values), chosen)


def predicted_vs_measured(e: ev.EvidenceRecorded) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(predicted, measured, passed) of one evidence batch: coefficients or areas."""
    if e.evidence_kind == "regression":
        measured = np.asarray(e.points.get("measured") or [], dtype=float)
        predicted = np.asarray(e.points.get("predicted") or [], dtype=float)
        if predicted.shape != measured.shape:
            predicted = np.full(measured.shape, np.nan)
        passed = np.isclose(predicted, measured, rtol=1e-3, atol=1e-6)
        return predicted, measured, passed
    predicted = np.asarray(_floats(e.columns.get("predicted")), dtype=float)
    measured = np.asarray(_floats(e.columns.get("measured")), dtype=float)
    passed = np.asarray([bool(p) for p in e.columns.get("passed", [])], dtype=bool)
    return predicted, measured, passed


def _floats(values: Sequence | None) -> list[float]:
    return [np.nan if v is None else float(v) for v in values or []]


def n_functions(e: ev.EvidenceRecorded) -> int:
    """How many fresh functions a falsification batch measured."""
    if "integrand" in e.points:
        return 1
    return len(e.points.get("params") or [])


def function_curves(e: ev.EvidenceRecorded, index: int, statement: str) -> list[Series]:
    """f, the hypothesis's predicted area and the measured area for one fresh function."""
    from eudoxus.tools.expr import ExprError, parse, to_numpy
    from eudoxus.tools.families import get_family
    from eudoxus.tools.integrate import integrate

    names: list[str] = list(e.points.get("names") or [])
    rename: Mapping[str, str] = e.points.get("rename") or {}
    if "integrand" in e.points:  # a model guess: the function is given as text
        f = to_numpy(parse(str(e.points["integrand"]), symbols=["x"]))
        x, params = np.linspace(0.0, 4.0, 201), []

        def batch(points: np.ndarray) -> np.ndarray:
            return f(points)[None, :]
    else:
        family = get_family(str(e.points["family"]))
        params = [float(v) for v in e.points["params"][index]]
        x = family.domain.grid()

        def batch(points: np.ndarray) -> np.ndarray:
            return family.evaluate(np.array([params]), points)
    measured = integrate(batch, x, method="trapezoid").g[0]
    out = [Series("f(x)", x, batch(x)[0]), Series("measured area", x, measured)]
    try:
        expr = parse(statement, symbols=["x", *names, *rename])
        expr = expr.subs(_symbols(rename))
        out.append(Series("predicted area", x, to_numpy(expr, ["x", *names])(x, *params)))
    except (ExprError, ValueError, TypeError):  # a guess the parser refuses: nothing to draw
        pass
    return out


def _symbols(rename: Mapping[str, str]) -> dict:
    import sympy

    return {sympy.Symbol(k): sympy.Symbol(v) for k, v in rename.items()}


def efficiency_curve(state: ViewState) -> tuple[list[int], list[int]]:
    """Rules accepted against functions measured, as a step curve from 0 to now."""
    spent, count = [0], [0]
    for rule in state.rules:
        spent += [rule.functions, rule.functions]
        count += [count[-1], count[-1] + 1]
    spent.append(max(state.functions, spent[-1]))
    count.append(count[-1])
    return spent, count
