"""Safe expressions: parse untrusted text into sympy, print it back, round it and judge it.

Text from users, files and models reaches sympy only through `parse`, which never hands the
text to eval, exec or sympy's own string parser (they all run arbitrary Python). It parses the
text with `ast`, walks the tree against a whitelist (numbers, the variable, the parameters,
pi and E, + - * / ** and a few functions) and checks sizes *before* sympy computes anything,
so bombs such as ``9**9**9**9`` are refused with a reason instead of hanging.

`canonical` prints an expression back in the syntax `parse` accepts. `round_coefficients`,
`relative_error` (the paper's eq. 1), `expression_error` and the verdicts `is_correct`,
`is_approx_correct` and `verdict` judge a predicted integral against the truth.
"""

from __future__ import annotations

import ast
import math
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import sympy
from sympy.printing.str import StrPrinter

__all__ = ["DEFAULT_SYMBOLS", "FUNCTIONS", "ExprError", "Verdict", "canonical",
           "expression_error", "is_approx_correct", "is_correct", "parse", "relative_error",
           "round_coefficients", "to_numpy", "verdict"]

MAX_LENGTH = 2000          # characters of text
MAX_NODES = 400            # expression nodes in the syntax tree
MAX_DEPTH = 40             # nesting; the links of a chain such as a + b - c count once
MAX_LITERAL_DIGITS = 40    # digits in one numeric literal
MAX_EXPONENT = 64          # |e| for a numeric exponent
MAX_POWER_BITS = 4096      # bits of an exact numeric power, estimated before computing it
MAX_EXPAND_TERMS = 10_000  # terms `is_correct` may create by expanding

DEFAULT_SYMBOLS = ("x",) + tuple(f"a{i}" for i in range(10))
# Each function with its float twin, which bounds constant sub-expressions cheaply.
_FUNCTIONS: dict[str, tuple[Callable[[sympy.Expr], sympy.Expr], Callable[[float], float]]] = {
    "sin": (sympy.sin, math.sin), "cos": (sympy.cos, math.cos), "tan": (sympy.tan, math.tan),
    "exp": (sympy.exp, math.exp), "log": (sympy.log, math.log), "sqrt": (sympy.sqrt, math.sqrt),
    "atan": (sympy.atan, math.atan), "sinh": (sympy.sinh, math.sinh),
    "cosh": (sympy.cosh, math.cosh), "tanh": (sympy.tanh, math.tanh), "abs": (sympy.Abs, abs),
}
FUNCTIONS = tuple(_FUNCTIONS)
_CONSTANTS = {"pi": (sympy.pi, math.pi), "E": (sympy.E, math.e), "e": (sympy.E, math.e)}
_TWINS = {f: twin for f, twin in _FUNCTIONS.values() if isinstance(f, type)}  # sqrt is a Pow
# The sympy classes a parsed expression may contain: exactly what `canonical` prints back.
_HEADS = (sympy.Add, sympy.Mul, sympy.Pow, sympy.Symbol, sympy.Number, *_TWINS)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,15}", re.ASCII)
_RESERVED = set(_FUNCTIONS) | set(_CONSTANTS)
_ADDITIVE, _MULTIPLICATIVE = (ast.Add, ast.Sub), (ast.Mult, ast.Div)
_OPERATORS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
              ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~"}
_FORBIDDEN = {ast.Attribute: "attribute access is", ast.Subscript: "subscripts are",
              ast.Lambda: "lambda is", ast.JoinedStr: "f-strings are", ast.NamedExpr:
              "assignment is", ast.IfExp: "conditional expressions are", ast.Compare:
              "comparisons are", ast.BoolOp: "boolean operators are"}


EPSILON = 0.01  # the paper's eq. 1 threshold: this close is "approximately correct"


