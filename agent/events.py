"""Typed run events, an in-process event bus, and the JSONL log that front ends read and tail.

Every event is a frozen dataclass with a class-level ``kind``; ``to_json`` writes one compact line
and ``event_from_json`` reads it back through a registry keyed by kind. Values are made JSON-safe
on the way out: numpy scalars and arrays become Python numbers and lists, tuples and sets become
lists, mapping keys become strings, and non-finite floats (nan, inf) become ``null`` -- so such a
value reads back as ``None``. Fields a reader does not know are ignored, so an older reader can
read a newer log. A log is written by one process at a time (the run); any number may read it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

logger = logging.getLogger("eudoxus.events")

_REGISTRY: dict[str, type[Event]] = {}
EVENT_TYPES: Mapping[str, type[Event]] = MappingProxyType(_REGISTRY)
"""Every event class, by kind (read-only)."""

Handler = Callable[["Event"], object]


class UnknownEventKind(ValueError):
    """An event whose kind no registered class has (a newer writer, or not an event at all)."""


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)  # IntEnum and friends become plain ints
    if isinstance(value, float):  # numpy float64 subclasses float
        return float(value) if math.isfinite(value) else None  # JSON has no nan/inf
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_json_safe(v) for v in value), key=repr)  # deterministic lines
    if hasattr(value, "tolist"):  # numpy arrays and scalars, without importing numpy
        return _json_safe(value.tolist())
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return str(value)  # paths, datetimes...: losing an event over a summary value is worse


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all events: which run, when (unix seconds), and the bus's sequence number."""

    kind: ClassVar[str] = ""
    run_id: str
    ts: float = field(default_factory=time.time)
    seq: int = 0  # 0 until an EventBus stamps it

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:  # abstract intermediates may leave kind unset
            if kind in _REGISTRY:
                raise TypeError(f"event kind {kind!r} is already registered")
            _REGISTRY[kind] = cls

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of this event, with its ``kind`` first."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            out[f.name] = _json_safe(getattr(self, f.name))
        return out

    def to_json(self) -> str:
        """This event as one compact JSON line (without the newline)."""
        # json escapes control characters, so the text never holds a raw newline
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """A run began (or resumed) with this configuration."""
    kind: ClassVar[str] = "run_started"
    config: dict[str, Any] = field(default_factory=dict)
    strategy: str = ""
    seed: int = 0
    resumed: bool = False


@dataclass(frozen=True, kw_only=True)
class ExperimentDone(Event):
    """An experiment (one tool call) finished, successfully or not."""
    kind: ClassVar[str] = "experiment_done"
    experiment_id: int
    step: int = 0
    tool: str
    family: str | None = None
    design: str | None = None
    n_items: int = 0
    ok: bool = True
    error: str | None = None
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class HypothesisProposed(Event):
    """A new hypothesis entered the pool."""
    kind: ClassVar[str] = "hypothesis_proposed"
    hypothesis_id: int
    hypothesis_kind: str  # form | coefficient | meta | model
    family: str | None = None
    statement: str
    status: str = "proposed"
    score: float | None = None


@dataclass(frozen=True, kw_only=True)
class HypothesisChanged(Event):
    """A hypothesis moved from one status to another."""
    kind: ClassVar[str] = "hypothesis_changed"
    hypothesis_id: int
    from_status: str
    to_status: str
    reason: str = ""
    experiment_id: int | None = None
    score: float | None = None


@dataclass(frozen=True, kw_only=True)
class RuleAccepted(Event):
    """A hypothesis survived falsification and became a rule."""
    kind: ClassVar[str] = "rule_accepted"
    rule_id: int
    hypothesis_id: int | None = None
    family: str | None = None
    statement: str
    latex: str = ""
    conditions: list[str] = field(default_factory=list)
    max_error: float | None = None
    n_falsification: int = 0
    audit_passed: bool | None = None


