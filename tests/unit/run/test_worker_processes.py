"""Worker processes of ``executor="processes"``: the worker's loop and the coordinator's side."""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import threading
from typing import Any

import cloudpickle
import pytest

import flowstone_nb as fs
from flowstone_nb._run import worker_processes
from flowstone_nb._run.attempts import Attempt
from flowstone_nb._run.plan import make_node
from flowstone_nb._run.remote import RemoteTask
from flowstone_nb._run.worker_processes import ProcessBackend, RemoteError, load_task
from flowstone_nb._storage.store import get_store


def task_of(asset: fs.Asset) -> RemoteTask:
    return RemoteTask(
        asset=asset,
        node=make_node(str(asset.name), None, None),
        run_id="r",
        home=get_store().home,
        io_manager="filesystem",
        inputs=(),
        resources={},
    )


class UnpicklableError(Exception):
    """An error that does not pickle (it holds a lock)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


def test_the_worker_loop_answers_each_task_and_leaves_when_asked() -> None:
    @fs.asset
    def packed() -> list[int]:
        return [1, 2]

    @fs.asset
    def odd() -> None:
        raise UnpicklableError("odd error")

    ours, theirs = multiprocessing.Pipe()
    ours.send_bytes(cloudpickle.dumps(task_of(packed)))
    ours.send_bytes(b"not a task")
    ours.send_bytes(cloudpickle.dumps(task_of(odd)))
    ours.send_bytes(b"")  # leave
    before = signal.getsignal(signal.SIGINT)
    try:
        worker_processes._main(theirs)  # here, in this thread: every answer waits in the pipe
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    assert ours.recv() == ("started", None, "")
    kind, (stored, checks), _ = ours.recv()
    assert kind == "ok"
    assert get_store().io_manager("filesystem").load(stored.location) == [1, 2]
    assert checks == ()  # packed has no data checks
    kind, error, text = ours.recv()  # a task that does not load never starts
    assert kind == "error"
    assert isinstance(error, Exception)
    assert "load_task" in text
    assert ours.recv() == ("started", None, "")
    kind, error, text = ours.recv()
    assert kind == "error"
    assert isinstance(error, RemoteError)
    assert str(error) == "UnpicklableError: odd error"
    assert ", in odd\n" in text
    assert not ours.poll()


def test_the_worker_loop_ends_when_the_coordinator_is_gone() -> None:
    ours, theirs = multiprocessing.Pipe()
    ours.close()
    worker_processes.serve(theirs)  # returns


def test_load_task_opens_the_store_of_the_task() -> None:
    @fs.asset
    def plain() -> int:
        return 1

    task = load_task(cloudpickle.dumps(task_of(plain)))
    assert task.node.asset == "plain"


def test_errors_come_back_with_the_workers_traceback_and_dead_idle_workers_are_replaced() -> None:
    @fs.asset
    def fine() -> int:
        return 7

    @fs.asset
    def broken() -> int:
        raise ValueError("in the worker")

    backend = ProcessBackend()
    try:
        stored, _ = backend.compute(task_of(fine), Attempt())
        assert get_store().io_manager("filesystem").load(stored.location) == 7
        with pytest.raises(ValueError, match="in the worker") as info:
            backend.compute(task_of(broken), Attempt())
        assert "In the worker process" in str(info.value.__cause__)
        assert ", in broken\nValueError: in the worker" in str(info.value.__cause__)
        [idle] = backend._idle
        idle.process.kill()
        idle.process.join()
        stored = backend.compute(task_of(fine), Attempt())  # on a new process
        assert backend._idle != [idle]
        assert idle.conn.closed
    finally:
        backend.close()


def test_a_worker_that_does_not_leave_when_asked_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    @fs.asset
    def hangs() -> int:
        threading.Event().wait(120)
        return 1

    monkeypatch.setattr(worker_processes, "_CLOSE_WAIT", 0.1)
    worker = worker_processes._Worker(multiprocessing.get_context("spawn"))
    worker.conn.send_bytes(cloudpickle.dumps(task_of(hangs)))
    assert worker.conn.recv() == ("started", None, "")
    worker.close()
    assert worker.process.exitcode == -signal.SIGKILL


def test_the_error_of_a_dead_worker_says_how_it_died() -> None:
    node = make_node("sales", None, None)
    assert "its worker process died (exit code 3)" in str(worker_processes.died(node, 3))
    killed = str(worker_processes.died(node, -9))
    assert "its worker process was killed by signal 9" in killed
    assert isinstance(worker_processes.died(node, 1), fs.MaterializationError)


def _explode() -> None:
    raise RuntimeError("this resource cannot be made here")


class MadeNowhere:
    """A resource whose unpickling raises (in the worker process)."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return _explode, ()


def test_a_task_that_does_not_load_in_the_worker_fails_and_leaves_the_worker_alive() -> None:
    @fs.asset(requires=["odd"])
    def needs(context: Any) -> int:
        return 1

    task = dataclasses.replace(task_of(needs), resources={"odd": MadeNowhere()})
    backend = ProcessBackend()
    try:
        with pytest.raises(RuntimeError, match="cannot be made here"):
            backend.compute(task, Attempt(0.01))  # it never counts as started
        [idle] = backend._idle
        assert idle.process.is_alive()
        assert idle.stop(Attempt()) == worker_processes.STOPPED  # not its attempt: not killed
        assert idle.process.is_alive()
    finally:
        backend.close()


class SlowPipe:
    """A worker's pipe whose sends wait until told to go on, and which counts its closes."""

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.sending = threading.Event()
        self.go_on = threading.Event()
        self.closes = 0

    def send_bytes(self, data: bytes) -> None:
        self.sending.set()
        self.go_on.wait(10)
        self.pipe.send_bytes(data)

    def close(self) -> None:
        self.closes += 1
        self.pipe.close()


def test_a_dead_workers_pipe_is_closed_once_when_the_backend_closes_meanwhile() -> None:
    # The backfill closes the backend while the thread of a task whose worker was killed drops
    # that worker: both would close its pipe, and closing one descriptor twice at once fails.
    backend = ProcessBackend()
    worker = backend._take()
    pipe = SlowPipe(worker.conn)
    worker.conn = pipe  # type: ignore[assignment]  # (a pipe that holds the close mid-way)
    closing = threading.Thread(target=backend.close)
    closing.start()
    assert pipe.sending.wait(10)  # the backend's close is asking the worker to leave
    backend._drop(worker)  # meanwhile the task's thread drops it
    pipe.go_on.set()
    closing.join()
    assert pipe.closes == 1
    assert not worker.process.is_alive()
