"""Timeouts, cancel and Ctrl-C while a partition is stuck, on threads (the default executor).

A stuck partition waits on an event the test sets only at the end; the timeouts are small, and
the time bounds are loose (a stuck partition would hold the run for 30 s).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._run.api import execute_plan
from flowstone_nb._run.attempts import Attempt
from flowstone_nb._run.plan import build_plan
from flowstone_nb._storage.store import get_store

KEYS = fs.StaticPartitions(["a", "b", "c", "d"])
STUCK_FOR = 30  # seconds a stuck partition would wait: far beyond every bound below
BOUND = 10.0  # seconds a run with a stuck partition may take at most, however loaded the machine


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """What stuck partitions wait for; set when the test ends, and their threads joined."""
    event = threading.Event()
    yield event
    event.set()
    for thread in threading.enumerate():
        if thread.name.startswith("flowstone-run"):
            thread.join(timeout=STUCK_FOR)


def stuck_on(gate: threading.Event, key: str, **options: Any) -> fs.Asset:
    """An asset whose partition ``key`` waits on ``gate``; the others return their key."""

    @fs.asset(partitioned_by=KEYS, **options)
    def parts(context: Any) -> str:
        if context.partition == key:
            gate.wait(STUCK_FOR)
        return str(context.partition)

    return parts


def history_of(asset: str, partition: str) -> list[tuple[str, str | None]]:
    rows = get_store().catalog.history(asset)
    return [(r.status, r.error_message) for r in rows if r.partition.endswith(partition)]


def test_a_partition_past_its_timeout_fails_and_the_backfill_goes_on(
    gate: threading.Event,
) -> None:
    parts = stuck_on(gate, "b", timeout=1)
    began = time.perf_counter()
    result = fs.backfill(parts, max_workers=2)
    assert time.perf_counter() - began < BOUND
    assert [p.partition for p in result.failed] == ["b"]
    failure = result["b"]
    assert failure.status == "failed"
    assert failure.error_type == "MaterializationTimeoutError"
    assert "Asset 'parts' partition 'b' timed out after 1 s" in str(failure.error)
    assert "thread cannot be stopped" in str(failure.error)
    assert "abandoned" in str(failure.error)
    assert "Fix the code" not in str(failure.error)
    assert result.counts() == {"computed": 3, "failed": 1}
    [(status, message)] = history_of("parts", "b")
    assert status == "failed"
    assert message is not None
    assert "timed out after 1 s" in message
    assert fs.status(parts)["parts"]["b"] == "failed"
    # The abandoned thread, once free, records nothing: the failure stays the only row.
    gate.set()
    for thread in threading.enumerate():
        if thread.name.startswith("flowstone-run"):
            thread.join(timeout=STUCK_FOR)
    assert history_of("parts", "b") == [(status, message)]
    # Run again: b computes now.
    again = fs.backfill(parts)
    assert again.counts() == {"computed": 1, "reused": 3}


def test_a_stuck_thread_does_not_take_a_worker_away(gate: threading.Event) -> None:
    parts = stuck_on(gate, "a", timeout=1)
    result = fs.backfill(parts, max_workers=1)
    assert result.counts() == {"computed": 3, "failed": 1}


def test_the_backfill_timeout_is_a_default_the_asset_timeout_wins(gate: threading.Event) -> None:
    parts = stuck_on(gate, "c")
    result = fs.backfill(parts, timeout=1)
    assert "timed out after 1 s" in str(result["c"].error)
    assert result.counts() == {"computed": 3, "failed": 1}

    own = stuck_on(gate, "d", timeout=1.5, name="own")
    result = fs.backfill(own, timeout=STUCK_FOR * 2)
    assert "timed out after 1.5 s" in str(result["d"].error)


def test_the_backfill_timeout_covers_upstream_partitions(gate: threading.Event) -> None:
    stuck_on(gate, "a")

    @fs.asset(partitioned_by=KEYS)
    def after(parts: str) -> str:
        return parts * 2

    result = fs.backfill(after, ["a", "b"], timeout=1)
    assert result["a"].status == "skipped"
    assert "upstream" in str(result["a"].error)
    assert result["b"].status == "computed"
    [(status, message)] = history_of("parts", "a")
    assert status == "failed"
    assert message is not None
    assert "timed out after 1 s" in message


def test_a_partition_done_in_time_is_not_touched_by_its_timeout() -> None:
    @fs.asset(partitioned_by=KEYS, timeout=STUCK_FOR)
    def quick(context: Any) -> str:
        return str(context.partition)

    assert fs.backfill(quick, timeout=STUCK_FOR).counts() == {"computed": 4}
    assert fs.materialize(quick, "a", timeout=STUCK_FOR) == "a"


def test_materialize_raises_a_timeout_error(gate: threading.Event) -> None:
    @fs.asset(timeout=0.2)
    def hangs() -> int:
        gate.wait(STUCK_FOR)
        return 1

    began = time.perf_counter()
    with pytest.raises(fs.MaterializationError, match=r"'hangs' timed out after 0\.2 s") as info:
        fs.materialize(hangs)
    assert time.perf_counter() - began < BOUND
    assert isinstance(info.value, TimeoutError)
    assert info.value.asset == "hangs"
    assert fs.history("hangs").status.tolist() == ["failed"]


def test_materialize_takes_a_timeout_for_the_whole_plan(gate: threading.Event) -> None:
    @fs.asset
    def upstream() -> int:
        gate.wait(STUCK_FOR)
        return 1

    @fs.asset
    def downstream(upstream: int) -> int:
        return upstream + 1

    with pytest.raises(TimeoutError, match=r"'upstream' timed out after 0\.2 s"):
        fs.materialize(downstream, timeout=0.2)
    gate.set()
    assert fs.materialize(downstream, timeout=STUCK_FOR) == 2
    assert fs.materialize(downstream, timeout=STUCK_FOR) == 2  # reused now


def test_materialize_with_a_timeout_raises_user_errors_as_without() -> None:
    @fs.asset(timeout=STUCK_FOR)
    def broken() -> int:
        raise ValueError("nope")

    with pytest.raises(fs.MaterializationError, match="ValueError: nope") as info:
        fs.materialize(broken)
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize("value", [0, -1.0, "5", True, float("nan")])
def test_a_run_timeout_that_is_not_a_positive_number_is_refused(value: Any) -> None:
    @fs.asset(partitioned_by=KEYS)
    def fine(context: Any) -> str:
        return "x"

    with pytest.raises(fs.FlowstoneError, match=r"timeout=.* is not a positive number of sec"):
        fs.backfill(fine, timeout=value)
    with pytest.raises(fs.FlowstoneError, match=r"timeout=.* is not a positive number of sec"):
        fs.materialize(fine, "a", timeout=value)
    assert fs.history("fine").empty


def test_cancel_returns_quickly_while_a_partition_is_stuck(gate: threading.Event) -> None:
    parts = stuck_on(gate, "a")
    cancel = threading.Event()

    def cancel_once_stuck(event: Event) -> None:
        if event.kind == "started" and event.partition == "a":
            cancel.set()

    unsubscribe = subscribe(cancel_once_stuck)
    began = time.perf_counter()
    try:
        result = fs.backfill(parts, max_workers=1, cancel=cancel)
    finally:
        unsubscribe()
    assert time.perf_counter() - began < BOUND
    assert result["a"].status == "cancelled"
    assert "cancelled while it ran" in str(result["a"].error)
    assert "thread cannot be stopped" in str(result["a"].error)
    assert result.counts() == {"cancelled": 4}
    [(status, message)] = history_of("parts", "a")
    assert status == "failed"
    assert message is not None
    assert "cancelled while it ran" in message


def test_ctrl_c_returns_quickly_while_a_partition_is_stuck(
    registry: fs.Registry, gate: threading.Event
) -> None:
    stuck_on(gate, "a")
    keys = KEYS.keys()
    plan = build_plan(registry, [("parts", key) for key in keys])
    stuck = threading.Event()

    def note(event: Event) -> None:
        if event.kind == "started" and event.partition == "a":
            stuck.set()

    class Interrupting(threading.Event):
        """A cancel event whose check raises KeyboardInterrupt once the partition is stuck."""

        def is_set(self) -> bool:
            if stuck.is_set() and not super().is_set():
                self.set()
                raise KeyboardInterrupt
            return super().is_set()

    unsubscribe = subscribe(note)
    began = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            execute_plan(plan, get_store(), max_workers=2, cancel=Interrupting(), kind="backfill")
    finally:
        unsubscribe()
    assert time.perf_counter() - began < BOUND
    rows = get_store().catalog.history("parts")
    assert {r.status for r in rows} <= {"success", "failed"}  # nothing left running
    [failed] = [r for r in rows if r.status == "failed"]
    assert failed.error_type == "Interrupted"
    assert "interrupted while it ran" in str(failed.error_message)


@pytest.fixture
def settled_seen(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set when the scheduler tried to abandon an attempt its runner had just settled."""
    seen = threading.Event()
    original = Attempt.abandon

    def abandon(self: Attempt, error: Any) -> BaseException | None:
        outcome = original(self, error)
        if outcome is None:
            seen.set()
        return outcome

    monkeypatch.setattr(Attempt, "abandon", abandon)
    return seen


