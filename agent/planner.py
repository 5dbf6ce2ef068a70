"""The experiment planner: what the scientist does next, given everything in the store.

The state is rebuilt from the store before every decision, so a resumed campaign decides
exactly what the uninterrupted one would have. Two strategies share the same instruments and
the same acceptance test; only the choice of experiments differs:

- ``adaptive`` (Adam-like): every candidate action is scored by the hypotheses it can settle
  per unit of estimated cost; cheap, decisive steps (testing an open hypothesis, searching new
  data, applying an accepted general rule) come before buying new functions, the cheapest
  family is explored first, and a line of inquiry closes as soon as its rule is accepted.
- ``random`` (the paper's way, the baseline): a batch of random functions per family, then
  search, then the same falsification; the power law only once every polynomial is settled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eudoxus.agent.config import CampaignConfig
from eudoxus.memory.records import Hypothesis, Rule
from eudoxus.tools.families import Family
from eudoxus.tools.generalize import monomial_terms

OPEN = ("proposed", "testing")
# Cost model in seconds. Deliberately a fixed prior, not measured times: a plan that depended
# on timings would make campaigns irreproducible from their seed.
INTEGRATION_COST = 0.003
SEARCH_COST = 0.2
SR_COST_PER_PARAMETER = 0.2


@dataclass
class Line:
    """One line of inquiry: what is known about one family's integral."""

    family: Family
    family_id: int
    n_observations: int = 0
    searched_at: int = -1  # observations seen by the latest search (-1: never searched)
    form: Hypothesis | None = None
    open_integrals: list[Hypothesis] = field(default_factory=list)
    refuted_integrals: int = 0
    failed_searches: int = 0
    explorations: int = 0  # batches of functions regressed
    rule: Rule | None = None
    deduced: bool = False  # a hypothesis was already deduced from the power law

    @property
    def settled(self) -> bool:
        return self.rule is not None

    def abandoned(self, config: CampaignConfig) -> bool:
        """Closed without a rule: too many refuted or failed searches, or too many batches
        whose fits never came together (a form outside the engine's grammar)."""
        if self.settled or self.open_integrals:
            return False
        failures = self.refuted_integrals + self.failed_searches
        return failures >= config.max_attempts or self.explorations >= config.max_attempts + 2

    @property
    def polynomial(self) -> bool:
        return monomial_terms(self.family.template) is not None


@dataclass
class LabState:
    """Everything the planner looks at, rebuilt from the store."""

    lines: dict[str, Line]
    meta_open: list[Hypothesis] = field(default_factory=list)
    meta_rule: Rule | None = None
    meta_refuted: int = 0
    functions: int = 0
    tool_calls: int = 0
    rules: int = 0  # accepted per-family rules of the run
    model_rules: int | None = None  # rules at the latest training attempt (None: never)
    has_model: bool = False  # a training succeeded
    guessed: set[str] = field(default_factory=set)  # families the latest model has guessed

    def powers_with_rules(self) -> set[int]:
        """Powers of x covered by accepted polynomial rules (the data a power law is sought in)."""
        return {k for line in self.lines.values() if line.polynomial and line.settled
                for k in monomial_terms(line.family.template).values()}


@dataclass(frozen=True)
class Action:
    """A next step: kind, its target family (if any), size, design and why it was chosen."""

    kind: str  # explore | search | falsify | generalize | deduce | retrain | guess
    family: str | None = None
    n: int = 0
    design: str = "random"
    hypothesis_ids: tuple[int, ...] = ()
    why: str = ""

    def describe(self) -> str:
        """One line for logs and the live view."""
        target = f" {self.family}" if self.family else ""
        size = f" n={self.n}" if self.n else ""
        design = f" ({self.design})" if self.kind in ("explore", "falsify") else ""
        return f"{self.kind}{target}{size}{design}: {self.why}"


@dataclass(frozen=True)
class Scored:
    action: Action
    value: float  # hypotheses it can settle or advance
    cost: float  # estimated seconds

    @property
    def score(self) -> float:
        return self.value / max(self.cost, 1e-6)


def _first_batch(line: Line, config: CampaignConfig) -> int:
    return config.first_batch or len(line.family.parameters) + 4


def _sr_cost(line: Line) -> float:
    return SR_COST_PER_PARAMETER * max(1, len(line.family.parameters))


