"""The retrain tool: the intuition's data, its training, its scores and its guesses.

A facade over `models/` (imported lazily: torch and transformers load only when a model is
trained or asked). Its inputs are the scientist's own knowledge, as plain values:

- accepted rules (family, integral statement) — each applied to freshly sampled members of its
  family gives as many labelled pairs as wanted (`tools.pairs`);
- accepted symbolic-regression fits of measured areas (family, parameters, expression).

No CAS ever labels a pair: a rule is only instantiated, a fit is only reformatted. A guess of
the model is a hypothesis about one function, and `check_guess` settles it the only way the
scientist may: by measuring the area under that function.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy

from eudoxus.tools.context import ToolContext
from eudoxus.tools.expr import ExprError, parse, to_numpy
from eudoxus.tools.families import get_family
from eudoxus.tools.integrate import integrate
from eudoxus.tools.pairs import (
    TARGET_FORMATS,
    Pair,
    compile_rule,
    fit_pair,
    is_polynomial_family,
    pairs_from_rule,
    settle,
)
from eudoxus.tools.verify import Falsification, falsify

__all__ = ["SPLITS", "Dataset", "DataSpec", "Evaluation", "FitRecord", "GuessVerdict",
           "RuleRecord", "build_dataset", "check_guess", "evaluate", "guess", "judge_guess",
           "retrain", "rounding_allowance", "split_of"]

SEQ2SEQ_VERSION = "seq2seq-1"
SPLITS = ("polynomial", "non-polynomial")
LABEL_SOURCE = ("the lab's accepted rules applied to freshly sampled functions, and accepted "
                "symbolic-regression fits of measured areas; no CAS")


def split_of(family: str) -> str:
    """The paper's split a family belongs to."""
    return SPLITS[0] if is_polynomial_family(family) else SPLITS[1]


@dataclass(frozen=True)
class RuleRecord:
    """An accepted rule as plain values: its family, its integral statement and its id."""

    family: str
    statement: str
    rule_id: int | None = None


@dataclass(frozen=True)
class FitRecord:
    """An accepted regression fit of one measured area, as plain values."""

    family: str
    params: tuple[float, ...]
    expression: str
    observation_id: int | None = None


