"""The planner's choices on hand-built states, and campaign configuration."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from eudoxus.agent.config import PRESETS, CampaignConfig, ConfigError, load_config
from eudoxus.agent.planner import LabState, Line, next_action
from eudoxus.memory.records import Hypothesis, Rule
from eudoxus.tools.families import get_family

NOW = datetime(2026, 1, 1)


def _hypothesis(hid: int, statement: str = "a0*x", status: str = "proposed",
                kind: str = "coefficient") -> Hypothesis:
    return Hypothesis(hid, "r", kind, 1, None, "integral", statement, status, None, {}, NOW, NOW)


def _rule(rid: int, family: str, statement: str, kind: str = "coefficient") -> Rule:
    return Rule(rid, "r", 1, 1, kind, "", statement, "", "", [], "accepted", 1, 8, 0.0, True,
                "", {}, NOW, family)


def _state(*names: str, **lines: dict) -> LabState:
    state = {n: Line(get_family(n), i + 1) for i, n in enumerate(names)}
    for name, changes in lines.items():
        for key, value in changes.items():
            setattr(state[name], key, value)
    return LabState(lines=state)


def _config(**overrides) -> CampaignConfig:
    return load_config("paper").with_overrides(**overrides)


def test_open_hypotheses_are_tested_before_anything_is_bought() -> None:
    state = _state("poly0", "exp", exp={"open_integrals": [_hypothesis(7)],
                                        "n_observations": 7, "searched_at": 7})
    action = next_action(state, _config())
    assert action.kind == "falsify" and action.family == "exp" and action.hypothesis_ids == (7,)


def test_rivals_get_a_discriminating_design() -> None:
    state = _state("sin", sin={"open_integrals": [_hypothesis(1), _hypothesis(2)]})
    assert next_action(state, _config()).design == "disagreement"


def test_new_observations_are_searched_before_more_are_sampled() -> None:
    state = _state("poly0", "poly2", poly2={"n_observations": 7, "searched_at": -1})
    assert next_action(state, _config()).kind == "search"


def test_adaptive_explores_the_cheapest_family_first() -> None:
    state = _state("poly6", "exp", "poly0")
    action = next_action(state, _config())
    assert (action.kind, action.family, action.n) == ("explore", "poly0", 5)


def test_random_baseline_explores_round_robin_with_its_batch() -> None:
    state = _state("poly6", "poly0", poly6={"n_observations": 20, "searched_at": 20,
                                            "failed_searches": 1})
    action = next_action(state, _config(strategy="random", random_batch=30))
    assert (action.kind, action.family, action.n) == ("explore", "poly0", 30)


def test_settled_and_abandoned_lines_close() -> None:
    state = _state("poly0", "exp", poly0={"rule": _rule(1, "poly0", "a0*x")},
                   exp={"failed_searches": 4, "n_observations": 28, "searched_at": 28})
    assert next_action(state, _config()) is None


def test_power_law_sought_once_enough_powers_and_then_applied() -> None:
    rules = {n: _rule(i, n, s) for i, (n, s) in enumerate(
        [("poly0", "a0*x"), ("poly1", "a0*x + a1*x**2/2"),
         ("poly2", "a0*x + a1*x**2/2 + a2*x**3/3")], 1)}
    state = _state("poly0", "poly1", "poly2", "poly5",
                   **{n: {"rule": r} for n, r in rules.items()})
    assert next_action(state, _config()).kind == "generalize"
    assert next_action(state, _config(meta_min_powers=4)).kind == "explore"
    state.meta_rule = _rule(9, None, "a*x**(n + 1)/(n + 1)", kind="meta")
    action = next_action(state, _config())
    assert (action.kind, action.family) == ("deduce", "poly5")
    assert next_action(state, _config(deduce=False)).kind == "explore"


def test_presets_load_and_validate() -> None:
    for name in PRESETS:
        config = load_config(name)
        assert config.preset == name and config.families
    paper = load_config("paper")
    assert set(paper.families) == {f"poly{d}" for d in range(7)} | {"exp", "sin", "cos"}
    assert CampaignConfig.from_dict(paper.to_dict()) == paper  # what a resume reads back


def test_config_file_overrides_its_preset(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('preset = "smoke"\nseed = 5\n[budget]\nfunctions = 99\n')
    config = load_config("paper", path)
    assert (config.preset, config.seed, config.functions) == ("smoke", 5, 99)


@pytest.mark.parametrize("text, message", [
    ("sed = 1", "unknown config key sed"),
    ("seed = 'one'", "seed must be an integer"),
    ('families = ["poly9"]', "unknown family poly9"),
    ('strategy = "clever"', "unknown strategy"),
    ("[budget]\nfunctions = 0", "functions must be at least 1"),
    ("seed = [", "c.toml"),
])
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config("paper", path)


def test_missing_config_file_and_unknown_preset(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config("paper", tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="unknown preset"):
        load_config("nope")


def test_the_intuition_is_off_unless_given_time() -> None:
    state = _state("poly0", "exp", poly0={"rule": _rule(1, "poly0", "a0*x")})
    state.rules = 5
    assert next_action(state, _config()).kind == "explore"


def test_retraining_waits_for_tests_then_goes_first_once_enough_rules_are_new() -> None:
    config = _config(model_seconds=60, retrain_after=3)
    testing = _state("poly0", "exp", exp={"open_integrals": [_hypothesis(7)]})
    testing.rules = 3
    assert next_action(testing, config).kind == "falsify"
    due = _state("poly0", "exp")
    due.rules = 3
    assert next_action(due, config).kind == "retrain"
    not_yet = _state("poly0", "exp")
    not_yet.rules, not_yet.model_rules, not_yet.has_model = 4, 2, True
    assert next_action(not_yet, config).kind != "retrain"


def test_a_trained_model_guesses_each_unsettled_family_once_and_ends_with_a_retraining() -> None:
    config = _config(model_seconds=60, retrain_after=3, model_guesses=5)
    state = _state("poly0", "exp", poly0={"rule": _rule(1, "poly0", "a0*x")},
                   exp={"n_observations": 7, "searched_at": 7, "failed_searches": 9})
    state.rules, state.model_rules, state.has_model = 1, 1, True
    action = next_action(state, config)
    assert (action.kind, action.family, action.n) == ("guess", "exp", 5)
    state.guessed = {"exp"}
    assert next_action(state, config) is None  # nothing new to learn from, nothing to do
    state.rules = 2
    assert next_action(state, config).kind == "retrain"  # the end: learn what is new
