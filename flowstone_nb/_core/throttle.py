"""A redraw throttle for live views: at most one redraw per interval, and never the last lost.

:class:`Throttle` runs a redraw at once when the interval has passed and otherwise arms one trailing
timer for the rest of it, so the final state is always drawn. Its clock and scheduler are
injectable, so tests move time by hand. It knows nothing of what it redraws; it imports only the
standard library.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

__all__ = ["Schedule", "Throttle", "start_timer"]

#: Calls ``callback`` after ``delay`` seconds; returns a function that cancels it.
Schedule = Callable[[float, Callable[[], None]], Callable[[], None]]


def start_timer(delay: float, callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` on a daemon thread after ``delay`` seconds; returns the cancel function."""
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()
    return timer.cancel


class Throttle:
    """Run ``action`` at most once per ``interval`` seconds, always after the last request.

    A request inside the interval arms a single trailing timer for the rest of it, so the final
    state is always drawn. Actions never overlap; an action should read the newest state itself.

    Parameters
    ----------
    action
        The redraw.
    interval
        Minimum seconds between two actions (``0`` runs every request at once).
    clock
        Monotonic seconds (injectable for tests).
    schedule
        Starts a timer (injectable for tests); see :data:`Schedule`.
    """

    def __init__(
        self,
        action: Callable[[], None],
        *,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule = start_timer,
    ) -> None:
        self._action = action
        self._interval = interval
        self._clock = clock
        self._schedule = schedule
        self._lock = threading.Lock()
        self._action_lock = threading.Lock()
        self._pending = False
        self._last: float | None = None
        self._cancel: Callable[[], None] | None = None
        self._tokens = itertools.count()
        self._token = -1

    def request(self, *, now: bool = False) -> None:
        """Ask for a redraw: at once if the interval has passed (or ``now``), else soon."""
        with self._lock:
            self._pending = True
            wait = 0.0 if now or self._last is None else self._last + self._interval - self._clock()
            if wait > 0:
                if self._cancel is None:
                    token = self._token = next(self._tokens)
                    self._cancel = self._schedule(wait, lambda: self._fire(token))
                return
            self._take()
        self._run()

    def flush(self) -> None:
        """Run a pending redraw now and disarm the timer."""
        with self._lock:
            if not self._take():
                return
        self._run()

    def _fire(self, token: int) -> None:
        with self._lock:
            if token != self._token:
                return  # disarmed after this timer had already started
            self._cancel = None
            self._take()  # an armed timer always has a redraw pending
        self._run()

    def _take(self) -> bool:
        """Claim the pending redraw (lock held): disarm the timer, note the time."""
        if self._cancel is not None:
            self._cancel()
            self._cancel = None
        self._token = -1
        if not self._pending:
            return False
        self._pending = False
        self._last = self._clock()
        return True

    def _run(self) -> None:
        with self._action_lock:
            self._action()
