"""Expressions as a person reads them: one-line Unicode math and multi-line pretty print."""

from __future__ import annotations

import re

import sympy

from eudoxus.tools.expr import FUNCTIONS, ExprError, parse

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_POWER = re.compile(r"\*\*(-?\d+)(?![\d.])")
_PARAMETER = re.compile(r"\b([a-z])(\d+)\b")
_NAME = re.compile(r"[A-Za-z_]\w*")
_NOT_SYMBOLS = {*FUNCTIONS, "pi", "E", "e"}


def readable(text: str) -> str:
    """One line of math from canonical expression text: a0*x**3/3 → a₀·x³/3."""
    text = _POWER.sub(lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    text = text.replace("**", "^").replace("*", "·")
    return _PARAMETER.sub(lambda m: m.group(1) + m.group(2).translate(_SUBSCRIPT), text)


def integral_line(integrand: str | None, statement: str) -> str:
    """The rule as one line: ∫₀ˣ f dt = F, with t for the integration variable."""
    if not integrand:
        return readable(statement)
    inner = re.sub(r"\bx\b", "t", integrand)
    return f"∫₀ˣ {readable(inner)} dt = {readable(statement)}"


def pretty(text: str) -> str:
    """A multi-line rendering (fractions stacked, powers raised); one line if unparsable."""
    try:
        expr = parse(text, symbols=set(_NAME.findall(text)) - _NOT_SYMBOLS)
    except ExprError:
        return readable(text)
    return sympy.pretty(expr, use_unicode=True, wrap_line=False)