@dataclass(frozen=True)
class DataSpec:
    """How many pairs of each kind to make, and from which seed."""

    train: int = 200_000
    valid: int = 1_000
    test_per_split: int = 2_000  # the held-out test set: this many per split
    nonpolynomial_share: float = 0.5  # of train and valid; the harder half of the task
    seed: int = 0
    # decimal: the paper's format; symbolic: coefficients spelled as their laws (2.07/0.27),
    # worked out exactly before scoring. The test set is always in the paper's format.
    target: str = "decimal"

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data."""
        return dict(self.__dict__)


@dataclass
class Dataset:
    """Train, validation and test pairs; no test or validation source occurs in training."""

    train: list[Pair]
    valid: list[Pair]
    test: list[Pair]
    families: dict[str, int] = field(default_factory=dict)  # training pairs per family
    origins: dict[str, int] = field(default_factory=dict)  # training pairs per label source
    spec: DataSpec | None = None  # what made it: the same spec and rules make the same test set

    def summary(self) -> dict[str, Any]:
        """Sizes and provenance, for the record."""
        return {"n_train": len(self.train), "n_valid": len(self.valid), "n_test": len(self.test),
                "spec": self.spec.to_dict() if self.spec else None,
                "test_per_split": {s: sum(split_of(p.family) == s for p in self.test)
                                   for s in SPLITS},
                "families": self.families, "origins": self.origins,
                "label_source": LABEL_SOURCE}


def _quota(total: int, names: Sequence[str]) -> dict[str, int]:
    """`total` spread over `names` as evenly as whole numbers allow."""
    base, extra = divmod(total, len(names)) if names else (0, 0)
    return {name: base + (i < extra) for i, name in enumerate(names)}


def _split_quota(total: int, by_split: dict[str, list[str]], nonpolynomial_share: float,
                 ) -> dict[str, int]:
    present = [s for s in SPLITS if by_split[s]]
    if len(present) == 2:
        nonpoly = round(total * nonpolynomial_share)
        shares = {SPLITS[0]: total - nonpoly, SPLITS[1]: nonpoly}
    else:
        shares = {s: total for s in present}
    quota: dict[str, int] = {}
    for split in present:
        quota.update(_quota(shares[split], by_split[split]))
    return quota


CHUNK = 20_000  # pairs drawn per task: the unit of parallel work and of seeding


def _rule_chunk(task: tuple[RuleRecord, int, tuple[int, ...], str]) -> list[Pair]:
    """One chunk of pairs from one rule (a worker's task: plain values in, pairs out)."""
    record, n, seed, target = task
    rule = compile_rule(get_family(record.family), record.statement, record.rule_id)
    return pairs_from_rule(rule, n + n // 4 + 16, ToolContext.seeded(*seed), target)


def _map(fn: Callable, tasks: list, workers: int) -> Iterable:
    if workers <= 1 or len(tasks) <= 1:
        return map(fn, tasks)
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(workers, len(tasks))) as pool:
        return list(pool.map(fn, tasks))


def build_dataset(rules: Sequence[RuleRecord], fits: Sequence[FitRecord] = (),
                  spec: DataSpec = DataSpec(), *, workers: int = 1,
                  progress: Callable[[str], None] | None = None) -> Dataset:
    """Labelled pairs from accepted rules (fresh functions) and fits, split three ways.

    The test set is drawn first from its own seed; validation and training pairs whose source
    text is already in the test set (or, for training, in validation) are dropped, so nothing
    held out is ever trained on.
    """
    if spec.target not in TARGET_FORMATS:
        raise ValueError(f"unknown target format {spec.target!r}; choose from "
                         f"{', '.join(TARGET_FORMATS)}")
    chosen: dict[str, RuleRecord] = {}
    for record in rules:  # one rule per family: the first (newest) given
        chosen.setdefault(record.family, record)
    if not chosen:
        raise ValueError("no accepted rules to learn from: run a campaign first")
    for record in chosen.values():  # a rule that cannot be compiled fails here, not in a worker
        compile_rule(get_family(record.family), record.statement, record.rule_id)
    by_split: dict[str, list[str]] = {s: [] for s in SPLITS}
    for name in chosen:
        by_split[split_of(name)].append(name)
    order = sorted(chosen)

    def draw(quota: dict[str, int], stream: int, exclude: set[str],
             target: str = spec.target) -> list[Pair]:
        # Chunks seeded by (seed, stream, family, chunk): the same pairs for any worker count.
        # Each draws a quarter extra to make up for sources already held out (poly0 has few).
        tasks = [(chosen[name], min(CHUNK, n - start), (spec.seed, stream, order.index(name),
                                                        start // CHUNK), target)
                 for name, n in quota.items() for start in range(0, max(n, 0), CHUNK)]
        if progress:
            progress(f"{sum(t[1] for t in tasks):,} pairs from {len(quota)} rule(s)")
        out = []
        for (_, n, _, _), chunk in zip(tasks, _map(_rule_chunk, tasks, workers), strict=True):
            out.extend([p for p in chunk if p.source not in exclude][:n])
        return out

    test_quota = {}
    for split in SPLITS:
        test_quota.update(_quota(spec.test_per_split if by_split[split] else 0, by_split[split]))
    test = draw(test_quota, 1, set(), "decimal")  # scored in the paper's format
    held = {p.source for p in test}
    valid = draw(_split_quota(spec.valid, by_split, spec.nonpolynomial_share), 2, held)
    held |= {p.source for p in valid}
    train = [p for p in (fit_pair(get_family(f.family), f.params, f.expression,
                                  f"fit of observation #{f.observation_id}") for f in fits
                         if _known(f.family))
             if p is not None and p.source not in held]
    train += draw(_split_quota(max(0, spec.train - len(train)), by_split,
                               spec.nonpolynomial_share), 0, held)
    # Drawn family by family; shuffled so that any prefix (the in-training validation sample)
    # mixes every family.
    rng = np.random.default_rng([spec.seed, 3])
    train, valid, test = ([part[i] for i in rng.permutation(len(part))]
                          for part in (train, valid, test))
    families: dict[str, int] = {}
    origins: dict[str, int] = {}
    for pair in train:
        families[pair.family] = families.get(pair.family, 0) + 1
        kind = "rules" if pair.origin.startswith("rule") else "fits"
        origins[kind] = origins.get(kind, 0) + 1
    return Dataset(train, valid, test, families, origins, spec)


def _known(family: str) -> bool:
    try:
        get_family(family)
    except ValueError:
        return False
    return True


# ---- training and evaluation ---------------------------------------------------------------

@dataclass
class Evaluation:
    """The paper's metrics on a test set, how fast the model read it, and every prediction."""

    metrics: dict[str, dict[str, float]]  # split (and family, and "all") -> n, correct, approx
    ms_batched: float  # milliseconds per function, decoded in batches
    ms_single: float  # milliseconds per function, one at a time
    predictions: list[str] = field(repr=False, default_factory=list)
    beams: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metrics and timings (not the predictions)."""
        return {"metrics": self.metrics, "ms_per_function_batched": self.ms_batched,
                "ms_per_function_single": self.ms_single, "beams": self.beams}


def settled(text: str) -> str:
    """A symbolic-format output worked out into the paper's format (as it is, if it cannot be)."""
    try:
        return settle(text)
    except (ExprError, ValueError, TypeError):  # not a closed form: scored as written, wrong
        return text


def _finisher(target: str) -> Callable[[str], str]:
    """What turns a model's output into the paper's format: nothing, or working it out."""
    return settled if target == "symbolic" else (lambda text: text)


def evaluate(model: Any, tokenizer: Any, test: Sequence[Pair], *, beams: int = 1,
             batch_size: int = 512, single: int = 50, target: str = "decimal") -> Evaluation:
    """Score greedy (or beam) predictions on `test`; time batched and one-at-a-time decoding.

    A model trained on symbolic targets has its outputs worked out exactly (`settled`) before
    they are compared with the paper-format truth; that arithmetic is timed with the decoding.
    """
    finish = _finisher(target)
    from eudoxus.models.decode import generate
    from eudoxus.models.metrics import score

    sources = [p.source for p in test]
    started = time.perf_counter()
    outputs = generate(model, tokenizer, sources, beams=beams, batch_size=batch_size)
    predictions = [finish(out[0]) if out else "" for out in outputs]
    ms_batched = 1000 * (time.perf_counter() - started) / max(1, len(sources))
    few = sources[:single]
    started = time.perf_counter()
    for source in few:
        finish((generate(model, tokenizer, [source], beams=beams)[0] or [""])[0])
    ms_single = 1000 * (time.perf_counter() - started) / max(1, len(few))
    references = [p.target for p in test]
    metrics = score(predictions, references, [split_of(p.family) for p in test],
                    [f"family:{p.family}" for p in test])
    return Evaluation(metrics, ms_batched, ms_single, predictions, beams)


@dataclass
class Retraining:
    """What one retraining produced: the trained model, its scores and its record."""

    model: Any = field(repr=False)
    tokenizer: Any = field(repr=False)
    evaluation: Evaluation
    n_params: int
    seconds: float
    device: str
    steps: int
    examples: int
    history: list[dict[str, float]]
    checkpoint: Path | None
    config: dict[str, Any]

    def record(self) -> dict[str, Any]:
        """The JSON-ready summary the controller stores in `model_runs.metrics`."""
        return {**self.evaluation.to_dict(), "steps": self.steps, "examples": self.examples,
                "history": self.history}


def retrain(dataset: Dataset, *, model_config: Any = None, train_config: Any = None,
            out: str | Path | None = None, resume: str | Path | None = None,
            ctx: ToolContext | None = None, beams: int = 1,
            on_point: Callable[[dict[str, float]], None] | None = None) -> Retraining:
    """Train the intuition on `dataset` (fresh, or resumed from a checkpoint) and score it.

    `on_point` receives each validation point (seconds, steps, loss, valid_exact).
    """
    from eudoxus.models.network import ModelConfig
    from eudoxus.models.train import TrainConfig, train

    model_config = model_config or ModelConfig()
    train_config = train_config or TrainConfig()
    ctx = ctx or ToolContext()

    def report(point: dict[str, float]) -> None:
        ctx.progress("train", int(point["steps"]), None)
        if on_point:
            on_point(point)
        ctx.check_cancelled()

    result = train([(p.source, p.target) for p in dataset.train],
                   [(p.source, p.target) for p in dataset.valid], model_config=model_config,
                   config=train_config, out=out, resume=resume, on_progress=report)
    evaluation = evaluate(result.model, result.tokenizer, dataset.test, beams=beams,
                          target=dataset.spec.target if dataset.spec else "decimal")
    return Retraining(result.model, result.tokenizer, evaluation, result.n_params,
                      result.seconds, result.device, result.steps, result.examples,
                      result.history, result.checkpoint,
                      {"model": model_config.to_dict(), "train": train_config.to_dict(),
                       "data": dataset.summary(),
                       "autocast": result.autocast})


def guess(model: Any, tokenizer: Any, sources: Sequence[str], *, beams: int = 1,
          target: str = "decimal") -> list[str]:
    """The model's best integral text for each function text ("" where it has none); a model
    trained on symbolic targets has its outputs worked out (`settled`), as `evaluate` does."""
    from eudoxus.models.decode import generate

    finish = _finisher(target)
    return [finish(out[0]) if out else "" for out in generate(model, tokenizer, list(sources),
                                                             beams=beams)]


# ---- checking a guess against the measured area ----------------------------------------------

@dataclass(frozen=True)
class GuessVerdict:
    """A guess measured: accepted only if it predicts the area under f."""

    integrand: str
    guess: str
    accepted: bool
    error: float  # eq. 1 over the grid; inf when the guess cannot be evaluated
    measured: float  # the area at the end of the grid
    predicted: float
    reason: str


def rounding_allowance(statement: sympy.Expr, x: np.ndarray, g: np.ndarray,
                       decimals: int = 2) -> float:
    """The eq. 1 error that rounding each coefficient of `statement` to `decimals` places can
    cause by itself: the precision a guess in the paper's format claims, and no more."""
    half_unit = 0.5 * 10.0 ** -decimals
    bound = np.zeros_like(x, dtype=float)
    for term in sympy.Add.make_args(sympy.expand(statement)):
        _, basis = term.as_coeff_Mul()
        with np.errstate(all="ignore"):
            bound += half_unit * np.abs(np.broadcast_to(to_numpy(basis)(x), x.shape))
    scale = float(np.max(np.abs(g)))
    return float(np.mean(bound) / scale) if scale > 0 and np.all(np.isfinite(bound)) else 0.0


def judge_guess(guessed: str, x: np.ndarray, g: np.ndarray, g_error: float, *,
                tolerance: float = 1e-5) -> tuple[Falsification | None, str]:
    """A guessed integral against one measured area curve g on x: the verdict and why.

    It passes when its eq. 1 error is within what its own 2-decimal rounding allows (or the
    tolerance, or the instrument's error, whichever is largest); None when it is no expression
    in x.
    """
    try:
        statement = parse(guessed)
    except ExprError as error:
        return None, f"the guess is not an expression: {error}"
    if statement.free_symbols - {parse("x")}:
        return None, "the guess has symbols other than x"
    allowed = max(tolerance, rounding_allowance(statement, x, g))
    verdict = falsify(statement, (), np.zeros((1, 0)), x, g[None, :], np.array([g_error]),
                      tolerance=allowed, pass_fraction=1.0)
    error, limit = float(verdict.errors[0]), float(verdict.tolerance[0])
    if verdict.passed[0]:
        return verdict, f"predicts the measured area (eq. 1 error {error:.2g} <= {limit:.2g})"
    return verdict, f"refuted by the measured area: eq. 1 error {error:.2g} > {limit:.2g}"


def check_guess(integrand: str, guessed: str, *, T: float = 4.0, n_points: int = 10_000,
                method: str = "trapezoid", tolerance: float = 1e-5) -> GuessVerdict:
    """Measure the area under `integrand` on [0, T] and test the guessed integral against it:
    a guess is never taken on the model's word (see `judge_guess`)."""
    x = np.linspace(0.0, T, n_points)
    f = parse(integrand)
    if f.free_symbols - {parse("x")}:
        raise ExprError(f"{integrand!r} has symbols other than x")
    areas = integrate(to_numpy(f), x, method=method)
    if not np.all(np.isfinite(areas.g)):
        raise ExprError(f"{integrand!r} is not finite on [0, {T:g}]")
    verdict, reason = judge_guess(guessed, x, areas.g[0], float(areas.error[0]),
                                  tolerance=tolerance)
    measured = float(areas.final[0])
    if verdict is None:
        return GuessVerdict(integrand, guessed, False, float("inf"), measured, float("nan"),
                            reason)
    return GuessVerdict(integrand, guessed, bool(verdict.passed[0]), float(verdict.errors[0]),
                        measured, float(verdict.predicted[0]), reason)
