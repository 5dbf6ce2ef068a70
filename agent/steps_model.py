"""The intuition's steps in a campaign: retrain the seq2seq model, and let it guess integrals.

A retraining learns from the run's own accepted rules (applied to fresh functions) and fits,
and is recorded in `model_runs` with its scores. A guess is a `model` hypothesis about one
function; it is accepted only if it predicts the area measured under that function, exactly
the test a rule faces. torch is imported only inside these steps.
"""

from __future__ import annotations

import time

import numpy as np

from eudoxus.agent import events as ev
from eudoxus.agent import intuition
from eudoxus.agent.planner import Action, LabState
from eudoxus.agent.steps import Step, _measure, _record_samples, _timed
from eudoxus.tools import seq2seq, verify
from eudoxus.tools.families import get_family
from eudoxus.tools.pairs import integrand_text
from eudoxus.tools.sample import sample_random


def _specs(step: Step):
    from eudoxus.models.network import ModelConfig
    from eudoxus.models.train import TrainConfig

    config = step.config
    model = ModelConfig(arch=config.model_arch, d_model=config.model_d,
                        d_ff=4 * config.model_d, heads=max(1, config.model_d // 32))
    # One torch thread: the regression workers own the other cores (DESIGN §8).
    train = TrainConfig(seconds=config.model_seconds, seed=config.seed, threads=1,
                        eval_every_seconds=max(30.0, config.model_seconds / 4),
                        checkpoint_every_seconds=1e9)
    data = seq2seq.DataSpec(train=config.model_pairs, valid=min(500, config.model_pairs // 10),
                            test_per_split=config.model_test,
                            seed=config.seed * 100_003 + step.number,
                            target=config.model_target)
    return model, train, data


def run_retrain(step: Step, action: Action, state: LabState) -> None:
    """Train the intuition on everything the run has accepted so far, and record the training."""
    rules, fits = intuition.knowledge(step.store, step.run_id)
    model_config, train_config, data_spec = _specs(step)
    out = intuition.checkpoint_dir(step.store.lab, step.run_id)
    started = time.perf_counter()
    failure, retraining = None, None
    try:
        dataset = seq2seq.build_dataset(rules, fits, data_spec)
        retraining = seq2seq.retrain(dataset, model_config=model_config,
                                     train_config=train_config, out=out, ctx=step.ctx)
    except (ValueError, RuntimeError, OSError) as error:
        failure = f"{type(error).__name__}: {error}".splitlines()[0]
    seconds = time.perf_counter() - started
    with step.store.transaction():
        metrics = retraining.evaluation.metrics if retraining else {}
        experiment = step.experiment(
            "retrain", family=None, seconds=seconds, n_items=len(rules), ok=failure is None,
            error=failure, params={"rules": state.rules, "fits": len(fits), "why": action.why,
                                   "checkpoint": str(out) if retraining else None},
            summary={k: metrics[k] for k in seq2seq.SPLITS if k in metrics})
        if retraining is None:
            return
        row = intuition.record(step.store, retraining, step.run_id)
        step.events.append(ev.ModelTrained(
            run_id=step.run_id, model_run_id=row.model_run_id, seconds=retraining.seconds,
            metrics={**metrics, "experiment_id": experiment.experiment_id},
            device=retraining.device, n_params=retraining.n_params))


def run_guess(step: Step, action: Action, state: LabState) -> None:
    """The latest model guesses ∫ f for fresh functions of a family; measured areas judge."""
    family = get_family(action.family)
    found = intuition.latest_checkpoint(step.store, step.run_id)
    batch, t_sample = _timed(lambda: sample_random(family, action.n, step.ctx, fill=True))
    areas, t_int = _timed(lambda: _measure(family, batch, step.config.integrator))
    sources = [integrand_text(family, row) for row in batch.accepted_params]
    started = time.perf_counter()
    guesses, failure = [], None
    if found is None:
        failure = "no trained model to ask"
    else:
        loaded = intuition.load_model(found[1])
        guesses = seq2seq.guess(loaded.model, loaded.tokenizer, sources,
                                target=intuition.target_of(found[0]))
    judged = [seq2seq.judge_guess(text, batch.x, areas.g[i], float(areas.error[i]),
                                  tolerance=step.config.falsify_tol)
              for i, text in enumerate(guesses)]
    seconds = time.perf_counter() - started
    with step.store.transaction():
        _, measured = _record_samples(step, family, batch, areas, (t_sample, t_int), "random",
                                      {"n": action.n, "why": action.why})
        experiment = step.experiment(
            "guess", family=family.name, seconds=seconds, n_items=len(guesses),
            ok=failure is None, error=failure,
            params={"model_run_id": found[0].model_run_id if found else None},
            summary={"accepted": sum(v is not None and bool(v.passed[0]) for v, _ in judged)})
        eid = experiment.experiment_id
        for sample_id, source, text, (verdict, why) in zip(measured, sources, guesses, judged,
                                                           strict=False):
            _record_guess(step, family.name, int(sample_id), source, text, verdict, why, eid,
                          found[0].model_run_id)


def _record_guess(step: Step, family: str, sample_id: int, source: str, text: str,
                  verdict: verify.Falsification | None, why: str, eid: int,
                  model_run_id: int) -> None:
    hypothesis = step.propose(kind="model", statement=text or "?", family=family,
                              reason=f"model #{model_run_id} read ∫₀ˣ {source}",
                              experiment_id=eid, target=source,
                              details={"model_run_id": model_run_id, "sample_id": sample_id})
    hypothesis = step.move(hypothesis, "testing", "area measured under the function", eid)
    if verdict is None:
        step.move(hypothesis, "refuted", why, eid)
        return
    step.evidence(
        hypothesis, "falsification", 1, experiment_id=eid,
        points={"integrand": source},  # the function guessed for, in the model's own text
        sample_id=[sample_id], predicted=verdict.predicted, measured=verdict.measured,
        error=np.where(np.isfinite(verdict.errors), verdict.errors, np.nan),
        passed=verdict.passed)
    passed = bool(verdict.passed[0])
    step.move(hypothesis, "accepted" if passed else "refuted", why, eid,
              score=1.0 if passed else 0.0)
