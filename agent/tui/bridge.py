"""The one path from the core to the UI: bus events, from any thread, into Textual messages.

A campaign publishes from its own thread, often in bursts (a step's events arrive together).
The bridge queues them and posts one `EventsArrived` message per burst; the app drains the
queue on its own thread. Consecutive progress events collapse into the latest one.
"""

from __future__ import annotations

import threading

from textual.message import Message

from eudoxus.agent import events as ev


class EventsArrived(Message):
    """New events are waiting in the bridge."""


class Bridge:
    """An event-bus handler that hands events to a Textual app, batched and coalesced."""

    def __init__(self, app) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._pending: list[ev.Event] = []
        self._posted = False
        self.coalesced = 0

    def __call__(self, event: ev.Event) -> None:
        with self._lock:
            pending = self._pending
            if isinstance(event, ev.Progress) and pending and isinstance(pending[-1],
                                                                         ev.Progress):
                pending[-1] = event  # only the latest progress matters to a viewer
                self.coalesced += 1
            else:
                pending.append(event)
            if self._posted:  # the app has not drained the last burst yet
                return
            self._posted = True
        self.app.post_message(EventsArrived())  # thread-safe in Textual

    def drain(self) -> list[ev.Event]:
        """The events queued since the last drain, in order (called on the app's thread)."""
        with self._lock:
            out, self._pending, self._posted = self._pending, [], False
        return out