@dataclass(frozen=True, kw_only=True)
class EvidenceRecorded(Event):
    """Evidence rows were stored for a hypothesis; carries what a viewer needs to show them.

    ``columns`` holds the stored rows column by column (regression: predictor, r2, slope,
    intercept, passed; falsification: predicted, measured, error, passed). ``points`` holds
    what a plot needs beyond them: for a regression the observations' measured coefficient
    values and the law's predictions of them; for a falsification the fresh functions'
    parameters (``params``, in the order of ``names``) and which lay outside the searched range.
    """
    kind: ClassVar[str] = "evidence_recorded"
    hypothesis_id: int
    evidence_kind: str  # regression | falsification
    experiment_id: int | None = None
    family: str | None = None
    target: str | None = None  # the coefficient slot a regression explains (c0, c1, ...)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    points: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ModelTrained(Event):
    """A learned model finished training."""
    kind: ClassVar[str] = "model_trained"
    model_run_id: int | str
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    device: str = "cpu"
    n_params: int = 0


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    """How far a stage has got; high-frequency, so consumers may keep only the latest."""
    kind: ClassVar[str] = "progress"
    stage: str
    done: int = 0
    total: int | None = None
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class RunEnded(Event):
    """A run stopped: completed, interrupted, failed, budget_exhausted, ..."""
    kind: ClassVar[str] = "run_ended"
    status: str
    reason: str = ""
    totals: dict[str, Any] = field(default_factory=dict)


def event_from_dict(d: Mapping[str, Any]) -> Event:
    """The event a ``to_dict`` result describes; fields this version does not know are ignored."""
    kind = d.get("kind")
    cls = _REGISTRY.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UnknownEventKind(f"unknown event kind {kind!r}")
    names = {f.name for f in fields(cls) if f.init}
    try:
        return cls(**{k: v for k, v in d.items() if k in names})
    except TypeError as e:  # a required field is missing
        raise ValueError(f"bad {kind} event: {e}") from None


def event_from_json(line: str | bytes) -> Event:
    """The event one JSON line describes (ValueError if it is not one)."""
    d = json.loads(line)
    if not isinstance(d, dict):
        raise ValueError(f"an event is a JSON object, not {type(d).__name__}")
    return event_from_dict(d)


