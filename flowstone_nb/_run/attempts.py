"""Attempts: one computation of a node, as a scheduled run watches it, and the threads they run on.

In a scheduled run (:mod:`flowstone_nb._run.scheduler`) every node is computed as one
:class:`Attempt`, shared by two threads: the runner's thread, which computes the node and records
what happened, and the scheduler's, which watches the clock and the cancel event.

* The runner *begins* the attempt (the running row is written under the attempt's lock), says
  when its work is *running* (the timeout counts from then: at once for code run in this process;
  when a worker takes the task, for worker processes and Dask), and *settles* it when done.
* The scheduler *abandons* it when its timeout has passed or the run is cancelled: the stop
  actions that the backend registered run (a worker process is killed, a Dask task cancelled and
  its worker process killed; a thread cannot be stopped and is left behind), and the failure is
  recorded for it.

Whoever comes first wins, under the attempt's lock: an abandoned attempt's runner records
nothing, whatever it does later; a settled attempt is not abandoned (its runner is recording it).
A node that is tried again gets a new attempt, numbered from 1; whether a failed attempt is
followed by another is decided once (:meth:`Attempt.retry_after`), by its retry rule (see
:mod:`flowstone_nb._run.retries`). :class:`WorkerThreads` runs attempts on daemon threads, and
starts a new thread in place of one left stuck on an abandoned attempt.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Generic, TypeVar

from flowstone_nb._core.errors import FlowstoneError, MaterializationTimeoutError

if TYPE_CHECKING:
    from flowstone_nb._run.plan import Node

__all__ = [
    "THREAD_LEFT",
    "AbandonedError",
    "Attempt",
    "WorkerThreads",
    "cancelled_error",
    "timeout_error",
    "what",
]

T = TypeVar("T")

#: What abandoning an attempt that runs on a thread does (threads cannot be stopped).
THREAD_LEFT = (
    "its thread cannot be stopped, so it was abandoned and may still be running in the "
    "background (its result, if any, is dropped)"
)

_NEW, _BEGUN, _SETTLED, _ABANDONED = range(4)
_clock = time.perf_counter


class AbandonedError(FlowstoneError):
    """Raised in the runner's thread when its attempt was abandoned before it began."""


class Attempt:
    """One computation of one node: its timeout, how to stop it, and who records its outcome.

    Parameters
    ----------
    timeout
        Seconds the work may run once running (``None``: no limit).
    number
        Which attempt of its node this is (1 for the first).
    retry
        The node's retry rule: ``retry(number, error)`` gives the seconds before the next
        attempt, once attempt ``number`` failed with ``error``, or ``None`` for no next one
        (``None``: never retried).

    Attributes
    ----------
    deadline
        When the timeout passes (:func:`time.perf_counter` seconds); ``None`` until the work
        runs, or without a timeout.
    started
        When the work began running, or ``None``.
    """

    __slots__ = (
        "_decided",
        "_lock",
        "_next",
        "_record",
        "_retry",
        "_state",
        "_stops",
        "deadline",
        "number",
        "started",
        "timeout",
    )

    def __init__(
        self,
        timeout: float | None = None,
        number: int = 1,
        retry: Callable[[int, BaseException], float | None] | None = None,
    ) -> None:
        self.timeout = timeout
        self.number = number
        self._retry = retry
        self._decided = False
        self._next: float | None = None
        self.deadline: float | None = None
        self.started: float | None = None
        self._lock = threading.Lock()
        self._state = _NEW
        self._stops: list[Callable[[], str]] = []
        self._record: Callable[[BaseException], object] | None = None

    def begin(self, start: Callable[[], object], record: Callable[[BaseException], object]) -> None:
        """The runner starts computing: ``start()`` (it writes the running row), under the lock.

        ``record(error)`` records the node's failure, should the attempt be abandoned from now.

        Raises
        ------
        AbandonedError
            The attempt was abandoned before it began: nothing is started.
        """
        with self._lock:
            if self._state == _ABANDONED:
                raise AbandonedError("abandoned before it began")
            start()
            self._record = record
            self._state = _BEGUN

    def running(self) -> None:
        """The work runs now: its timeout counts from here."""
        self.started = now = _clock()
        if self.timeout is not None:
            self.deadline = now + self.timeout

    def on_stop(self, stop: Callable[[], str]) -> None:
        """How to stop the work, should the attempt be abandoned (at once, if it already is).

        ``stop()`` stops it and says how, for the message (e.g. "its worker process was
        stopped").
        """
        with self._lock:
            if self._state != _ABANDONED:
                self._stops.append(stop)
                return
        stop()

    def settle(self) -> bool:
        """The runner is done: whether it may record the outcome (``False``: abandoned)."""
        with self._lock:
            if self._state == _ABANDONED:
                return False
            self._state = _SETTLED
            return True

    def retry_after(self, error: BaseException) -> float | None:
        """Seconds before the next attempt, this one having failed with ``error``.

        ``None``: there is no next attempt. Decided on the first call, by whoever asks first
        (the runner recording the failure, or the scheduler): later calls give that answer.
        """
        with self._lock:
            if not self._decided:
                self._decided = True
                retry = self._retry
                self._next = None if retry is None else retry(self.number, error)
            return self._next

    def abandon(self, error: Callable[[str], BaseException]) -> BaseException | None:
        """Give the attempt up: stop its work, and record ``error(how it was stopped)``.

        Returns
        -------
        BaseException or None
            The error recorded; ``None`` when the runner has just settled the attempt (it is
            recording the outcome itself, and should be waited for).
        """
        with self._lock:
            if self._state == _SETTLED:
                return None
            self._state = _ABANDONED
            stops, record = self._stops, self._record
        how = "; ".join(stop() for stop in stops) or THREAD_LEFT
        failure = error(how)
        if record is not None:  # begun: its running row becomes a failed one
            record(failure)
        return failure