class ExprError(ValueError):
    """An expression that was refused, with a single-line, human-readable reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(str(reason).split()))


def parse(text: str, *, symbols: Iterable[str] | None = None, exact: bool = False) -> sympy.Expr:
    """Parse untrusted text into a sympy expression, refusing anything outside the grammar."""
    if not isinstance(text, str):
        raise ExprError(f"expression must be a str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:  # first, so a huge string costs nothing
        raise ExprError(f"expression too long: {len(text)} characters (limit {MAX_LENGTH})")
    if not text.isascii():  # also stops Unicode names that Python would fold into ASCII ones
        raise ExprError("expression contains non-ASCII characters")
    if not text.strip():
        raise ExprError("expression is empty")
    allowed = _allowed_symbols(symbols)
    # Rewrite ^ before parsing: as a BitXor node it would bind looser than + and -.
    source = text.strip().replace("^", "**")  # strip: a leading space is an "indent"
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"syntax error: {exc.msg} (column {exc.offset})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExprError(f"invalid expression: {type(exc).__name__}") from None
    _check_tree(tree.body, allowed)  # pure inspection: nothing is built before it passes
    expr = _settle(_Builder(source, exact).build(tree.body).expr)
    _check_result(expr)
    return expr


def _allowed_symbols(symbols: Iterable[str] | None) -> frozenset[str]:
    names = frozenset(DEFAULT_SYMBOLS if symbols is None else symbols)
    for name in names:
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in _RESERVED:
            raise ExprError(f"invalid symbol name {name!r}")
    return names


def _check_tree(root: ast.expr, allowed: frozenset[str]) -> None:
    """Walk the tree once, iteratively, against the whitelist and the size limits."""
    stack, count = [(root, 1)], 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExprError(f"expression too large: more than {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise ExprError(f"expression nested too deeply (limit {MAX_DEPTH} levels)")
        if isinstance(node, ast.Constant):
            _check_constant(node.value)
        elif isinstance(node, ast.Name):
            if node.id in _FUNCTIONS:
                raise ExprError(f"function {node.id!r} must be called, as in {node.id}(x)")
            if node.id not in allowed and node.id not in _CONSTANTS:
                raise ExprError(f"name {node.id[:40]!r} is not allowed")
        elif isinstance(node, ast.UnaryOp | ast.BinOp):
            if not isinstance(node.op, (*_ADDITIVE, *_MULTIPLICATIVE, ast.Pow, ast.USub,
                                        ast.UAdd)):
                symbol = _OPERATORS.get(type(node.op), type(node.op).__name__)
                raise ExprError(f"operator {symbol!r} is not allowed")
            if isinstance(node, ast.UnaryOp):
                stack.append((node.operand, depth + 1))
            else:  # the links of a left-leaning + - or * / chain share one level
                same = _family(node.left) is not None and _family(node.left) == _family(node)
                stack += [(node.left, depth if same else depth + 1), (node.right, depth + 1)]
        elif isinstance(node, ast.Call):
            _check_call(node)
            stack.append((node.args[0], depth + 1))
        else:
            what = _FORBIDDEN.get(type(node), f"{type(node).__name__} expressions are")
            raise ExprError(f"{what} not allowed")


def _check_constant(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "string" if isinstance(value, str | bytes) else type(value).__name__
        raise ExprError(f"{kind} literals are not allowed")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExprError("number literal is not finite")
    if isinstance(value, float) and value != 0 and abs(value) < sys.float_info.min:
        raise ExprError("number literal is too small (subnormal)")
    if isinstance(value, int) and abs(value) >= 10**MAX_LITERAL_DIGITS:
        raise ExprError(f"integer literal too long (limit {MAX_LITERAL_DIGITS} digits)")


def _check_call(node: ast.Call) -> None:
    if isinstance(node.func, ast.Attribute):
        raise ExprError("attribute access is not allowed")
    if not isinstance(node.func, ast.Name):
        raise ExprError("only the whitelisted functions may be called, by name")
    name = node.func.id
    if name not in _FUNCTIONS:
        raise ExprError(f"name {name[:40]!r} is not allowed (functions: {', '.join(FUNCTIONS)})")
    if node.keywords:
        raise ExprError(f"{name}() takes no keyword arguments")
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        raise ExprError("starred arguments are not allowed")
    if len(node.args) != 1:
        raise ExprError(f"{name}() takes exactly 1 argument ({len(node.args)} given)")


def _family(node: ast.AST) -> type | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, _ADDITIVE + _MULTIPLICATIVE):
        return ast.Add if isinstance(node.op, _ADDITIVE) else ast.Mult
    return None


class _Value(NamedTuple):
    expr: sympy.Expr
    approx: float | None  # the float value of a constant sub-expression; None with a symbol


class _Builder:
    """Builds sympy objects from a checked tree, bounding every constant before sympy sees it."""

    def __init__(self, source: str, exact: bool) -> None:
        self.source, self.exact = source, exact

    def build(self, node: ast.expr) -> _Value:
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            return _Value(*_CONSTANTS.get(node.id, (sympy.Symbol(node.id), None)))
        if isinstance(node, ast.UnaryOp):
            value = self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return value
            return _Value(-value.expr, None if value.approx is None else -value.approx)
        if isinstance(node, ast.Call):
            arg = self.build(node.args[0])
            function, twin = _FUNCTIONS[node.func.id]
            approx = None if arg.approx is None else self._approx(node, twin, arg.approx)
            return self._finish(node, function(arg.expr), approx)
        # Fold a left-leaning chain iteratively: a flat sum may be longer than MAX_DEPTH.
        links = []
        while _family(node) is not None and _family(node) == _family(node.left):
            links.append(node)
            node = node.left
        value = self._binop(node, self.build(node.left), self.build(node.right))
        for link in reversed(links):
            value = self._binop(link, value, self.build(link.right))
        return value

    def _number(self, node: ast.Constant) -> _Value:
        if isinstance(node.value, int):
            return _Value(sympy.Integer(node.value), float(node.value))
        literal = (ast.get_source_segment(self.source, node) or repr(node.value)).replace("_", "")
        digits = sum(c.isdigit() for c in re.split(r"[eE]", literal)[0])
        if digits > MAX_LITERAL_DIGITS:
            raise ExprError(f"number literal too long: {digits} digits "
                            f"(limit {MAX_LITERAL_DIGITS})")
        if self.exact:  # the decimal text, not the binary float: 3.55 is 71/20
            return _Value(sympy.Rational(*Decimal(literal).as_integer_ratio()), node.value)
        # Exactly the double: sympy.Float(text) alone keeps 56+ bits for 16-17 digit texts.
        return _Value(sympy.Float(repr(node.value), precision=53), node.value)

    def _binop(self, node: ast.BinOp, left: _Value, right: _Value) -> _Value:
        a, b = left.approx, right.approx
        if isinstance(node.op, ast.Pow):
            if b is not None and not abs(b) <= MAX_EXPONENT:
                raise ExprError(f"exponent {_short(right.expr)} too large "
                                f"(limit |e| <= {MAX_EXPONENT})")
            if b is not None and isinstance(left.expr, sympy.Rational):
                # An exact power grows |e| times the base's size: estimate it before sympy.
                bits = max(abs(left.expr.p).bit_length(), left.expr.q.bit_length()) * abs(b)
                if bits > MAX_POWER_BITS:
                    raise ExprError(f"power {_short(left.expr)}**{_short(right.expr)} too "
                                    f"large (limit {MAX_POWER_BITS} bits)")
            if a == 0 and b is not None and b < 0:
                raise ExprError("division by zero")
        elif isinstance(node.op, ast.Div) and (b == 0 or right.expr == 0):
            raise ExprError("division by zero")
        op = {ast.Add: lambda p, q: p + q, ast.Sub: lambda p, q: p - q,
              ast.Mult: lambda p, q: p * q, ast.Div: lambda p, q: p / q,
              ast.Pow: lambda p, q: p**q if isinstance(p, sympy.Basic) else math.pow(p, q)}
        function = op[type(node.op)]
        approx = None if a is None or b is None else self._approx(node, function, a, b)
        return self._finish(node, function(left.expr, right.expr), approx)

    def _finish(self, node: ast.expr, expr: sympy.Expr, approx: float | None) -> _Value:
        # Symbols can cancel (x - x + 10**9): bound what is left before it is used further.
        if approx is None and not expr.free_symbols:
            approx = self._approx(node, _float_of, expr)
        return _Value(expr, approx)

    def _approx(self, node: ast.expr, function: Callable[..., float], *args: object) -> float:
        """Evaluate a constant sub-expression in floats: cheap, and it bounds the exact one."""
        try:
            value = function(*args)
        except ZeroDivisionError:
            raise ExprError("division by zero") from None
        except OverflowError:
            value = math.inf
        except ValueError:
            raise ExprError(f"{self._snippet(node)} is undefined or not real") from None
        if not math.isfinite(value):
            raise ExprError(f"{self._snippet(node)} is too large "
                            f"(limit |value| <= {sys.float_info.max:.3g})")
        return value

    def _snippet(self, node: ast.expr) -> str:
        text = ast.get_source_segment(self.source, node) or "a constant"
        return text if len(text) <= 40 else text[:37] + "..."


def _float_of(expr: sympy.Expr) -> float:
    """The float value of a constant sympy expression in the grammar, computed with math."""
    if expr.is_Number or expr in (sympy.pi, sympy.E):
        return float(expr)
    args = [_float_of(arg) for arg in expr.args]
    if isinstance(expr, sympy.Add | sympy.Mul):
        return math.fsum(args) if isinstance(expr, sympy.Add) else math.prod(args)
    if isinstance(expr, sympy.Pow):
        return math.pow(*args)
    if type(expr) not in _TWINS:
        raise ExprError(f"expression evaluates to {type(expr).__name__}(), not supported")
    return _TWINS[type(expr)](*args)


def _settle(expr: sympy.Expr) -> sympy.Expr:
    """Rebuild until sympy's evaluation is a fixed point, so the result reads back as itself."""
    # Built left to right, sympy can stop at forms it rewrites when built again: abs(-abs(y))
    # gives abs(abs(y)), and products of surds such as sqrt(10)*5**(1/6)/5 change shape.
    def rebuild(node: sympy.Expr) -> sympy.Expr:
        return node.func(*map(rebuild, node.args)) if node.args else node

    for _ in range(3):
        expr, previous = rebuild(expr), expr
        if expr == previous:
            break
    return expr


