"""Retries on threads (the default executor): attempts, their rows, waits that block nothing.

Flaky assets fail a set number of times per partition, counted in a dict the test owns. Waits
between attempts are 0 where the test only needs a retry; where it needs a long wait (to show
that it blocks nothing, or that a cancel ends it), the run is ended by a cancel or an
interruption, well within a bound far below the wait.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._core.errors import CheckFailedError
from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._run.api import execute_plan
from flowstone_nb._run.plan import build_plan
from flowstone_nb._run.retries import LONGEST_WAIT, RetryPolicy, retried_failure
from flowstone_nb._storage.store import get_store

KEYS = fs.StaticPartitions(["a", "b", "c", "d"])
LONG = 60.0  # seconds of a wait the test never sits out
BOUND = 10.0  # seconds a run that must not sit out LONG may take, however loaded the machine
STUCK_FOR = 30.0


class FlakyError(ConnectionError):
    """What a flaky source raises."""


def flaky(failures: dict[str, int], **options: Any) -> tuple[fs.Asset, Counter[str]]:
    """A partitioned asset whose partition ``k`` fails ``failures.get(k, 0)`` times, then works.

    Returned with the count of its attempts (partition -> attempts so far).
    """
    tries: Counter[str] = Counter()
    options.setdefault("retry_delay", 0)

    @fs.asset(partitioned_by=KEYS, **options)
    def source(context: Any) -> str:
        key = str(context.partition)
        tries[key] += 1
        if tries[key] <= failures.get(key, 0):
            raise FlakyError(f"{key}: try {tries[key]} failed")
        return key.upper()

    return source, tries


def attempts(asset: str, partition: str) -> list[tuple[str, int, str | None]]:
    """``(status, attempt, error message)`` of the partition's rows, newest first."""
    frame = fs.history(asset, partition or None)
    messages = [None if pd.isna(m) else m for m in frame["error_message"]]
    return list(zip(frame["status"], frame["attempt"], messages, strict=True))


@pytest.fixture
def events() -> Iterator[list[Event]]:
    heard: list[Event] = []
    unsubscribe = subscribe(heard.append)
    yield heard
    unsubscribe()


# --- retries that succeed ------------------------------------------------------------------------


def test_a_partition_that_succeeds_on_its_third_attempt_is_one_success_after_two_failures() -> None:
    source, tries = flaky({"b": 2}, retries=3)
    result = fs.backfill(source, max_workers=2)
    assert result.ok
    assert result.counts() == {"computed": 4}
    assert tries == {"a": 1, "b": 3, "c": 1, "d": 1}
    assert attempts("source", "b") == [
        ("success", 3, None),
        ("failed", 2, "b: try 2 failed"),
        ("failed", 1, "b: try 1 failed"),
    ]
    assert attempts("source", "a") == [("success", 1, None)]
    frame = fs.history("source", "b")
    assert set(frame["run_id"]) == {result.run_id}  # one run, three attempts
    assert list(frame["error_type"])[1:] == ["FlakyError", "FlakyError"]
    assert fs.status(source)["source"]["b"] == "fresh"
    assert fs.load(source, "b") == "B"
    # Done: the next backfill reuses it all.
    assert fs.backfill(source).counts() == {"reused": 4}


def test_materialize_retries_and_returns_the_value() -> None:
    calls = Counter[str]()

    @fs.asset(retries=1, retry_delay=0)
    def once_flaky() -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise FlakyError("first call")
        return 42

    assert fs.materialize(once_flaky) == 42
    assert attempts("once_flaky", "") == [("success", 2, None), ("failed", 1, "first call")]


def test_the_run_retries_are_a_default_and_the_asset_retries_win() -> None:
    source, tries = flaky({"a": 1, "b": 1})
    assert fs.backfill(source, ["a", "b"], retries=1).ok
    assert tries == {"a": 2, "b": 2}

    never, tries = flaky({"a": 1}, retries=0, name="never")
    result = fs.backfill(never, ["a"], retries=5)
    assert result["a"].status == "failed"
    assert tries == {"a": 1}

    more, tries = flaky({"a": 3}, retries=3, name="more")
    assert fs.backfill(more, ["a"], retries=1).ok
    assert tries == {"a": 4}


