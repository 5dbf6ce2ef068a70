"""The evaluation domain of a family and the declarative constraints on its parameters."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from eudoxus.tools.expr import parse, to_numpy

X = "x"


def _fmt(value: float) -> str:
    """A short, readable number: 0.04, -3, 1e+300, nan."""
    value = float(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _natural_key(name: str) -> tuple:
    """Sort a2 before a10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _sorted_names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=_natural_key))


# ---- the evaluation domain -------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """Where a family is measured: the grid on [0, T], and a guard |f| <= max_abs on it."""

    T: float = 4.0
    n_points: int = 10_000
    max_abs: float = 1e8

    def __post_init__(self) -> None:
        if not (math.isfinite(self.T) and self.T > 0):
            raise ValueError(f"domain T must be a positive finite number, not {self.T!r}")
        if isinstance(self.n_points, bool) or int(self.n_points) != self.n_points \
                or self.n_points < 2:
            raise ValueError(f"domain n_points must be an integer >= 2, not {self.n_points!r}")
        if not self.max_abs > 0:
            raise ValueError(f"domain max_abs must be positive, not {self.max_abs!r}")
        object.__setattr__(self, "T", float(self.T))
        object.__setattr__(self, "n_points", int(self.n_points))
        object.__setattr__(self, "max_abs", float(self.max_abs))

    def grid(self) -> np.ndarray:
        """The evaluation grid: n_points evenly spaced on [0, T], both ends included."""
        return np.linspace(0.0, self.T, self.n_points)

    def to_dict(self) -> dict[str, Any]:
        return {"T": self.T, "n_points": self.n_points, "max_abs": self.max_abs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Domain:
        data = dict(data or {})
        unknown = set(data) - {"T", "n_points", "max_abs"}
        if unknown:
            raise ValueError(f"unknown domain keys: {', '.join(sorted(unknown))} "
                             "(expected T, n_points, max_abs)")
        return cls(**data)


# ---- constraints -----------------------------------------------------------------------------
# Each constraint is a small frozen dataclass with
#   names               the parameters it reads,
#   holds(columns, x)   a vectorised (n,) bool mask, columns mapping name -> (n,) values,
#   reason(row, x)      a one-line message for one violating parameter vector,
#   to_dict()           a JSON-able dict {"kind": ..., ...}; `constraint_from_dict` inverts it.


@dataclass(frozen=True)
class _ParameterConstraint:
    name: str

    kind: ClassVar[str] = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def describe(self) -> str:
        raise NotImplementedError

    def _holds(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def holds(self, columns: Mapping[str, np.ndarray], x: np.ndarray | None = None) -> np.ndarray:
        return self._holds(np.asarray(columns[self.name], dtype=float))

    def reason(self, row: Mapping[str, float], x: np.ndarray | None = None) -> str:
        return f"{self.name} = {_fmt(row[self.name])} violates {self.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}


@dataclass(frozen=True)
class MinAbs(_ParameterConstraint):
    """|name| >= value: keeps a coefficient away from zero, where the family changes form."""

    value: float = 0.1
    kind: ClassVar[str] = "min_abs"

    def describe(self) -> str:
        return f"|{self.name}| >= {_fmt(self.value)}"

    def _holds(self, values: np.ndarray) -> np.ndarray:
        return np.abs(values) >= self.value


@dataclass(frozen=True)
class NotZero(_ParameterConstraint):
    """name != 0."""

    kind: ClassVar[str] = "not_zero"

    def describe(self) -> str:
        return f"{self.name} != 0"

    def _holds(self, values: np.ndarray) -> np.ndarray:
        return values != 0


@dataclass(frozen=True)
class GreaterThan(_ParameterConstraint):
    """name > value (strict)."""

    value: float = 0.0
    kind: ClassVar[str] = "greater_than"

    def describe(self) -> str:
        return f"{self.name} > {_fmt(self.value)}"

    def _holds(self, values: np.ndarray) -> np.ndarray:
        return values > self.value


@dataclass(frozen=True)
class Positive(_ParameterConstraint):
    """name > 0."""

    kind: ClassVar[str] = "positive"

    def describe(self) -> str:
        return f"{self.name} > 0"

    def _holds(self, values: np.ndarray) -> np.ndarray:
        return values > 0


@dataclass(frozen=True)
class AtLeast(_ParameterConstraint):
    """name >= value."""

    value: float = 0.0
    kind: ClassVar[str] = "at_least"

    def describe(self) -> str:
        return f"{self.name} >= {_fmt(self.value)}"

    def _holds(self, values: np.ndarray) -> np.ndarray:
        return values >= self.value


@functools.lru_cache(maxsize=256)
def _compiled_guard(expression: str) -> tuple[tuple[str, ...], Callable[..., np.ndarray]]:
    parsed = parse(expression)
    names = _sorted_names(s.name for s in parsed.free_symbols if s.name != X)
    return names, to_numpy(parsed, (X, *names))


@dataclass(frozen=True)
class PositiveOnDomain:
    """A domain guard: `expression` (in x and parameters) > 0 (>= 0 if not strict) on the grid.

    For example ``PositiveOnDomain("x + a2")`` keeps the pole of a1/(x + a2) off [0, T]. The
    check runs on the evaluation grid, which includes both ends of [0, T].
    """

    expression: str
    strict: bool = True
    kind: ClassVar[str] = "positive_on_domain"

    def __post_init__(self) -> None:
        if not isinstance(self.expression, str):
            raise ValueError("PositiveOnDomain expression must be a str")
        _compiled_guard(self.expression)  # parses it: an ExprError for bad text

    @property
    def names(self) -> tuple[str, ...]:
        return _compiled_guard(self.expression)[0]

    def describe(self) -> str:
        return f"{self.expression} {'>' if self.strict else '>='} 0 on the domain"

    def _values(self, columns: Mapping[str, np.ndarray], x: np.ndarray, n: int) -> np.ndarray:
        names, compiled = _compiled_guard(self.expression)
        args = [np.asarray(columns[name], dtype=float)[:, None] for name in names]
        return np.broadcast_to(compiled(np.asarray(x, dtype=float)[None, :], *args),
                               (n, len(x)))

    def _ok(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (values > 0) if self.strict else (values >= 0)  # nan fails either way

    def holds(self, columns: Mapping[str, np.ndarray], x: np.ndarray | None = None) -> np.ndarray:
        if x is None:
            raise ValueError("PositiveOnDomain needs the evaluation grid x")
        n = len(next(iter(columns.values()))) if columns else 1
        return np.all(self._ok(self._values(columns, x, n)), axis=1)

    def reason(self, row: Mapping[str, float], x: np.ndarray | None = None) -> str:
        names = self.names
        values = self._values({name: np.array([row[name]]) for name in names}, x, 1)[0]
        bad = int(np.argmax(~self._ok(values)))
        where = ", ".join(f"{name} = {_fmt(row[name])}" for name in names)
        return (f"{self.expression} = {_fmt(values[bad])} at x = {x[bad]:.4g} ({where}) "
                f"violates {self.describe()} [0, {_fmt(x[-1])}]")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "expression": self.expression, "strict": self.strict}


Constraint = MinAbs | NotZero | GreaterThan | Positive | AtLeast | PositiveOnDomain
_CONSTRAINT_KINDS: dict[str, type] = {
    cls.kind: cls for cls in (MinAbs, NotZero, GreaterThan, Positive, AtLeast, PositiveOnDomain)
}


def constraint_from_dict(data: Mapping[str, Any]) -> Constraint:
    """Rebuild a constraint from its `to_dict()` form."""
    data = dict(data)
    kind = data.pop("kind", None)
    if kind not in _CONSTRAINT_KINDS:
        raise ValueError(f"unknown constraint kind {kind!r} "
                         f"(known: {', '.join(sorted(_CONSTRAINT_KINDS))})")
    try:
        return _CONSTRAINT_KINDS[kind](**data)
    except TypeError as exc:
        raise ValueError(f"bad {kind} constraint {data!r}: {exc}") from None


def _as_constraint(item: Any) -> Constraint:
    if isinstance(item, tuple(_CONSTRAINT_KINDS.values())):
        return item
    if isinstance(item, Mapping):
        return constraint_from_dict(item)
    raise ValueError(f"not a constraint: {item!r}")


# ---- the family ------------------------------------------------------------------------------