def _short(expr: sympy.Expr) -> str:
    text = sympy.sstr(expr)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_result(expr: sympy.Expr) -> None:
    """Refuse what `parse` could not read back: poles, I, re(), huge numbers, odd names."""
    for node in sympy.preorder_traversal(expr):
        if node in (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise ExprError("expression is undefined (division by zero or a pole)")
        if not (isinstance(node, _HEADS) or node in (sympy.pi, sympy.E)):
            raise ExprError(f"expression evaluates to {type(node).__name__}(), not supported")
        if isinstance(node, sympy.Symbol) and not (_NAME.fullmatch(node.name)
                                                   and node.name not in _RESERVED):
            raise ExprError(f"symbol name {node.name[:40]!r} is not allowed")
        if node.is_Number and not _in_double_range(node):
            raise ExprError(f"number {_short(node)} is out of range for double precision")
        if node.is_Pow and node.exp.is_Number and abs(float(node.exp)) > MAX_EXPONENT:
            raise ExprError(f"exponent {_short(node.exp)} too large (limit |e| <= {MAX_EXPONENT})")
        if node.is_Pow and node.base.is_Number and node.base.is_negative and (
                node.exp.is_Number and not node.exp.is_Integer):  # (-y)**(1/3) is not real
            raise ExprError("expression is not real")


def _in_double_range(number: sympy.Number) -> bool:
    try:
        value = float(number)
    except OverflowError:
        return False
    return math.isfinite(value) and (number == 0 or abs(value) >= sys.float_info.min)


class _CanonicalPrinter(StrPrinter):
    """sympy's str printer, with abs() for Abs and floats printed to round-trip exactly."""

    def _print_Abs(self, expr: sympy.Abs) -> str:
        return f"abs({self._print(expr.args[0])})"

    def _print_Float(self, expr: sympy.Float) -> str:
        # repr() is the shortest text that reads back as the same double; sympy's 15 digits
        # are not enough (0.1 + 0.2 would come back as 0.3).
        if expr._prec == 53 and _in_double_range(expr):
            return repr(float(expr))
        return super()._print_Float(expr)

    def _print_Mul(self, expr: sympy.Mul) -> str:
        # sympy distributes a number over a lone sum (3*(x+1) -> 3*x + 3), so "3*(x+1)*y" or
        # "y/(4*(x+1))", read left to right, would not come back as the Mul printed.
        coeff, rest = expr.as_coeff_Mul()
        if coeff != 1 and any(f.is_Add or (f.is_Pow and f.exp == -1 and f.base.is_Add)
                              for f in sympy.Mul.make_args(rest)):
            inner = self._print(rest)
            return f"-({inner})" if coeff == -1 else f"{self._print(coeff)}*({inner})"
        return super()._print_Mul(expr)


def canonical(expr: sympy.Expr) -> str:
    """Print an expression deterministically in the syntax that `parse` accepts."""
    _check_result(expr)  # the invariants parse guarantees, so that the text reads back
    return _CanonicalPrinter({"order": "lex"}).doprint(expr)


def round_coefficients(expr: sympy.Expr, decimals: int = 2) -> sympy.Expr:
    """Round every non-integer number to `decimals` places, half away from zero."""
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, not {decimals}")
    numbers = {n for n in sympy.preorder_traversal(expr)
               if isinstance(n, sympy.Float | sympy.Rational) and not n.is_Integer}
    return expr.xreplace({n: _round_number(n, decimals) for n in numbers})


def _round_number(number: sympy.Number, decimals: int) -> sympy.Number:
    if isinstance(number, sympy.Float):
        # Round the decimal text the float stands for (2.005 -> 2.01), not its binary value.
        text = repr(float(number)) if number._prec == 53 else str(number)
        value = Fraction(Decimal(text))
    else:
        value = Fraction(number.p, number.q)
    scale = 10**decimals
    units = math.floor(abs(value) * scale + Fraction(1, 2)) * (1 if value >= 0 else -1)
    if units % scale == 0:  # 2.001 -> 2; 0.004 -> 0, and its term vanishes
        return sympy.Integer(units // scale)
    digits = str(abs(units)).rjust(decimals + 1, "0")
    sign = "-" if units < 0 else ""
    return sympy.Float(f"{sign}{digits[:-decimals]}.{digits[-decimals:]}", precision=53)


def relative_error(g: np.ndarray, g_prime: np.ndarray) -> float:
    """The paper's eq. 1: mean |g - g'| divided by the largest magnitude of either curve."""
    g, g_prime = np.asarray(g, dtype=float), np.asarray(g_prime, dtype=float)
    if g.shape != g_prime.shape:
        raise ValueError(f"shape mismatch: {g.shape} vs {g_prime.shape}")
    if g.size == 0:
        raise ValueError("relative_error needs at least one point")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(g_prime))):
        return math.inf
    scale = max(float(np.max(np.abs(g))), float(np.max(np.abs(g_prime))))
    if scale == 0.0:
        return 0.0
    # Divide before subtracting, so curves near the double limit cannot overflow.
    return float(np.mean(np.abs(g / scale - g_prime / scale)))