def test_materialize_takes_retries_for_every_asset_it_computes() -> None:
    calls = Counter[str]()

    @fs.asset
    def upstream() -> int:
        calls["up"] += 1
        if calls["up"] == 1:
            raise FlakyError("upstream once")
        return 1

    @fs.asset
    def downstream(upstream: int) -> int:
        return upstream + 1

    assert fs.materialize(downstream, retries=1) == 2
    assert [a for _, a, _ in attempts("upstream", "")] == [2, 1]


def test_a_retried_attempt_is_announced_as_retrying_not_failed(events: list[Event]) -> None:
    source, _ = flaky({"a": 1}, retries=1)
    fs.backfill(source, ["a"])
    steps = [(e.kind, e.detail.get("attempt")) for e in events if e.partition == "a"]
    assert steps == [("started", None), ("retrying", 1), ("started", None), ("succeeded", None)]
    [retrying] = [e for e in events if e.kind == "retrying"]
    assert retrying.detail["error"] == "a: try 1 failed"
    assert retrying.detail["error_type"] == "FlakyError"
    assert retrying.detail["retry_in"] == 0


def test_a_partition_out_of_attempts_is_announced_failed_after_them(events: list[Event]) -> None:
    source, _ = flaky({"a": 9}, retries=2, retry_delay=0.01, retry_backoff=1.5)
    fs.backfill(source, ["a"])
    kinds = [e.kind for e in events if e.partition == "a"]
    assert kinds == ["started", "retrying", "started", "retrying", "started", "failed"]
    waits = [e.detail["retry_in"] for e in events if e.kind == "retrying"]
    assert waits == pytest.approx([0.01, 0.015])
    [failed] = [e for e in events if e.kind == "failed"]
    assert failed.detail["attempt"] == 3
    assert failed.detail["error"] == "after 3 attempts; the last: FlakyError: a: try 3 failed"


def test_the_waits_grow_by_the_backoff() -> None:
    policy = RetryPolicy(retries=4, delay=0.5, backoff=3.0, retry_on=(Exception,))
    assert [policy.delay_after(n, FlakyError()) for n in (1, 2, 3, 4, 5)] == [
        0.5,
        1.5,
        4.5,
        13.5,
        None,  # the fifth attempt was the last
    ]
    endless = RetryPolicy(retries=5000, delay=1.0, backoff=2.0, retry_on=(Exception,))
    assert endless.delay_after(40, FlakyError()) == LONGEST_WAIT
    assert endless.delay_after(4000, FlakyError()) == LONGEST_WAIT


# --- retries that run out ------------------------------------------------------------------------


def test_retries_that_run_out_say_how_many_attempts_there_were() -> None:
    source, _ = flaky({"c": 99}, retries=2)
    result = fs.backfill(source)
    assert result.counts() == {"computed": 3, "failed": 1}
    failure = result["c"]
    assert failure.error_type == "FlakyError"
    assert str(failure.error).startswith(
        "Asset 'source' partition 'c' failed after 3 attempts; the last: FlakyError: "
        "c: try 3 failed. Every attempt is recorded"
    )
    assert [(s, a) for s, a, _ in attempts("source", "c")] == [
        ("failed", 3),
        ("failed", 2),
        ("failed", 1),
    ]
    assert fs.status(source)["source"]["c"] == "failed"


def test_materialize_out_of_retries_raises_with_the_last_error_as_its_cause() -> None:
    @fs.asset(retries=2, retry_delay=0)
    def hopeless() -> int:
        raise FlakyError("down")

    with pytest.raises(
        fs.MaterializationError, match=r"^Asset 'hopeless' failed after 3 attem"
    ) as info:
        fs.materialize(hopeless)
    assert isinstance(info.value.__cause__, FlakyError)
    assert info.value.asset == "hopeless"