def what(node: Node) -> str:
    """``Asset 'x'`` or ``Asset 'x' partition 'p'``, for messages."""
    where = f" partition {(node.text or node.encoded)!r}" if node.encoded else ""
    return f"Asset {node.asset!r}{where}"


def timeout_error(node: Node, timeout: float, how: str) -> MaterializationTimeoutError:
    """The error of an attempt that ran past its ``timeout``."""
    return MaterializationTimeoutError(
        f"{what(node)} timed out after {timeout:g} s (timeout={timeout:g}): {how}. No value of "
        "it is recorded. Give it more time (the asset's or the run's timeout=) or find where "
        "it hangs, and run it again.",
        asset=node.asset,
        partition=node.key,
    )


def cancelled_error(node: Node, how: str, *, interrupted: bool) -> BaseException:
    """The error of an attempt given up because the run was cancelled or interrupted.

    An interruption is a ``KeyboardInterrupt``: the catalog records it as ``Interrupted``.
    """
    if interrupted:
        return KeyboardInterrupt(f"{what(node)} was interrupted while it ran: {how}.")
    return FlowstoneError(f"{what(node)} was cancelled while it ran: {how}.")


class _Job(Future[T], Generic[T]):
    """A function to call on a worker thread, and its future."""

    def __init__(self, function: Callable[[], T]) -> None:
        super().__init__()
        self.function = function
        self.thread: threading.Thread | None = None  # the thread running it
        self.dropped = False  # abandoned: its thread, if any, leaves when it is done

    def run(self) -> None:
        self.set_running_or_notify_cancel()  # (nothing cancels these futures)
        try:
            result = self.function()
        except BaseException as error:  # noqa: BLE001  # handed to whoever waits, as a pool does
            self.set_exception(error)
        else:
            self.set_result(result)


class WorkerThreads(Generic[T]):
    """Daemon threads running at most ``size`` calls at once; a stuck one is replaced.

    Like a :class:`~concurrent.futures.ThreadPoolExecutor`, except that a thread left running an
    abandoned call (:meth:`abandon`) no longer counts: another thread takes its place, and being
    a daemon it does not keep the interpreter from exiting.

    Parameters
    ----------
    size
        How many threads take calls.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._calls: queue.SimpleQueue[_Job[T] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._working: list[threading.Thread] = []  # the threads that take calls
        self._names = itertools.count(1)

    def submit(self, function: Callable[[], T]) -> Future[T]:
        """Call ``function`` on a worker thread; its future has the result or the error."""
        job = _Job(function)
        self._calls.put(job)
        with self._lock:
            if len(self._working) < self._size:
                thread = threading.Thread(
                    target=self._work, name=f"flowstone-run-{next(self._names)}", daemon=True
                )
                self._working.append(thread)
                thread.start()
        return job

    def abandon(self, future: Future[T]) -> None:
        """Stop waiting for ``future``'s call: its thread leaves when it ends, replaced now."""
        assert isinstance(future, _Job)
        with self._lock:
            future.dropped = True
            if future.thread is not None:
                self._working.remove(future.thread)

    def _work(self) -> None:
        me = threading.current_thread()
        while (job := self._calls.get()) is not None:
            with self._lock:
                if job.dropped:  # given up before it started
                    continue
                job.thread = me
            job.run()
            with self._lock:
                if job.dropped:  # another thread has taken this one's place
                    return
                job.thread = None

    def shutdown(self) -> None:
        """Let the threads go once their calls are done, and wait for them (not the stuck)."""
        with self._lock:
            working = list(self._working)
            self._working.clear()
        for _ in working:
            self._calls.put(None)
        for thread in working:
            thread.join()