class EventBus:
    """Stamps each published event with the next sequence number and hands it to every handler."""

    def __init__(self, *, start_seq: int = 0) -> None:
        # RLock: a handler may publish or unsubscribe from inside delivery
        self._lock = threading.RLock()
        self._handlers: tuple[Handler, ...] = ()
        self._seq = start_seq  # a resumed run passes its log's last seq to keep seq increasing
        self._queue: deque[Event] = deque()
        self._delivering = False
        self.handler_errors = 0

    @property
    def last_seq(self) -> int:
        """The sequence number of the most recently published event (start_seq if none)."""
        return self._seq

    def advance_to(self, seq: int) -> None:
        """Number on from at least `seq` (a resumed run continues its log's numbering)."""
        with self._lock:
            self._seq = max(self._seq, int(seq))

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler(event)`` for every later event; returns a function that unsubscribes."""
        with self._lock:
            self._handlers = (*self._handlers, handler)
        subscribed = True

        def unsubscribe() -> None:
            nonlocal subscribed
            with self._lock:
                if subscribed:  # idempotent, even for a handler subscribed twice
                    subscribed = False
                    i = self._handlers.index(handler)
                    self._handlers = self._handlers[:i] + self._handlers[i + 1:]

        return unsubscribe

    def publish(self, event: Event) -> Event:
        """Stamp ``event`` with the next seq, deliver it in this thread, return the stamped copy."""
        # Stamping and delivery share one lock, so every handler sees events in seq order, even
        # when several threads publish; a slow handler therefore slows every publisher.
        with self._lock:
            self._seq += 1
            stamped = replace(event, seq=self._seq)
            self._queue.append(stamped)
            if self._delivering:  # published by a handler: delivered after the current event
                return stamped
            self._delivering = True
            try:
                while self._queue:
                    current = self._queue.popleft()
                    for handler in self._handlers:
                        self._deliver(handler, current)
            finally:
                self._delivering = False
        return stamped

    def _deliver(self, handler: Handler, event: Event) -> None:
        try:
            handler(event)
        except Exception:  # one broken consumer (a watcher, a sink) must not stop the run
            self.handler_errors += 1
            logger.exception("event handler %r failed on %s #%d", handler, event.kind, event.seq)

    def close(self) -> None:
        """Detach every handler; later events are still stamped but reach nobody."""
        with self._lock:
            self._handlers = ()


class JsonlSink:
    """Appends events to a JSONL file, one flushed line each; usable directly as a bus handler."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _mend_torn_tail(self.path)
        self._lock = threading.Lock()
        # newline="\n": the same bytes on every platform, so readers can split on b"\n"
        self._file = open(self.path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115
        self.written = 0

    def write(self, event: Event) -> None:
        """Append one event and flush, so that live watchers see it at once."""
        line = event.to_json() + "\n"
        with self._lock:
            if self._file.closed:
                raise ValueError(f"event sink {self.path} is closed")
            self._file.write(line)
            self._file.flush()
            self.written += 1

    __call__ = write

    def close(self) -> None:
        """Close the file; closing twice is harmless."""
        with self._lock:
            self._file.close()

    def __enter__(self) -> JsonlSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _mend_torn_tail(path: Path) -> None:
    # A run killed mid-write leaves a line without its newline; appending to it would glue the
    # next event onto it and corrupt the log in the middle. Keep it if it parses, else drop it.
    if not path.exists():
        return
    with open(path, "r+b") as f:
        complete, tail = 0, b""
        for line in f:  # only the last line can lack its newline
            if line.endswith(b"\n"):
                complete += len(line)
            else:
                tail = line
        if not tail:
            return
        try:
            event_from_json(tail)
        except ValueError:
            logger.warning("dropping a torn last line (%d bytes) from %s", len(tail), path)
            f.truncate(complete)
        else:
            f.write(b"\n")  # the cursor is at the end after reading


def read_events(path: str | os.PathLike[str], *, skip_unknown: bool = False) -> Iterator[Event]:
    """The events in a log, skipping blank lines and a torn last line (the writer was killed)."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):  # binary lines split on b"\n" only
            if not raw.strip():
                continue
            try:
                yield event_from_json(raw)
            except UnknownEventKind as e:
                if not skip_unknown:
                    raise ValueError(f"{path}:{lineno}: {e}") from None
            except ValueError as e:
                if not raw.endswith(b"\n"):  # only the last line can lack its newline
                    return
                raise ValueError(f"{path}:{lineno}: corrupt event line: {e}") from None


def follow(path: str | os.PathLike[str], *, poll_seconds: float = 0.1,
           stop: Callable[[], bool] | None = None) -> Iterator[Event]:
    """Yield a log's events from its start as lines complete, until ``stop()`` returns true."""
    # When stop() turns true, whatever is complete in the file by then is still yielded. Lines
    # that do not parse (unknown kinds from a newer writer, the one line a resumed writer may cut
    # from under us) are logged and skipped: a watcher must not die.
    path = Path(path)
    f = None
    buf = b""
    pos = 0  # bytes consumed from the file, buffered partial line included
    try:
        while True:
            stopping = stop is not None and stop()
            if f is None:
                try:
                    f = open(path, "rb")  # noqa: SIM115
                except FileNotFoundError:
                    f = None
            if f is not None:
                size = os.fstat(f.fileno()).st_size
                if size < pos:  # a resumed writer dropped the torn line we were buffering
                    pos = pos - len(buf) if size >= pos - len(buf) else 0
                    buf = b""
                    f.seek(pos)
                while chunk := f.read(1 << 16):
                    pos += len(chunk)
                    *lines, buf = (buf + chunk).split(b"\n")
                    for raw in lines:
                        if raw.strip():
                            try:
                                event = event_from_json(raw)
                            except ValueError as e:
                                logger.warning("skipping an unreadable line in %s: %s", path, e)
                                continue
                            yield event
            if stopping:
                return
            time.sleep(poll_seconds)
    finally:
        if f is not None:
            f.close()
