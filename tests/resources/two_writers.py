"""Assets two processes materialize into one store at the same time (a concurrency test)."""

from __future__ import annotations

from typing import Any

import flowstone_nb as fs

DAYS = fs.DailyPartitions("2024-04-01", "2024-04-20")


def define(registry: fs.Registry) -> None:
    """Register the pair of assets in ``registry``."""

    @fs.asset(partitioned_by=DAYS, registry=registry)
    def shared_source(context: Any) -> list[int]:
        return [context.partition.day] * 3

    @fs.asset(partitioned_by=DAYS, registry=registry)
    def shared_total(shared_source: list[int]) -> int:
        return sum(shared_source)


def work(home: str, partitions: list[str], barrier: Any) -> None:
    """In a child process: wait for the other writer, then backfill ``partitions``."""
    registry = fs.Registry()
    define(registry)
    fs.configure(home=home)
    barrier.wait()
    result = fs.backfill("shared_total", partitions, registry=registry, max_workers=2)
    if not result.ok:
        raise SystemExit(f"backfill failed: {result!r}")