def to_numpy(expr: sympy.Expr | str,
             variables: Iterable[str] = ("x",)) -> Callable[..., np.ndarray]:
    """Compile an expression into a vectorised numpy function of the named variables."""
    expr, names = _as_expr(expr), tuple(variables)
    present = {s.name: s for s in expr.free_symbols}
    if extra := sorted(set(present) - set(names)):
        raise ExprError(f"expression has free symbols other than {', '.join(names)}: "
                        f"{', '.join(extra)}")
    # lambdify generates code from the whitelisted tree, never from the user's text.
    compiled = sympy.lambdify([present.get(n, sympy.Symbol(n)) for n in names], expr, "numpy")

    def evaluate(*arrays: np.ndarray) -> np.ndarray:
        arrays = tuple(np.asarray(a, dtype=float) for a in arrays)
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        with np.errstate(all="ignore"):
            try:
                values = np.asarray(compiled(*arrays))
            except (ArithmeticError, TypeError, ValueError):  # e.g. an int beyond float range
                return np.full(shape, np.nan)
            if np.iscomplexobj(values):
                values = np.where(values.imag == 0, values.real, np.nan)
            return np.broadcast_to(values.astype(float), shape).copy()  # constants fill it

    return evaluate


def expression_error(a: sympy.Expr | str, b: sympy.Expr | str, *, T: float = 4.0,
                     n: int = 10_000, x_min: float = 0.0) -> float:
    """Eq. 1 between two expressions in x, sampled on n points of [x_min, T]."""
    grid = np.linspace(x_min, T, n)
    return relative_error(to_numpy(a)(grid), to_numpy(b)(grid))


