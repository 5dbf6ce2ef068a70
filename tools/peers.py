"""Peer symbolic-regression engines (gplearn, pyoperon) behind the `Engine` interface of
`tools.regress`, so `eudoxus bench sr --engine gplearn` scores a peer side by side with ours.

Both packages are optional (`pip install 'eudoxus[peers]'` brings gplearn; pyoperon, a compiled
wheel, is installed by hand): nothing here imports them, or the scikit-learn they pull in, until
an engine actually fits, and `register_peers` adds registry entries whose constructors fail with
a one-line `RuntimeError` only when their package is missing.

A peer's answer reaches sympy only through safe parsers, never eval, exec or sympify: a gplearn
program (call syntax such as ``add(mul(X0, 0.5), sin(X0))``) is read with `ast` and walked
against a whitelist of gplearn's own function names by `gplearn_to_sympy`; pyoperon's infix
model string is read by `tools.expr.parse`. Each fit returns one `Candidate` scored like ours:
eq. 1 against the data on the full grid.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from eudoxus.tools.context import ToolContext
from eudoxus.tools.expr import ExprError, canonical, parse, relative_error, to_numpy

if TYPE_CHECKING:  # regress imports this module to register the peers: no import cycle at run
    from eudoxus.tools.regress import Candidate, Engine, FitResult

__all__ = ["GPLEARN_FUNCTIONS", "GplearnEngine", "PyoperonEngine", "gplearn_to_sympy",
           "peer_available", "register_peers"]

# The extra carries gplearn; pyoperon (a compiled wheel) is installed by hand where wanted.
INSTALL_HINTS = {"gplearn": "pip install 'eudoxus[peers]'", "pyoperon": "pip install pyoperon"}
MAX_PROGRAM_LENGTH = 20_000  # characters of a program string
MAX_PROGRAM_NODES = 2_000    # syntax-tree nodes; gplearn's own programs stay far below this
MAX_PROGRAM_DEPTH = 100      # nesting of calls, checked before recursing into it
GUARD = 0.001                # gplearn's protected functions switch branches at |a| <= 0.001

# gplearn's function names as they appear in a program, with the sympy expression built for
# each. Four are "protected" in gplearn so that every program is defined everywhere:
#   div(a, b) = a/b, but 1 where |b| <= 0.001;   log(a) = log(|a|), but 0 where |a| <= 0.001;
#   inv(a) = 1/a, but 0 where |a| <= 0.001;      sqrt(a) = sqrt(|a|).
# The closed forms keep the main branch only (a/b, log(abs(a)), 1/a, sqrt(abs(a))): a
# piecewise guard is not a closed form, and it matters only where the program sits at a pole.
# Where the guarded argument is a number the guard is applied exactly (see `_apply`), so
# div(X0, 0.0004) or div(0.3, sub(X0, X0)) fold to gplearn's value instead of a pole.
_GPLEARN: dict[str, tuple[int, Callable[..., sp.Expr]]] = {
    "add": (2, lambda a, b: a + b),
    "sub": (2, lambda a, b: a - b),
    "mul": (2, lambda a, b: a * b),
    "div": (2, lambda a, b: a / b),
    "neg": (1, lambda a: -a),
    "inv": (1, lambda a: 1 / a),
    "log": (1, lambda a: sp.log(sp.Abs(a))),
    "sqrt": (1, lambda a: sp.sqrt(sp.Abs(a))),
    "abs": (1, sp.Abs),
    "sin": (1, sp.sin),
    "cos": (1, sp.cos),
    "tan": (1, sp.tan),
    "max": (2, sp.Max),  # outside the safe grammar: such a candidate keeps str(expr) as text
    "min": (2, sp.Min),
}
GPLEARN_FUNCTIONS = tuple(_GPLEARN)


def peer_available(package: str) -> bool:
    """Whether a peer package is installed, found without importing it."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _missing(package: str) -> RuntimeError:
    return RuntimeError(f"{package} is not installed: {INSTALL_HINTS[package]}")


# ---- gplearn programs into sympy ---------------------------------------------------------------

