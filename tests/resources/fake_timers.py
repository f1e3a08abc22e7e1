"""A clock and a timer scheduler that move only when a test says: for the redraw throttle.

``Throttle``, ``LiveGraph`` and ``BackfillProgress`` take a ``clock`` and a ``schedule``; these
stand in for them, so tests of throttled redraws never sleep.
"""

from __future__ import annotations

from collections.abc import Callable


class FakeTimers:
    """An injectable clock and scheduler: time moves and timers fire only when the test says."""

    def __init__(self, now: float = 10.0) -> None:
        self.now = now
        self.armed: list[tuple[float, Callable[[], None]]] = []
        self.cancelled = 0

    def clock(self) -> float:
        return self.now

    def schedule(self, delay: float, callback: Callable[[], None]) -> Callable[[], None]:
        item = (delay, callback)
        self.armed.append(item)

        def cancel() -> None:
            if item in self.armed:
                self.armed.remove(item)
                self.cancelled += 1

        return cancel

    def fire(self) -> None:
        due, self.armed = self.armed, []
        for _, callback in due:
            callback()
