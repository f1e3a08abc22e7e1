"""The redraw throttle: at most one redraw per interval, and the last request never lost.

Time and timers are injected (no sleeping), except in the one test of the real timer thread.
"""

from __future__ import annotations

import threading

from flowstone_nb._core.throttle import Throttle
from tests.resources.fake_timers import FakeTimers


def throttle(timers: FakeTimers, calls: list[float], interval: float = 0.2) -> Throttle:
    return Throttle(
        lambda: calls.append(timers.now),
        interval=interval,
        clock=timers.clock,
        schedule=timers.schedule,
    )


def test_first_request_runs_at_once_then_one_trailing_run() -> None:
    timers, calls = FakeTimers(), []
    redraw = throttle(timers, calls)
    redraw.request()
    assert calls == [10.0]
    timers.now = 10.05
    redraw.request()
    redraw.request()
    assert calls == [10.0]
    assert [round(delay, 3) for delay, _ in timers.armed] == [0.15]
    timers.now = 10.2
    timers.fire()
    assert calls == [10.0, 10.2]
    timers.now = 11.0
    redraw.request()  # the interval has passed
    assert calls == [10.0, 10.2, 11.0]
    assert timers.armed == []


def test_flush_runs_what_is_pending_and_disarms() -> None:
    timers, calls = FakeTimers(), []
    redraw = throttle(timers, calls)
    redraw.flush()
    assert calls == []
    redraw.request()
    redraw.request()
    redraw.flush()
    assert calls == [10.0, 10.0]
    assert timers.armed == []
    assert timers.cancelled == 1
    redraw.flush()
    assert len(calls) == 2


def test_now_skips_the_wait() -> None:
    timers, calls = FakeTimers(), []
    redraw = throttle(timers, calls)
    redraw.request()
    redraw.request()
    redraw.request(now=True)
    assert len(calls) == 2
    assert timers.armed == []


def test_a_timer_that_fires_after_being_disarmed_does_nothing() -> None:
    timers, calls = FakeTimers(), []
    redraw = throttle(timers, calls)
    redraw.request()
    redraw.request()
    [(_, late)] = timers.armed
    redraw.flush()
    late()  # it had already started when flush cancelled it
    assert len(calls) == 2


def test_zero_interval_runs_every_request() -> None:
    timers, calls = FakeTimers(), []
    redraw = throttle(timers, calls, interval=0)
    for _ in range(3):
        redraw.request()
    assert len(calls) == 3


def test_real_timers_deliver_the_trailing_run() -> None:
    done = threading.Event()
    calls: list[int] = []

    def action() -> None:
        calls.append(1)
        if len(calls) == 2:
            done.set()

    redraw = Throttle(action, interval=0.01)
    redraw.request()
    redraw.request()
    assert done.wait(timeout=10)
    assert calls == [1, 1]