def gplearn_to_sympy(program: str, variables: Sequence[str] = ("x",)) -> sp.Expr:
    """Convert a gplearn program string into sympy without eval, refusing anything else."""
    if not isinstance(program, str):
        raise ExprError(f"program must be a str, not {type(program).__name__}")
    if len(program) > MAX_PROGRAM_LENGTH:
        raise ExprError(f"program too long: {len(program)} characters "
                        f"(limit {MAX_PROGRAM_LENGTH})")
    if not program.isascii():  # also stops Unicode names that Python folds into ASCII ones
        raise ExprError("program contains non-ASCII characters")
    try:
        tree = ast.parse(program.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"program syntax error: {exc.msg} (column {exc.offset})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExprError(f"invalid program: {type(exc).__name__}") from None
    nodes = sum(1 for _ in ast.walk(tree.body))
    if nodes > MAX_PROGRAM_NODES:
        raise ExprError(f"program too large: {nodes} nodes (limit {MAX_PROGRAM_NODES})")
    symbols = [sp.Symbol(name) for name in variables]
    expr = _build(tree.body, symbols, 1)
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExprError("program is undefined (a pole or an infinite value)")
    return expr


def _build(node: ast.expr, symbols: list[sp.Symbol], depth: int) -> sp.Expr:
    """The sympy expression of one checked node (recursion bounded by MAX_PROGRAM_DEPTH)."""
    if depth > MAX_PROGRAM_DEPTH:
        raise ExprError(f"program nested too deeply (limit {MAX_PROGRAM_DEPTH} levels)")
    if isinstance(node, ast.Constant):
        return _number(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        # gplearn prints negative constants as "-0.917": a sign on a number, nothing else.
        if not isinstance(node.operand, ast.Constant):
            raise ExprError("a sign is allowed only on a number")
        value = _number(node.operand.value)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name):
        index = _variable_index(node.id)
        if index is None or index >= len(symbols):
            raise ExprError(f"name {node.id[:40]!r} is not allowed "
                            f"(variables: X0..X{len(symbols) - 1})")
        return symbols[index]
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            what = "attribute access is" if isinstance(node.func, ast.Attribute) else \
                "calling an expression is"
            raise ExprError(f"{what} not allowed")
        name = node.func.id
        if name not in _GPLEARN:
            raise ExprError(f"function {name[:40]!r} is not a gplearn function "
                            f"(allowed: {', '.join(GPLEARN_FUNCTIONS)})")
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise ExprError(f"{name}() takes only plain positional arguments")
        arity, builder = _GPLEARN[name]
        if len(node.args) != arity:
            raise ExprError(f"{name}() takes {arity} argument{'s' * (arity > 1)} "
                            f"({len(node.args)} given)")
        return _apply(name, builder, [_build(arg, symbols, depth + 1) for arg in node.args])
    kind = "attribute access" if isinstance(node, ast.Attribute) else type(node).__name__
    raise ExprError(f"{kind} is not allowed in a gplearn program")


def _number(value: object) -> sp.Float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "string" if isinstance(value, str | bytes) else type(value).__name__
        raise ExprError(f"{kind} literals are not allowed in a gplearn program")
    if not math.isfinite(float(value)):
        raise ExprError("number literal is not finite")
    return sp.Float(float(value))  # a Python float is a double: exactly 53 bits, no text


def _variable_index(name: str) -> int | None:
    """The column of a gplearn terminal named X0, X1, ..., or None for any other name."""
    digits = name[1:]
    if name[:1] == "X" and digits.isdigit() and digits.isascii() and len(digits) <= 4:
        return int(digits)
    return None


def _apply(name: str, builder: Callable[..., sp.Expr], args: list[sp.Expr]) -> sp.Expr:
    """Build one call, taking gplearn's guarded branch exactly where its guard is a number."""
    guard = args[1] if name == "div" else args[0]
    if name in ("div", "log", "inv") and guard.is_Number and abs(float(guard)) <= GUARD:
        # div(a, 0.0004) is 1 for every a in gplearn, log(0.0) and inv(0.0) are 0.
        return sp.Float(1.0) if name == "div" else sp.Float(0.0)
    value = builder(*args)
    if value.is_Number and not value.is_Float:  # sympy's exact 0 for sub(0.5, 0.5)
        value = sp.Float(float(value))
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExprError(f"{name}() of {', '.join(map(str, args))} is not finite")
    return value


def _program_text(program: object) -> str:
    """A fitted gplearn `_Program` in call syntax with constants at full precision.

    gplearn's own `str(program)` prints constants with three decimals ('%.3f'); rebuilding the
    text from the program's prefix node list keeps every bit, and the result goes through the
    same safe `gplearn_to_sympy` as any other program string.
    """
    nodes = getattr(program, "program", None)
    if not isinstance(nodes, list) or not nodes:
        return str(program)
    parts: list[str] = []
    pending: list[int] = []  # arguments still owed to each open call, innermost last
    for node in nodes:
        arity = getattr(node, "arity", None)
        if isinstance(arity, int) and arity > 0:
            parts.append(f"{getattr(node, 'name', '?')}(")
            pending.append(arity)
            continue
        if isinstance(node, bool) or not isinstance(node, int | float | np.integer | np.floating):
            return str(program)  # an unknown node type: fall back to gplearn's own printing
        parts.append(f"X{int(node)}" if isinstance(node, int | np.integer) else repr(float(node)))
        while pending:
            pending[-1] -= 1
            if pending[-1]:
                parts.append(", ")
                break
            pending.pop()
            parts.append(")")
    return "".join(parts)


# ---- candidates ------------------------------------------------------------------------------

def _drop_abs(expr: sp.Expr, x: np.ndarray) -> sp.Expr:
    """Replace abs(a) by a or -a where a keeps one sign on the grid: the same curve there.

    gplearn's protected log and sqrt leave abs() everywhere (sqrt(abs(x)) for sqrt(x) on
    x >= 0), which hides the closed form from an exact comparison.
    """
    for _ in range(4):  # nested abs() settle from the inside out
        replacements = {}
        for node in list(expr.atoms(sp.Abs))[:50]:
            if node.args[0].free_symbols - {sp.Symbol("x")}:
                continue
            values = to_numpy(node.args[0])(x)
            if not np.all(np.isfinite(values)):
                continue
            if np.all(values >= 0):
                replacements[node] = node.args[0]
            elif np.all(values <= 0):
                replacements[node] = -node.args[0]
        if not replacements:
            break
        expr = expr.xreplace(replacements)
    return expr


def _candidate(expr: sp.Expr, x: np.ndarray, y: np.ndarray, started: float, engine: str,
               label: str = "") -> Candidate:
    """One candidate scored like ours: eq. 1 on the full grid, constants as slots c0, c1, ..."""
    from eudoxus.tools.regress import Candidate  # late: regress imports this module

    expr = _drop_abs(expr, x)
    error = relative_error(y, to_numpy(expr)(x))
    # Every float is a fitted constant; integers (the 2 of x + x, the -1 of a - b) are structure.
    floats = list(dict.fromkeys(n for n in sp.preorder_traversal(expr) if n.is_Float))
    slots = sp.symbols(f"c0:{len(floats)}")
    skeleton = expr.xreplace(dict(zip(floats, slots, strict=True)))
    return Candidate(
        expression=expr,
        text=_text(expr),
        skeleton=_text(skeleton),
        coefficients=tuple(float(f) for f in floats),
        error=error,
        complexity=sum(1 for _ in sp.preorder_traversal(expr)),
        seconds=time.perf_counter() - started,
        engine=engine,
        label=label,
    )


def _text(expr: sp.Expr) -> str:
    """The canonical text, or sympy's own printing for output outside the safe grammar."""
    try:
        return canonical(expr)
    except ExprError:
        return str(expr)


def _seed(ctx: ToolContext | None, default: int) -> int:
    return int(ctx.rng.integers(2**31 - 1)) if ctx is not None else default


def _result(candidates: list[Candidate], started: float, engine: str) -> FitResult:
    from eudoxus.tools.regress import FitResult  # late: regress imports this module

    return FitResult(tuple(candidates), time.perf_counter() - started, engine)


# ---- engines ---------------------------------------------------------------------------------

class GplearnEngine:
    """gplearn's genetic-programming `SymbolicRegressor` as a peer engine (one candidate)."""

    name = "gplearn"

    def __init__(self, *, fit_points: int = 256, population_size: int = 1000,
                 generations: int = 20, parsimony_coefficient: float = 0.001,
                 function_set: tuple[str, ...] = ("add", "sub", "mul", "div", "sin", "cos",
                                                  "log", "sqrt", "neg", "inv"),
                 seed: int = 0, n_jobs: int = 1) -> None:
        # The budget is gplearn's documented example scaled to one variable: 1000 programs for
        # 20 generations on 256 points (about 1 s a generation on one core). Parsimony is per
        # node against a mean absolute error on y scaled to max |y| = 1, so 0.001 only breaks
        # near-ties toward the shorter program.
        self.fit_points = fit_points
        self.population_size = population_size
        self.generations = generations
        self.parsimony_coefficient = parsimony_coefficient
        self.function_set = function_set
        self.seed = seed  # used when no ToolContext supplies a generator
        self.n_jobs = n_jobs

    def fit(self, x: np.ndarray, y: np.ndarray, *, noise: float | None = None,
            ctx: ToolContext | None = None) -> FitResult:
        """Evolve a program for y(x) and return it as one sympy candidate."""
        started = time.perf_counter()
        try:
            from gplearn.genetic import SymbolicRegressor
        except ImportError:
            raise _missing("gplearn") from None
        from eudoxus.tools.regress import checked_curve, subsample  # lazy: regress imports us

        x, y = checked_curve(x, y)
        if not np.all(np.isfinite(y)):
            return _result([], started, self.name)
        # gplearn draws constants from (-1, 1): fit y / max|y| and scale the program back.
        scale = float(np.max(np.abs(y))) or 1.0
        xs, ys = subsample(x, y / scale, self.fit_points)
        stop = max(noise / scale if noise is not None else 0.0, 1e-12)
        estimator = SymbolicRegressor(
            population_size=self.population_size, generations=1, warm_start=True,
            function_set=self.function_set, parsimony_coefficient=self.parsimony_coefficient,
            p_crossover=0.7, p_subtree_mutation=0.1, p_hoist_mutation=0.05,
            p_point_mutation=0.1, stopping_criteria=stop, random_state=_seed(ctx, self.seed),
            n_jobs=self.n_jobs, verbose=0)
        # One generation per call (gplearn's warm start replays the same seeds, so the run is
        # the same as one long fit) lets the caller cancel and watch progress in between.
        for generation in range(1, self.generations + 1):
            if ctx is not None:
                ctx.check_cancelled()
            estimator.set_params(generations=generation)
            estimator.fit(xs[:, None], ys)
            if ctx is not None:
                ctx.progress("gplearn generations", generation, self.generations)
            if estimator.run_details_["best_fitness"][-1] <= stop:
                break
        text = _program_text(estimator._program)
        try:
            expr = sp.Float(scale) * gplearn_to_sympy(text) if scale != 1.0 else \
                gplearn_to_sympy(text)
        except ExprError:
            return _result([], started, self.name)
        return _result([_candidate(expr, x, y, started, self.name, label=str(estimator._program))],
                       started, self.name)


class PyoperonEngine:
    """pyoperon's `SymbolicRegressor` (tree GP with local constant tuning) as a peer engine."""

    name = "pyoperon"

    def __init__(self, *, fit_points: int = 256, population_size: int = 1000,
                 generations: int = 20, max_length: int = 30, optimizer_iterations: int = 10,
                 allowed_symbols: str = "add,sub,mul,div,exp,log,sqrt,sin,cos,constant,variable",
                 seed: int = 0) -> None:
        # The symbols are those `tools.expr.parse` reads back; operon's log and sqrt are the
        # plain ones, so its model string means what the grammar means. Local search (10
        # Levenberg-Marquardt steps per individual) is what operon is built around.
        self.fit_points = fit_points
        self.population_size = population_size
        self.generations = generations
        self.max_length = max_length
        self.optimizer_iterations = optimizer_iterations
        self.allowed_symbols = allowed_symbols
        self.seed = seed

    def fit(self, x: np.ndarray, y: np.ndarray, *, noise: float | None = None,
            ctx: ToolContext | None = None) -> FitResult:
        """Run operon on y(x) and return its selected model as one sympy candidate."""
        started = time.perf_counter()
        try:
            from pyoperon.sklearn import SymbolicRegressor
        except ImportError:
            raise _missing("pyoperon") from None
        from eudoxus.tools.regress import checked_curve, subsample  # lazy: regress imports us

        x, y = checked_curve(x, y)
        if not np.all(np.isfinite(y)):
            return _result([], started, self.name)
        if ctx is not None:
            ctx.check_cancelled()
        xs, ys = subsample(x, y, self.fit_points)
        estimator = SymbolicRegressor(
            allowed_symbols=self.allowed_symbols, population_size=self.population_size,
            generations=self.generations, max_length=self.max_length,
            optimizer_iterations=self.optimizer_iterations, random_state=_seed(ctx, self.seed),
            n_threads=1)
        estimator.fit(xs[:, None], ys)
        # The formatter prints fixed decimals: 17 keep operon's float32 constants whole unless
        # they are tiny (below ~1e-9), where digits are lost, not the candidate.
        text = estimator.get_model_string(estimator.model_, 17, ["x"])
        try:
            expr = parse(text, symbols=("x",))
        except ExprError:
            return _result([], started, self.name)
        return _result([_candidate(expr, x, y, started, self.name)], started, self.name)


# ---- registry --------------------------------------------------------------------------------

PEERS: dict[str, tuple[str, Callable[[], Engine]]] = {
    "gplearn": ("gplearn", GplearnEngine),
    "pyoperon": ("pyoperon", PyoperonEngine),
}


def _constructor(package: str, engine: Callable[[], Engine]) -> Callable[[], Engine]:
    """A registry constructor that fails with the install hint only when it is called."""
    def make() -> Engine:
        if not peer_available(package):
            raise _missing(package)
        return engine()

    make.__name__ = make.__qualname__ = f"make_{package}_engine"
    make.__doc__ = f"A {engine.__name__}, or a one-line RuntimeError if {package} is missing."
    return make


def register_peers(engines: dict[str, Callable[[], Engine]]) -> dict[str, Callable[[], Engine]]:
    """Add the peer engines to a registry such as `regress.ENGINES` (existing names are kept)."""
    for name, (package, engine) in PEERS.items():
        engines.setdefault(name, _constructor(package, engine))
    return engines
