"""Workers that die or hang: a real process pool and real Dask clusters on loopback.

Only the partition whose worker died or hung fails, with an error that says so; the others are
computed. A hung partition waits on an event nobody sets (for far longer than the bounds here).
"""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._storage.store import get_store

distributed = pytest.importorskip(
    "distributed", reason="Dask is an optional extra: pip install 'flowstone-nb[dask]'"
)
dask = pytest.importorskip("dask")

KEYS = fs.StaticPartitions(["a", "b", "c", "d", "e"])
HANG_FOR = 120  # seconds a hung partition would wait
BOUND = 60.0  # seconds a run with a hung partition may take at most (workers start slowly)


def ended(pid: int, within: float = BOUND) -> bool:
    """Whether process ``pid`` has ended (or ends within ``within`` seconds; a kill is sent,
    not awaited, and a big process takes a moment to go)."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([handle], [], [], within)
    finally:
        os.close(handle)
    return bool(readable)


def failed_rows(asset: str) -> list[Any]:
    return get_store().catalog.history(asset, statuses=["failed"])


def dies_on(key: str) -> fs.Asset:
    @fs.asset(partitioned_by=KEYS)
    def fragile(context: Any) -> str:
        if context.partition == key:
            os._exit(3)
        return str(context.partition)

    return fragile


def hangs_on(key: str, pid_file: Path, **options: Any) -> fs.Asset:
    """An asset whose partition ``key`` writes its process id to ``pid_file`` and hangs."""

    @fs.asset(partitioned_by=KEYS, **options)
    def hung(context: Any) -> str:
        if context.partition == key:
            pid_file.write_text(str(os.getpid()), encoding="ascii")
            threading.Event().wait(HANG_FOR)
        return str(context.partition)

    return hung


# --- worker processes ---------------------------------------------------------------------------


def test_a_dying_worker_process_fails_only_its_partition() -> None:
    fragile = dies_on("c")
    result = fs.backfill(fragile, executor="processes", max_workers=3)
    assert [p.partition for p in result.failed] == ["c"]
    assert result.counts() == {"computed": 4, "failed": 1}
    failure = result["c"]
    assert failure.error_type == "WorkerDiedError"
    assert "Asset 'fragile' partition 'c'" in str(failure.error)
    assert "worker process died" in str(failure.error)
    assert "exit code 3" in str(failure.error)
    assert "Fix the code" not in str(failure.error)
    [row] = failed_rows("fragile")
    assert row.error_type == "WorkerDiedError"
    assert "exit code 3" in str(row.error_message)
    assert fs.status(fragile)["fragile"]["d"] == "fresh"


def test_checks_run_in_the_worker_process_within_its_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    @fs.asset(partitioned_by=KEYS, timeout=5.0)
    def checked(context: Any) -> str:
        return str(context.partition)

    @fs.check(checked, blocking=True)
    def not_b(checked: str) -> fs.CheckResult:
        return fs.CheckResult(checked != "b", f"{checked} is refused", {"pid": os.getpid()})

    @fs.check(checked)
    def odd(checked: str) -> bool:
        if checked == "c":
            raise ZeroDivisionError("c cannot be judged")
        if checked == "e":  # the check hangs: the partition's timeout stops its worker
            pid_file.write_text(str(os.getpid()), encoding="ascii")
            threading.Event().wait(HANG_FOR)
        return True

    @fs.asset(partitioned_by=KEYS)
    def after(checked: str) -> str:
        return checked.upper()

    began = time.perf_counter()
    result = fs.backfill(after, executor="processes", max_workers=2)
    assert time.perf_counter() - began < BOUND
    assert result.counts() == {"computed": 3, "skipped": 2}  # (the target's partitions)
    assert result["b"].error == "upstream checked[b] failed its check 'not_b'"
    assert "raised MaterializationTimeoutError" in str(result["e"].error)
    assert "timed out after 5 s" in str(result["e"].error)
    outcomes = fs.checks("checked")
    pids = {m["pid"] for m in outcomes[outcomes.check == "not_b"].metadata}
    assert pids
    assert os.getpid() not in pids  # judged where the value was computed
    failing = outcomes[~outcomes.passed].set_index(["check", "partition"])
    assert failing.loc[("not_b", "b"), "message"] == "b is refused"
    traceback = failing.loc[("odd", "c"), "traceback"]
    assert "in odd\nZeroDivisionError: c cannot be judged" in traceback  # from the worker
    assert not any(outcomes.partition == "e")  # a timed-out value's checks are not recorded
    assert fs.status(checked)["checked"] == {
        "a": "fresh",
        "b": "failed",
        "c": "fresh",
        "d": "fresh",
        "e": "failed",
    }
    assert ended(int(pid_file.read_text(encoding="ascii")))


def test_a_hung_worker_process_is_killed_at_its_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    hung = hangs_on("b", pid_file, timeout=5.0)
    began = time.perf_counter()
    result = fs.backfill(hung, executor="processes", max_workers=2)
    assert time.perf_counter() - began < BOUND
    assert result.counts() == {"computed": 4, "failed": 1}
    error = str(result["b"].error)
    assert "Asset 'hung' partition 'b' timed out after 5 s" in error
    assert "its worker process was stopped" in error
    assert result["b"].error_type == "MaterializationTimeoutError"
    assert ended(int(pid_file.read_text(encoding="ascii")))


def test_cancel_kills_a_hung_worker_process_and_returns(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with multiprocessing.Manager() as manager:
        started = manager.Event()
        cancel = threading.Event()

        @fs.asset(partitioned_by=KEYS)
        def hung(context: Any) -> str:
            if context.partition == "a":
                pid_file.write_text(str(os.getpid()), encoding="ascii")
                started.set()
                threading.Event().wait(HANG_FOR)
            return str(context.partition)

        def cancel_once_hung() -> None:
            if started.wait(BOUND):
                cancel.set()

        watcher = threading.Thread(target=cancel_once_hung)
        watcher.start()
        began = time.perf_counter()
        result = fs.backfill(hung, executor="processes", max_workers=1, cancel=cancel)
        watcher.join()
    assert cancel.is_set()
    assert time.perf_counter() - began < BOUND
    assert result["a"].status == "cancelled"
    assert "its worker process was stopped" in str(result["a"].error)
    assert ended(int(pid_file.read_text(encoding="ascii")))
    assert {r.status for r in get_store().catalog.history("hung")} <= {"success", "failed"}


# --- Dask ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two one-thread workers with nannies; a task whose worker died is tried once more."""
    settings = {
        "distributed.scheduler.allowed-failures": 1,
        "distributed.scheduler.worker-saturation": 1.0,
    }
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            host="127.0.0.1",
        )
        dask_client = distributed.Client(cluster)
    try:
        yield dask_client
    finally:
        dask_client.close()
        cluster.close()


