"""The paper's accuracy metrics on predicted integral texts, split by a label per example.

- **correct**: identical to the reference once both are expanded and rounded to 2 decimals;
- **approx-correct**: eq. 1 error against the reference on [0, 4] below 0.01.

A prediction the project's safe parser cannot read is neither. Identical texts are settled
without sympy, which is most of them once a model is trained. The expression machinery
(`tools.expr`) is the project's one parser; this module still knows nothing of families.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from eudoxus.tools.expr import EPSILON, ExprError, expression_error, is_correct, parse

__all__ = ["Judgement", "judge", "score"]


@dataclass(frozen=True)
class Judgement:
    """The two verdicts on one prediction and the eq. 1 error behind the second."""

    correct: bool
    approx_correct: bool
    error: float


def judge(prediction: str, reference: str, *, eps: float = EPSILON) -> Judgement:
    """Both of the paper's verdicts on one predicted text."""
    if prediction == reference:
        return Judgement(True, True, 0.0)
    try:
        predicted, truth = parse(prediction), parse(reference)
        error = expression_error(predicted, truth)
        correct = is_correct(predicted, truth)
    except (ExprError, ValueError, TypeError, OverflowError):
        return Judgement(False, False, math.inf)
    return Judgement(correct, error < eps, error)


def score(predictions: Sequence[str], references: Sequence[str],
          splits: Sequence[str], *more: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per label (and "all"): n, %-correct and %-approx-correct.

    `more` are further labellings of the same examples (families, say), tallied from the same
    verdicts: each prediction is judged once.
    """
    labellings = (splits, *more)
    if any(len(labels) != len(predictions) for labels in (references, *labellings)):
        raise ValueError("predictions, references and splits differ in length")
    tallies: dict[str, list[int]] = {}
    for i, (prediction, reference) in enumerate(zip(predictions, references, strict=True)):
        verdict = judge(prediction, reference)
        for key in (*(labels[i] for labels in labellings), "all"):
            tally = tallies.setdefault(key, [0, 0, 0])
            tally[0] += 1
            tally[1] += verdict.correct
            tally[2] += verdict.approx_correct
    return {key: {"n": n, "correct": 100.0 * c / n, "approx_correct": 100.0 * a / n}
            for key, (n, c, a) in tallies.items()}