def test_the_partition_is_named_in_the_users_key_form() -> None:
    @fs.asset(
        partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-03"), retries=1, retry_delay=0
    )
    def daily(context: Any) -> int:
        raise FlakyError(str(context.partition))

    with pytest.raises(
        fs.MaterializationError,
        match=r"^Asset 'daily' partition '2024-01-02' failed after 2 attempts; the last: "
        r"FlakyError: 2024-01-02",
    ):
        fs.materialize(daily, "2024-01-02")


def test_skipped_downstream_names_the_last_error() -> None:
    flaky({"a": 9}, retries=1)

    @fs.asset(partitioned_by=KEYS)
    def after(source: str) -> str:
        return source * 2

    result = fs.backfill(after, ["a", "b"])
    assert result["a"].status == "skipped"
    assert "raised FlakyError: a: try 2 failed" in str(result["a"].error)
    assert result["b"].status == "computed"


# --- what is retried -----------------------------------------------------------------------------


def test_an_error_not_in_retry_on_fails_at_once() -> None:
    source, tries = flaky({"a": 5}, retries=3, retry_on=(TimeoutError,))
    result = fs.backfill(source, ["a"])
    assert tries == {"a": 1}
    assert "attempts" not in str(result["a"].error)  # one attempt: it failed, as without retries
    assert "Asset 'source' partition 'a' failed: FlakyError" in str(result["a"].error)


def test_a_later_error_not_in_retry_on_ends_the_retries() -> None:
    tries: Counter[str] = Counter()

    @fs.asset(retries=5, retry_delay=0, retry_on=FlakyError)
    def changing() -> int:
        tries["n"] += 1
        if tries["n"] == 1:
            raise FlakyError("network")
        raise ValueError("bad data")

    with pytest.raises(fs.MaterializationError, match=r"after 2 attempts; the last: ValueError"):
        fs.materialize(changing)
    assert tries["n"] == 2


def test_a_failed_blocking_check_is_not_retried() -> None:
    tries: Counter[str] = Counter()

    @fs.asset(retries=3, retry_delay=0)
    def checked() -> int:
        tries["n"] += 1
        return -1

    @fs.check(checked, blocking=True)
    def positive(checked: int) -> bool:
        return checked > 0

    with pytest.raises(CheckFailedError):
        fs.materialize(checked)
    assert tries["n"] == 1


def test_a_blocking_check_failing_on_a_retry_fails_as_a_check_failure(
    events: list[Event],
) -> None:
    tries: Counter[str] = Counter()

    @fs.asset(retries=3, retry_delay=0)
    def refetched() -> int:
        tries["n"] += 1
        if tries["n"] == 1:
            raise FlakyError("down")
        return -1

    @fs.check(refetched, blocking=True)
    def positive(refetched: int) -> bool:
        return refetched > 0

    with pytest.raises(CheckFailedError, match=r"^Blocking check 'positive' of asset 'refet"):
        fs.materialize(refetched)
    assert tries["n"] == 2
    assert [(s, a) for s, a, _ in attempts("refetched", "")] == [("failed", 2), ("failed", 1)]
    [failed] = [e for e in events if e.kind == "failed"]
    assert failed.detail["error"].startswith("Blocking check 'positive'")
    assert failed.detail["attempt"] == 2


def test_what_is_retried() -> None:
    wrapped = fs.MaterializationError("x", asset="a")
    wrapped.__cause__ = OSError("disk")
    assert isinstance(retried_failure(wrapped), OSError)
    assert retried_failure(OSError("raw")) is not None
    timeout = fs.MaterializationTimeoutError("slow", asset="a")
    assert retried_failure(timeout) is timeout
    died = fs.WorkerDiedError("gone", asset="a")
    assert retried_failure(died) is died
    assert retried_failure(CheckFailedError("no", asset="a", check="c")) is None
    assert retried_failure(fs.StoreError("cannot write")) is None
    assert retried_failure(fs.MaterializationError("nothing under it", asset="a")) is None
    assert retried_failure(KeyboardInterrupt()) is None


