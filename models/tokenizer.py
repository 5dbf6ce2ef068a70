"""An expression tokenizer with a vocabulary fixed in code: numbers go digit by digit.

Infix text such as ``-1.40*x+0.67*x**3`` becomes ``- 1 . 4 0 * x + 0 . 6 7 * x ** 3``: every
digit, sign and decimal point is its own token, function names and ``**`` are single tokens, so
2-decimal coefficients never break into odd sub-word pieces and the vocabulary stays tiny. The
vocabulary is part of the checkpoint (`to_dict`/`from_dict`), so a model is always read back
with the tokens it was trained on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["FUNCTION_TOKENS", "SPECIAL_TOKENS", "ExprTokenizer", "TokenizerError"]

SPECIAL_TOKENS = ("<pad>", "<eos>", "<bos>")
FUNCTION_TOKENS = ("sinh", "cosh", "tanh", "atan", "sqrt", "sin", "cos", "exp", "log", "abs")
_SYMBOL_TOKENS = ("**", "+", "-", "*", "/", "(", ")", ".", ",", "x", "pi", "E",
                  *(f"a{i}" for i in range(10)), "a", "n")
_DIGITS = tuple("0123456789")


class TokenizerError(ValueError):
    """Text that has a character or name outside the vocabulary."""


class ExprTokenizer:
    """Maps expression text to token ids and back; whitespace is not significant."""

    def __init__(self, tokens: Sequence[str] | None = None) -> None:
        self.tokens = tuple(tokens) if tokens is not None else (
            SPECIAL_TOKENS + FUNCTION_TOKENS + _SYMBOL_TOKENS + _DIGITS)
        if self.tokens[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            raise TokenizerError(f"a vocabulary must start with {', '.join(SPECIAL_TOKENS)}")
        self.ids = {token: i for i, token in enumerate(self.tokens)}
        words = sorted((t for t in self.tokens if t not in SPECIAL_TOKENS), key=len, reverse=True)
        # Longest first, so "sinh" wins over "sin" and "**" over "*"; a1 is one token, x1 is not.
        self._pattern = re.compile("|".join(re.escape(w) for w in words) + r"|(\S)")

    pad_id = 0
    eos_id = 1
    bos_id = 2

    def __len__(self) -> int:
        return len(self.tokens)

    def split(self, text: str) -> list[str]:
        """The tokens of `text`; raises TokenizerError on anything outside the vocabulary."""
        pieces = []
        for match in self._pattern.finditer(text):
            if match.group(1) is not None:
                where = match.start()
                raise TokenizerError(f"cannot tokenize {match.group(1)!r} at character {where} "
                                     f"of {text[:60]!r}")
            pieces.append(match.group(0))
        return pieces

    def encode(self, text: str, *, eos: bool = True) -> list[int]:
        """Token ids of `text`, ending with <eos> unless told otherwise."""
        ids = [self.ids[piece] for piece in self.split(text)]
        return ids + [self.eos_id] if eos else ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text of a token id sequence, stopping at <eos> and skipping padding."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i in (self.pad_id, self.bos_id) or not 0 <= i < len(self.tokens):
                continue
            out.append(self.tokens[i])
        return "".join(out)

    def to_dict(self) -> dict[str, Any]:
        """The vocabulary as JSON-ready data, for the checkpoint."""
        return {"kind": "expr-digits", "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExprTokenizer:
        """The tokenizer a checkpoint was trained with."""
        if data.get("kind") != "expr-digits":
            raise TokenizerError(f"unknown tokenizer kind {data.get('kind')!r}")
        return cls(data["tokens"])
