"""``fs.backfill``: materialize many partitions of an asset, in parallel, resumably.

A backfill plans every requested partition at once (shared upstream partitions run once), skips
what is fresh, runs the rest on a thread pool (or on Dask workers / worker processes), and reports
per-partition results. Calling it again resumes: only missing, stale or failed partitions run.
Its progress goes out as events (:mod:`flowstone_nb._core.progress`); it never imports a widget.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._core.html import (
    badge,
    counted,
    duration,
    esc,
    html_table,
    legend,
    square,
    state_bar,
    text_table,
    tooltip,
)
from flowstone_nb._core.progress import reporting_backfill
from flowstone_nb._core.states import Outcome
from flowstone_nb._define.asset import Asset, name_of
from flowstone_nb._define.registry import Registry, resolve_registry
from flowstone_nb._run.api import check_retries, check_timeout, execute_plan
from flowstone_nb._run.plan import build_plan
from flowstone_nb._run.remote import ComputeBackend
from flowstone_nb._run.results import cause
from flowstone_nb._storage.config import settings
from flowstone_nb._storage.store import get_store

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BackfillResult", "PartitionResult", "backfill"]


@dataclass(frozen=True)
class PartitionResult:
    """The outcome of one requested partition.

    Attributes
    ----------
    partition
        The partition key as text.
    status
        ``"computed"``, ``"reused"`` (was fresh), ``"failed"``, ``"skipped"`` (an upstream
        partition failed) or ``"cancelled"`` (never started).
    duration
        Seconds spent computing it (0 when reused).
    error
        The error message, when it did not succeed (for a skipped partition: which upstream
        partition failed, and how).
    error_type
        The class name of what went wrong (for a skipped partition: of the upstream's error).
    """

    partition: str
    status: str
    duration: float = 0.0
    error: str | None = None
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        """True when the partition is now fresh."""
        return self.status in ("computed", "reused")


@dataclass(frozen=True)
class BackfillResult:
    """Per-partition results of a backfill, with text and HTML views."""

    asset: str
    run_id: str
    partitions: tuple[PartitionResult, ...]
    duration: float

    @property
    def failed(self) -> list[PartitionResult]:
        """Partitions that did not end fresh (failed, skipped or cancelled)."""
        return [p for p in self.partitions if not p.ok]

    @property
    def ok(self) -> bool:
        """True when every requested partition is fresh."""
        return not self.failed

    def counts(self) -> dict[str, int]:
        """How many partitions ended in each status (in the order of the outcomes)."""
        counts: dict[str, int] = dict.fromkeys(Outcome, 0)
        for p in self.partitions:
            counts[p.status] = counts.get(p.status, 0) + 1
        return {str(status): n for status, n in counts.items() if n}

    def __getitem__(self, partition: str) -> PartitionResult:
        for p in self.partitions:
            if p.partition == partition:
                return p
        raise KeyError(partition)

    def to_frame(self) -> pd.DataFrame:
        """The per-partition results as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(
            [p.__dict__ for p in self.partitions],
            columns=list(PartitionResult.__dataclass_fields__),
        )

    def summary(self) -> str:
        """One line: asset, partition counts per status (the words the progress used), duration."""
        return (
            f"Backfill of {self.asset}: {len(self.partitions)} partition(s) — "
            f"{counted(self.counts())} in {duration(self.duration)}"
        )

    def __repr__(self) -> str:
        shown = self.failed or self.partitions[:0]
        if not shown:
            return self.summary()
        rows = [[p.partition, p.status, p.error or ""] for p in shown]
        return f"{self.summary()}\n{text_table(['partition', 'status', 'error'], rows)}"

    def _repr_html_(self) -> str:
        """The bar, legend and squares the progress showed, final; then what did not succeed."""
        counts = self.counts()
        total = len(self.partitions)
        strip = "".join(
            square(p.status, tooltip(p.partition, p.status, p.error or "")) for p in self.partitions
        )
        head = f"<b>Backfill of {esc(self.asset)}</b>: {total} partition(s) in "
        bar = state_bar(counts, label=f"{total}/{total}")
        parts = [
            f"{head}{esc(duration(self.duration))} {bar}",
            f"<div>{legend(counts)}</div>",
            f'<div class="fs-strip" style="line-height:8px">{strip}</div>',
        ]
        if self.failed:
            rows = [
                [esc(p.partition), badge(p.status), esc(p.error_type or ""), esc(p.error or "")]
                for p in self.failed
            ]
            parts.append(
                html_table(
                    ["partition", "status", "error type", "error"],
                    rows,
                    raw_columns=(0, 1, 2, 3),
                    css_class="fs-backfill-failures",
                )
            )
        return '<div class="fs-backfill fs-backfill-result">' + "".join(parts) + "</div>"


def _resolve_backend(executor: Any) -> tuple[ComputeBackend | None, Any]:
    """The compute backend for ``executor`` and anything to close afterwards."""
    if executor is None or executor == "threads":
        return None, None
    from flowstone_nb._run.dask_executor import backend_for

    return backend_for(executor)


def backfill(
    asset: Asset | str,
    partitions: Any = None,
    *,
    max_workers: int | None = None,
    executor: Any = None,
    force: bool = False,
    fail_fast: bool = False,
    resources: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    registry: Registry | None = None,
    home: str | None = None,
) -> BackfillResult:
    """Materialize many partitions of ``asset``, skipping the fresh ones.

    Parameters
    ----------
    asset
        A partitioned asset (object or name).
    partitions
        Which partitions: ``None`` (all), a range ``"2024-01-01..2024-01-31"`` or
        ``("2024-01-01", "2024-01-31")``, a list of keys, or a ``slice``.
    max_workers
        Partitions computed at once (default: the number of CPUs, at most 8).
    executor
        ``None``/``"threads"`` (default), ``"processes"``, ``"dask"`` (a local Dask cluster), or
        a ``dask.distributed.Client``. Workers write values to the store home, which they must
        be able to reach; only this process writes the catalog.
    force
        Recompute requested partitions even when fresh.
    fail_fast
        Stop starting new partitions after the first failure.
    resources
        Resources for this call, on top of ``fs.configure(resources=...)``.
    progress
        Show progress (default: ``fs.configure(progress=...)``, else in notebooks yes, in
        scripts no): a live widget in a notebook, one line per finished partition on standard
        error in a script. The backfill announces its start and end as events either way.
    cancel
        An event that, when set, stops new partitions from starting; partitions still running
        a few seconds later are given up (recorded failed, reported ``cancelled``) and the
        backfill returns. Ctrl-C does the same, then raises ``KeyboardInterrupt``.
    timeout
        Seconds each partition (and each upstream partition it computes) may run, unless its
        asset has a ``timeout`` of its own. A partition past it is recorded failed with a
        ``MaterializationTimeoutError`` and the backfill goes on. Worker processes and Dask
        tasks are stopped; a thread cannot be, so it is left behind (the message says so).
        Each attempt of a retried partition has its own timeout.
    retries
        How many times a partition (or an upstream partition it computes) that fails is
        tried again, unless its asset has ``retries`` of its own (its ``retry_delay``,
        ``retry_backoff`` and ``retry_on`` say when, and for which errors). A partition
        waiting for its next attempt holds no worker: the others go on meanwhile. Every
        attempt is recorded (``fs.history`` has an ``attempt`` column); one out of attempts
        fails saying how many there were.
    registry
        Where assets are defined (default: the kernel registry).
    home
        The store home (default: the configured one).

    Returns
    -------
    BackfillResult
        Per-partition status, duration and error; ``.failed`` lists what did not succeed.
    """
    check_timeout(timeout)
    check_retries(retries)
    registry = resolve_registry(registry)
    name = name_of(asset)
    definition = registry.get(name).partitions
    if definition is None:
        raise PartitionError(
            f"Asset {name!r} is not partitioned: use fs.materialize({name!r}) instead of backfill."
        )
    keys = definition.select(partitions)
    if not keys:
        raise PartitionError(f"No partitions of {name!r} match {partitions!r} ({definition!r}).")
    plan = build_plan(registry, [(name, key) for key in keys])
    store = get_store(home)
    cancel = cancel or threading.Event()
    backend, closer = _resolve_backend(executor)
    workers = max_workers or min(8, os.cpu_count() or 1)
    started = time.perf_counter()
    shown = [definition.key_str(key) for key in keys]
    wanted = progress if progress is not None else settings().progress
    with reporting_backfill(name, shown, cancel=cancel, show=wanted):
        try:
            run = execute_plan(
                plan,
                store,
                force=plan.targets if force else (),
                resources=resources,
                kind="backfill",
                max_workers=workers,
                fail_fast=fail_fast,
                cancel=cancel,
                backend=backend,
                timeout=timeout,
                retries=retries,
            )
        finally:
            if closer is not None:
                closer()
    results = []
    for node in plan.targets:
        outcome = run.results[node]
        error = outcome.error
        results.append(
            PartitionResult(
                partition=definition.key_str(node.key),
                status=outcome.status,
                duration=outcome.duration,
                error=None if error is None else str(error),
                error_type=None if error is None else type(cause(error)).__name__,
            )
        )
    return BackfillResult(name, run.run_id, tuple(results), time.perf_counter() - started)