@pytest.mark.dask
def test_a_dying_dask_worker_fails_only_its_partition(client: Any) -> None:
    fragile = dies_on("b")
    result = fs.backfill(fragile, executor=client, max_workers=2)
    assert [p.partition for p in result.failed] == ["b"]
    failure = result["b"]
    assert failure.error_type == "WorkerDiedError"
    assert "Asset 'fragile' partition 'b'" in str(failure.error)
    assert "Dask worker died" in str(failure.error)
    assert "tried it on 2 workers" in str(failure.error)
    assert "Fix the code" not in str(failure.error)
    assert result.counts() == {"computed": 4, "failed": 1}


@pytest.mark.dask
def test_a_hung_dask_task_is_stopped_at_its_timeout(client: Any, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    hung = hangs_on("c", pid_file, timeout=5.0)
    began = time.perf_counter()
    result = fs.backfill(hung, executor=client, max_workers=2)
    assert time.perf_counter() - began < BOUND
    assert result.counts() == {"computed": 4, "failed": 1}
    error = str(result["c"].error)
    assert "Asset 'hung' partition 'c' timed out after 5 s" in error
    assert "its Dask task was cancelled and its worker process killed" in error
    assert ended(int(pid_file.read_text(encoding="ascii")))
    # The cluster is whole again: another backfill runs on both workers.
    assert fs.backfill(hangs_on("none", pid_file, name="after"), executor=client).ok


_GATE = threading.Event()  # what the hung task of a cluster in this process waits for
_ARRIVED = threading.Event()  # set when it starts waiting


def _wait_at_the_gate() -> None:
    """(Module level: Dask pickles it by reference, where a local event would not pickle.)"""
    _ARRIVED.set()
    _GATE.wait(HANG_FOR)


@pytest.fixture(params=[2])
def in_process(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A client of a cluster whose one worker runs in this process (``param`` threads): no nanny."""
    _GATE.clear()
    _ARRIVED.clear()
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=request.param, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as local,
    ):
        try:
            yield local
        finally:
            _GATE.set()


def gated(*keys: str) -> fs.Asset:
    @fs.asset(partitioned_by=KEYS)
    def gated(context: Any) -> str:
        if context.partition in keys:
            _wait_at_the_gate()
        return str(context.partition)

    return gated


@pytest.mark.dask
def test_on_workers_without_a_nanny_a_hung_task_is_cancelled_and_left(in_process: Any) -> None:
    result = fs.backfill(gated("a"), executor=in_process, timeout=2)
    assert result.counts() == {"computed": 4, "failed": 1}
    error = str(result["a"].error)
    assert "timed out after 2 s" in error
    assert "could not be stopped (it has no nanny to kill it)" in error
    assert "may still be running there" in error


@pytest.mark.dask
@pytest.mark.parametrize("in_process", [1], indirect=True)
def test_cancel_on_dask_cancels_tasks_that_have_not_started(in_process: Any) -> None:
    cancel = threading.Event()

    def cancel_once_hung() -> None:
        if _ARRIVED.wait(BOUND):
            cancel.set()

    watcher = threading.Thread(target=cancel_once_hung)
    watcher.start()
    # Both wait at the gate, on the worker's one thread: one runs, the other waits for it.
    result = fs.backfill(gated("a", "b"), ["a", "b"], executor=in_process, cancel=cancel)
    watcher.join()
    assert result.counts() == {"cancelled": 2}
    errors = sorted(str(p.error) for p in result.partitions)
    assert "its Dask task was cancelled before it started" in errors[0] + errors[1]
    assert "could not be stopped" in errors[0] + errors[1]


@pytest.mark.dask
def test_late_start_events_are_ignored_and_a_failed_kill_is_reported(in_process: Any) -> None:
    from flowstone_nb._run.attempts import Attempt
    from flowstone_nb._run.dask_executor import DaskBackend

    backend = DaskBackend(in_process)
    try:
        backend._on_started((0.0, {"key": "gone", "worker": "tcp://127.0.0.1:9", "pid": 1}))
        assert backend._started == {}
        future = in_process.submit(int, "1", key="flowstone-odd", pure=False)
        backend._attempts["flowstone-odd"] = Attempt()
        backend._on_started(
            (0.0, {"key": "flowstone-odd", "worker": "tcp://127.0.0.1:9", "pid": 1})
        )
        message = backend._stop(future)  # no such worker
        assert "its worker tcp://127.0.0.1:9 could not be stopped (KeyError" in message
    finally:
        backend.close()
