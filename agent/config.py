"""Campaign configuration: TOML files and built-in presets, validated into one frozen dataclass."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

STRATEGIES = ("adaptive", "random")

_PAPER = ["poly0", "poly1", "poly2", "poly3", "poly4", "poly5", "poly6", "exp", "sin", "cos"]
_BEYOND = ["power", "xexp", "xsin", "xcos", "recip", "expsin", "sinh", "cosh", "tanh",
           "lorentz", "sqrt", "atanlike", "log"]

# Presets are TOML text, the same language a user's --config file speaks.
PRESETS: dict[str, str] = {
    "paper": f"""
        description = "the paper's families: polynomials of degree 0-6, exp, sin, cos"
        families = {_PAPER!r}
        [budget]
        functions = 2000
        wall_seconds = 600
    """,
    "beyond": f"""
        description = "families the paper never tried: x^r, x e^bx, x sin bx, 1/(x+c), ..."
        families = {_BEYOND!r}
        [budget]
        functions = 3000
        wall_seconds = 900
    """,
    "intuition": f"""
        description = "the paper's families, with the seq2seq intuition retrained as rules come in"
        families = {_PAPER!r}
        [budget]
        functions = 3000
        wall_seconds = 1800
        [planner]
        model_seconds = 120
        model_pairs = 30000
        model_target = "symbolic"
        retrain_after = 4
    """,
    "smoke": """
        description = "a seconds-long campaign for tests and demos: poly0, poly1, poly2, exp"
        families = ["poly0", "poly1", "poly2", "exp"]
        [budget]
        functions = 400
        wall_seconds = 120
        [planner]
        falsify_n = 12
        meta_min_powers = 9
    """,
}


class ConfigError(ValueError):
    """A campaign configuration that cannot be used, with a one-line reason."""


@dataclass(frozen=True)
class CampaignConfig:
    """Everything that decides what a campaign does; with the seed, it decides the outcome."""

    preset: str | None = "paper"
    description: str = ""
    families: tuple[str, ...] = tuple(_PAPER)
    strategy: str = "adaptive"
    seed: int = 0
    integrator: str = "trapezoid"
    engine: str = "grammar"
    workers: int = 2  # processes for independent regressions; 0 runs them in-process
    # budget
    functions: int = 2000  # measured functions (rejected draws are counted apart)
    tool_calls: int = 100_000
    wall_seconds: float = 600.0
    # planner
    first_batch: int = 0  # functions per family before the first search; 0: parameters + 4
    random_batch: int = 20  # the random baseline's functions per family per round
    falsify_n: int = 24  # fresh functions per falsification
    falsify_outside: float = 0.5  # share of them with parameters beyond the searched range
    falsify_tol: float = 1e-5  # eq. 1 error a prediction may have
    pass_fraction: float = 0.95  # share of predictions that must pass
    max_attempts: int = 4  # refuted searches before a line of inquiry is abandoned
    meta_min_powers: int = 3  # distinct powers with accepted rules before a power law is sought
    deduce: bool = True  # apply an accepted meta rule to families it covers, then test
    # Soak mode: once every line is closed, keep measuring and regressing fresh functions
    # (random_batch per family, round robin) until a budget ends, instead of stopping.
    keep_exploring: bool = False
    # intuition (the seq2seq model); off unless model_seconds > 0
    model_seconds: float = 0.0  # training budget per retraining
    model_pairs: int = 20_000  # training pairs made from the run's rules and fits
    model_test: int = 200  # held-out test functions per split, for the accuracy history
    model_arch: str = "bart"
    model_d: int = 128  # width (layers: 3 + 3)
    retrain_after: int = 3  # new accepted rules since the last training before retraining
    model_guesses: int = 8  # functions of each unsettled family the model guesses per training
    # decimal: the paper's format; symbolic: coefficients spelled as their laws (2.07/0.27),
    # worked out exactly before a guess is judged (it learns in minutes what decimals take hours)
    model_target: str = "decimal"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (stored with the run, so a resume uses exactly this)."""
        out = asdict(self)
        out["families"] = list(self.families)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CampaignConfig:
        """Validate a flat mapping of known keys."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"unknown config key {', '.join(unknown)}; known: "
                              f"{', '.join(known)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            default = getattr(cls, name, None) if name != "families" else ()
            values[name] = _coerce(name, value, default)
        return cls(**values).validated()

    def validated(self) -> CampaignConfig:
        """Check ranges and names; raise ConfigError naming the first problem."""
        from eudoxus.tools.families import FAMILIES
        from eudoxus.tools.integrate import INTEGRATORS
        from eudoxus.tools.regress import ENGINES

        if not self.families:
            raise ConfigError("a campaign needs at least one family")
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown:
            raise ConfigError(f"unknown family {', '.join(unknown)}; known: "
                              f"{', '.join(FAMILIES)}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {self.strategy!r}; choose from "
                              f"{', '.join(STRATEGIES)}")
        if self.integrator not in INTEGRATORS:
            raise ConfigError(f"unknown integrator {self.integrator!r}; choose from "
                              f"{', '.join(INTEGRATORS)}")
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}; choose from "
                              f"{', '.join(sorted(ENGINES))}")
        for name in ("functions", "tool_calls", "falsify_n", "random_batch", "max_attempts",
                     "meta_min_powers", "model_pairs", "model_test", "retrain_after",
                     "model_guesses", "model_d"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.wall_seconds <= 0:
            raise ConfigError(f"wall_seconds must be positive, not {self.wall_seconds}")
        if self.workers < 0 or self.first_batch < 0 or self.seed < 0:
            raise ConfigError("workers, first_batch and seed must not be negative")
        if not 0 <= self.falsify_outside <= 1 or not 0 < self.pass_fraction <= 1:
            raise ConfigError("falsify_outside must be in [0, 1] and pass_fraction in (0, 1]")
        if self.model_seconds < 0:
            raise ConfigError(f"model_seconds must not be negative, not {self.model_seconds}")
        if self.model_arch not in ("t5", "bart", "mbart"):
            raise ConfigError(f"unknown model_arch {self.model_arch!r}; choose from t5, bart, "
                              "mbart")
        if self.model_target not in ("decimal", "symbolic"):  # tools.pairs.TARGET_FORMATS
            raise ConfigError(f"unknown model_target {self.model_target!r}; choose from "
                              "decimal, symbolic")
        if not 0 < self.falsify_tol < 1:
            raise ConfigError(f"falsify_tol must be in (0, 1), not {self.falsify_tol}")
        return self

    def with_overrides(self, **overrides: Any) -> CampaignConfig:
        """A copy with the given (non-None) values replaced, validated."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if "families" in given:
            given["families"] = tuple(given["families"])
        return replace(self, **given).validated()


def _coerce(name: str, value: Any, default: Any) -> Any:
    if name == "families":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError("families must be a list of family names")
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, not {value!r}")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, not {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name} must be a number, not {value!r}")
        return float(value)
    if not isinstance(value, str) and value is not None:
        raise ConfigError(f"{name} must be a string, not {value!r}")
    return value


def _flatten(document: Mapping[str, Any]) -> dict[str, Any]:
    """[budget] and [planner] tables are for readability; their keys are unique overall."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if key in ("budget", "planner", "campaign") and isinstance(value, Mapping):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return _flatten(tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: {str(error).splitlines()[0]}") from None


def load_config(preset: str | None = "paper", path: str | Path | None = None) -> CampaignConfig:
    """A preset, then a TOML file over it (a file may name its own `preset`)."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
        data = _parse_toml(text, str(path))
        preset = data.pop("preset", preset)
    base: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        base = _parse_toml(PRESETS[preset], f"preset {preset}")
    base.update(data)
    base["preset"] = preset
    return CampaignConfig.from_dict(base)
