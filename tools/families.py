"""Function families as data: a template in x with parameters, their ranges and constraints.

A `Family` is a safe-parser template such as ``a4*exp(a3*x) + a0`` plus everything a sampler
needs to draw valid members of it: an ordered parameter tuple, a uniform range per parameter,
small declarative constraints (``|a3| >= 0.1``, ``x + a2 > 0 on [0, T]``) and the evaluation
`Domain` (the interval [0, T], its grid and a guard on |f|). Every template goes through
`expr.parse`; nothing here hands text to eval or sympy's string parser, and nothing here knows
any calculus. The built-in registry `FAMILIES` is a table of templates (the paper's polynomials,
sin, cos and exp, and a set of families beyond the paper), each built with `Family.from_template`.

`Family.evaluate(params, x)` compiles the template once per family (lazily; the compiled function
is not pickled, so families travel to process pools) and evaluates a whole batch of parameter
vectors in one broadcast numpy call. `to_record`/`from_record` map a family to the keyword
arguments of the store's `upsert_family` and back.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from eudoxus.tools.constraints import (
    AtLeast,
    Constraint,
    Domain,
    GreaterThan,
    MinAbs,
    NotZero,
    Positive,
    PositiveOnDomain,
    X,
    _as_constraint,
    _fmt,
    _sorted_names,
    constraint_from_dict,
)
from eudoxus.tools.expr import canonical, parse, to_numpy

__all__ = [
    "FAMILIES", "AtLeast", "Constraint", "Domain", "Family", "GreaterThan", "MinAbs", "NotZero",
    "Positive", "PositiveOnDomain", "beyond_paper_families", "constraint_from_dict",
    "get_family", "paper_families",
]

DEFAULT_RANGE = (-10.0, 10.0)


def _check_range(name: str, bounds: Any) -> tuple[float, float]:
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"range for {name} must be a pair (low, high), not {bounds!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"range for {name} must be finite, not ({low}, {high})")
    if low >= high:
        raise ValueError(f"range for {name} is empty: low {_fmt(low)} >= high {_fmt(high)}")
    return low, high


@dataclass(frozen=True)
class Family:
    """A parametric function family: a template in x, parameter ranges and constraints."""

    name: str
    template: sympy.Expr
    template_text: str
    parameters: tuple[str, ...]
    ranges: dict[str, tuple[float, float]] = field(hash=False)
    constraints: tuple[Constraint, ...] = ()
    domain: Domain = field(default_factory=Domain)
    decimals: int | None = 2
    paper: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("family name must be a non-empty str")
        if isinstance(self.template, str):
            object.__setattr__(self, "template", parse(self.template))
        parameters = tuple(self.parameters)
        if len(set(parameters)) != len(parameters) or X in parameters:
            raise ValueError(f"family {self.name}: bad parameter list {parameters}")
        symbols = {s.name for s in self.template.free_symbols} - {X}
        if symbols != set(parameters):
            raise ValueError(f"family {self.name}: parameters {list(parameters)} do not match "
                             f"the template's symbols {list(_sorted_names(symbols))}")
        ranges = dict(self.ranges)
        unknown = [name for name in ranges if name not in parameters]
        if unknown:
            raise ValueError(f"family {self.name}: range given for unknown parameter "
                             f"{', '.join(unknown)} (parameters: {', '.join(parameters)})")
        missing = [name for name in parameters if name not in ranges]
        if missing:
            raise ValueError(f"family {self.name}: no range for {', '.join(missing)}")
        ranges = {name: _check_range(name, ranges[name]) for name in parameters}
        constraints = tuple(_as_constraint(c) for c in self.constraints)
        for constraint in constraints:
            extra = [n for n in constraint.names if n not in parameters]
            if extra:
                raise ValueError(f"family {self.name}: constraint {constraint.describe()} "
                                 f"names unknown parameter {', '.join(extra)}")
        domain = self.domain if isinstance(self.domain, Domain) else Domain.from_dict(
            self.domain)
        if self.decimals is not None and (isinstance(self.decimals, bool)
                                          or int(self.decimals) != self.decimals
                                          or not 0 <= self.decimals <= 12):
            raise ValueError(f"decimals must be None or an integer in 0..12, "
                             f"not {self.decimals!r}")
        object.__setattr__(self, "parameters", parameters)
        object.__setattr__(self, "ranges", ranges)
        object.__setattr__(self, "constraints", constraints)
        object.__setattr__(self, "domain", domain)
        if self.decimals is not None:
            object.__setattr__(self, "decimals", int(self.decimals))
        if not self.template_text:
            object.__setattr__(self, "template_text", canonical(self.template))

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_template(
        cls,
        name: str,
        text: str,
        ranges: Mapping[str, Sequence[float]] | None = None,
        constraints: Iterable[Constraint | Mapping[str, Any]] = (),
        domain: Domain | Mapping[str, Any] | None = None,
        decimals: int | None = 2,
        description: str = "",
        *,
        paper: bool = False,
        parameters: Sequence[str] | None = None,
        symbols: Iterable[str] | None = None,
        allow_constant: bool = False,
    ) -> Family:
        """A family from a template string, through the safe parser.

        Parameters are the template's symbols other than x, sorted by name (a2 before a10),
        unless `parameters` fixes an order (a stored family's positional order). A parameter
        without a range gets (-10, 10). `symbols` widens the parser's allowed names (default:
        x and a0..a9). A template without x is refused unless `allow_constant` (poly0).
        """
        template = parse(text, symbols=symbols)
        found = {s.name for s in template.free_symbols}
        if X not in found and not allow_constant:
            raise ValueError(f"template {text!r} of family {name!r} does not contain x")
        names = _sorted_names(found - {X})
        if parameters is not None:
            parameters = tuple(parameters)
            if set(parameters) != set(names) or len(parameters) != len(names):
                raise ValueError(f"family {name!r}: parameters {list(parameters)} do not match "
                                 f"the template's symbols {list(names)}")
            names = parameters
        ranges = dict(ranges or {})
        unknown = [p for p in ranges if p not in names]
        if unknown:
            raise ValueError(f"family {name!r}: range given for {', '.join(map(str, unknown))}, "
                             f"which is not a parameter of {text!r} "
                             f"(parameters: {', '.join(names) or 'none'})")
        full = {p: ranges.get(p, DEFAULT_RANGE) for p in names}
        return cls(name=name, template=template, template_text=canonical(template),
                   parameters=names, ranges=full, constraints=tuple(constraints),
                   domain=domain if domain is not None else Domain(), decimals=decimals,
                   paper=paper, description=description)

    def to_record(self) -> dict[str, Any]:
        """The store's `upsert_family` arguments: name, template, parameters, ranges, ...

        The record is JSON-able; `decimals` travels inside the domain dict (the store keeps
        only these six fields).
        """
        return {
            "name": self.name,
            "template": self.template_text,
            "parameters": list(self.parameters),
            "ranges": {p: [lo, hi] for p, (lo, hi) in self.ranges.items()},
            "constraints": [c.to_dict() for c in self.constraints],
            "domain": {**self.domain.to_dict(), "decimals": self.decimals},
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | Any) -> Family:
        """A family from `to_record()` output, or from a stored row (an object with fields)."""
        if not isinstance(record, Mapping):
            record = {key: getattr(record, key) for key in
                      ("name", "template", "parameters", "ranges", "constraints", "domain")
                      if hasattr(record, key)}
        for key in ("name", "template"):
            if key not in record:
                raise ValueError(f"family record lacks {key!r}")
        domain = dict(record.get("domain") or {})
        decimals = domain.pop("decimals", 2)
        decimals = record.get("decimals", decimals)
        known = FAMILIES.get(record["name"])
        description = record.get("description", "")
        paper = bool(record.get("paper", False))
        if known is not None and known.template_text == record["template"]:
            description = description or known.description
            paper = paper or known.paper
        parameters = record.get("parameters")
        template = parse(record["template"])
        return cls.from_template(
            record["name"], record["template"], ranges=record.get("ranges") or {},
            constraints=record.get("constraints") or (), domain=Domain.from_dict(domain),
            decimals=decimals, description=description, paper=paper,
            parameters=parameters, allow_constant=X not in {s.name for s in
                                                            template.free_symbols},
        )

    # -- evaluation ----------------------------------------------------------------------------

    @functools.cached_property
    def _compiled(self) -> Callable[..., np.ndarray]:
        # Compiled once per instance, from the parsed tree (never from text); not pickled.
        return to_numpy(self.template, (X, *self.parameters))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_compiled", None)
        return state

    def evaluate(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """f for each parameter row on the grid: params (n, k), x (m,) -> (n, m) float64.

        One broadcast numpy call for the whole batch; undefined points come back as nan,
        overflow as inf (errors ignored).
        """
        params = np.asarray(params, dtype=float)
        if params.ndim == 1:
            params = params[None, :]
        if params.ndim != 2 or params.shape[1] != len(self.parameters):
            raise ValueError(f"family {self.name} takes params of shape (n, "
                             f"{len(self.parameters)}), not {params.shape}")
        x = np.asarray(x, dtype=float)
        if x.ndim != 1:
            raise ValueError(f"x must be 1-D, not shape {x.shape}")
        n, m = params.shape[0], x.shape[0]
        if n == 0 or m == 0:
            return np.empty((n, m))
        columns = [params[:, i:i + 1] for i in range(params.shape[1])]
        with np.errstate(all="ignore"):
            values = self._compiled(x[None, :], *columns)
        return np.array(np.broadcast_to(values, (n, m)), dtype=float)

    # -- members -------------------------------------------------------------------------------

    def values_dict(self, values: Sequence[float] | Mapping[str, float]) -> dict[str, float]:
        """Parameter values by name, checked: all parameters, no unknown names, finite."""
        if isinstance(values, Mapping):
            unknown = [k for k in values if k not in self.parameters]
            missing = [p for p in self.parameters if p not in values]
            if unknown or missing:
                raise ValueError(f"family {self.name} takes {', '.join(self.parameters)}; "
                                 + (f"unknown: {', '.join(map(str, unknown))} " if unknown
                                    else "")
                                 + (f"missing: {', '.join(missing)}" if missing else ""))
            result = {p: float(values[p]) for p in self.parameters}
        else:
            vector = np.asarray(values, dtype=float).ravel()
            if vector.shape[0] != len(self.parameters):
                raise ValueError(f"family {self.name} takes {len(self.parameters)} values "
                                 f"({', '.join(self.parameters)}), not {vector.shape[0]}")
            result = dict(zip(self.parameters, map(float, vector), strict=True))
        bad = [p for p, v in result.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"values for {', '.join(bad)} are not finite")
        return result

    def instantiate(self, values: Sequence[float] | Mapping[str, float]) -> sympy.Expr:
        """The member with these parameter values, as a sympy expression in x."""
        numbers = self.values_dict(values)
        substitution = {sympy.Symbol(p): _number(v) for p, v in numbers.items()}
        return self.template.xreplace(substitution)

    def integrand_text(self, values: Sequence[float] | Mapping[str, float]) -> str:
        """The member's canonical text in the safe-parser syntax."""
        return canonical(self.instantiate(values))

    def describe_constraints(self) -> list[str]:
        return [c.describe() for c in self.constraints]


