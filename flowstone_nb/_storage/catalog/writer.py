"""The catalog's writer thread: background jobs run one at a time, in the order they came.

This module owns the thread and its bookkeeping: which jobs are not done yet, and which failed
and were not reported yet. It must not know what the jobs write; the catalog hands them in and
reports their failures.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Writer"]


class Writer:
    """One daemon thread that runs a catalog's background jobs in the order they came.

    Tracked jobs (the writes) are counted, so :meth:`wait` returns once every one handed in so
    far is done, with the failures among them; untracked ones (preparing the thread's
    connection) are waited for by nobody. Lighter than a thread pool: handing a job in is a
    queue put, and a counter under a lock.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...], bool] | None]
        self._jobs = queue.SimpleQueue()
        self._changed = threading.Condition(threading.Lock())
        self._submitted = self._finished = 0
        self._failures: list[BaseException] = []
        self._thread = threading.Thread(target=self._work, name="flowstone-catalog", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[..., None], *args: Any, tracked: bool = True) -> None:
        """Run ``job(*args)`` on the thread, after every job handed in before."""
        if tracked:
            with self._changed:
                self._submitted += 1
        self._jobs.put((job, args, tracked))

    @property
    def pending(self) -> bool:
        """Whether a tracked job is not done yet, or failed and was not reported yet."""
        return self._submitted != self._finished or bool(self._failures)

    def wait(self) -> list[BaseException]:
        """Wait for every tracked job handed in so far; return (and forget) their failures."""
        with self._changed:
            self._changed.wait_for(lambda: self._finished == self._submitted)
            failures, self._failures = self._failures, []
        return failures

    def stop(self) -> None:
        """Finish the jobs handed in, then end the thread."""
        self._jobs.put(None)
        self._thread.join()

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, args, tracked = item
            failure = None
            try:
                job(*args)
            except BaseException as error:  # noqa: BLE001  # reported by the next wait()
                failure = error
            if tracked:
                with self._changed:
                    self._finished += 1
                    if failure is not None:
                        self._failures.append(failure)
                    self._changed.notify_all()
