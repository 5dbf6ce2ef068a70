"""Events: JSON round trips, bus ordering and isolation, the JSONL sink, reading and tailing."""

from __future__ import annotations

import json
import logging
import threading
import types
import typing
from dataclasses import MISSING, fields, replace
from pathlib import Path

import numpy as np
import pytest

from eudoxus.agent.events import (
    EVENT_TYPES,
    Event,
    EventBus,
    ExperimentDone,
    JsonlSink,
    Progress,
    RuleAccepted,
    RunEnded,
    event_from_dict,
    event_from_json,
    follow,
    read_events,
)


def _sample_value(tp: object) -> object:
    """A non-default value of a field type, so a new event kind is covered without test edits."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _sample_value(next(a for a in typing.get_args(tp) if a is not type(None)))
    if origin is list or tp is list:
        return ["x > 0", "a != 0"]
    if origin is dict or tp is dict:
        return {"n": 3, "err": 1.5e-9, "ok": True, "tags": ["a", "b"], "none": None}
    return {str: "sample ∫ text", int: 42, float: 0.125, bool: True}[tp]


def _sample(cls: type[Event]) -> Event:
    hints = typing.get_type_hints(cls)
    values = {f.name: _sample_value(hints[f.name]) for f in fields(cls) if f.name != "ts"}
    return cls(**values)


def _progress(i: int, run_id: str = "r1") -> Progress:
    return Progress(run_id=run_id, stage="measure", done=i, total=10, message=f"step {i}")


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_every_kind_round_trips_through_json(kind: str) -> None:
    event = _sample(EVENT_TYPES[kind])
    line = event.to_json()
    assert "\n" not in line
    assert json.loads(line)["kind"] == kind
    assert event_from_json(line) == event
    assert event_from_dict(event.to_dict()) == event


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_every_kind_builds_from_required_fields_only(kind: str) -> None:
    cls = EVENT_TYPES[kind]
    hints = typing.get_type_hints(cls)
    required = {f.name: _sample_value(hints[f.name]) for f in fields(cls)
                if f.default is MISSING and f.default_factory is MISSING}
    event = cls(**required)
    assert event.seq == 0 and event.ts > 0
    assert event_from_json(event.to_json()) == event


def test_numpy_and_non_finite_values_become_json_safe() -> None:
    event = ExperimentDone(
        run_id="r1", experiment_id=np.int64(7), tool="measure", n_items=np.int32(3),
        ok=np.bool_(True), seconds=np.float64(0.5),
        summary={"errors": np.array([1.0, np.nan, 2.5]), "max": np.float32(0.25),
                 "bad": float("inf"), "pair": (1, 2), np.int64(4): "key", "grid": np.eye(2)},
    )
    d = json.loads(event.to_json())
    assert d["experiment_id"] == 7 and d["n_items"] == 3 and d["ok"] is True
    assert d["summary"] == {"errors": [1.0, None, 2.5], "max": 0.25, "bad": None,
                            "pair": [1, 2], "4": "key", "grid": [[1.0, 0.0], [0.0, 1.0]]}
    back = event_from_json(event.to_json())
    assert type(back.experiment_id) is int and back.summary["bad"] is None
    rule = RuleAccepted(run_id="r1", rule_id=1, statement="s", max_error=float("nan"))
    assert event_from_json(rule.to_json()).max_error is None


def test_unknown_kind_is_a_one_line_value_error() -> None:
    with pytest.raises(ValueError, match="unknown event kind 'telepathy'") as info:
        event_from_json('{"kind":"telepathy","run_id":"r1"}')
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="unknown event kind"):
        event_from_dict({"run_id": "r1"})
    with pytest.raises(ValueError):
        event_from_json("[1, 2]")


def test_unknown_extra_fields_are_ignored_and_missing_required_fields_rejected() -> None:
    event = RunEnded(run_id="r1", status="completed", totals={"rules": 3})
    d = event.to_dict() | {"added_in_a_later_version": [1, 2]}
    assert event_from_dict(d) == event
    with pytest.raises(ValueError, match="run_ended"):
        event_from_dict({"kind": "run_ended", "run_id": "r1"})


def test_bus_stamps_strictly_increasing_seq_across_threads() -> None:
    bus = EventBus()
    seen: dict[str, list[int]] = {"a": [], "b": []}
    bus.subscribe(lambda e: seen["a"].append(e.seq))
    bus.subscribe(lambda e: seen["b"].append(e.seq))
    returned: list[int] = []
    start = threading.Barrier(4)

    def publisher(t: int) -> None:
        start.wait()
        for i in range(500):
            returned.append(bus.publish(_progress(i, run_id=f"t{t}")).seq)

    threads = [threading.Thread(target=publisher, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seqs in seen.values():
        assert seqs == list(range(1, 2001))
    assert sorted(returned) == list(range(1, 2001))
    assert bus.last_seq == 2000


def test_publish_returns_a_stamped_copy() -> None:
    bus = EventBus(start_seq=41)
    original = _progress(1)
    stamped = bus.publish(original)
    assert original.seq == 0 and stamped.seq == 42
    assert stamped == replace(original, seq=42)


def test_a_raising_handler_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    got: list[int] = []

    def broken(event: Event) -> None:
        raise RuntimeError("watcher fell over")

    bus.subscribe(lambda e: got.append(e.seq))
    bus.subscribe(broken)
    bus.subscribe(lambda e: got.append(e.seq))
    with caplog.at_level(logging.ERROR, logger="eudoxus.events"):
        bus.publish(_progress(1))
        bus.publish(_progress(2))
    assert got == [1, 1, 2, 2]
    assert bus.handler_errors == 2
    assert "watcher fell over" in caplog.text


def test_unsubscribe_and_close() -> None:
    bus = EventBus()
    a: list[Event] = []
    b: list[Event] = []
    unsubscribe = bus.subscribe(a.append)
    bus.subscribe(b.append)
    bus.publish(_progress(1))
    unsubscribe()
    unsubscribe()  # idempotent
    bus.publish(_progress(2))
    assert [e.seq for e in a] == [1] and [e.seq for e in b] == [1, 2]
    twice = bus.subscribe(a.append)
    bus.subscribe(a.append)
    twice()
    twice()  # removes one subscription only
    bus.publish(_progress(3))
    assert [e.seq for e in a] == [1, 3]
    bus.close()
    assert bus.publish(_progress(4)).seq == 4 and len(b) == 3


def test_a_handler_publishing_keeps_delivery_in_seq_order() -> None:
    bus = EventBus()
    order: list[tuple[str, int]] = []

    def echo(event: Event) -> None:
        order.append(("echo", event.seq))
        if event.seq == 1:
            bus.publish(_progress(99))

    bus.subscribe(echo)
    bus.subscribe(lambda e: order.append(("other", e.seq)))
    bus.publish(_progress(1))
    assert order == [("echo", 1), ("other", 1), ("echo", 2), ("other", 2)]


def test_sink_appends_across_instances_and_read_events_gets_everything(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "run" / "events.jsonl"
    bus = EventBus()
    with JsonlSink(path) as sink:
        unsubscribe = bus.subscribe(sink)
        first = [bus.publish(_sample(cls)) for cls in EVENT_TYPES.values()]
        unsubscribe()
    resumed = EventBus(start_seq=bus.last_seq)
    with JsonlSink(path) as sink:
        resumed.subscribe(sink)
        second = [resumed.publish(_progress(i)) for i in range(3)]
        assert sink.written == 3
    assert list(read_events(path)) == first + second
    with pytest.raises(ValueError, match="closed"):
        sink.write(_progress(0))


def test_truncated_last_line_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    events = [_progress(i) for i in range(3)]
    torn = events[2].to_json()[:25]
    path.write_text(f"{events[0].to_json()}\n\n{events[1].to_json()}\n{torn}", encoding="utf-8")
    assert list(read_events(path)) == events[:2]
    with JsonlSink(path) as sink:  # a resumed run drops the torn line instead of gluing onto it
        sink(events[2])
    assert list(read_events(path)) == events


def test_a_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    events = [_progress(i) for i in range(2)]
    path.write_text(events[0].to_json(), encoding="utf-8")
    assert list(read_events(path)) == events[:1]
    with JsonlSink(path) as sink:
        sink(events[1])
    assert list(read_events(path)) == events


def test_corrupt_middle_line_raises_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    good = _progress(1).to_json()
    path.write_text(f"{good}\n{good}\n{{not json\n{good}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"events\.jsonl:3: corrupt"):
        list(read_events(path))


def test_unknown_kind_in_a_log_raises_unless_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    good = _progress(1).to_json()
    path.write_text(f'{good}\n{{"kind":"from_the_future","run_id":"r1"}}\n{good}\n')
    with pytest.raises(ValueError, match=r":2: unknown event kind 'from_the_future'"):
        list(read_events(path))
    assert len(list(read_events(path, skip_unknown=True))) == 2


def test_follow_tails_a_log_written_by_another_thread(tmp_path: Path) -> None:
    path = tmp_path / "live" / "events.jsonl"
    events = [_progress(i) for i in range(20)]
    polling, halfway, done = threading.Event(), threading.Event(), threading.Event()

    def writer() -> None:
        polling.wait(5)  # the follower is already waiting for the file to appear
        with JsonlSink(path) as sink:
            for event in events[:10]:
                sink(event)
            halfway.wait(5)  # ... and has seen these before the rest is written
            with open(path, "a", encoding="utf-8") as f:  # a line arriving in two pieces
                line = events[10].to_json()
                f.write(line[:15])
                f.flush()
                done.wait(0.03)
                f.write(line[15:] + "\n")
            for event in events[11:]:
                sink(event)
        done.set()

    def stop() -> bool:
        polling.set()
        return done.is_set()

    thread = threading.Thread(target=writer)
    thread.start()
    got: list[Event] = []
    for event in follow(path, poll_seconds=0.002, stop=stop):
        got.append(event)
        if len(got) == 10:
            halfway.set()
    thread.join()
    assert got == events


def test_follow_waits_for_the_file_and_stops_on_stop(tmp_path: Path) -> None:
    path = tmp_path / "never" / "events.jsonl"
    calls = iter(range(5))
    assert list(follow(path, poll_seconds=0.001, stop=lambda: next(calls) >= 3)) == []