def _number(value: float) -> sympy.Expr:
    if value == int(value) and abs(value) < 2**53:
        return sympy.Integer(int(value))
    return sympy.Float(repr(value), precision=53)


# ---- the built-in registry -------------------------------------------------------------------

_COEF = (-10.0, 10.0)


def _poly(degree: int) -> Family:
    terms = [f"a{k}*x**{k}" if k > 1 else ("a1*x" if k == 1 else "a0")
             for k in range(degree, -1, -1)]
    return Family.from_template(
        f"poly{degree}", " + ".join(terms),
        ranges={f"a{k}": _COEF for k in range(degree + 1)},
        constraints=(MinAbs(f"a{degree}", 0.1),),
        description=f"polynomial of degree {degree}; coefficients in [-10, 10], "
                    f"leading |a{degree}| >= 0.1 (the paper's family)",
        paper=True, allow_constant=degree == 0,
    )


# name, template, ranges, constraints, description. Ranges keep every member finite and
# well below the |f| guard on [0, 4]; MinAbs keeps coefficients off zero where the form would
# change (a vanishing frequency, amplitude or rate).
_TABLE: tuple[tuple[str, str, dict, tuple, str, bool], ...] = (
    ("sin", "a4*sin(a3*x) + a0", {"a0": _COEF, "a3": _COEF, "a4": _COEF},
     (MinAbs("a3", 0.1), MinAbs("a4", 0.1)),
     "a4*sin(a3*x) + a0, constants in [-10, 10], |a3|, |a4| >= 0.1 (the paper's family)", True),
    ("cos", "a4*cos(a3*x) + a0", {"a0": _COEF, "a3": _COEF, "a4": _COEF},
     (MinAbs("a3", 0.1), MinAbs("a4", 0.1)),
     "a4*cos(a3*x) + a0, constants in [-10, 10], |a3|, |a4| >= 0.1 (the paper's family)", True),
    ("exp", "a4*exp(a3*x) + a0", {"a0": _COEF, "a3": (-3.0, 3.0), "a4": _COEF},
     (MinAbs("a3", 0.1), MinAbs("a4", 0.1)),
     "a4*exp(a3*x) + a0 (the paper's family); a0, a4 in [-10, 10] but the rate a3 is bounded "
     "to [-3, 3] so |f| <= 10*e^12 ~ 1.6e6 stays finite and well-scaled on [0, 4]; "
     "|a3|, |a4| >= 0.1", True),
    ("power", "a1*x**a2", {"a1": _COEF, "a2": (0.1, 4.0)},
     (MinAbs("a1", 0.1), Positive("a2")),
     "a1*x**a2 with a real exponent a2 in (0.1, 4) (x >= 0, so defined; rounded a2 can land "
     "on an integer, where it is an ordinary monomial)", False),
    ("xexp", "a1*x*exp(a2*x)", {"a1": _COEF, "a2": (-2.0, 2.0)},
     (MinAbs("a1", 0.1), MinAbs("a2", 0.1)), "a1*x*exp(a2*x), a2 in [-2, 2]", False),
    ("xsin", "a1*x*sin(a2*x)", {"a1": _COEF, "a2": _COEF},
     (MinAbs("a1", 0.1), MinAbs("a2", 0.1)), "a1*x*sin(a2*x)", False),
    ("xcos", "a1*x*cos(a2*x)", {"a1": _COEF, "a2": _COEF},
     (MinAbs("a1", 0.1), MinAbs("a2", 0.1)), "a1*x*cos(a2*x)", False),
    ("recip", "a1/(x + a2)", {"a1": _COEF, "a2": (0.2, 5.0)},
     (MinAbs("a1", 0.1), PositiveOnDomain("x + a2")),
     "a1/(x + a2), a2 in [0.2, 5]; domain guard x + a2 > 0 on [0, T] keeps the pole away",
     False),
    ("expsin", "a1*exp(a2*x)*sin(a3*x)", {"a1": _COEF, "a2": (-2.0, 2.0), "a3": _COEF},
     (MinAbs("a1", 0.1), MinAbs("a2", 0.1), MinAbs("a3", 0.1)),
     "a1*exp(a2*x)*sin(a3*x), rate a2 in [-2, 2]", False),
    ("sinh", "a1*sinh(a2*x)", {"a1": _COEF, "a2": (-3.0, 3.0)},
     (MinAbs("a1", 0.1), MinAbs("a2", 0.1)), "a1*sinh(a2*x), a2 in [-3, 3]", False),
    ("cosh", "a1*cosh(a2*x)", {"a1": _COEF, "a2": (-3.0, 3.0)},
     (MinAbs("a1", 0.1), MinAbs("a2", 0.1)), "a1*cosh(a2*x), a2 in [-3, 3]", False),
    ("tanh", "a1*tanh(a2*x)", {"a1": _COEF, "a2": (-5.0, 5.0)},
     (MinAbs("a1", 0.1), MinAbs("a2", 0.1)), "a1*tanh(a2*x), a2 in [-5, 5]", False),
    ("lorentz", "a1/(1 + x**2)", {"a1": _COEF}, (MinAbs("a1", 0.1),),
     "a1/(1 + x**2)", False),
    ("sqrt", "a1*sqrt(x + a2)", {"a1": _COEF, "a2": (0.0, 10.0)},
     (MinAbs("a1", 0.1), PositiveOnDomain("x + a2", strict=False)),
     "a1*sqrt(x + a2), a2 in [0, 10]; domain guard x + a2 >= 0 on [0, T]", False),
    ("atanlike", "a1/(a2**2 + x**2)", {"a1": _COEF, "a2": (0.2, 5.0)},
     (MinAbs("a1", 0.1), MinAbs("a2", 0.2)),
     "a1/(a2**2 + x**2), a2 in [0.2, 5] and |a2| >= 0.2 so the peak a1/a2**2 stays moderate",
     False),
    ("log", "a1*log(x + a2)", {"a1": _COEF, "a2": (0.2, 5.0)},
     (MinAbs("a1", 0.1), PositiveOnDomain("x + a2")),
     "a1*log(x + a2), a2 in [0.2, 5]; domain guard x + a2 > 0 on [0, T]", False),
)


def _build_registry() -> dict[str, Family]:
    families = {f"poly{d}": _poly(d) for d in range(7)}
    for name, text, ranges, constraints, description, paper in _TABLE:
        families[name] = Family.from_template(name, text, ranges=ranges,
                                              constraints=constraints,
                                              description=description, paper=paper)
    return families


FAMILIES: dict[str, Family] = _build_registry()


def get_family(name: str) -> Family:
    """A built-in family by name; an unknown name is a ValueError that lists the known ones."""
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown family {name!r}; known: {', '.join(FAMILIES)}") from None


def paper_families() -> tuple[Family, ...]:
    """The paper's families: poly0..poly6, sin, cos, exp."""
    return tuple(f for f in FAMILIES.values() if f.paper)


def beyond_paper_families() -> tuple[Family, ...]:
    """The built-in families the paper did not use."""
    return tuple(f for f in FAMILIES.values() if not f.paper)

