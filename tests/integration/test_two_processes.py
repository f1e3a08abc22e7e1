"""Two processes materializing into the same home at once lose nothing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import flowstone_nb as fs
from flowstone_nb._storage.store import get_store
from tests.resources import two_writers


def test_two_processes_backfilling_one_store_lose_nothing(
    home: Path, registry: fs.Registry
) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    days = [f"2024-04-{d:02d}" for d in range(1, 21)]
    # Overlapping halves: days 9-12 are computed by both, everything else by one of them.
    halves = [days[:12], days[8:]]
    workers = [
        context.Process(target=two_writers.work, args=(str(home), half, barrier)) for half in halves
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    two_writers.define(registry)
    rows = get_store().catalog.history("shared_total", statuses=["success"])
    assert {row.partition.removeprefix("d:") for row in rows} == set(days)
    report = fs.status("shared_total")
    statuses = report["shared_total"]
    assert isinstance(statuses, dict)  # partitioned: {partition: status}
    assert set(statuses.values()) == {"fresh"}
    assert fs.materialize("shared_total", "2024-04-10") == 30
    assert len(get_store().catalog.history("shared_total", statuses=["success"])) == len(rows)