def test_a_partition_done_in_time_but_slow_to_record_is_not_given_up(
    settled_seen: threading.Event,
) -> None:
    @fs.asset(partitioned_by=KEYS, timeout=0.5)
    def recorded(context: Any) -> str:
        return str(context.partition)

    def hold(event: Event) -> None:  # the runner's thread, after its attempt settled
        if event.kind == "succeeded":
            settled_seen.wait(STUCK_FOR)

    unsubscribe = subscribe(hold)
    try:
        result = fs.backfill(recorded, ["a"])
    finally:
        unsubscribe()
    assert settled_seen.is_set()
    assert result.counts() == {"computed": 1}


def test_a_cancelled_run_waits_for_a_partition_that_is_recording(
    settled_seen: threading.Event,
) -> None:
    @fs.asset(partitioned_by=KEYS)
    def recorded(context: Any) -> str:
        return str(context.partition)

    cancel = threading.Event()

    def hold(event: Event) -> None:
        if event.kind == "succeeded" and event.partition == "a":
            cancel.set()
            settled_seen.wait(STUCK_FOR)

    unsubscribe = subscribe(hold)
    try:
        result = fs.backfill(recorded, ["a", "b"], max_workers=1, cancel=cancel)
    finally:
        unsubscribe()
    assert settled_seen.is_set()
    assert result["a"].status == "computed"
    assert result["b"].status == "cancelled"


def test_a_partition_that_finishes_within_the_grace_of_a_cancel_keeps_its_value() -> None:
    cancel = threading.Event()
    waited = threading.Event()  # never set: the partition waits out its own short delay

    @fs.asset(partitioned_by=KEYS)
    def brief(context: Any) -> str:
        if context.partition == "a":
            cancel.set()  # the run is cancelled while this partition still runs
            waited.wait(0.5)  # and it ends well within the grace the run gives it
        return str(context.partition)

    result = fs.backfill(brief, ["a", "b"], max_workers=1, cancel=cancel)
    assert result["a"].status == "computed"
    assert result["b"].status == "cancelled"
    assert fs.load("brief", partition="a") == "a"
