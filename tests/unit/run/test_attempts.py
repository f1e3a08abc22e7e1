"""Attempts (who records a node's outcome: its runner or the scheduler) and the worker threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._run.attempts import (
    THREAD_LEFT,
    AbandonedError,
    Attempt,
    WorkerThreads,
    cancelled_error,
    timeout_error,
)
from flowstone_nb._run.plan import make_node

NODE = make_node("a", None, None)


def test_a_settled_attempt_is_not_abandoned() -> None:
    attempt = Attempt(1.0)
    recorded: list[BaseException] = []
    attempt.begin(lambda: None, recorded.append)
    assert attempt.deadline is None  # not running yet
    attempt.running()
    assert attempt.deadline is not None
    assert attempt.started is not None
    assert attempt.deadline == pytest.approx(attempt.started + 1.0)
    assert attempt.settle()
    assert attempt.abandon(FlowstoneError) is None
    assert recorded == []


def test_an_abandoned_attempt_stops_its_work_and_records_the_failure_once() -> None:
    attempt = Attempt()
    recorded: list[BaseException] = []
    stopped: list[str] = []

    def stop() -> str:
        stopped.append("stop")
        return "it was stopped"

    attempt.begin(lambda: None, recorded.append)
    attempt.on_stop(stop)
    error = attempt.abandon(lambda how: FlowstoneError(f"gave up: {how}"))
    assert str(error) == "gave up: it was stopped"
    assert recorded == [error]
    assert stopped == ["stop"]
    assert not attempt.settle()  # its runner records nothing now
    attempt.on_stop(stop)  # registered too late: it stops at once
    assert stopped == ["stop", "stop"]


def test_an_attempt_abandoned_before_it_began_never_begins() -> None:
    attempt = Attempt()
    error = attempt.abandon(FlowstoneError)
    assert str(error) == THREAD_LEFT  # no stop action: a thread, left behind
    started: list[str] = []
    with pytest.raises(AbandonedError):
        attempt.begin(lambda: started.append("row"), lambda error: None)
    assert started == []


def test_the_messages_name_the_asset_and_partition() -> None:
    node = make_node("sales", None, None)
    keyed = node._replace(key="eu", encoded="s:eu", text="eu")
    error = timeout_error(keyed, 2.5, "how")
    assert isinstance(error, TimeoutError)
    assert str(error).startswith("Asset 'sales' partition 'eu' timed out after 2.5 s")
    assert str(timeout_error(node, 3, "how")).startswith("Asset 'sales' timed out after 3 s")
    interrupted = cancelled_error(node, "how", interrupted=True)
    assert isinstance(interrupted, KeyboardInterrupt)
    assert str(interrupted) == "Asset 'sales' was interrupted while it ran: how."
    cancelled = cancelled_error(node, "how", interrupted=False)
    assert isinstance(cancelled, FlowstoneError)
    assert str(cancelled) == "Asset 'sales' was cancelled while it ran: how."


def test_worker_threads_run_calls_and_hand_back_errors() -> None:
    threads: WorkerThreads[Any] = WorkerThreads(2)
    try:
        assert threads.submit(lambda: 1).result() == 1
        with pytest.raises(KeyboardInterrupt):
            threads.submit(_interrupt).result()
    finally:
        threads.shutdown()


def _interrupt() -> None:
    raise KeyboardInterrupt


def test_a_thread_stuck_on_an_abandoned_call_is_replaced() -> None:
    threads: WorkerThreads[Any] = WorkerThreads(1)
    inside, gate = threading.Event(), threading.Event()

    def stuck() -> str:
        inside.set()
        gate.wait(30)
        return "late"

    stuck_future = threads.submit(stuck)
    assert inside.wait(30)
    threads.abandon(stuck_future)
    assert threads.submit(lambda: "next").result(timeout=30) == "next"
    stuck_thread = next(t for t in threading.enumerate() if t.name == "flowstone-run-1")
    threads.shutdown()  # does not wait for the stuck one
    assert stuck_thread.is_alive()
    gate.set()
    stuck_thread.join(30)  # it leaves once its call is done
    assert not stuck_thread.is_alive()
    assert stuck_future.result() == "late"


def test_a_call_abandoned_before_it_started_is_not_run() -> None:
    threads: WorkerThreads[Any] = WorkerThreads(1)
    inside, gate = threading.Event(), threading.Event()
    ran: list[str] = []

    def busy() -> None:
        inside.set()
        gate.wait(30)

    first = threads.submit(busy)
    assert inside.wait(30)
    queued = threads.submit(lambda: ran.append("queued"))
    threads.abandon(queued)  # still waiting for the one thread
    gate.set()
    first.result(timeout=30)
    assert threads.submit(lambda: "after").result(timeout=30) == "after"
    threads.shutdown()
    assert ran == []