def _line_actions(line: Line, state: LabState, config: CampaignConfig) -> list[Scored]:
    """What could be done next on one line, each with its value and cost."""
    if line.settled or line.abandoned(config):
        return []
    if line.open_integrals:
        ids = tuple(h.hypothesis_id for h in line.open_integrals)
        design = "disagreement" if len(ids) > 1 else "fresh"
        return [Scored(Action("falsify", line.family.name, config.falsify_n, design, ids,
                              f"test {len(ids)} open rule(s) on fresh functions"),
                       len(ids), config.falsify_n * INTEGRATION_COST)]
    if line.n_observations > line.searched_at and line.n_observations >= _first_batch(
            line, config):
        return [Scored(Action("search", line.family.name,
                              why=f"{line.n_observations} observations not yet searched"),
                       1.0, SEARCH_COST)]
    actions: list[Scored] = []
    if (config.deduce and config.strategy == "adaptive" and state.meta_rule is not None
            and line.polynomial and not line.deduced):
        actions.append(Scored(Action("deduce", line.family.name,
                                     why=f"apply power rule #{state.meta_rule.rule_id}"),
                              1.0, SEARCH_COST))
    n = config.random_batch if config.strategy == "random" else _first_batch(line, config)
    value = 0.9 if line.n_observations == 0 else 0.5  # more data after a failure helps less
    reason = "first look" if line.n_observations == 0 else "more data after a failed search"
    actions.append(Scored(Action("explore", line.family.name, n, "random", why=reason),
                          value, n * _sr_cost(line)))
    return actions


def _meta_actions(state: LabState, config: CampaignConfig) -> list[Scored]:
    if state.meta_rule is not None:
        return []
    if state.meta_open:
        ids = tuple(h.hypothesis_id for h in state.meta_open)
        return [Scored(Action("falsify", None, config.falsify_n, "one-factor", ids,
                              "test the power law on exponents never searched"),
                       2.0, config.falsify_n * INTEGRATION_COST)]
    if state.meta_refuted >= config.max_attempts:
        return []
    polynomial = [line for line in state.lines.values() if line.polynomial]
    powers = state.powers_with_rules()
    if config.strategy == "random":
        ready = bool(polynomial) and all(line.settled for line in polynomial) and len(
            powers) >= 2
    else:
        ready = len(powers) >= config.meta_min_powers
    if not ready:
        return []
    covered = sum(1 for line in polynomial if not line.settled)
    return [Scored(Action("generalize", why=f"{len(powers)} powers have accepted rules"),
                   1.0 + covered, SEARCH_COST)]


def _model_actions(state: LabState, config: CampaignConfig,
                   others: Sequence[Scored]) -> list[Scored]:
    """Retrain the intuition when enough new rules came in (or at the end, on what is new),
    then let it guess the integrals of functions of every family still without a rule."""
    if config.model_seconds <= 0:
        return []
    new = state.rules - (state.model_rules or 0)
    pending_tests = any(s.action.kind == "falsify" for s in others)
    if new > 0 and not pending_tests and (new >= config.retrain_after or not others):
        return [Scored(Action("retrain", why=f"{new} rule(s) since the last training"),
                       float(new), config.model_seconds)]
    if not state.has_model:
        return []
    return [Scored(Action("guess", line.family.name, config.model_guesses, "random",
                          why="the intuition guesses; the measured area decides"),
                   0.5, config.model_guesses * INTEGRATION_COST + SEARCH_COST)
            for line in state.lines.values()
            if not line.settled and line.family.name not in state.guessed]


def next_action(state: LabState, config: CampaignConfig) -> Action | None:
    """The most valuable next step per unit cost, or None when every line is closed."""
    candidates: list[Scored] = _meta_actions(state, config)
    for line in state.lines.values():
        candidates.extend(_line_actions(line, state, config))
    model = _model_actions(state, config, candidates)
    if any(s.action.kind == "retrain" for s in model):
        return model[0].action  # a due retraining goes first: the intuition is stale
    candidates.extend(model)
    if not candidates:
        return _keep_exploring(state, config) if config.keep_exploring else None
    if config.strategy == "random":
        return _random_choice(candidates, state)
    # max() keeps the first of equal scores, and lines are in config order: deterministic.
    return max(candidates, key=lambda s: s.score).action


def _keep_exploring(state: LabState, config: CampaignConfig) -> Action | None:
    """Soak mode after every line closed: fresh functions of the least explored family."""
    if not state.lines:
        return None
    # Batches, not observations: a family whose fits fail would otherwise be picked forever.
    line = min(state.lines.values(), key=lambda ln: ln.explorations)  # ties: config order
    return Action("explore", line.family.name, config.random_batch, "random",
                  why="keep exploring (soak mode): every line of inquiry is closed")


def _random_choice(candidates: Sequence[Scored], state: LabState) -> Action:
    """The baseline's fixed order: test, search, generalize, then explore round-robin (the
    family with the fewest observations, ties in config order)."""
    for kind in ("falsify", "search", "generalize", "guess"):
        for scored in candidates:
            if scored.action.kind == kind:
                return scored.action
    explore = [s.action for s in candidates if s.action.kind == "explore"]
    return min(explore, key=lambda a: state.lines[a.family].n_observations)
