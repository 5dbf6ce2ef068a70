"""What every tool receives from its caller: randomness, progress reporting, cancellation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

ProgressCallback = Callable[[str, int, int | None], None]


class Cancelled(Exception):
    """Raised inside a tool when its caller asked it to stop."""


def _ignore_progress(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass
class ToolContext:
    """A seeded generator, a progress callback, a cancel flag and the compute device."""

    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    progress: ProgressCallback = _ignore_progress
    cancel: threading.Event = field(default_factory=threading.Event)
    device: str = "cpu"

    @classmethod
    def seeded(cls, *seed: int) -> ToolContext:
        """A context whose generator is derived from a tuple of seeds (run seed, experiment id)."""
        return cls(rng=np.random.default_rng(list(seed) if seed else None))

    def check_cancelled(self) -> None:
        """Raise `Cancelled` if the caller asked to stop; tools call this between batches."""
        if self.cancel.is_set():
            raise Cancelled("cancelled by the caller")
