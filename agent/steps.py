"""Carrying out one planned action: run the tools, then record everything in one transaction.

Each `run_*` function first computes (tools only, no store writes), then writes the
experiments, samples, observations, hypotheses, evidence and rules of the step inside a
single transaction, and queues on the `Step` the events to publish once it has committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sympy

from eudoxus.agent import events as ev
from eudoxus.agent.config import CampaignConfig
from eudoxus.agent.executor import Executor, TaskFailed, regress_curves
from eudoxus.agent.planner import Action, LabState, Line
from eudoxus.memory.records import Hypothesis
from eudoxus.memory.store import Store
from eudoxus.tools import generalize, rules, verify
from eudoxus.tools.context import ToolContext
from eudoxus.tools.expr import EPSILON, canonical, parse, to_numpy
from eudoxus.tools.families import Family, get_family
from eudoxus.tools.integrate import AreaCurves, integrate
from eudoxus.tools.regress import ENGINE_VERSION
from eudoxus.tools.sample import SampleBatch, sample_one_factor, sample_points, sample_random
from eudoxus.tools.seq2seq import SEQ2SEQ_VERSION

TOOL_VERSIONS = {"sample": "sample-1", "integrate": "integrate-1", "regress": ENGINE_VERSION,
                 "rules": "rules-1", "falsify": verify.VERIFY_VERSION,
                 "generalize": "generalize-1", "deduce": "generalize-1",
                 "retrain": SEQ2SEQ_VERSION, "guess": SEQ2SEQ_VERSION}
META_FAMILY = "power"  # a1*x**a2: the instrument on which a power law is put to the test


@dataclass
class Step:
    """What one step needs: the store, the run, its config, the step number and the pool."""

    store: Store
    run_id: str
    config: CampaignConfig
    number: int
    executor: Executor
    family_ids: dict[str, int]
    events: list[ev.Event] = field(default_factory=list)
    accepted_rules: list[int] = field(default_factory=list)

    @cached_property
    def ctx(self) -> ToolContext:
        """The step's seeded context: one generator, drawn from in order, for the whole step."""
        return ToolContext.seeded(self.config.seed, self.number)

    def experiment(self, tool: str, *, family: str | None, seconds: float, n_items: int,
                   design: str | None = None, params: dict[str, Any] | None = None,
                   ok: bool = True, error: str | None = None, summary: dict | None = None):
        """Record one tool call and queue its event."""
        row = self.store.add_experiment(
            self.run_id, step=self.number, tool=tool, tool_version=TOOL_VERSIONS[tool], ok=ok,
            family_id=self.family_ids.get(family) if family else None, design=design,
            params=params or {}, seed=self.config.seed, n_items=n_items, error=error,
            seconds=seconds)
        self.events.append(ev.ExperimentDone(
            run_id=self.run_id, experiment_id=row.experiment_id, step=self.number, tool=tool,
            family=family, design=design, n_items=n_items, ok=ok, error=error, seconds=seconds,
            summary=summary or {}))
        return row

    def propose(self, *, kind: str, statement: str, family: str | None, reason: str,
                experiment_id: int, **extra: Any) -> Hypothesis:
        hypothesis = self.store.add_hypothesis(
            self.run_id, kind=kind, statement=statement,
            family_id=self.family_ids.get(family) if family else None, reason=reason,
            experiment_id=experiment_id, **extra)
        self.events.append(ev.HypothesisProposed(
            run_id=self.run_id, hypothesis_id=hypothesis.hypothesis_id, hypothesis_kind=kind,
            family=family, statement=statement, score=hypothesis.score))
        return hypothesis

    def evidence(self, hypothesis: Hypothesis, kind: str, n: int, *, experiment_id: int,
                 target: str | None = None, points: dict[str, Any] | None = None,
                 **columns: Any) -> None:
        """Store evidence rows for a hypothesis and queue the event that shows them."""
        self.store.add_evidence(hypothesis.hypothesis_id, kind, n, experiment_id=experiment_id,
                                **columns)
        shown = {k: v for k, v in columns.items() if k != "sample_id"}  # ids mean nothing to a UI
        self.events.append(ev.EvidenceRecorded(
            run_id=self.run_id, hypothesis_id=hypothesis.hypothesis_id, evidence_kind=kind,
            experiment_id=experiment_id, family=self._family_of(hypothesis), target=target,
            columns=shown, points=points or {}))

    def _family_of(self, hypothesis: Hypothesis) -> str | None:
        return next((name for name, fid in self.family_ids.items()
                     if fid == hypothesis.family_id), None)

    def move(self, hypothesis: Hypothesis, to_status: str, reason: str,
             experiment_id: int | None, score: float | None = None) -> Hypothesis:
        moved = self.store.set_hypothesis_status(hypothesis.hypothesis_id, to_status, reason,
                                                 experiment_id=experiment_id, score=score)
        self.events.append(ev.HypothesisChanged(
            run_id=self.run_id, hypothesis_id=hypothesis.hypothesis_id,
            from_status=hypothesis.status, to_status=to_status, reason=reason,
            experiment_id=experiment_id, score=score))
        return moved


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def _measure(family: Family, batch: SampleBatch, method: str) -> AreaCurves:
    params = batch.accepted_params
    return integrate(lambda points: family.evaluate(params, points), batch.x, method=method)


