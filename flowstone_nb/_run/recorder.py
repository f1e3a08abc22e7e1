"""The recorder: the one place a run writes runs, materializations, lineage and checks.

:class:`Recorder` buffers one run's outcomes and writes them in as few transactions as the run
allows, and announces each through :mod:`flowstone_nb._core.events` when someone listens.
Catalog rows and lineage edges are built here, by field name (:func:`success_row`,
:func:`lineage_edges`), from the result of each computed node. This module decides nothing about
what runs: the runner tells it.
"""

from __future__ import annotations

import itertools
import logging
import threading
import traceback
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.events import Event, emit, has_listeners
from flowstone_nb._core.states import EventKind, RecordStatus
from flowstone_nb._run.plan import Node
from flowstone_nb._run.retries import failed_as
from flowstone_nb._storage.catalog import CheckRow, LineageEdge, MaterializationRow
from flowstone_nb._storage.io import MemoryIOManager
from flowstone_nb._versioning.code_versions import PendingVersion

if TYPE_CHECKING:
    from flowstone_nb._run.results import CheckOutcome, NodeResult
    from flowstone_nb._storage.catalog import RunRow
    from flowstone_nb._storage.store import Store

__all__ = ["Recorder", "lineage_edges", "success_row"]

_log = logging.getLogger("flowstone_nb.run")
_MEMORY = MemoryIOManager.name  # values kept in this process: their rows may be written later
# A row's status as the text of its state: SQLite binds a plain str as it is, where it first
# tries to adapt a str subclass (and reading a module constant costs less than an enum member).
_SUCCESS, _RUNNING, _FAILED = (
    RecordStatus.SUCCESS.value,
    RecordStatus.RUNNING.value,
    RecordStatus.FAILED.value,
)


def success_row(result: NodeResult, run_id: str) -> MaterializationRow:
    """The materialization row of a computed node, from its result.

    Parameters
    ----------
    result
        The node's result (from :func:`~flowstone_nb._run.results.computed`).
    run_id
        The run it belongs to.
    """
    node, started_at, duration = result.node, result.started_at, result.duration
    version = result.code_version
    return MaterializationRow(
        id=str(result.materialization_id),
        run_id=run_id,
        asset=node.asset,
        partition=node.encoded,
        status=_SUCCESS,
        started_at=started_at,
        ended_at=started_at + duration,
        duration=duration,
        code_version=version.resolve() if isinstance(version, PendingVersion) else version,
        data_version=result.data_version,
        io_manager=result.io_manager,
        location=result.location,
        rows=result.rows,
        schema=result.schema,
        size_bytes=result.size_bytes,
        modified_ns=result.modified_ns,
        attempt=result.attempt,
    )


def lineage_edges(result: NodeResult) -> list[LineageEdge]:
    """The lineage edges of a computed node: one per upstream value it consumed."""
    mat_id = str(result.materialization_id)
    return [
        LineageEdge(
            materialization_id=mat_id,
            upstream_id=str(up.materialization_id),
            upstream_asset=up.node.asset,
            upstream_partition=up.node.encoded,
            upstream_data_version=up.data_version,
        )
        for up in result.consumed
    ]


