"""Worker processes for ``executor="processes"``: each computes one task at a time, watched.

Each worker is a spawned process that serves tasks over a pipe (:func:`serve`): the coordinator
sends a task (pickled with cloudpickle: definitions made in a notebook travel by value), the
worker says it has started (the task's timeout counts from then, not from the process's start),
then answers with where it stored the value and what its data checks said, or with the error and
its traceback. As every task has a process of its own, the coordinator knows which partition a
dead worker was computing: that partition alone fails, with a
:class:`~flowstone_nb.WorkerDiedError` giving the exit code, a new process takes the dead one's
place, and the other partitions go on. A task given up (past its timeout, or cancelled) has its
process killed (see :mod:`flowstone_nb._run.attempts`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import signal
import threading
import traceback
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import WorkerDiedError
from flowstone_nb._run.attempts import what
from flowstone_nb._run.remote import run_remote
from flowstone_nb._storage.store import get_store

if TYPE_CHECKING:
    from multiprocessing.context import SpawnContext, SpawnProcess

    from flowstone_nb._run.attempts import Attempt
    from flowstone_nb._run.plan import Node
    from flowstone_nb._run.remote import RemoteResult, RemoteTask

__all__ = ["ProcessBackend", "RemoteError", "load_task", "serve"]

_STOP = b""  # asks a worker to leave
_CLOSE_WAIT = 5.0  # seconds a worker has to leave when asked, before it is killed
STOPPED = "its worker process was stopped"


class RemoteError(Exception):
    """An error raised in a worker process that could not be sent back as it was."""


class _TracebackError(Exception):
    """The traceback of an error raised in a worker process, kept as its ``__cause__``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n\nIn the worker process:\n{self.text}"


def load_task(blob: bytes) -> RemoteTask:
    """The task ``blob`` holds (pickled with cloudpickle), with its store open in this process.

    What a new worker process imports and opens for its first task is done here, before the
    task counts as started.
    """
    import cloudpickle

    task: RemoteTask = cloudpickle.loads(blob)
    get_store(task.home)
    return task


def _portable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling, else a :class:`RemoteError` with its words."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001  # whatever pickling raises, the words still travel
        return RemoteError(f"{type(error).__name__}: {error}")
    return error


def serve(conn: Connection) -> None:
    """A worker's loop: compute the tasks the coordinator sends until it asks to stop or leaves."""
    while True:
        try:
            blob = conn.recv_bytes()
        except EOFError:  # the coordinator is gone
            return
        if blob == _STOP:
            return
        try:
            task = load_task(blob)
            conn.send(("started", None, ""))
            reply: tuple[str, Any, str] = ("ok", run_remote(task), "")
        except BaseException as error:  # noqa: BLE001  # every error goes back to the coordinator
            text = "".join(traceback.format_exception(error))
            reply = ("error", _portable(error), text)
        conn.send(reply)


def _main(conn: Connection) -> None:
    """A worker process: Ctrl-C is the coordinator's to handle (it stops what must stop)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(conn)


class _DiedError(Exception):
    """The worker process ended before it answered."""


class _Worker:
    """One worker process, the pipe to it, and the attempt it works for."""

    def __init__(self, context: SpawnContext) -> None:
        ours, theirs = context.Pipe()
        self.process: SpawnProcess = context.Process(
            target=_main, args=(theirs,), name="flowstone-worker"
        )
        self.process.start()
        theirs.close()
        self.conn = ours
        self._lock = threading.Lock()
        self._attempt: Attempt | None = None
        self._pipe_open = True

    def compute(self, blob: bytes, attempt: Attempt) -> tuple[str, Any, str]:
        """Send the task, note when it starts, and wait for the answer.

        Raises
        ------
        _DiedError
            The process ended (or was killed for the attempt) before it answered.
        """
        with self._lock:
            self._attempt = attempt
        try:
            attempt.on_stop(lambda: self.stop(attempt))  # (at once, if it is given up already)
            self.conn.send_bytes(blob)
            answer = self._receive()
            if answer[0] == "started":
                attempt.running()
                answer = self._receive()
        except (EOFError, OSError):
            raise _DiedError from None
        finally:
            with self._lock:
                self._attempt = None
        return answer

    def _receive(self) -> tuple[str, Any, str]:
        wait([self.conn, self.process.sentinel])
        message: tuple[str, Any, str] = self.conn.recv()
        return message

    def stop(self, attempt: Attempt) -> str:
        """Kill the process if it still works for ``attempt`` (a stop action of it)."""
        with self._lock:
            if self._attempt is attempt:
                self.process.kill()
        return STOPPED

    def exit_code(self) -> int | None:
        """The exit code of the process, once it has ended."""
        self.process.join()
        return self.process.exitcode

    def close(self) -> None:
        """Ask the process to leave; kill it if it does not, soon."""
        with contextlib.suppress(OSError):  # it is gone already
            self.conn.send_bytes(_STOP)
        self.process.join(_CLOSE_WAIT)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.close_pipe()

    def close_pipe(self) -> None:
        """Close the pipe to the process, once.

        The thread of a task whose worker died drops the worker while the run may be closing
        the backend: both close the pipe, and two closes of one descriptor at once would fail.
        """
        with self._lock:
            if not self._pipe_open:
                return
            self._pipe_open = False
            self.conn.close()


def died(node: Node, code: int | None) -> WorkerDiedError:
    """The error of ``node``, whose worker process ended with ``code`` before it answered."""
    if code is not None and code < 0:
        how = f"was killed by signal {-code}"
    else:
        how = f"died (exit code {code})"
    return WorkerDiedError(
        f"{what(node)}: its worker process {how} before it finished, so nothing was stored "
        "for it. Something ended the process itself (os._exit, a crash in native code, the "
        "out-of-memory killer); the other partitions were not affected. Run it again once "
        "the cause is gone.",
        asset=node.asset,
        partition=node.key,
    )


class ProcessBackend:
    """Computes nodes in local worker processes, one task per process at a time."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()

    def compute(self, task: RemoteTask, attempt: Attempt) -> RemoteResult:
        """Run the task in a worker process and wait for its stored (and checked) value.

        Raises
        ------
        WorkerDiedError
            The worker process ended before it answered (and was not stopped on purpose).
        """
        import cloudpickle

        blob = cloudpickle.dumps(task)
        worker = self._take()
        try:
            kind, answer, text = worker.compute(blob, attempt)
        except _DiedError:
            self._drop(worker)
            raise died(task.node, worker.exit_code()) from None
        with self._lock:
            self._idle.append(worker)
        if kind == "error":
            error: BaseException = answer
            error.__cause__ = _TracebackError(text)
            raise error
        result: RemoteResult = answer
        return result

    def _take(self) -> _Worker:
        """An idle worker whose process is alive, or a new one."""
        while True:
            with self._lock:
                if not self._idle:
                    break
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                self._workers.discard(worker)
            worker.close()  # it died while idle
        worker = _Worker(self._context)
        with self._lock:
            self._workers.add(worker)
        return worker

    def _drop(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
        worker.close_pipe()

    def close(self) -> None:
        """Stop the worker processes."""
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
            self._idle.clear()
        for worker in workers:
            worker.close()
