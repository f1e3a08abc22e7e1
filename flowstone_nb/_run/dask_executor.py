"""Running backfill partitions elsewhere: on Dask workers or in worker processes.

A backend ships a :class:`~flowstone_nb._run.remote.RemoteTask` (the definition, the partition, the
storage locations of its inputs) to a worker, which loads the inputs from the store home, runs the
asset's code and stores the value there; the coordinating process records the catalog rows. So the
store home must be reachable from the workers: a local folder for a local cluster, an fsspec URL
(``s3://…``) for a real one. Dask and cloudpickle are imported only here.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError

if TYPE_CHECKING:
    from flowstone_nb._run.remote import ComputeBackend, RemoteResult, RemoteTask

__all__ = ["DaskBackend", "ProcessBackend", "backend_for"]


def _missing_dask(error: ImportError) -> FlowstoneError:
    return FlowstoneError(
        f"executor='dask' needs Dask ({error.name} is not installed): "
        "pip install 'flowstone-nb[dask]'."
    )


class DaskBackend:
    """Computes nodes on a ``dask.distributed.Client``'s workers."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def compute(self, task: RemoteTask) -> RemoteResult:
        """Run the task on a worker and wait for its stored (and checked) value."""
        from flowstone_nb._run.remote import run_remote

        future = self.client.submit(run_remote, task, pure=False)
        result: RemoteResult = future.result()
        return result


def _run_pickled(blob: bytes) -> RemoteResult:
    import cloudpickle

    from flowstone_nb._run.remote import run_remote

    return run_remote(cloudpickle.loads(blob))


class ProcessBackend:
    """Computes nodes in local worker processes (definitions travel with cloudpickle)."""

    def __init__(self, max_workers: int | None = None) -> None:
        import multiprocessing

        self.pool = ProcessPoolExecutor(
            max_workers, mp_context=multiprocessing.get_context("spawn")
        )

    def compute(self, task: RemoteTask) -> RemoteResult:
        """Run the task in a worker process and wait for its stored (and checked) value."""
        import cloudpickle

        return self.pool.submit(_run_pickled, cloudpickle.dumps(task)).result()

    def close(self) -> None:
        """Stop the worker processes."""
        self.pool.shutdown()


def backend_for(executor: Any) -> tuple[ComputeBackend, Callable[[], None] | None]:
    """The backend for an ``executor=`` argument, and what to call when the backfill ends."""
    if executor == "processes":
        try:
            import cloudpickle  # noqa: F401  # checked here so the error names the extra
        except ImportError as error:
            raise _missing_dask(error) from None
        backend = ProcessBackend()
        return backend, backend.close
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

        def close() -> None:
            client.close()
            cluster.close()

        return DaskBackend(client), close
    if hasattr(executor, "submit") and hasattr(executor, "scheduler_info"):
        return DaskBackend(executor), None
    raise FlowstoneError(
        f"executor={executor!r} is not understood: use None or 'threads' (default), "
        "'processes', 'dask' (a local Dask cluster) or a dask.distributed.Client."
    )