class Recorder:
    """Writes one run's materializations and lineage to the catalog, and announces them.

    The run itself is written lazily, in the first transaction that writes anything: a run that
    reuses everything writes nothing. Rows of persisted values are written as they happen, so a
    killed process leaves a ``running`` row that the next open recognises as interrupted. Rows
    of values kept in memory are buffered and go with the next write; those left when the run
    ends are handed to the catalog's writer thread, so the caller gets its values without
    waiting for SQLite (the values die with the process anyway, and every later read of the
    catalog in this process waits for the writer). A success is buffered as it was reported,
    and turned into its row and edges by whoever writes it: for values kept in memory, that is
    the writer thread. Materialization ids are the run id followed by a counter.
    """

    def __init__(self, store: Store, run: RunRow) -> None:
        self._catalog = store.catalog
        self.run = run
        self._run_id = run.run_id
        self._lock = threading.Lock()
        self._rows: list[MaterializationRow] = []
        self._successes: list[NodeResult] = []  # never replaced: see keep_success
        self._checks: list[CheckRow] = []
        # Buffers a computed node's result without the lock or an announcement: for the
        # sequential runner (the only thread of its run) when nobody listens. Its row may be
        # built later, and a pending code version worked out then.
        self.keep_success = self._successes.append
        self._written = False  # the run row is in the catalog (or handed to its writer)
        self._failed = False  # a write of this run failed: the rest is written in the caller
        # Materialization ids are f"{run_id}-{next(ids)}": unique to this run, and through the
        # run id everywhere.
        self.ids = itertools.count()

    def _announce(self, kind: EventKind, node: Node, **detail: Any) -> None:
        # Callers on hot paths check has_listeners() first, to skip building ``detail``.
        if has_listeners():
            emit(Event(kind, node.asset, node.text, self._run_id, detail))

    def started(
        self, node: Node, mat_id: str, code_version: str, io_manager: str, started_at: float
    ) -> None:
        """A node starts computing; persisted values get their ``running`` row now."""
        if io_manager != _MEMORY:
            row = MaterializationRow(
                id=mat_id,
                run_id=self._run_id,
                asset=node.asset,
                partition=node.encoded,
                status=_RUNNING,
                started_at=started_at,
                code_version=code_version,
                io_manager=io_manager,
            )
            with self._lock:
                self._rows.append(row)
            self.flush()
        if has_listeners():
            self._announce(EventKind.STARTED, node)

    def succeeded(self, result: NodeResult) -> None:
        """A node computed and stored its value: record its result (see :func:`success_row`)."""
        with self._lock:
            self._successes.append(result)
        if result.io_manager != _MEMORY:
            self.flush()
        if has_listeners():
            self._announce(
                EventKind.SUCCEEDED,
                result.node,
                duration=result.duration,
                data_version=result.data_version,
            )

    def checked(self, node: Node, mat_id: str, outcomes: Iterable[CheckOutcome]) -> None:
        """Data checks judged the value of ``mat_id``: their outcomes go with the next write."""
        rows = [
            CheckRow(
                materialization_id=mat_id,
                run_id=self._run_id,
                asset=node.asset,
                partition=node.encoded,
                check_name=outcome.name,
                passed=outcome.passed,
                blocking=outcome.blocking,
                code_version=outcome.code_version,
                message=outcome.message,
                metadata=outcome.metadata,
                started_at=outcome.started_at,
                duration=outcome.duration,
                traceback=outcome.traceback,
            )
            for outcome in outcomes
        ]
        with self._lock:
            self._checks += rows
        if has_listeners(EventKind.CHECKED):  # (a view of checks may listen to them alone)
            for row in rows:
                detail = {
                    "check": row.check_name,
                    "passed": row.passed,
                    "blocking": row.blocking,
                    "message": row.message,
                }
                emit(Event(EventKind.CHECKED, node.asset, node.text, self._run_id, detail))

    def reused(self, node: Node, data_version: str | None) -> None:
        """A node was fresh: nothing is written (called only when someone listens)."""
        self._announce(EventKind.REUSED, node, data_version=data_version)

    def not_run(self, node: Node, kind: EventKind, reason: str) -> None:
        """A node was skipped (an upstream failed) or cancelled: announced, not recorded."""
        self._announce(kind, node, error=reason)

    def failed(
        self,
        node: Node,
        mat_id: str,
        *,
        code_version: str,
        io_manager: str,
        error: BaseException,
        started_at: float,
        duration: float,
        stored: NodeResult | None = None,
        detail: str | None = None,
        attempt: int = 1,
        retry_in: float | None = None,
    ) -> None:
        """A node failed (or was interrupted): record the error and traceback right away.

        ``stored``: the result of a value stored before the node failed (a blocking check
        failed on it), recorded with the row for inspection (and its attempt number).
        ``detail``: what to record as the traceback instead of the error's own. ``attempt``:
        which attempt of the node failed. ``retry_in``: the seconds before its next attempt,
        when one follows: that is announced as ``retrying``, not ``failed`` (the node is not
        done). A node that fails after several attempts is announced as failed after them.
        """
        interrupted = not isinstance(error, Exception)
        row = MaterializationRow(
            id=mat_id,
            run_id=self._run_id,
            asset=node.asset,
            partition=node.encoded,
            status=_FAILED,
            started_at=started_at,
            ended_at=started_at + duration,
            duration=duration,
            code_version=code_version,
            io_manager=io_manager,
            error_type="Interrupted" if interrupted else type(error).__name__,
            error_message=str(error) or type(error).__name__,
            traceback=detail or "".join(traceback.format_exception(error)),
            attempt=attempt,
        )
        if stored is not None:
            row = row._replace(
                attempt=stored.attempt,
                data_version=stored.data_version,
                location=stored.location,
                rows=stored.rows,
                schema=stored.schema,
                size_bytes=stored.size_bytes,
                modified_ns=stored.modified_ns,
            )
        with self._lock:
            self._rows.append(row)
        self.flush()
        if retry_in is None:
            number = row.attempt
            self._announce(
                EventKind.FAILED,
                node,
                error=failed_as(number, error),
                error_type=type(error).__name__,
                attempt=number,
            )
        else:
            self._announce(
                EventKind.RETRYING,
                node,
                error=str(error),
                error_type=type(error).__name__,
                attempt=attempt,
                retry_in=retry_in,
            )

    def flush(self, end: RecordStatus | None = None, *, quiet: bool = False) -> None:
        """Write everything buffered (and the run, the first time) in one transaction.

        With ``end``, the run also ends with that status. A run that has nothing to write
        writes nothing. A write that fails raises here and leaves what it held buffered (the
        run too, if it was not written yet): no row is ever recorded without its run. Once a
        write failed, only the run's end tries again, with everything left, in this call (not
        in the background, so that a catalog that still cannot write never fails the next,
        unrelated call).

        Parameters
        ----------
        end
            End the run with this status.
        quiet
            Log a failure to write instead of raising it (the run is already failing with
            the error that matters).
        """
        if self._failed and end is None:
            return  # the write that failed raised already: the run's end tries again
        try:
            self._flush(end)
        except Exception as error:
            if not quiet:
                raise
            _log.warning(
                "Run %s could not be recorded in the catalog (%s); its values stay stored, "
                "unrecorded, and the next materialize computes them again.",
                self._run_id,
                error,
            )

    def _flush(self, end: RecordStatus | None) -> None:
        run_id = self._run_id
        # Under the lock to the end: the write that carries the run is handed in first.
        with self._lock:
            rows, successes, checks = self._rows, self._successes.copy(), self._checks
            if not (rows or successes or checks or (end is not None and self._written)):
                return
            self._rows, self._checks = [], []
            self._successes.clear()
            start = None if self._written else self.run
            try:
                if end is None:
                    made = [*rows, *(success_row(success, run_id) for success in successes)]
                    edges = [edge for success in successes for edge in lineage_edges(success)]
                    self._catalog.record(
                        list(_plain(made)), list(_plain(edges)), start=start, checks=checks
                    )
                elif self._failed:
                    made = [*rows, *(success_row(done, run_id) for done in successes)]
                    edges = [edge for done in successes for edge in lineage_edges(done)]
                    self._catalog.record(
                        list(_plain(made)),
                        list(_plain(edges)),
                        start=start,
                        end=(run_id, end),
                        checks=checks,
                    )
                else:  # only values kept in memory are still buffered: their rows are built later
                    self._catalog.record_later(
                        _plain(
                            itertools.chain(rows, (success_row(done, run_id) for done in successes))
                        ),
                        _plain(edge for done in successes for edge in lineage_edges(done)),
                        start=start,
                        end=(run_id, end),
                        checks=checks,
                    )
            except BaseException:
                self._rows[:0] = rows  # kept for the next flush, in order
                self._successes[:0] = successes
                self._checks[:0] = checks
                self._failed = True
                raise
            self._written = True


def _plain(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Rows and edges as plain tuples, in their fields' order.

    SQLite binds a plain tuple's values directly; a named tuple's, one by one through the
    sequence protocol (about twice the time of the insert itself).
    """
    return map(tuple, rows)