def _as_expr(value: sympy.Expr | str) -> sympy.Expr:
    if isinstance(value, str):
        return parse(value)
    if isinstance(value, sympy.Basic):
        return value
    raise TypeError(f"expected a sympy expression or a str, not {type(value).__name__}")


def _normal_form(expr: sympy.Expr, decimals: int) -> sympy.Expr:
    if _expanded_terms(expr) > MAX_EXPAND_TERMS:
        raise ExprError(f"expression too large to expand (limit {MAX_EXPAND_TERMS} terms)")
    # A float exponent becomes the exact decimal it stands for (1.5 -> 3/2): expand splits
    # rational powers, (x+a)**(3/2) -> x*(x+a)**(1/2) + a*(x+a)**(1/2), but not float ones, so
    # otherwise the same curve written two ways would expand to different trees.
    expr = expr.replace(lambda e: e.is_Pow and e.exp.is_Float,
                        lambda e: sympy.Pow(e.base, sympy.Rational(repr(float(e.exp)))))
    # Expand exactly first (cancellations stay exact), then turn pi, E, sqrt(2)... into numbers.
    expr = sympy.expand(expr).evalf()
    # Sums of rounded floats can land between doubles again; a second pass settles them.
    return round_coefficients(round_coefficients(expr, decimals), decimals)


