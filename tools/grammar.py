"""The expression grammar of the default regression engine: basis terms and the skeletons they make.

A skeleton is  c·1 + Σ_{k≤d} c_k·x^k + Σ_j c_j·atom_j(x; θ),  where the atoms of one *block* share
nonlinear parameters θ. Atoms are built from a small grammar rather than a list of known answers:

    atom  := u(θ·x) | x·u(θ·x) | exp(θ₁·x)·v(θ₂·x) | w(x + θ) | x·log(x + θ) | x^θ | (x + θ₁)^θ₂
    u     := sin | cos | exp | sinh | cosh | atan        v := sin | cos        w := log | 1/·

Linear coefficients are solved in closed form; only θ is searched (variable projection).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

X = sp.Symbol("x")

NumpyAtom = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (x, theta) -> values
SympyAtom = Callable[[sp.Expr, list[sp.Expr]], sp.Expr]  # (x, theta) -> expression


@dataclass(frozen=True)
class Atom:
    """One basis function of a block, in numpy and in sympy form."""

    name: str
    values: NumpyAtom
    symbolic: SympyAtom
    size: int  # nodes it adds to an expression, for the complexity count


@dataclass(frozen=True)
class Block:
    """Atoms that share nonlinear parameters θ, with θ's bounds and a grid of starting points."""

    name: str
    atoms: tuple[Atom, ...]
    bounds: tuple[tuple[float, float], ...]
    start_grid: Callable[[float], np.ndarray]  # span T of the data -> (s, n_theta) starts
    max_degree: int = 2  # highest polynomial degree combined with this block

    @property
    def n_theta(self) -> int:
        """Number of nonlinear parameters."""
        return len(self.bounds)


