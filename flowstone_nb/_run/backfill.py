"""``fs.backfill``: materialize many partitions of an asset, in parallel, resumably.

A backfill plans every requested partition at once (shared upstream partitions run once), skips
what is fresh, runs the rest on a thread pool (or on Dask workers / worker processes), and reports
per-partition results. Calling it again resumes: only missing, stale or failed partitions run.
Its progress goes out as events (:mod:`flowstone_nb._core.progress`); it never imports a widget.
The result names the partitions whose value a data check (defined now) fails on, read in one
query once the run is done, and only for an asset that has checks.
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
    CHECK_FLAG,
    badge,
    check_flag,
    counted,
    duration,
    esc,
    findings,
    html_table,
    legend,
    square,
    state_bar,
    text_table,
    tooltip,
    with_failing_checks,
)
from flowstone_nb._core.progress import reporting_backfill
from flowstone_nb._core.states import Outcome
from flowstone_nb._define.asset import Asset, name_of
from flowstone_nb._define.registry import Registry, resolve_registry
from flowstone_nb._run.api import check_retries, check_timeout, execute_plan
from flowstone_nb._run.checks import failing_outcomes
from flowstone_nb._run.plan import Plan, build_plan
from flowstone_nb._run.remote import ComputeBackend
from flowstone_nb._run.results import cause
from flowstone_nb._storage.config import settings
from flowstone_nb._storage.store import get_store

if TYPE_CHECKING:
    import pandas as pd

    from flowstone_nb._run.results import RunResult
    from flowstone_nb._storage.catalog import CheckRow
    from flowstone_nb._storage.store import Store

__all__ = ["BackfillResult", "PartitionResult", "backfill"]

#: Partitions with failing checks listed in a result's views; the rest are counted.
FLAGGED_SHOWN = 10


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
    checks_failing
        The data checks (defined now) that fail on its value, as in ``fs.status()``.
    check_message
        What they found, ``"name: message"`` for each, joined by ``"; "``.
    """

    partition: str
    status: str
    duration: float = 0.0
    error: str | None = None
    error_type: str | None = None
    checks_failing: tuple[str, ...] = ()
    check_message: str = ""

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

    @property
    def flagged(self) -> list[PartitionResult]:
        """Partitions whose value a data check fails on (fresh, or failed by a blocking one)."""
        return [p for p in self.partitions if p.checks_failing]

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
        """One line: asset, partition counts per status (the words the progress used), duration.

        Partitions some data check fails on are counted after it.
        """
        flagged = self.flagged
        checks = f"; {with_failing_checks(len(flagged))}" if flagged else ""
        return (
            f"Backfill of {self.asset}: {len(self.partitions)} partition(s) — "
            f"{counted(self.counts())} in {duration(self.duration)}{checks}"
        )

    def _flagged_rows(self) -> tuple[list[PartitionResult], int]:
        """The first :data:`FLAGGED_SHOWN` partitions with failing checks, and how many more."""
        flagged = self.flagged
        return flagged[:FLAGGED_SHOWN], max(0, len(flagged) - FLAGGED_SHOWN)

    def __repr__(self) -> str:
        lines = [self.summary()]
        if self.failed:
            rows = [[p.partition, p.status, p.error or ""] for p in self.failed]
            lines.append(text_table(["partition", "status", "error"], rows))
        shown, hidden = self._flagged_rows()
        width = max((len(p.partition) for p in shown), default=0)
        lines += [f"{p.partition.ljust(width)}  {CHECK_FLAG} {p.check_message}" for p in shown]
        lines += [f"… and {hidden} more"] if hidden else []
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The bar, legend and squares the progress showed, final; then what did not succeed."""
        counts = self.counts()
        total = len(self.partitions)
        strip = "".join(
            square(p.status, _tooltip(p), flagged=bool(p.checks_failing)) for p in self.partitions
        )
        head = f"<b>Backfill of {esc(self.asset)}</b>: {total} partition(s) in "
        bar = state_bar(counts, label=f"{total}/{total}")
        flagged = self.flagged
        checks = (
            f' · <span class="fs-count-checks">{check_flag()} '
            f"{with_failing_checks(len(flagged))}</span>"
            if flagged
            else ""
        )
        parts = [
            f"{head}{esc(duration(self.duration))} {bar}",
            f"<div>{legend(counts)}{checks}</div>",
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
        if flagged:
            parts.append(self._flagged_html())
        return '<div class="fs-backfill fs-backfill-result">' + "".join(parts) + "</div>"

    def _flagged_html(self) -> str:
        shown, hidden = self._flagged_rows()
        rows = [
            [esc(p.partition), check_flag(p.check_message), esc(p.check_message)] for p in shown
        ]
        table = html_table(
            ["partition", "", "failing checks"],
            rows,
            raw_columns=(0, 1, 2),
            css_class="fs-backfill-checks",
        )
        return table + (f"<i>… and {hidden} more</i>" if hidden else "")


def _tooltip(partition: PartitionResult) -> str:
    """A square's tooltip: ``partition: status — error``, and what failing checks found."""
    text = tooltip(partition.partition, partition.status, partition.error or "")
    return f"{text} — {CHECK_FLAG} {partition.check_message}" if partition.checks_failing else text


def _failing_checks(
    store: Store, plan: Plan, asset: str, run: RunResult
) -> dict[str, list[CheckRow]]:
    """The failing outcomes of the checks of ``asset`` on its partitions' values, by value."""
    checks = plan.checks.get(asset)
    if not checks:
        return {}
    ids = [
        str(result.materialization_id)
        for node in plan.targets
        if (result := run.results[node]).materialization_id is not None
    ]
    names = {asset: [check.name for check in checks]}
    return failing_outcomes(store.catalog.latest_checks(ids), names)


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
    failing = _failing_checks(store, plan, name, run)
    results = []
    for node in plan.targets:
        outcome = run.results[node]
        error = outcome.error
        found = failing.get(str(outcome.materialization_id), ()) if failing else ()
        results.append(
            PartitionResult(
                partition=definition.key_str(node.key),
                status=outcome.status,
                duration=outcome.duration,
                error=None if error is None else str(error),
                error_type=None if error is None else type(cause(error)).__name__,
                checks_failing=tuple(row.check_name for row in found),
                check_message=findings((row.check_name, row.message) for row in found),
            )
        )
    return BackfillResult(name, run.run_id, tuple(results), time.perf_counter() - started)
