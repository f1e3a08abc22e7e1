"""The catalog of one store: runs, materializations, lineage and checks, in one SQLite file.

This module owns the :class:`Catalog` (what the engine and the views call), its writes (runs, rows
and edges in one transaction, now or on the writer thread), and what every open catalog of the
process does when the process forks (open fresh connections) or exits (finish background writes,
fold the log into the file). It must not touch stored values or asset definitions: it records what
the engine tells it. The queries live in :mod:`.reads`, the tables in :mod:`.schema`, the rows in
:mod:`.rows`.

Concurrency: every write is one ``BEGIN IMMEDIATE`` transaction on the calling thread's own
connection (see :mod:`.connections`), so several threads and several processes can write into
one catalog at once without losing anything.

Timestamps are UNIX seconds (UTC) stored as floats; views convert them for display. The partition
column holds the encoded partition key, ``""`` for unpartitioned assets.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog import lineage_reads, reads, status_reads, writes
from flowstone_nb._storage.catalog.connections import FAILURES, Connections
from flowstone_nb._storage.catalog.recovery import (
    DEFAULT_STALE_AFTER,
    find_interrupted,
    mark_interrupted,
)
from flowstone_nb._storage.catalog.rows import (
    Candidate,
    CheckRow,
    LineageEdge,
    MaterializationRow,
    PartitionState,
    Reached,
    RunRow,
    check_status,
)
from flowstone_nb._storage.catalog.schema import (
    migrate,
)
from flowstone_nb._storage.catalog.writer import Writer
from flowstone_nb._storage.processes import host_name, own_mark

__all__ = ["Catalog", "close_every_catalog", "forget_connections_after_fork"]

_log = logging.getLogger("flowstone_nb.catalog")
_T = TypeVar("_T")


class Catalog:
    """Runs, materializations and lineage of one store, in one SQLite file.

    Parameters
    ----------
    path
        The catalog file; its folder is created, an older schema is migrated, and rows left
        unfinished by processes that died are marked interrupted.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.host = host_name()
        self._lock = threading.Lock()
        self._connections = Connections(self.path)
        self._writer: Writer | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"The store cannot create the catalog at {self.path} ({error}): make sure its "
                "folder can be created and written, or configure another home."
            ) from error
        _open_catalogs.add(self)
        with self._connections.transaction("upgrade its schema") as conn:
            migrate(conn, self.path)
        self.recover_interrupted()
        with self._lock:
            self._start_writer()
        self._prepare_reads()

    def __repr__(self) -> str:
        return f"Catalog({str(self.path)!r})"

    def _read(self, action: str, query: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """``query(connection, *args, **kwargs)`` on this thread's connection, writes all in.

        A damaged file (or any SQLite error) becomes a StoreError saying the catalog could not do
        ``action``.
        """
        writer = self._writer
        if writer is not None and writer.pending:
            self.wait_for_writes()
        connection = self._connections.get()
        try:
            return query(connection, *args, **kwargs)
        except FAILURES as error:
            raise self._connections.error(action, error) from error

    def _forget_connections(self) -> None:
        """In a forked child: fresh connections, and no writer thread (it is not in the child)."""
        self._connections.forget()
        self._lock = threading.Lock()
        self._writer = None

    def close(self) -> None:
        """Wait for background writes, fold the log into the file, close every connection.

        The file alone then holds everything (a copy of it is a whole catalog), whether or not
        other connections (other processes) still use it. Using the catalog again reopens it.

        Raises
        ------
        StoreError
            A background write failed (everything is closed all the same).
        """
        try:
            self.wait_for_writes()
        finally:
            with self._lock:
                writer, self._writer = self._writer, None
            if writer is not None:
                writer.stop()
            self._connections.close()

    # --- runs -------------------------------------------------------------------------------------

    def new_run(self, *, kind: str, targets: Sequence[str]) -> RunRow:
        """A run that starts now in this process (an id of 32 random hex digits), not written yet.

        :meth:`record` writes it, together with its first rows.
        """
        return RunRow(
            run_id=os.urandom(16).hex(),  # as unique as a uuid4, without building a UUID object
            started_at=time.time(),
            ended_at=None,
            status="running",
            pid=os.getpid(),
            host=self.host,
            kind=kind,
            targets=(*targets,),
            process_mark=own_mark(),
        )

    def start_run(self, *, kind: str, targets: Sequence[str]) -> str:
        """Record that a run starts now in this process; return its id (32 random hex digits)."""
        run = self.new_run(kind=kind, targets=targets)
        self.record(start=run, action="record a run")
        return run.run_id

    def end_run(self, run_id: str, status: str) -> None:
        """Record that a run ended now with ``status`` (e.g. ``"success"`` or ``"failed"``)."""
        self.record(end=(run_id, status), action="record the end of a run")

    def get_run(self, run_id: str) -> RunRow | None:
        """The run ``run_id``, or ``None``."""
        return self._read(f"read run {run_id!r}", reads.run, run_id)

    def runs(self) -> list[RunRow]:
        """Every run, newest first."""
        return self._read("read its runs", reads.runs)

    # --- writes -----------------------------------------------------------------------------------

    def record(
        self,
        rows: Sequence[tuple[Any, ...]] = (),
        edges: Sequence[tuple[Any, ...]] = (),
        *,
        start: RunRow | None = None,
        end: tuple[str, str] | None = None,
        action: str = "record a run and its materializations",
        checks: Sequence[CheckRow] = (),
    ) -> None:
        """Write a run's start, rows, edges, check outcomes and end in one transaction.

        Inserts the run ``start``, inserts or replaces ``rows``, ``edges`` and ``checks``, then
        ends the run ``end = (run_id, status)``. Rows are :class:`MaterializationRow` and edges
        :class:`LineageEdge` (or tuples of their values in field order; a row's may stop before
        its stamp, see :func:`~.rows.whole_rows`); statuses are the caller's to get right.

        Raises
        ------
        StoreError
            When the catalog cannot write, or ``end`` names a run it does not have; nothing is
            written then.
        """
        self.wait_for_writes()
        self._record(rows, edges, start=start, end=end, action=action, checks=checks)

    def _record(
        self,
        rows: Iterable[tuple[Any, ...]],
        edges: Iterable[tuple[Any, ...]],
        *,
        start: RunRow | None,
        end: tuple[str, str] | None,
        action: str,
        checks: Iterable[CheckRow] = (),
    ) -> None:
        with self._connections.transaction(action) as conn:
            writes.record(conn, self.path, rows, edges, start=start, end=end, checks=checks)

    def record_later(
        self,
        rows: Iterable[tuple[Any, ...]] = (),
        edges: Iterable[tuple[Any, ...]] = (),
        *,
        start: RunRow | None = None,
        end: tuple[str, str] | None = None,
        checks: Sequence[CheckRow] = (),
    ) -> None:
        """Like :meth:`record`, but on the catalog's writer thread: returns at once.

        ``rows`` and ``edges`` may be lazy (generators): they are read on the writer thread.

        For rows whose values are kept in memory, which die with the process anyway. Every
        other call on this catalog waits for these writes first, so this process always reads
        its own writes; pending writes also finish before :meth:`close` returns and before the
        interpreter exits. A failed write is raised by the next call.
        """
        run_id = start.run_id if start is not None else end[0] if end is not None else "?"
        with self._lock:
            writer = self._writer or self._start_writer()
        record = functools.partial(self._record_in_background, checks=checks)
        writer.submit(record, run_id, rows, edges, start, end)

    def _start_writer(self) -> Writer:
        """Start the writer thread and open its connection (with ``self._lock`` held).

        Done when the catalog opens, so that a materialize never waits for a thread to start.
        """
        self._writer = Writer()
        self._writer.submit(self._prepare_writes, tracked=False)
        return self._writer

    def _prepare_writes(self) -> None:
        """Open the writer thread's connection; compile its writes (``writes.HOT_WRITES``)."""
        connection = self._connections.get()
        writes.prepare(connection)

    def _record_in_background(
        self,
        run_id: str,
        rows: Iterable[tuple[Any, ...]],
        edges: Iterable[tuple[Any, ...]],
        start: RunRow | None,
        end: tuple[str, str] | None,
        *,
        checks: Sequence[CheckRow],
    ) -> None:
        rows = list(rows)
        action = "record a run in the background"
        try:
            self._record(rows, edges, start=start, end=end, action=action, checks=checks)
        except StoreError as error:
            if rows:
                lost = (
                    f"its {len(rows)} value(s) kept in memory now count as missing, and the next "
                    "materialize recomputes them"
                )
            else:
                lost = "its end was not recorded; the next store to open marks it interrupted"
            raise StoreError(
                f"{error} (written in the background for run {run_id!r}: {lost})"
            ) from error

    def wait_for_writes(self) -> None:
        """Wait until every write handed to :meth:`record_later` is in the file.

        Raises
        ------
        StoreError
            The first of those writes that failed (the others are written all the same).
        """
        writer = self._writer
        if writer is None or not writer.pending:
            return
        failures = writer.wait()
        if failures:
            raise failures[0]

    def write(self, rows: Sequence[MaterializationRow], edges: Sequence[LineageEdge] = ()) -> None:
        """Insert or replace ``rows`` (by id) and ``edges`` in one transaction.

        Raises
        ------
        StoreError
            For an unknown status, or when the catalog cannot write; nothing is written then.
        """
        for row in rows:
            check_status(
                row.status,
                f"of materialization {row.id!r} (asset {row.asset!r}, partition {row.partition!r})",
                consequence=" Nothing of this batch was written.",
            )
        if not rows and not edges:
            return
        action = f"write {len(rows)} materialization(s) and {len(edges)} lineage edge(s)"
        self.record(rows, edges, action=action)

    def forget(self, asset: str) -> int:
        """Delete every materialization of ``asset``, the edges to its inputs, its checks.

        Edges of downstream materializations that consumed it stay: they are the downstream's
        record. Returns the number of materializations deleted.
        """
        self.wait_for_writes()
        with self._connections.transaction(f"forget asset {asset!r}") as conn:
            return writes.forget(conn, asset)

    def mark_value_problems(self, problems: Mapping[str, str | None]) -> None:
        """Record what is known wrong with the stored value of each materialization id.

        Parameters
        ----------
        problems
            Materialization id -> what is wrong with its value (``"was modified: ..."``), or
            ``None`` to clear what was recorded (the value was found good again). One
            transaction; ids not in the catalog are ignored.
        """
        if not problems:
            return
        self.wait_for_writes()
        action = f"record the state of {len(problems)} stored value(s)"
        with self._connections.transaction(action) as conn:
            writes.mark_value_problems(conn, problems)

    # --- reads ------------------------------------------------------------------------------------

    def _prepare_reads(self) -> None:
        """Compile the engine's reads on this thread's connection (see ``reads.HOT_READS``).

        Also notes whether no materialization is recorded yet, with the connection's data
        version at that moment (one read transaction for both): while nothing is committed
        since, :meth:`latest_successes` answers without a query.
        """
        connection = self._connections.get()
        empty, version = self._read("prepare its queries", reads.prepare)
        if empty:
            self._connections.watch(connection, version)

    def change_marker(self) -> tuple[int, int]:
        """A value that changes whenever something is committed to the catalog.

        Commits of this process (any thread) and of other processes (the command line, another
        kernel on the same home) change it. Writes handed to the background writer are waited
        for first, so a run that has just returned counts. Reading it costs one pragma: a
        notebook can ask after every cell whether anything it shows may have changed.
        """
        return self._read("read its change marker", self._connections.changes)

    def get(self, materialization_id: str) -> MaterializationRow | None:
        """The materialization ``materialization_id``, or ``None``."""
        what = f"read materialization {materialization_id!r}"
        return self._read(what, reads.get, materialization_id)

    def assets(self) -> list[str]:
        """Every asset with a recorded materialization, sorted (definitions or not)."""
        return self._read("list its assets", reads.assets)

    def partitions(self, asset: str) -> list[str]:
        """The encoded partition keys of ``asset`` with a recorded materialization, sorted."""
        return self._read(f"list the partitions of asset {asset!r}", reads.partitions, asset)

    def latest_success(self, asset: str, partition: str) -> MaterializationRow | None:
        """The newest successful materialization of one asset partition, or ``None``."""
        return self._read(
            f"read the latest success of asset {asset!r}", reads.latest_success, asset, partition
        )

    def latest_successes(
        self, keys: Sequence[tuple[str, str]] = (), *, assets: Sequence[str] = ()
    ) -> dict[tuple[str, str], Candidate]:
        """The newest success of each ``(asset, partition)`` in ``keys`` that has one.

        Unpartitioned assets may also come as names alone, in ``assets`` (their keys are
        ``(asset, "")``). Only what a reuse check reads, with the inputs it consumed. One query
        for unpartitioned assets and one for partitions, whatever their number; none while
        nothing was ever recorded.
        """
        if not (keys or assets):
            return {}
        return self._read("read the latest successes", self._latest_successes, keys, assets)

    def _latest_successes(
        self,
        connection: sqlite3.Connection,
        keys: Sequence[tuple[str, str]],
        assets: Sequence[str],
    ) -> dict[tuple[str, str], Candidate]:
        if self._connections.unchanged(connection):  # still nothing recorded
            return {}
        return reads.latest_successes(connection, keys, assets)

    def current(self, assets: Iterable[str] | None = None) -> dict[tuple[str, str], PartitionState]:
        """Latest success and latest attempt of every partition of ``assets`` (default: all).

        Partitions never attempted are absent. One query, whatever the number of assets.
        """
        return self._read("read the current states", reads.current, assets)

    def history(
        self,
        asset: str | None = None,
        partition: str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        statuses: Sequence[str] | None = None,
    ) -> list[MaterializationRow]:
        """Materializations, newest first (a page: ``limit`` after the ``offset`` newest).

        Of one ``asset`` and encoded ``partition`` if given, of ``statuses`` if given.
        """
        read = functools.partial(reads.history, limit=limit, offset=offset, statuses=statuses)
        return self._read("read its history", read, asset, partition)

    def newest(
        self, assets: Mapping[str, Sequence[str] | None]
    ) -> dict[str, dict[str, status_reads.PartitionLatest]]:
        """Each partition's newest attempt and success (:func:`.status_reads.newest`)."""
        return self._read("read the state of partitions", status_reads.newest, assets)

    def prunable(
        self, assets: Sequence[str] | None = None, *, keep: int = 1, pruned: str
    ) -> list[MaterializationRow]:
        """The successes whose stored values no kept materialization needs.

        Kept are the ``keep`` newest successes of each partition, and every materialization
        they consumed, upstream all the way (their lineage must stay loadable). Rows whose value
        problem is ``pruned`` are left out (their values are gone already).

        Parameters
        ----------
        assets
            Only rows of these assets (default: every asset).
        keep
            How many successes of each partition to keep (at least 1).
        pruned
            The value problem that marks a pruned row.
        """
        return self._read("find values to prune", reads.prunable, assets, keep, pruned)

    def checks(
        self, asset: str | None = None, partition: str | None = None, *, limit: int | None = None
    ) -> list[CheckRow]:
        """Check outcomes, newest first, optionally of one asset (and encoded partition)."""
        return self._read("read check results", reads.check_results, asset, partition, limit)

    def latest_checks(self, materialization_ids: Iterable[str]) -> list[CheckRow]:
        """The newest outcome of each check of each of ``materialization_ids`` (one query)."""
        return self._read("read check results", reads.latest_checks, materialization_ids)

    # --- lineage ----------------------------------------------------------------------------------

    def inputs(self, materialization_id: str) -> list[LineageEdge]:
        """The upstream materializations that ``materialization_id`` consumed."""
        return self._read("read lineage", lineage_reads.inputs, materialization_id)

    def walk(
        self, materialization_id: str, depth: int | None = None, *, upstream: bool = True
    ) -> list[Reached]:
        """Every materialization upstream (or downstream) of one, with what a view shows of it.

        Sorted by asset, partition key, distance and id; each edge once, at its shortest
        distance (1 = direct input or consumer); ``depth`` limits the distance; cycles (which
        a healthy catalog never has) cannot make the walk loop. See ``lineage_reads.walk``.
        """
        return self._read(
            "walk lineage", lineage_reads.walk, materialization_id, depth, upstream=upstream
        )

    # --- recovery ---------------------------------------------------------------------------------

    def recover_interrupted(self, *, stale_after: float = DEFAULT_STALE_AFTER) -> int:
        """Mark rows left ``running``/``pending`` by processes that are gone as failed.

        A row's process is gone when its run was on this host and no process with its pid and
        mark runs (a pid taken over by another process does not count), or when its run was on
        another host (or is unknown) and started more than ``stale_after`` seconds ago. Rows of
        live processes, and of this process, are never touched. Their runs are marked
        ``interrupted``. Returns how many materializations were marked.
        """
        found = self._read(
            "look for interrupted runs", find_interrupted, host=self.host, stale_after=stale_after
        )
        if not found.materializations and not found.runs:
            return 0
        with self._connections.transaction("mark interrupted materializations") as conn:
            return mark_interrupted(conn, found)


# --- the process's open catalogs ------------------------------------------------------------------

_open_catalogs: weakref.WeakSet[Catalog] = weakref.WeakSet()


def forget_connections_after_fork() -> None:
    """Make every catalog of this (forked) process open fresh connections.

    The parent's connections are kept referenced but never used nor closed: closing them here
    could checkpoint or unlock files the parent still relies on. Runs automatically in forked
    children.
    """
    for catalog in list(_open_catalogs):
        catalog._forget_connections()


def close_every_catalog() -> None:
    """Close every open catalog of this process (runs at interpreter exit).

    Each finishes its background writes and folds its log into its file (see
    :meth:`Catalog.close`), so that a store left by a process that exited is one file. A failed
    write is logged: nobody is left to raise it to.
    """
    for catalog in list(_open_catalogs):
        try:
            catalog.close()
        except StoreError as error:
            _log.warning("%s", error)


# Windows has no fork (and no register_at_fork).
getattr(os, "register_at_fork", lambda **_: None)(after_in_child=forget_connections_after_fork)
atexit.register(close_every_catalog)