@dataclass(frozen=True)
class Skeleton:
    """Monomials x^k for k in `powers` (0 = the constant), plus optionally one block's atoms."""

    powers: tuple[int, ...]
    block: Block | None = None
    atom_mask: tuple[bool, ...] | None = None

    @classmethod
    def polynomial(cls, degree: int, block: Block | None = None) -> Skeleton:
        """The full skeleton of a degree: constant, x, …, x^degree (and the block, if any)."""
        return cls(tuple(range(degree + 1)), block)

    @property
    def atoms(self) -> tuple[Atom, ...]:
        """The block atoms in use (all unless pruned)."""
        if self.block is None:
            return ()
        mask = self.atom_mask or (True,) * len(self.block.atoms)
        return tuple(a for a, keep in zip(self.block.atoms, mask, strict=True) if keep)

    @property
    def n_linear(self) -> int:
        """Number of linear coefficients."""
        return len(self.powers) + len(self.atoms)

    @property
    def n_theta(self) -> int:
        """Number of nonlinear parameters."""
        return self.block.n_theta if self.block else 0

    @property
    def n_params(self) -> int:
        """Free parameters: linear coefficients plus θ."""
        return self.n_linear + self.n_theta

    @property
    def label(self) -> str:
        """A short readable name such as 'poly3' or 'trig+poly1'."""
        poly = f"poly{max(self.powers)}" if self.powers else ""
        if self.block is None:
            return poly or "zero"
        return f"{self.block.name}+{poly}" if poly else self.block.name

    def design(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Design matrix (len(x), n_linear): the monomials, then the atoms at θ."""
        design = np.empty((len(x), self.n_linear))
        # The search probes θ where atoms are undefined (log of a negative shift); those give
        # non-finite columns, which the fit rejects, so the warnings are noise.
        with np.errstate(all="ignore"):
            for i, k in enumerate(self.powers):
                design[:, i] = x**k if k else 1.0
            for i, atom in enumerate(self.atoms, len(self.powers)):
                design[:, i] = atom.values(x, theta)
        return design

    def terms(self, theta: list[sp.Expr]) -> list[sp.Expr]:
        """The sympy terms that multiply each linear coefficient, in design-matrix order."""
        return [X**k for k in self.powers] + [atom.symbolic(X, theta) for atom in self.atoms]

    def without(self, column: int) -> Skeleton:
        """The same skeleton with one linear term (design-matrix column) removed."""
        if column < len(self.powers):
            powers = self.powers[:column] + self.powers[column + 1:]
            return Skeleton(powers, self.block, self.atom_mask)
        mask = list(self.atom_mask or (True,) * len(self.block.atoms))
        used = [i for i, keep in enumerate(mask) if keep]
        mask[used[column - len(self.powers)]] = False
        return Skeleton(self.powers, self.block, tuple(mask))

    def size(self) -> int:
        """Expression-tree size, the complexity reported for a candidate."""
        monomials = sum(1 if k == 0 else 3 if k == 1 else 5 for k in self.powers)
        return monomials + sum(atom.size + 2 for atom in self.atoms)


def _lin(lo: float, hi: float, n: int) -> Callable[[float], np.ndarray]:
    """Starts evenly spaced in [lo, hi]·(4/T), as a column."""
    return lambda span: (np.linspace(lo, hi, n) * 4.0 / span)[:, None]


def _geo(lo: float, hi: float, n: int) -> Callable[[float], np.ndarray]:
    """Starts spaced geometrically in [lo, hi]·(T/4) (for shifts), as a column."""
    return lambda span: (np.geomspace(lo, hi, n) * span / 4.0)[:, None]


def _lin_geo(lo: float, hi: float, n: int) -> Callable[[float], np.ndarray]:
    """Rates spaced geometrically in [lo, hi]·(4/T), as a column."""
    return lambda span: (np.geomspace(lo, hi, n) * 4.0 / span)[:, None]


def _frequency_grid(span: float) -> np.ndarray:
    # Frequencies must be sampled finer than the spacing of the residual's local minima
    # (about π/(2T)); geometric at the low end, linear above.
    low = np.geomspace(0.02, 0.5, 8)
    high = np.arange(0.6, 16.0, 0.15)
    return (np.concatenate([low, high]) * 4.0 / span)[:, None]


def _rate_grid(span: float) -> np.ndarray:
    rates = np.concatenate([-np.geomspace(0.02, 6.0, 24)[::-1], np.geomspace(0.02, 6.0, 24)])
    return (rates * 4.0 / span)[:, None]


def _grid2(first: Callable[[float], np.ndarray],
           second: Callable[[float], np.ndarray]) -> Callable[[float], np.ndarray]:
    def grid(span: float) -> np.ndarray:
        a, b = first(span)[:, 0], second(span)[:, 0]
        return np.stack(np.meshgrid(a, b, indexing="ij"), axis=-1).reshape(-1, 2)

    return grid


def _unary(name: str, fn: Callable, sym: Callable) -> Atom:
    return Atom(f"{name}(t0*x)", lambda x, t: fn(t[0] * x), lambda x, t: sym(t[0] * x), 3)


def _times_x(atom: Atom) -> Atom:
    return Atom(f"x*{atom.name}", lambda x, t: x * atom.values(x, t),
                lambda x, t: x * atom.symbolic(x, t), atom.size + 2)


SIN = _unary("sin", np.sin, sp.sin)
COS = _unary("cos", np.cos, sp.cos)
EXP = _unary("exp", np.exp, sp.exp)
SINH = _unary("sinh", np.sinh, sp.sinh)
COSH = _unary("cosh", np.cosh, sp.cosh)
ATAN = _unary("atan", np.arctan, sp.atan)
EXP_SIN = Atom("exp(t0*x)*sin(t1*x)", lambda x, t: np.exp(t[0] * x) * np.sin(t[1] * x),
               lambda x, t: sp.exp(t[0] * x) * sp.sin(t[1] * x), 7)
EXP_COS = Atom("exp(t0*x)*cos(t1*x)", lambda x, t: np.exp(t[0] * x) * np.cos(t[1] * x),
               lambda x, t: sp.exp(t[0] * x) * sp.cos(t[1] * x), 7)
LOG_SHIFT = Atom("log(x+t0)", lambda x, t: np.log(x + t[0]), lambda x, t: sp.log(x + t[0]), 4)
RECIP_SHIFT = Atom("1/(x+t0)", lambda x, t: 1.0 / (x + t[0]), lambda x, t: 1 / (x + t[0]), 4)
POWER = Atom("x**t0", lambda x, t: x ** t[0], lambda x, t: x ** t[0], 3)
SHIFT_POWER = Atom("(x+t0)**t1", lambda x, t: (x + t[0]) ** t[1],
                   lambda x, t: (x + t[0]) ** t[1], 5)

_FREQ = ((1e-3, 200.0),)
_RATE = ((-50.0, 50.0),)
_SHIFT = ((1e-6, 1e4),)

# Blocks in order of preference among equally complex skeletons (simpler, commoner atoms first).
BLOCKS: tuple[Block, ...] = (
    Block("trig", (SIN, COS), _FREQ, _frequency_grid),
    Block("exp", (EXP,), _RATE, _rate_grid),
    Block("hyperbolic", (SINH, COSH), ((1e-3, 50.0),), _lin(0.02, 6.0, 40)),
    Block("log", (LOG_SHIFT,), _SHIFT, _geo(0.005, 50.0, 40)),
    Block("atan", (ATAN,), ((1e-3, 1e3),), _lin_geo(0.01, 100.0, 40)),
    Block("recip", (RECIP_SHIFT,), _SHIFT, _geo(0.005, 50.0, 40)),
    Block("power", (POWER,), ((1e-3, 12.0),), lambda s: np.linspace(0.05, 8.0, 80)[:, None]),
    Block("x-exp", (EXP, _times_x(EXP)), _RATE, _rate_grid, max_degree=1),
    Block("x-trig", (SIN, COS, _times_x(SIN), _times_x(COS)), _FREQ, _frequency_grid,
          max_degree=1),
    Block("x-log", (LOG_SHIFT, _times_x(LOG_SHIFT)), _SHIFT, _geo(0.005, 50.0, 40),
          max_degree=1),
    Block("shifted-power", (SHIFT_POWER,), ((1e-6, 1e4), (-6.0, 12.0)),
          _grid2(_geo(0.005, 50.0, 14), lambda s: np.linspace(-3.0, 6.0, 37)[:, None]),
          max_degree=1),
    Block("exp-trig", (EXP_SIN, EXP_COS), ((-50.0, 50.0), (1e-3, 200.0)),
          _grid2(_lin(-3.0, 3.0, 13), lambda s: (np.arange(0.2, 16.0, 0.3) * 4 / s)[:, None]),
          max_degree=1),
)

MAX_POLY_DEGREE = 8


def skeletons(blocks: tuple[Block, ...] = BLOCKS) -> list[Skeleton]:
    """Every full skeleton of the grammar, simplest first (parameter count, then block order)."""
    found = [Skeleton.polynomial(d) for d in range(MAX_POLY_DEGREE + 1)]
    found += [Skeleton.polynomial(d, b) for b in blocks for d in range(b.max_degree + 1)]
    order = {b.name: i for i, b in enumerate(blocks)}
    return sorted(found, key=lambda s: (s.n_params, order.get(s.block.name, -1) if s.block else -1,
                                        len(s.powers)))
