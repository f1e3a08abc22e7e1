"""Code run in real child processes by the catalog tests.

Each function opens its own :class:`~flowstone_nb._storage.catalog.Catalog` on a path shared with
the test, so the tests prove what happens when several processes use one catalog file: nothing
written concurrently is lost, and rows of a process that dies are recognised as interrupted.
"""

from __future__ import annotations

import time
from typing import Any

from flowstone_nb._storage.catalog import Catalog, LineageEdge, MaterializationRow


def materialization(
    mat_id: str, asset: str, *, status: str = "success", partition: str = "", **values: Any
) -> MaterializationRow:
    """A row with sensible defaults for tests."""
    fields: dict[str, Any] = {"run_id": "run", "started_at": time.time(), "code_version": "c1"}
    fields.update(values)
    return MaterializationRow(id=mat_id, asset=asset, partition=partition, status=status, **fields)


def write_many(path: str, worker: int, count: int, barrier: Any) -> None:
    """Write ``count`` materializations (running, then success with an edge) after the barrier."""
    catalog = Catalog(path)
    run_id = catalog.start_run(kind="test", targets=[f"worker{worker}"])
    barrier.wait()
    previous: str | None = None
    for i in range(count):
        mat_id = f"w{worker}-{i}"
        running = materialization(
            mat_id, f"asset{worker}", status="running", partition=str(i), run_id=run_id
        )
        catalog.write([running])
        edges = []
        if previous is not None:
            edges.append(LineageEdge(mat_id, previous, f"asset{worker}", str(i - 1), "v"))
        catalog.write(
            [materialization(mat_id, f"asset{worker}", partition=str(i), run_id=run_id)], edges
        )
        previous = mat_id
    catalog.end_run(run_id, "success")
    catalog.close()


def hold_running_row(path: str, mat_id: str, written: Any, release: Any) -> None:
    """Leave a ``running`` row, say so, then wait until released (or killed)."""
    catalog = Catalog(path)
    run_id = catalog.start_run(kind="test", targets=["held"])
    catalog.write([materialization(mat_id, "held", status="running", run_id=run_id)])
    written.set()
    release.wait()
    catalog.close()
