"""Steering a running campaign from another thread: stop, pause, single step, retrain now.

The campaign asks `wait_for_turn` before each step and `take_retrain` before planning it; a
front end calls the other methods from its own thread. A step in progress always finishes
and commits: pausing or stopping takes effect between steps, so nothing is ever half done.
"""

from __future__ import annotations

import threading


class RunControl:
    """Thread-safe switches a front end flips and the campaign loop obeys between steps."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()
        self._lock = threading.Condition()
        self._paused = False
        self._steps_granted = 0
        self._retrain = False

    @property
    def paused(self) -> bool:
        """Whether the campaign waits between steps."""
        return self._paused

    def pause(self) -> None:
        """Hold the campaign before its next step."""
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        """Let the campaign run freely again."""
        with self._lock:
            self._paused, self._steps_granted = False, 0
            self._lock.notify_all()

    def toggle_pause(self) -> bool:
        """Pause if running, resume if paused; returns whether it is now paused."""
        if self._paused:
            self.resume()
        else:
            self.pause()
        return self._paused

    def step_once(self) -> None:
        """While paused, let exactly one more step run (pausing first if running)."""
        with self._lock:
            self._paused = True
            self._steps_granted += 1
            self._lock.notify_all()

    def request_stop(self) -> None:
        """Stop after the step in progress (a paused campaign stops at once)."""
        self.stop.set()
        with self._lock:
            self._lock.notify_all()

    def request_retrain(self) -> None:
        """Make the next step a retraining of the intuition."""
        with self._lock:
            self._retrain = True

    def take_retrain(self) -> bool:
        """Whether a retraining was requested since the last call (and clear the request)."""
        with self._lock:
            wanted, self._retrain = self._retrain, False
            return wanted

    def wait_for_turn(self, poll_seconds: float = 0.5) -> bool:
        """Block while paused; True when the next step may run, False when asked to stop."""
        with self._lock:
            while self._paused and not self._steps_granted and not self.stop.is_set():
                self._lock.wait(poll_seconds)  # the stop event is set without the lock too
            if self.stop.is_set():
                return False
            if self._paused:
                self._steps_granted -= 1
            return True
