"""Running backfill partitions elsewhere: on Dask workers or in worker processes.

A backend ships a :class:`~flowstone_nb._run.remote.RemoteTask` (the definition, the partition, the
storage locations of its inputs) to a worker, which loads the inputs from the store home, runs the
asset's code and stores the value there; the coordinating process records the catalog rows. So the
store home must be reachable from the workers: a local folder for a local cluster, an fsspec URL
(``s3://…``) for a real one. Dask and cloudpickle are imported only here and in
:mod:`flowstone_nb._run.worker_processes` (the backend of ``executor="processes"``).

On Dask, a task tells the coordinator when it starts (an event on a topic of the backend's own,
with its worker's address and process id): its timeout counts from then, and a task given up is
cancelled and its worker process killed through the worker's nanny, which starts a new one. A
task whose workers died (Dask's ``KilledWorker``) fails with a
:class:`~flowstone_nb.WorkerDiedError`.
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError, WorkerDiedError
from flowstone_nb._run.attempts import what
from flowstone_nb._run.remote import run_remote
from flowstone_nb._run.worker_processes import ProcessBackend
from flowstone_nb._storage.store import get_store

if TYPE_CHECKING:
    from flowstone_nb._run.attempts import Attempt
    from flowstone_nb._run.plan import Node
    from flowstone_nb._run.remote import ComputeBackend, RemoteResult, RemoteTask

__all__ = ["DaskBackend", "ProcessBackend", "backend_for", "run_on_dask"]


def _missing_dask(error: ImportError) -> FlowstoneError:
    return FlowstoneError(
        f"executor='dask' needs Dask ({error.name} is not installed): "
        "pip install 'flowstone-nb[dask]'."
    )


def run_on_dask(task: RemoteTask, topic: str) -> RemoteResult:
    """Say on ``topic`` that the task starts (key, worker, process id), then compute it.

    The store is opened first: a new worker's first opening does not count as the task's time.
    """
    from distributed import get_worker

    get_store(task.home)
    worker = get_worker()
    started = {"key": worker.get_current_task(), "worker": worker.address, "pid": os.getpid()}
    worker.log_event(topic, started)
    return run_remote(task)


def _killed(node: Node, error: Any) -> WorkerDiedError:
    return WorkerDiedError(
        f"{what(node)}: its Dask worker died while computing it (Dask tried it on "
        f"{error.allowed_failures + 1} workers; the last was {error.last_worker.address}), so "
        "nothing was stored for it. Something ended the worker process itself (os._exit, a "
        "crash in native code, running out of memory): the worker logs say what. The other "
        "partitions were not affected; run it again once the cause is gone.",
        asset=node.asset,
        partition=node.key,
    )


class DaskBackend:
    """Computes nodes on a ``dask.distributed.Client``'s workers."""

    def __init__(self, client: Any) -> None:
        from distributed import KilledWorker

        self.client = client
        self._killed_worker = KilledWorker
        self._topic = f"flowstone-started-{uuid.uuid4().hex}"
        self._lock = threading.Lock()
        self._attempts: dict[str, Attempt] = {}  # task key -> its attempt, while it is waited for
        self._started: dict[str, dict[str, Any]] = {}  # task key -> where it started
        client.subscribe_topic(self._topic, self._on_started)

    def _on_started(self, event: tuple[float, dict[str, Any]]) -> None:
        """A task has started on a worker (called on the client's event loop).

        An event that comes after its task was waited for is ignored.
        """
        message = event[1]
        with self._lock:
            attempt = self._attempts.get(message["key"])
            if attempt is None:
                return
            self._started[message["key"]] = message
        attempt.running()  # (again if Dask runs it again elsewhere: the clock starts again)

    def compute(self, task: RemoteTask, attempt: Attempt) -> RemoteResult:
        """Run the task on a worker and wait for its stored (and checked) value.

        Raises
        ------
        WorkerDiedError
            Every worker that tried the task died while running it.
        """
        key = f"flowstone-{task.node.asset}-{uuid.uuid4().hex}"
        with self._lock:  # before it is submitted: its start is always heard
            self._attempts[key] = attempt
        future = self.client.submit(run_on_dask, task, self._topic, key=key, pure=False)
        attempt.on_stop(lambda: self._stop(future))
        try:
            result: RemoteResult = future.result()
        except self._killed_worker as error:
            raise _killed(task.node, error) from None
        finally:
            with self._lock:
                self._attempts.pop(key, None)
                self._started.pop(key, None)
        return result

    def _stop(self, future: Any) -> str:
        """Cancel the task, and kill its worker process if it has started (a stop action)."""
        with self._lock:
            started = self._started.get(future.key)
        future.cancel()
        if started is None:
            return "its Dask task was cancelled before it started"
        worker = started["worker"]
        try:
            killed = self.client.run(
                os.kill, started["pid"], signal.SIGKILL, workers=[worker], nanny=True
            )
        except Exception as error:  # noqa: BLE001  # said in the message, whatever it was
            why = f"{type(error).__name__}: {error}"
        else:
            if killed:  # (the nanny answered; it starts a new worker process)
                return "its Dask task was cancelled and its worker process killed"
            why = "it has no nanny to kill it"
        return (
            f"its Dask task was cancelled, but its worker {worker} could not be stopped ({why}), "
            "so the task may still be running there"
        )

    def close(self) -> None:
        """Stop listening for started tasks."""
        self.client.unsubscribe_topic(self._topic)


def backend_for(executor: Any) -> tuple[ComputeBackend, Callable[[], None]]:
    """The backend for an ``executor=`` argument, and what to call when the backfill ends."""
    if executor == "processes":
        try:
            import cloudpickle  # noqa: F401  # checked here so the error names the extra
        except ImportError as error:
            raise _missing_dask(error) from None
        processes = ProcessBackend()
        return processes, processes.close
    if executor == "dask":
        try:
            from distributed import Client, LocalCluster
        except ImportError as error:
            raise _missing_dask(error) from None
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        )
        client = Client(cluster)
        backend = DaskBackend(client)

        def close() -> None:
            backend.close()
            client.close()
            cluster.close()

        return backend, close
    if hasattr(executor, "submit") and hasattr(executor, "scheduler_info"):
        backend = DaskBackend(executor)
        return backend, backend.close
    raise FlowstoneError(
        f"executor={executor!r} is not understood: use None or 'threads' (default), "
        "'processes', 'dask' (a local Dask cluster) or a dask.distributed.Client."
    )