def _expanded_terms(expr: sympy.Expr) -> int:
    """An upper bound on the terms sympy.expand creates, so (x+1)**64 ... bombs are refused."""
    cap = MAX_EXPAND_TERMS + 1
    if isinstance(expr, sympy.Add):
        return sum(_expanded_terms(arg) for arg in expr.args)
    if isinstance(expr, sympy.Mul):
        return math.prod(min(_expanded_terms(arg), cap) for arg in expr.args)
    if isinstance(expr, sympy.Pow) and expr.exp.is_Integer:
        k, power = min(_expanded_terms(expr.base), cap), min(abs(int(expr.exp)), cap)
        return math.comb(power + k - 1, k - 1) if k > 1 else 1  # monomials of degree `power`
    return max([1] + [_expanded_terms(arg) for arg in expr.args])


def is_correct(pred: sympy.Expr | str, truth: sympy.Expr | str, decimals: int = 2) -> bool:
    """The paper's 'correct': identical once both are expanded and rounded to 2 decimals."""
    return (_normal_form(_as_expr(pred), decimals)
            == _normal_form(_as_expr(truth), decimals))


def is_approx_correct(pred: sympy.Expr | str, truth: sympy.Expr | str, *, eps: float = EPSILON,
                      T: float = 4.0, n: int = 10_000) -> bool:
    """The paper's 'approximately correct': eq. 1 on [0, T] below eps."""
    return expression_error(pred, truth, T=T, n=n) < eps


@dataclass(frozen=True)
class Verdict:
    """Both of the paper's verdicts on a prediction, and the eq. 1 error behind the second."""

    correct: bool
    approx_correct: bool
    error: float


def verdict(pred: sympy.Expr | str, truth: sympy.Expr | str, *, decimals: int = 2,
            eps: float = EPSILON, T: float = 4.0, n: int = 10_000) -> Verdict:
    """Judge a predicted expression against the truth with both of the paper's verdicts."""
    pred, truth = _as_expr(pred), _as_expr(truth)
    error = expression_error(pred, truth, T=T, n=n)
    return Verdict(is_correct(pred, truth, decimals), error < eps, error)