# --- waiting blocks nothing, and a cancel ends it -----------------------------------------------


def test_a_waiting_partition_holds_no_worker_and_a_cancel_ends_its_wait() -> None:
    cancel = threading.Event()
    done: list[str] = []

    @fs.asset(partitioned_by=KEYS, retries=1, retry_delay=LONG)
    def slowly_retried(context: Any) -> str:
        key = str(context.partition)
        if key == "a":
            raise FlakyError("a is down")
        done.append(key)
        if len(done) == 3:  # the others all ran, on the one worker, while a waited
            cancel.set()
        return key

    began = time.perf_counter()
    result = fs.backfill(slowly_retried, max_workers=1, cancel=cancel)
    assert time.perf_counter() - began < BOUND
    assert sorted(done) == ["b", "c", "d"]
    assert result.counts() == {"cancelled": 1, "computed": 3}
    error = str(result["a"].error)
    assert error.startswith(
        "Asset 'slowly_retried' partition 'a' was not tried again: the run was cancelled while "
        "it waited for attempt 2 (attempt 1 failed with FlakyError: a is down)."
    )
    assert result["a"].error_type == "FlakyError"
    assert attempts("slowly_retried", "a") == [("failed", 1, "a is down")]


def test_ctrl_c_during_a_wait_returns_at_once(registry: fs.Registry, events: list[Event]) -> None:
    flaky({"a": 1}, retries=1, retry_delay=LONG)
    plan = build_plan(registry, [("source", "a")])

    class Interrupting(threading.Event):
        """A cancel event whose check raises KeyboardInterrupt once the partition waits."""

        def is_set(self) -> bool:
            if any(e.kind == "retrying" for e in events) and not super().is_set():
                self.set()
                raise KeyboardInterrupt
            return super().is_set()

    began = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        execute_plan(plan, get_store(), max_workers=2, cancel=Interrupting(), kind="backfill")
    assert time.perf_counter() - began < BOUND
    [cancelled] = [e for e in events if e.kind == "cancelled"]
    assert "the run was interrupted while it waited for attempt 2" in cancelled.detail["error"]


def test_fail_fast_stops_a_partition_waiting_for_its_next_attempt() -> None:
    @fs.asset(partitioned_by=KEYS, retries=2, retry_delay=LONG, retry_on=FlakyError)
    def mixed(context: Any) -> str:
        key = str(context.partition)
        if key == "a":
            raise FlakyError("a is down")
        if key == "b":
            raise ValueError("b is broken")
        return key

    began = time.perf_counter()
    result = fs.backfill(mixed, ["a", "b"], max_workers=1, fail_fast=True)
    assert time.perf_counter() - began < BOUND
    assert result["b"].status == "failed"
    assert result["a"].status == "cancelled"
    assert "the run stopped at a failure (fail_fast) while it waited for attempt 2" in str(
        result["a"].error
    )


def test_fail_fast_does_not_retry_a_partition_that_fails_once_the_run_stopped() -> None:
    b_failed = threading.Event()
    waited = threading.Event()  # never set: a waits out its own short delay

    @fs.asset(partitioned_by=KEYS, retries=2, retry_delay=0, retry_on=FlakyError)
    def mixed(context: Any) -> str:
        if context.partition == "b":
            raise ValueError("b is broken")
        b_failed.wait(STUCK_FOR)
        waited.wait(0.5)  # the run has stopped at b's failure meanwhile
        raise FlakyError("a is down")

    def note(event: Event) -> None:
        if event.kind == "failed" and event.partition == "b":
            b_failed.set()

    unsubscribe = subscribe(note)
    try:
        result = fs.backfill(mixed, ["a", "b"], max_workers=2, fail_fast=True)
    finally:
        unsubscribe()
    assert result["a"].status == "cancelled"
    assert "the run stopped at a failure (fail_fast) while it waited for attempt 2" in str(
        result["a"].error
    )
    assert attempts("mixed", "a") == [("failed", 1, "a is down")]