def _record_samples(step: Step, family: Family, batch: SampleBatch, areas: AreaCurves,
                    seconds: tuple[float, float], design: str,
                    params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Sample and integrate experiments plus one row per draw; returns (all ids, measured ids)."""
    e_sample = step.experiment("sample", family=family.name, seconds=seconds[0],
                               n_items=len(batch), design=design, params=params,
                               summary={"accepted": batch.n_accepted})
    at_t = np.full(len(batch), np.nan)
    err = np.full(len(batch), np.nan)
    at_t[batch.accepted], err[batch.accepted] = areas.final, areas.error
    ids = step.store.add_samples(
        e_sample.experiment_id, step.family_ids[family.name], batch.params,
        accepted=batch.accepted, reject_reason=list(batch.reject_reasons),
        integrand=[family.integrand_text(row) if ok else None
                   for row, ok in zip(batch.params, batch.accepted, strict=True)],
        area_at_t=at_t, area_error=err)
    step.experiment("integrate", family=family.name, seconds=seconds[1],
                    n_items=batch.n_accepted, params={"method": step.config.integrator})
    return ids, ids[batch.accepted]


# ---- explore: sample, measure, regress ------------------------------------------------------

def run_explore(step: Step, action: Action) -> None:
    """Sample new functions of a family, measure their areas and infer closed forms."""
    family = get_family(action.family)
    batch, t_sample = _timed(lambda: sample_random(family, action.n, step.ctx, fill=True))
    areas, t_int = _timed(lambda: _measure(family, batch, step.config.integrator))
    x = batch.x
    failure = None
    started = time.perf_counter()
    try:
        fits = step.executor.map_chunks(
            regress_curves, batch.n_accepted,
            lambda part: (step.config.engine, x, areas.g[part], areas.error[part]))
    except TaskFailed as error:
        # Work whose retries ran out (its worker kept dying, or it kept raising) is a failed
        # tool call, not a failed campaign: the measured functions and every fit that came
        # back are kept, and the planner counts the batch as tried.
        failure, fits = str(error), error.partial
    except (BrokenProcessPool, OSError) as error:  # the pool itself could not be used
        step.executor.close()
        failure, fits = f"{type(error).__name__}: {error}".splitlines()[0], []
    t_sr = time.perf_counter() - started
    with step.store.transaction():
        _, measured = _record_samples(step, family, batch, areas, (t_sample, t_int),
                                      "random", {"n": action.n, "why": action.why})
        found = [(sid, fit) for sid, fit in zip(measured, fits, strict=False) if fit is not None]
        e_reg = step.experiment(
            "regress", family=family.name, seconds=t_sr, n_items=len(fits),
            params={"engine": step.config.engine, "executor": step.executor.name},
            ok=failure is None, error=failure,
            summary={"fitted": sum(f.error < EPSILON for _, f in found)})
        if found:
            step.store.add_observations(
                e_reg.experiment_id, [sid for sid, _ in found], engine=step.config.engine,
                expression=[f.expression for _, f in found],
                skeleton=[f.skeleton for _, f in found],
                coefficients=[list(f.coefficients) for _, f in found],
                fit_error=[f.error for _, f in found],
                complexity=[f.complexity for _, f in found],
                seconds=[f.seconds for _, f in found],
                accepted=[bool(f.error < EPSILON) for _, f in found])


# ---- search: the paper's rule search over a family's observations -------------------------

def _curves(expressions: Sequence[str], x: np.ndarray) -> np.ndarray:
    """The observations' own closed forms on a coarse grid: what the search checks simplifications
    against (each matched its measured area to within eq. 1 < 0.01, usually far better)."""
    return np.stack([to_numpy(parse(text))(x) for text in expressions])


def run_search(step: Step, action: Action, line: Line) -> None:
    """Search coefficient laws for the most common skeleton and propose the assembled rule."""
    family = line.family
    rows = step.store.family_observations(step.run_id, line.family_id)
    started = time.perf_counter()
    skeleton, support = rules.most_common_skeleton([o.skeleton for o, _ in rows])
    chosen = [(o, p) for o, p in rows if o.skeleton == skeleton]
    coefficients = np.array([o.coefficients for o, _ in chosen], dtype=float)
    params = np.array([p for _, p in chosen], dtype=float)
    fine = family.domain.grid()
    coarse = fine[:: max(1, fine.size // 64)]
    result = rules.search_rules(skeleton, coefficients, params, family.parameters, x=coarse,
                                curves=_curves([o.expression for o, _ in chosen], coarse))
    seconds = time.perf_counter() - started
    with step.store.transaction():
        experiment = step.experiment(
            "rules", family=family.name, seconds=seconds, n_items=support,
            params={"n_observations": len(rows), "skeleton": skeleton, "support": support,
                    "unexplained": list(result.unexplained)},
            ok=not result.unexplained,
            error=(f"no law for {', '.join(result.unexplained)}" if result.unexplained
                   else None))
        eid = experiment.experiment_id
        form = line.form
        if form is not None and form.statement != skeleton and form.status in ("proposed",
                                                                               "testing"):
            step.move(form, "refuted", f"the most common skeleton is now {skeleton}", eid)
            form = None
        if form is None or form.statement != skeleton:
            form = step.propose(kind="form", statement=skeleton, family=family.name,
                                reason=f"most common skeleton: {support} of {len(rows)} fits",
                                experiment_id=eid, target="skeleton",
                                details={"support": support, "total": len(rows)})
        if form.status == "proposed":
            form = step.move(form, "testing", "searching coefficient laws", eid)
        coefficient_ids = []
        for slot, search in enumerate(result.searches):
            coefficient_ids.append(_record_coefficient(step, family, form, search, eid,
                                                       coefficients[:, slot], params))
        if result.integral is None:
            return
        alternatives = [result.integral, *_alternatives(skeleton, result)]
        details = {"skeleton": skeleton, "n_observations": len(rows), "support": support,
                   "coefficients": coefficient_ids, "source": "search"}
        for i, integral in enumerate(alternatives):
            why = ("assembled from the coefficient laws" if i == 0 else
                   "an alternative law the data could not rule out")
            step.propose(kind="coefficient", statement=canonical(integral), family=family.name,
                         reason=why, experiment_id=eid, target="integral",
                         parent_id=form.hypothesis_id, details=details)


def _record_coefficient(step: Step, family: Family, form: Hypothesis,
                        search: rules.CoefficientSearch, eid: int, measured: np.ndarray,
                        params: np.ndarray) -> int:
    law = search.law
    points = {"label": search.target, "measured": measured,
              "predicted": (to_numpy(law.expression, family.parameters)(*params.T)
                            if law else [])}
    statement = f"{search.target} = {law.text}" if law else f"{search.target} = ?"
    hypothesis = step.propose(
        kind="coefficient", statement=statement, family=family.name, experiment_id=eid,
        reason=(f"|R²| = {law.r2:.6f} at level {law.level}"
                + (f", {len(law.outliers)} misfit observation(s) set aside" if law and
                   law.outliers else "") if law else
                "no regression passed the gate"),
        target=search.target, parent_id=form.hypothesis_id,
        score=law.r2 if law else None,
        details={"exact": bool(law.exact) if law else False, "level": law.level if law else None,
                 "competitors": [canonical(c) for c in law.competitors] if law else [],
                 "outliers": len(law.outliers) if law else 0})
    table = search.table
    if table:
        step.evidence(
            hypothesis, "regression", len(table), experiment_id=eid, target=search.target,
            points=points, predictor=[r.predictor for r in table],
            r2=[float(r.r2) for r in table], slope=[float(r.slope) for r in table],
            intercept=[float(r.intercept) for r in table], passed=[bool(r.passed) for r in table])
    if law is None:
        step.move(hypothesis, "refuted", "no predictor passed |R²| > 0.95", eid)
    else:
        step.move(hypothesis, "testing", "awaiting falsification of the assembled rule", eid)
    return hypothesis.hypothesis_id


def _simpler(integral: sympy.Expr) -> sympy.Expr:
    """The integral with every fitted float replaced by the simplest number within 0.1%
    (1.000124 → 1, 0.0003 → 0): a rival that falsification can keep only if the data allow."""
    floats = integral.atoms(sympy.Float)
    return integral.xreplace({f: rules.rationalize(float(f), max(1e-3 * abs(float(f)), 1e-3),
                                                   12) for f in floats})


def _alternatives(skeleton: str, result: rules.RuleSearch, limit: int = 3) -> list[sympy.Expr]:
    """Rivals: the integral with its fitted floats simplified, and with one slot's law
    swapped for an equally good competitor."""
    slots = [s.target for s in result.searches]
    template = parse(skeleton, symbols=["x", *slots])
    laws = {sympy.Symbol(s.target): s.law.expression for s in result.searches}
    simpler = _simpler(result.integral)
    out = [simpler] if simpler != result.integral else []
    for search in result.searches:
        for competitor in search.law.competitors:
            swapped = template.subs({**laws, sympy.Symbol(search.target): competitor})
            if swapped != result.integral and len(out) < limit:
                out.append(swapped)
    return out


# ---- falsify: predict fresh measured areas, accept or refute -------------------------------

@dataclass(frozen=True)
class _Trial:
    family: Family
    names: tuple[str, ...]  # the statement's parameters in the family's order
    statements: list[sympy.Expr]
    batch: SampleBatch
    extrapolated: np.ndarray


def _family_trial(step: Step, line: Line, hypotheses: list[Hypothesis]) -> _Trial:
    family, n, rng = line.family, step.config.falsify_n, step.ctx.rng
    names = family.parameters
    statements = [parse(h.statement, symbols=["x", *names]) for h in hypotheses]
    if len(statements) > 1:
        # Half the functions where the rivals disagree most, half fresh: a discriminating
        # experiment that is still a fair test of whichever rival survives.
        pool, pool_out = verify.fresh_points(family, 4 * n, rng,
                                             outside_fraction=step.config.falsify_outside)
        pick = verify.most_disagreeing(statements, names, pool, n // 2, family.domain.grid())
        rest, rest_out = verify.fresh_points(family, n - len(pick), rng,
                                             outside_fraction=step.config.falsify_outside)
        params = np.concatenate([pool[pick], rest])
        outside = np.concatenate([pool_out[pick], rest_out])
    else:
        params, outside = verify.fresh_points(family, n, rng,
                                              outside_fraction=step.config.falsify_outside)
    return _Trial(family, names, statements, sample_points(family, params, step.ctx), outside)


def _meta_trial(step: Step, hypotheses: list[Hypothesis]) -> _Trial:
    family = get_family(META_FAMILY)  # a1*x**a2
    searched = {float(k) for h in hypotheses for k in h.details.get("ks", [])}
    statements = [parse(h.statement, symbols=["x", "a", "n"]).subs(
        {generalize.A: sympy.Symbol("a1"), generalize.N: sympy.Symbol("a2")})
        for h in hypotheses]
    # One factor at a time: sweep the exponent far beyond the powers the law was found on,
    # through fractional values, with the amplitude held fixed.
    batch = sample_one_factor(family, step.config.falsify_n, step.ctx, "a2", low=0.25,
                              high=10.0, jitter=0.5)
    outside = ~np.isin(batch.params[:, 1], list(searched))
    return _Trial(family, family.parameters, statements, batch, outside)


def run_falsify(step: Step, action: Action, state: LabState) -> None:
    """Measure fresh functions and judge every open hypothesis of the action on them."""
    meta = action.family is None
    if meta:
        hypotheses = state.meta_open
        trial, t_sample = _timed(lambda: _meta_trial(step, hypotheses))
    else:
        line = state.lines[action.family]
        hypotheses = line.open_integrals
        trial, t_sample = _timed(lambda: _family_trial(step, line, hypotheses))
    batch = trial.batch
    areas, t_int = _timed(lambda: _measure(trial.family, batch, step.config.integrator))
    extrapolated = trial.extrapolated[batch.accepted]
    started = time.perf_counter()
    verdicts = [verify.falsify(s, trial.names, batch.accepted_params, batch.x, areas.g,
                               areas.error, extrapolated=extrapolated,
                               tolerance=step.config.falsify_tol,
                               pass_fraction=step.config.pass_fraction)
                for s in trial.statements]
    t_test = time.perf_counter() - started
    survivors = sorted((i for i, v in enumerate(verdicts) if v.survived),
                       key=lambda i: (sympy.count_ops(trial.statements[i]), i))
    with step.store.transaction():
        _, measured = _record_samples(step, trial.family, batch, areas, (t_sample, t_int),
                                      action.design, {"n": action.n, "why": action.why})
        experiment = step.experiment(
            "falsify", family=None if meta else trial.family.name, seconds=t_test,
            n_items=len(verdicts) * batch.n_accepted, design=action.design,
            params={"hypotheses": [h.hypothesis_id for h in hypotheses]},
            summary={"survived": len(survivors), "tested": len(verdicts)})
        eid = experiment.experiment_id
        shown = {"family": trial.family.name, "names": list(trial.family.parameters),
                 "params": batch.accepted_params, "outside": extrapolated,
                 # a power law speaks of a and n; the instrument's parameters are a1 and a2
                 "rename": {"a": "a1", "n": "a2"} if meta else {}}
        for i, (hypothesis, verdict) in enumerate(zip(hypotheses, verdicts, strict=True)):
            step.evidence(
                hypothesis, "falsification", verdict.n, experiment_id=eid, points=shown,
                sample_id=measured, predicted=verdict.predicted, measured=verdict.measured,
                error=np.where(np.isfinite(verdict.errors), verdict.errors, np.nan),
                passed=verdict.passed)
            if hypothesis.status == "proposed":
                hypothesis = step.move(hypothesis, "testing",
                                       f"falsification on {verdict.n} fresh functions", eid)
            if survivors and i == survivors[0]:
                step.move(hypothesis, "accepted", verdict.reason(), eid,
                          score=verdict.n_passed / max(verdict.n, 1))
                _accept(step, hypothesis, trial, verdict, state, eid)
            elif verdict.survived:
                step.move(hypothesis, "refuted", f"{verdict.reason()}; also survived, but the "
                          f"simpler #{hypotheses[survivors[0]].hypothesis_id} was kept", eid)
            else:
                step.move(hypothesis, "refuted", verdict.reason(), eid,
                          score=verdict.n_passed / max(verdict.n, 1))
                if not meta:
                    _close_children(step, hypothesis, "refuted", "its assembled rule was "
                                    f"refuted by experiment #{eid}", eid)


def _close_children(step: Step, integral: Hypothesis, to_status: str, reason: str,
                    eid: int) -> None:
    for cid in integral.details.get("coefficients", []):
        child = step.store.get_hypothesis(cid)
        if child is not None and child.status == "testing":
            step.move(child, to_status, reason, eid)


def conditions_of(statement: sympy.Expr) -> list[str]:
    """Where the statement is defined: every denominator it divides by must be nonzero."""
    out = []
    for power in statement.atoms(sympy.Pow):
        if power.exp.is_number and power.exp < 0 and power.base.free_symbols:
            text = f"{canonical(power.base)} != 0"
            if text not in out:
                out.append(text)
    return sorted(out)


def _accept(step: Step, hypothesis: Hypothesis, trial: _Trial,
            verdict: verify.Falsification, state: LabState, eid: int) -> None:
    meta = hypothesis.kind == "meta"
    names = ("a", "n") if meta else trial.family.parameters
    statement = parse(hypothesis.statement, symbols=["x", *names])
    integrand = generalize.META_INTEGRAND if meta else trial.family.template
    passed, detail = verify.audit(integrand, statement, nonnegative=("n",) if meta else ())
    derived = hypothesis.details.get("derived_from_rule")
    provenance = {"hypothesis_id": hypothesis.hypothesis_id, "falsified_by": eid,
                  "found_by": ("power-law regression over accepted rules" if meta else
                               f"deduced from rule #{derived}" if derived else
                               "coefficient regression over observations"),
                  "audit": "sympy.diff, outside knowledge; recorded, never decides"}
    rule = step.store.add_rule(
        kind="meta" if meta else "coefficient", integrand=canonical(integrand),
        statement=canonical(statement), latex=sympy.latex(statement),
        srepr=sympy.srepr(statement), run_id=step.run_id,
        hypothesis_id=hypothesis.hypothesis_id,
        family_id=None if meta else step.family_ids[trial.family.name],
        conditions=conditions_of(statement),
        n_support=int(hypothesis.details.get("support", 0)),
        n_falsification=verdict.n, max_error=verdict.max_error, audit_passed=passed,
        audit_detail=detail, provenance=provenance)
    if meta:
        for rid in hypothesis.details.get("rules", []):
            step.store.add_rule_edge(rule.rule_id, rid, "generalizes")
    else:
        if derived:
            step.store.add_rule_edge(rule.rule_id, int(derived), "derived_from")
        _close_children(step, hypothesis, "accepted", f"part of accepted rule #{rule.rule_id}",
                        eid)
        line = state.lines[trial.family.name]
        if line.form is not None and line.form.status in ("proposed", "testing"):
            step.move(line.form, "accepted", f"its rule #{rule.rule_id} was accepted", eid)
    step.accepted_rules.append(rule.rule_id)
    step.events.append(ev.RuleAccepted(
        run_id=step.run_id, rule_id=rule.rule_id, hypothesis_id=hypothesis.hypothesis_id,
        family=None if meta else trial.family.name, statement=rule.statement,
        latex=rule.latex, conditions=list(rule.conditions), max_error=rule.max_error,
        n_falsification=rule.n_falsification, audit_passed=passed))


def _law_values(law: rules.SeriesLaw, k: np.ndarray) -> np.ndarray:
    """What a series law predicts at each k."""
    return to_numpy(law.expression, ("n",))(k)


# ---- generalize and deduce: the power law ---------------------------------------------------

def run_generalize(step: Step, action: Action, state: LabState) -> None:
    """Regress the accepted polynomial rules' slopes and powers against k: a power law."""
    started = time.perf_counter()
    points: list[generalize.PowerPoint] = []
    for line in state.lines.values():
        if line.polynomial and line.rule is not None:
            statement = parse(line.rule.statement, symbols=["x", *line.family.parameters])
            points += generalize.power_points(line.family.template, statement,
                                              line.rule.rule_id)
    k = np.array([p.k for p in points], dtype=float)
    slope_law = rules.search_series(k, np.array([p.slope for p in points]))
    power_law = rules.search_series(k, np.array([p.power for p in points]))
    seconds = time.perf_counter() - started
    found = slope_law is not None and power_law is not None
    with step.store.transaction():
        experiment = step.experiment(
            "generalize", family=None, seconds=seconds, n_items=len(points), ok=found,
            params={"points": [[p.k, p.slope, p.power] for p in points]},
            error=None if found else "no transform of k explains the slopes and powers")
        eid = experiment.experiment_id
        statement = (canonical(generalize.meta_statement(slope_law.expression,
                                                         power_law.expression))
                     if found else "a*x**n -> ?")
        hypothesis = step.propose(
            kind="meta", statement=statement, family=None, experiment_id=eid,
            reason=f"power law regressed over {len(points)} terms of accepted rules",
            target="power rule",
            details={"ks": sorted({p.k for p in points}),
                     "rules": sorted({p.rule_id for p in points}),
                     "slope_law": slope_law.text if slope_law else None,
                     "power_law": power_law.text if power_law else None,
                     "support": len(points)})
        for label, law in (("slope", slope_law), ("power", power_law)):
            if law is not None and law.table:
                step.evidence(
                    hypothesis, "regression", len(law.table), experiment_id=eid, target=label,
                    points={"label": "k", "x": k, "measured": [getattr(p, label) for p in points],
                            "predicted": _law_values(law, k)},
                    predictor=[f"{label} ~ {r.predictor}" for r in law.table],
                    r2=[float(r.r2) for r in law.table], slope=[float(r.slope) for r in law.table],
                    intercept=[float(r.intercept) for r in law.table],
                    passed=[bool(r.passed) for r in law.table])
        if not found:
            step.move(hypothesis, "refuted", "no transform of k passed the gate", eid)


def run_deduce(step: Step, action: Action, line: Line, state: LabState) -> None:
    """Apply the accepted power law to a polynomial family: a hypothesis to be tested."""
    meta = state.meta_rule
    started = time.perf_counter()
    law = parse(meta.statement, symbols=["x", "a", "n"])
    integral = generalize.deduce(line.family.template, law)
    with step.store.transaction():
        experiment = step.experiment("deduce", family=line.family.name,
                                     seconds=time.perf_counter() - started, n_items=1,
                                     ok=integral is not None,
                                     params={"rule": meta.rule_id})
        if integral is not None:
            step.propose(kind="coefficient", statement=canonical(integral),
                         family=line.family.name, experiment_id=experiment.experiment_id,
                         reason=f"power rule #{meta.rule_id} applied term by term",
                         target="integral",
                         details={"derived_from_rule": meta.rule_id, "source": "deduced",
                                  "support": 0})
