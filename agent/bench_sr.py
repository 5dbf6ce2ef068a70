"""`eudoxus bench sr`: the instrument chain (sample f → measure area → regress) scored per family.

Built-in cases come from the families with a fixed seed; `--cases FILE.jsonl` runs external ones.
Verdicts are the paper's (tools/expr.py). Truths come from a CAS (benchmark scoring only), from
the case file, or, where neither exists, from a high-accuracy numeric integral (then only the
approximate verdict is defined).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import sympy as sp

from eudoxus.tools.context import ToolContext
from eudoxus.tools.expr import (
    EPSILON,
    ExprError,
    canonical,
    parse,
    relative_error,
    to_numpy,
    verdict,
)
from eudoxus.tools.families import FAMILIES, Family, get_family
from eudoxus.tools.integrate import gauss_legendre, grid, integrate
from eudoxus.tools.regress import Engine, get_engine
from eudoxus.tools.sample import sample_random

TRUTH_CAS = "cas"  # sympy.integrate of the family template, scoring only
TRUTH_FILE = "case-file"
TRUTH_NUMERIC = "numeric"  # Gauss-Legendre, order 16: approx verdict only


@dataclass(frozen=True)
class Case:
    """One benchmark function: its integrand, the family it belongs to and its truth if known."""

    id: str
    family: str
    f: sp.Expr
    truth: sp.Expr | None
    truth_source: str
    paper: bool = False


@dataclass(frozen=True)
class CaseResult:
    """What one engine recovered for one case, and how it was judged."""

    id: str
    family: str
    engine: str
    f: str
    recovered: str | None
    skeleton: str | None
    truth: str | None
    truth_source: str
    correct: bool | None
    approx_correct: bool
    error: float
    seconds: float  # regression plus this case's share of the batched integration


@dataclass(frozen=True)
class Summary:
    """Totals for one family (or group of families) and one engine."""

    family: str
    engine: str
    n: int
    pct_correct: float | None
    pct_approx_correct: float
    median_seconds: float
    p90_seconds: float


class CaseFileError(ValueError):
    """A malformed line in a `--cases` file (the message names the line)."""


def builtin_cases(families: Sequence[Family], n: int, seed: int) -> list[Case]:
    """n random members of each family (fixed seed), with CAS truths for scoring."""
    from eudoxus.agent.scoring import exact_integral  # CAS: scoring only

    cases = []
    for family in families:
        # Seeded by name, so a family's cases do not depend on which others were selected.
        stream = zlib.crc32(family.name.encode())
        batch = sample_random(family, n, ToolContext.seeded(seed, stream), fill=True)
        for i, params in enumerate(batch.accepted_params):
            truth = exact_integral(family, params)
            cases.append(Case(f"{family.name}-{i}", family.name, family.instantiate(params),
                              truth, TRUTH_CAS if truth is not None else TRUTH_NUMERIC,
                              family.paper))
    return cases


def load_cases(path: Path) -> list[Case]:
    """Cases from a JSONL file: {"id", "family", "f", optional "g"} in the safe-parser syntax."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not {"id", "f"} <= set(record):
                raise ValueError('expected an object with at least "id" and "f"')
            f = parse(str(record["f"]))
            truth = parse(str(record["g"])) if record.get("g") not in (None, "") else None
        except (ValueError, ExprError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CaseFileError(f"{path}:{number}: {reason}") from error
        paper = record.get("family") in FAMILIES and FAMILIES[record["family"]].paper
        cases.append(Case(str(record["id"]), str(record.get("family", "cases")), f, truth,
                          TRUTH_FILE if truth is not None else TRUTH_NUMERIC, bool(paper)))
    if not cases:
        raise CaseFileError(f"{path}: no cases")
    return cases


def _integrand_batch(cases: Sequence[Case]) -> Callable[[np.ndarray], np.ndarray]:
    functions = [to_numpy(c.f) for c in cases]
    return lambda points: np.stack([fn(points) for fn in functions])


def run_bench(cases: Sequence[Case], engines: Sequence[str | Engine], *,
              integrator: str = "trapezoid", T: float = 4.0, n_points: int = 10_000,
              progress: Callable[[str], None] | None = None) -> list[CaseResult]:
    """Measure, regress and judge every case with every engine (names or built engines)."""
    engines = [get_engine(e) if isinstance(e, str) else e for e in engines]  # built once
    x = grid(T, n_points)
    results: list[CaseResult] = []
    by_family: dict[str, list[Case]] = {}
    for case in cases:
        by_family.setdefault(case.family, []).append(case)
    for family, members in by_family.items():
        batch = _integrand_batch(members)
        areas = integrate(batch, x, method=integrator)
        share = areas.seconds / len(members)
        numeric = None
        if any(c.truth is None for c in members):
            numeric = gauss_legendre(batch, x, order=16).g
        for engine in engines:
            if progress:
                progress(f"{family}: {len(members)} functions, engine {engine.name}")
            for i, case in enumerate(members):
                results.append(_judge(case, engine, x, areas.g[i], areas.error[i], share,
                                      None if numeric is None else numeric[i]))
    return results


def _judge(case: Case, engine, x: np.ndarray, area: np.ndarray, noise: float, share: float,
           numeric: np.ndarray | None) -> CaseResult:
    started = time.perf_counter()
    fit = engine.fit(x, area, noise=float(noise)) if np.isfinite(noise) else None
    seconds = time.perf_counter() - started + share
    best = fit.best if fit is not None else None
    common = dict(id=case.id, family=case.family, engine=engine.name, f=canonical(case.f),
                  truth=canonical(case.truth) if case.truth is not None else None,
                  truth_source=case.truth_source, seconds=seconds)
    if best is None:
        return CaseResult(**common, recovered=None, skeleton=None, correct=False if
                          case.truth is not None else None, approx_correct=False,
                          error=float("inf"))
    if case.truth is not None:
        judged = verdict(best.expression, case.truth, T=float(x[-1]), n=len(x))
        correct, approx, error = judged.correct, judged.approx_correct, judged.error
    else:
        error = relative_error(numeric, to_numpy(best.expression)(x))
        correct, approx = None, error < EPSILON
    return CaseResult(**common, recovered=best.text, skeleton=best.skeleton, correct=correct,
                      approx_correct=approx, error=error)


def summarize(results: Iterable[CaseResult], group: Callable[[CaseResult], str]) -> list[Summary]:
    """Per-group, per-engine percentages and timing quantiles."""
    buckets: dict[tuple[str, str], list[CaseResult]] = {}
    for r in results:
        buckets.setdefault((group(r), r.engine), []).append(r)
    summaries = []
    for (name, engine), rows in buckets.items():
        judged = [r.correct for r in rows if r.correct is not None]
        seconds = np.array([r.seconds for r in rows])
        summaries.append(Summary(
            family=name, engine=engine, n=len(rows),
            pct_correct=100.0 * sum(judged) / len(judged) if judged else None,
            pct_approx_correct=100.0 * sum(r.approx_correct for r in rows) / len(rows),
            median_seconds=float(np.median(seconds)),
            p90_seconds=float(np.quantile(seconds, 0.9)),
        ))
    return summaries


def report(results: Sequence[CaseResult], cases: Sequence[Case], config: dict) -> dict:
    """The JSON document: config, per-family and grouped totals, and one row per case."""
    paper = {c.family: c.paper for c in cases}
    return {
        "config": config,
        "truth": {TRUTH_CAS: "sympy.integrate of the family template (benchmark scoring only)",
                  TRUTH_FILE: "the case file's g", TRUTH_NUMERIC:
                  "Gauss-Legendre order 16 on the grid; only the approximate verdict is defined"},
        "families": [asdict(s) for s in summarize(results, lambda r: r.family)],
        "totals": [asdict(s) for s in summarize(
            results, lambda r: "paper families" if paper[r.family] else "beyond paper")]
        + [asdict(s) for s in summarize(results, lambda r: "all")],
        "cases": [asdict(r) for r in results],
    }


def select_families(spec: str) -> list[Family]:
    """Families named by 'paper', 'beyond', 'all' or a comma-separated list of names."""
    from eudoxus.tools.families import beyond_paper_families, paper_families

    groups = {"paper": paper_families, "beyond": beyond_paper_families,
              "all": lambda: tuple(FAMILIES.values())}
    if spec in groups:
        return list(groups[spec]())
    return [get_family(name.strip()) for name in spec.split(",") if name.strip()]