def test_a_failure_within_the_grace_of_a_cancel_is_not_tried_again() -> None:
    cancel = threading.Event()
    waited = threading.Event()  # never set: the partition waits out its own short delay

    @fs.asset(partitioned_by=KEYS, retries=3, retry_delay=0)
    def brief(context: Any) -> str:
        cancel.set()  # the run is cancelled while this partition still runs
        waited.wait(0.5)  # and it fails well within the grace the run gives it
        raise FlakyError("down")

    result = fs.backfill(brief, ["a"], max_workers=1, cancel=cancel)
    assert result["a"].status == "cancelled"
    assert "the run was cancelled while it waited for attempt 2" in str(result["a"].error)
    assert attempts("brief", "a") == [("failed", 1, "down")]


def test_a_retry_that_fails_within_the_grace_says_how_many_attempts_there_were() -> None:
    cancel = threading.Event()
    waited = threading.Event()
    tries: Counter[str] = Counter()

    @fs.asset(partitioned_by=KEYS, retries=1, retry_delay=0)
    def twice(context: Any) -> str:
        tries["n"] += 1
        if tries["n"] == 2:
            cancel.set()
            waited.wait(0.5)
        raise FlakyError(f"try {tries['n']}")

    result = fs.backfill(twice, ["a"], max_workers=1, cancel=cancel)
    assert result["a"].status == "failed"
    assert "failed after 2 attempts; the last: FlakyError: try 2" in str(result["a"].error)


# --- timeouts are per attempt --------------------------------------------------------------------


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """What a stuck first attempt waits for; set when the test ends, and its thread joined."""
    event = threading.Event()
    yield event
    event.set()
    for thread in threading.enumerate():
        if thread.name.startswith("flowstone-run"):
            thread.join(timeout=STUCK_FOR)


def test_each_attempt_has_its_own_timeout(gate: threading.Event) -> None:
    tries: Counter[str] = Counter()

    @fs.asset(partitioned_by=KEYS, timeout=1, retries=1, retry_delay=0)
    def hangs_once(context: Any) -> str:
        tries[str(context.partition)] += 1
        if tries[str(context.partition)] == 1:
            gate.wait(STUCK_FOR)  # the first attempt hangs past its timeout
        return str(context.partition)

    began = time.perf_counter()
    result = fs.backfill(hangs_once, ["a"])
    assert time.perf_counter() - began < BOUND
    assert result.ok
    [(success, two, _), (failed, one, message)] = attempts("hangs_once", "a")
    assert (success, two, failed, one) == ("success", 2, "failed", 1)
    assert message is not None
    assert "timed out after 1 s" in message


def test_a_timeout_is_retried_only_when_retry_on_takes_timeouts(gate: threading.Event) -> None:
    @fs.asset(partitioned_by=KEYS, timeout=1, retries=2, retry_delay=0, retry_on=FlakyError)
    def hangs(context: Any) -> str:
        gate.wait(STUCK_FOR)
        return str(context.partition)

    result = fs.backfill(hangs, ["a"])
    assert result["a"].error_type == "MaterializationTimeoutError"
    assert "attempts" not in str(result["a"].error)
    assert len(attempts("hangs", "a")) == 1


def test_a_timeout_as_the_last_attempt_stays_a_timeout_error(gate: threading.Event) -> None:
    @fs.asset(timeout=1, retries=1, retry_delay=0)
    def always_hangs() -> int:
        gate.wait(STUCK_FOR)
        return 1

    with pytest.raises(TimeoutError, match=r"failed after 2 attempts; the last: Materializati"):
        fs.materialize(always_hangs)


# --- the run's retries= is checked ---------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, True, 1.5, "2"])
def test_a_run_retries_that_is_not_a_whole_number_is_refused(value: Any) -> None:
    source, _ = flaky({})
    with pytest.raises(fs.FlowstoneError, match=r"retries=.* is not a whole number of retries"):
        fs.backfill(source, retries=value)
    with pytest.raises(fs.FlowstoneError, match=r"retries=.* is not a whole number of retries"):
        fs.materialize(source, "a", retries=value)
    assert fs.history("source").empty
