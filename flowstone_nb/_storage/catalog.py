"""The catalog: runs, materializations and lineage of one store, in a SQLite file.

This module owns the catalog's schema and its migrations, the queries the engine and the views
need, and the recovery of rows left ``running`` by processes that died. It must not touch stored
values or asset definitions: it records what the engine tells it.

Concurrency: the file is in WAL mode with ``synchronous=NORMAL`` and a 30 s busy timeout. Each
thread gets its own connection (opened on first use; connections of finished threads are closed
when a new thread opens one), and every write is one ``BEGIN IMMEDIATE`` transaction, so several
threads and several processes can write into one catalog at once without losing anything. A
forked child never touches its parent's connections: it opens its own.

Timestamps are UNIX seconds (UTC) stored as floats; views convert them for display. The partition
column holds the encoded partition key, ``""`` for unpartitioned assets.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import operator
import os
import queue
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from flowstone_nb._core.errors import StoreError, did_you_mean

_log = logging.getLogger("flowstone_nb.catalog")
# Rows read from SQLite become named tuples without their Python-level __new__ (one C call).
_new_tuple = tuple.__new__

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "Candidate",
    "Catalog",
    "LineageEdge",
    "MaterializationRow",
    "PartitionState",
    "RunRow",
    "forget_connections_after_fork",
]

#: Every status a materialization may have.
STATUSES = ("pending", "running", "success", "failed", "skipped")
_UNFINISHED = ("pending", "running")
_BUSY_TIMEOUT = 30.0
#: Runs from other hosts (whose processes cannot be probed) count as interrupted after this long.
DEFAULT_STALE_AFTER = 24 * 3600.0


class MaterializationRow(NamedTuple):
    """One attempt to compute and store one asset partition (an immutable named tuple).

    Attributes
    ----------
    id
        Chosen by the caller (32 random hex digits).
    run_id
        The run it belongs to.
    asset
        The asset name.
    partition
        The encoded partition key, ``""`` when the asset is not partitioned.
    status
        One of :data:`STATUSES`.
    started_at, ended_at
        UNIX seconds.
    duration
        Seconds spent computing and storing.
    code_version, data_version
        The asset's code version, and the content version of the stored value.
    io_manager, location
        Which IO manager stored the value, and where.
    rows, schema
        Summary of the value.
    error_type, error_message, traceback
        What went wrong, for failed attempts.
    """

    id: str
    run_id: str
    asset: str
    partition: str
    status: str
    started_at: float
    ended_at: float | None = None
    duration: float | None = None
    code_version: str | None = None
    data_version: str | None = None
    io_manager: str | None = None
    location: str | None = None
    rows: int | None = None
    schema: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None


class LineageEdge(NamedTuple):
    """Materialization ``materialization_id`` consumed materialization ``upstream_id``."""

    materialization_id: str
    upstream_id: str
    upstream_asset: str
    upstream_partition: str
    upstream_data_version: str | None


class Candidate(NamedTuple):
    """The newest success of one asset partition, as the engine checks it for reuse.

    Attributes
    ----------
    id, asset, partition, code_version, data_version, io_manager, location
        As in :class:`MaterializationRow`.
    inputs
        ``(asset, partition, data_version)`` of every input it consumed.
    """

    id: str
    asset: str
    partition: str
    code_version: str | None
    data_version: str | None
    io_manager: str | None
    location: str | None
    inputs: frozenset[tuple[str, str, str | None]]


@dataclass(frozen=True, slots=True)
class PartitionState:
    """The catalog's view of one asset partition.

    Attributes
    ----------
    success
        The latest successful materialization, if any.
    last
        The latest attempt, whatever its status.
    """

    success: MaterializationRow | None
    last: MaterializationRow


class RunRow(NamedTuple):
    """One call of materialize or backfill, and the process that made it (a named tuple)."""

    run_id: str
    started_at: float
    ended_at: float | None
    status: str
    pid: int
    host: str
    kind: str
    targets: tuple[str, ...]


# --- schema ---------------------------------------------------------------------------------------


def _create_tables(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at REAL NOT NULL, ended_at REAL, "
        "status TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, kind TEXT NOT NULL, "
        "targets TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE materializations (id TEXT PRIMARY KEY, run_id TEXT NOT NULL, "
        "asset TEXT NOT NULL, partition_key TEXT NOT NULL, status TEXT NOT NULL, "
        "started_at REAL NOT NULL, ended_at REAL, duration REAL, code_version TEXT, "
        "data_version TEXT, io_manager TEXT, location TEXT, row_count INTEGER, "
        "schema_summary TEXT, error_type TEXT, error_message TEXT, traceback TEXT)"
    )
    conn.execute(
        "CREATE TABLE lineage (materialization_id TEXT NOT NULL, upstream_id TEXT NOT NULL, "
        "upstream_asset TEXT NOT NULL, upstream_partition TEXT NOT NULL, "
        "upstream_data_version TEXT, PRIMARY KEY (materialization_id, upstream_id)) WITHOUT ROWID"
    )


def _create_indexes(conn: sqlite3.Connection) -> None:
    statements = (
        # latest attempt per partition, and history of one partition, newest first
        "CREATE INDEX ix_mat_partition ON materializations (asset, partition_key, started_at)",
        # latest success per partition: the engine's hot path
        (
            "CREATE INDEX ix_mat_success ON materializations (asset, partition_key, started_at) "
            "WHERE status = 'success'"
        ),
        "CREATE INDEX ix_mat_asset_time ON materializations (asset, started_at)",
        "CREATE INDEX ix_mat_time ON materializations (started_at)",
        (
            "CREATE INDEX ix_mat_unfinished ON materializations (status) "
            "WHERE status IN ('pending', 'running')"
        ),
        # downstream lineage (upstream lineage uses the primary key)
        "CREATE INDEX ix_lineage_upstream ON lineage (upstream_id, materialization_id)",
        "CREATE INDEX ix_runs_running ON runs (status) WHERE status = 'running'",
    )
    for statement in statements:
        conn.execute(statement)


#: Migration ``n`` brings a catalog from schema version ``n`` to ``n + 1``. Append, never edit.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_create_tables, _create_indexes)
SCHEMA_VERSION = len(MIGRATIONS)

_ROW_COLUMNS = (
    "id, run_id, asset, partition_key, status, started_at, ended_at, duration, code_version, "
    "data_version, io_manager, location, row_count, schema_summary, error_type, error_message, "
    "traceback"
)
_EDGE_COLUMNS = (
    "materialization_id, upstream_id, upstream_asset, upstream_partition, upstream_data_version"
)
_RUN_COLUMNS = "run_id, started_at, ended_at, status, pid, host, kind, targets"
_run_values = operator.attrgetter(*RunRow._fields)
_INSERT_ROW = (
    f"INSERT OR REPLACE INTO materializations ({_ROW_COLUMNS}) "
    f"VALUES ({', '.join('?' * len(MaterializationRow._fields))})"
)
_INSERT_EDGE = f"INSERT OR REPLACE INTO lineage ({_EDGE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
_INSERT_RUN = f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_END_RUN = "UPDATE runs SET ended_at = ?, status = ? WHERE run_id = ?"
_NEWEST_FIRST = "ORDER BY started_at DESC, rowid DESC"

_LATEST_SUCCESS = (
    f"SELECT {_ROW_COLUMNS} FROM materializations WHERE asset = ? AND partition_key = ? "
    f"AND status = 'success' {_NEWEST_FIRST} LIMIT 1"
)
# The same for many partitions at once, given as a JSON list of [asset, partition] pairs: one
# index seek each. Unpartitioned assets, the common case, skip the pairs' JSON parsing.
_NEWEST_SUCCESS_OF = (
    "SELECT rowid FROM materializations WHERE asset = {asset} AND partition_key = {partition} "
    f"AND status = 'success' {_NEWEST_FIRST} LIMIT 1"
)
# Each row comes once per input it consumed (with NULLs when it consumed none).
_WITH_INPUTS = (
    "SELECT m.id, m.asset, m.partition_key, m.code_version, m.data_version, m.io_manager, "
    "m.location, l.upstream_asset, l.upstream_partition, l.upstream_data_version "
    "FROM json_each(?) AS k JOIN materializations AS m ON m.rowid = ({newest}) "
    "LEFT JOIN lineage AS l ON l.materialization_id = m.id"
)
_LATEST_SUCCESSES = _WITH_INPUTS.format(
    newest=_NEWEST_SUCCESS_OF.format(
        asset="json_extract(k.value, '$[0]')", partition="json_extract(k.value, '$[1]')"
    )
)
_LATEST_SUCCESSES_UNPARTITIONED = _WITH_INPUTS.format(
    newest=_NEWEST_SUCCESS_OF.format(asset="k.value", partition="''")
)
# Every materialize runs these. Compiling one costs a fresh connection up to 0.4 ms (the
# freshness queries) and a compiled statement is kept per connection, so they are compiled
# when the catalog opens: the reads on the opening thread's connection, the writes on the
# writer thread's (in the background).
_HOT_READS = (_LATEST_SUCCESSES_UNPARTITIONED, _LATEST_SUCCESSES)
_NOTHING_RECORDED = "SELECT NOT EXISTS (SELECT 1 FROM materializations)"
_DATA_VERSION = "PRAGMA data_version"
_HOT_WRITES = (_INSERT_RUN, _INSERT_ROW, _INSERT_EDGE, _END_RUN)
# Per partition, two index seeks find the newest attempt and the newest success; only those
# rows are read in full. (Window functions would sort every row of the table instead.)
_NEWEST_ATTEMPT = (
    "SELECT m.rowid FROM materializations AS m WHERE m.asset = k.asset "
    "AND m.partition_key = k.partition_key ORDER BY m.started_at DESC, m.rowid DESC LIMIT 1"
)
_NEWEST_SUCCESS = _NEWEST_ATTEMPT.replace(" ORDER BY", " AND m.status = 'success' ORDER BY")
_CURRENT = (
    "WITH keys AS (SELECT DISTINCT asset, partition_key FROM materializations {where}), "
    f"newest AS (SELECT ({_NEWEST_ATTEMPT}) AS last_rowid, ({_NEWEST_SUCCESS}) AS success_rowid "
    "FROM keys AS k) "
    f"SELECT {_ROW_COLUMNS}, m.rowid = n.last_rowid, m.rowid = n.success_rowid "
    "FROM newest AS n JOIN materializations AS m ON m.rowid IN (n.last_rowid, n.success_rowid)"
)
# Each walk follows edges from one side (``near``) to the other (``far``).
_CLOSURE = (
    "WITH RECURSIVE reach(id) AS (VALUES (?) UNION SELECT l.{far} FROM lineage AS l "
    "JOIN reach AS r ON l.{near} = r.id) "
    f"SELECT {_EDGE_COLUMNS} FROM lineage JOIN reach ON {{near}} = reach.id"
)
_BOUNDED_WALK = (
    f"WITH RECURSIVE walk(depth, {_EDGE_COLUMNS}) AS ("
    f"SELECT 1, {_EDGE_COLUMNS} FROM lineage WHERE {{near}} = ? UNION "
    "SELECT w.depth + 1, l.materialization_id, l.upstream_id, l.upstream_asset, "
    "l.upstream_partition, l.upstream_data_version FROM walk AS w JOIN lineage AS l "
    "ON l.{near} = w.{far} WHERE w.depth < ?) "
    f"SELECT min(depth), {_EDGE_COLUMNS} FROM walk GROUP BY materialization_id, upstream_id"
)


# --- processes ------------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        with contextlib.suppress(PermissionError):  # it exists, under another user
            os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _age(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds:.0f} s"


_open_catalogs: weakref.WeakSet[Catalog] = weakref.WeakSet()
_abandoned: list[sqlite3.Connection] = []


def forget_connections_after_fork() -> None:
    """Make every catalog of this (forked) process open fresh connections.

    The parent's connections are kept referenced but never used nor closed: closing them here
    could checkpoint or unlock files the parent still relies on. Runs automatically in forked
    children.
    """
    for catalog in list(_open_catalogs):
        catalog._forget_connections()


# Windows has no fork (and no register_at_fork).
getattr(os, "register_at_fork", lambda **_: None)(after_in_child=forget_connections_after_fork)


class _Writer:
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


def _finish_background_writes() -> None:
    """At interpreter exit: let every open catalog finish its background writes."""
    for catalog in list(_open_catalogs):
        try:
            catalog.wait_for_writes()
        except StoreError as error:  # nobody is left to raise it to
            _log.warning("%s", error)


atexit.register(_finish_background_writes)


# --- the catalog ----------------------------------------------------------------------------------


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
        self.host = socket.gethostname()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._writer: _Writer | None = None
        # While no materialization is recorded: the connection that saw it so and its data
        # version then (see _nothing_recorded).
        self._empty_as_of: tuple[sqlite3.Connection, int] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"The store cannot create the catalog at {self.path} ({error}): make sure its "
                "folder can be created and written, or configure another home."
            ) from error
        _open_catalogs.add(self)
        self._migrate()
        self.recover_interrupted()
        with self._lock:
            self._start_writer()
        self._prepare_reads()

    def __repr__(self) -> str:
        return f"Catalog({str(self.path)!r})"

    # --- connections ------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open_for_this_thread()
        return connection

    def _reading(self) -> sqlite3.Connection:
        """The calling thread's connection, once the background writes are in the file."""
        writer = self._writer
        if writer is not None and writer.pending:
            self.wait_for_writes()
        return self._connection()

    def _open_for_this_thread(self) -> sqlite3.Connection:
        connection = self._connect()
        with self._lock:
            for thread in [t for t in self._connections if not t.is_alive()]:
                self._connections.pop(thread).close()
            self._connections[threading.current_thread()] = connection
        self._local.connection = connection
        return connection

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=256,
            )
        except sqlite3.Error as error:
            raise self._error("open", error) from error
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT * 1000)}")
        except sqlite3.Error as error:
            connection.close()
            raise self._error("open", error) from error
        return connection

    def _forget_connections(self) -> None:
        _abandoned.extend(self._connections.values())
        self._connections = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writer = None  # the parent's writer thread is not in the child

    def close(self) -> None:
        """Wait for background writes, then close every connection.

        Using the catalog again reopens them.

        Raises
        ------
        StoreError
            A background write failed (everything is closed all the same).
        """
        try:
            self.wait_for_writes()
        finally:
            with self._lock:
                connections = list(self._connections.values())
                self._connections.clear()
                self._local = threading.local()
                writer, self._writer = self._writer, None
                self._empty_as_of = None
            if writer is not None:
                writer.stop()
            for connection in connections:
                connection.close()

    def _error(self, action: str, error: sqlite3.Error) -> StoreError:
        if getattr(error, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
            return StoreError(
                f"The catalog {self.path} is not a readable SQLite database ({error}): move it "
                "away (a new, empty catalog is then created; stored values stay where they "
                "are) or configure another home with fs.configure(home=...)."
            )
        return StoreError(
            f"The catalog {self.path} could not {action} ({type(error).__name__}: {error}); "
            "nothing was changed. If another process keeps it locked, let it finish; if the "
            "disk is full or read-only, free space or configure another home."
        )

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        self._empty_as_of = None  # (a commit by the connection that saw it empty goes unseen)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            connection.rollback()
            raise self._error(action, error) from error
        except BaseException:
            connection.rollback()
            raise

    def _migrate(self) -> None:
        with self._transaction("upgrade its schema") as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            found = conn.execute("SELECT version FROM schema_version").fetchone()
            version = 0 if found is None else int(found[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"The catalog {self.path} has schema version {version}, newer than this "
                    f"flowstone_nb understands ({SCHEMA_VERSION}): upgrade flowstone_nb, or "
                    "configure another home."
                )
            if version < SCHEMA_VERSION:
                for migration in MIGRATIONS[version:]:
                    migration(conn)
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))

    # --- runs -------------------------------------------------------------------------------------

    def new_run(self, *, kind: str, targets: Sequence[str]) -> RunRow:
        """A run that starts now in this process (an id of 32 random hex digits), not written yet.

        :meth:`record` writes it, together with its first rows.
        """
        return RunRow(
            os.urandom(16).hex(),  # as unique as a uuid4, without building a UUID object
            time.time(),
            None,
            "running",
            os.getpid(),
            self.host,
            kind,
            (*targets,),
        )

    def start_run(self, *, kind: str, targets: Sequence[str]) -> str:
        """Record that a run starts now in this process; return its id (32 random hex digits)."""
        run = self.new_run(kind=kind, targets=targets)
        self.record(start=run, action="record a run")
        return run.run_id

    def end_run(self, run_id: str, status: str) -> None:
        """Record that a run ended now with ``status`` (e.g. ``"success"`` or ``"failed"``)."""
        self.record(end=(run_id, status), action="record the end of a run")

    def record(
        self,
        rows: Sequence[tuple[Any, ...]] = (),
        edges: Sequence[tuple[Any, ...]] = (),
        *,
        start: RunRow | None = None,
        end: tuple[str, str] | None = None,
        action: str = "record a run and its materializations",
    ) -> None:
        """Write a run's start, rows, edges and end in one transaction.

        Inserts the run ``start``, inserts or replaces ``rows`` and ``edges`` (value tuples in
        the field order of :class:`MaterializationRow` and :class:`LineageEdge`; statuses are
        the caller's to get right), then ends the run ``end = (run_id, status)``.

        Raises
        ------
        StoreError
            When the catalog cannot write, or ``end`` names a run it does not have; nothing is
            written then.
        """
        self.wait_for_writes()
        self._record(rows, edges, start=start, end=end, action=action)

    def _record(
        self,
        rows: Iterable[tuple[Any, ...]],
        edges: Iterable[tuple[Any, ...]],
        *,
        start: RunRow | None,
        end: tuple[str, str] | None,
        action: str,
    ) -> None:
        with self._transaction(action) as conn:
            if start is not None:
                conn.execute(
                    _INSERT_RUN, (*_run_values(start)[:-1], json.dumps(list(start.targets)))
                )
            if rows:
                conn.executemany(_INSERT_ROW, rows)
            if edges:
                conn.executemany(_INSERT_EDGE, edges)
            if end is not None:
                run_id, status = end
                changed = conn.execute(_END_RUN, (time.time(), status, run_id)).rowcount
                if not changed:
                    raise StoreError(
                        f"The catalog {self.path} has no run {run_id!r} to end: pass an id "
                        "returned by start_run on the same catalog. Nothing was written."
                    )

    def record_later(
        self,
        rows: Iterable[tuple[Any, ...]] = (),
        edges: Iterable[tuple[Any, ...]] = (),
        *,
        start: RunRow | None = None,
        end: tuple[str, str] | None = None,
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
        writer.submit(self._record_in_background, run_id, rows, edges, start, end)

    def _start_writer(self) -> _Writer:
        """Start the writer thread and open its connection (with ``self._lock`` held).

        Done when the catalog opens, so that a materialize never waits for a thread to start.
        """
        self._writer = _Writer()
        self._writer.submit(self._prepare_writes, tracked=False)
        return self._writer

    def _prepare_reads(self) -> None:
        """Compile the engine's reads on this thread's connection (see ``_HOT_READS``).

        Also notes whether no materialization is recorded yet, with the connection's data
        version at that moment (one read transaction for both).
        """
        connection = self._connection()
        for statement in _HOT_READS:
            connection.execute(statement, ("[]",)).fetchall()  # no keys: finds nothing
        connection.execute("BEGIN")
        try:
            empty = connection.execute(_NOTHING_RECORDED).fetchone()[0]
            version = connection.execute(_DATA_VERSION).fetchone()[0]
        finally:
            connection.execute("COMMIT")
        self._empty_as_of = (connection, version) if empty else None

    def _nothing_recorded(self, connection: sqlite3.Connection) -> bool:
        """Whether no materialization is recorded, told without a query while that holds.

        SQLite changes a connection's data version whenever another connection commits (other
        processes, the writer thread); commits through this one clear the note (_transaction).
        """
        seen = self._empty_as_of
        if seen is None or seen[0] is not connection:
            return False
        if connection.execute(_DATA_VERSION).fetchone()[0] == seen[1]:
            return True
        self._empty_as_of = None  # something was written since: ask the tables from now on
        return False

    def _prepare_writes(self) -> None:
        """Open the writer thread's connection and compile its writes (see ``_HOT_WRITES``)."""
        connection = self._connection()
        for statement in _HOT_WRITES:
            connection.executemany(statement, [])  # compiled and kept; nothing is written

    def _record_in_background(
        self,
        run_id: str,
        rows: Iterable[tuple[Any, ...]],
        edges: Iterable[tuple[Any, ...]],
        start: RunRow | None,
        end: tuple[str, str] | None,
    ) -> None:
        try:
            self._record(rows, edges, start=start, end=end, action="record a run in the background")
        except StoreError as error:
            raise StoreError(
                f"{error} (written in the background for run {run_id!r}: its values kept in "
                "memory now count as missing, and the next materialize recomputes them)"
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

    def get_run(self, run_id: str) -> RunRow | None:
        """The run ``run_id``, or ``None``."""
        values = (
            self._reading()
            .execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
            .fetchone()
        )
        return None if values is None else _run(values)

    def runs(self) -> list[RunRow]:
        """Every run, newest first."""
        found = self._reading().execute(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY started_at DESC, rowid DESC"
        )
        return [_run(values) for values in found]

    # --- materializations -------------------------------------------------------------------------

    def write(self, rows: Sequence[MaterializationRow], edges: Sequence[LineageEdge] = ()) -> None:
        """Insert or replace ``rows`` (by id) and ``edges`` in one transaction.

        Raises
        ------
        StoreError
            For an unknown status, or when the catalog cannot write; nothing is written then.
        """
        for row in rows:
            _check_status(row)
        if not rows and not edges:
            return
        action = f"write {len(rows)} materialization(s) and {len(edges)} lineage edge(s)"
        self.record(rows, edges, action=action)  # named tuples: already in column order

    def get(self, materialization_id: str) -> MaterializationRow | None:
        """The materialization ``materialization_id``, or ``None``."""
        values = (
            self._reading()
            .execute(
                f"SELECT {_ROW_COLUMNS} FROM materializations WHERE id = ?", (materialization_id,)
            )
            .fetchone()
        )
        return None if values is None else _new_tuple(MaterializationRow, values)

    def latest_success(self, asset: str, partition: str) -> MaterializationRow | None:
        """The newest successful materialization of one asset partition, or ``None``."""
        values = self._reading().execute(_LATEST_SUCCESS, (asset, partition)).fetchone()
        return None if values is None else _new_tuple(MaterializationRow, values)

    def latest_successes(
        self, keys: Sequence[tuple[str, str]] = (), *, assets: Sequence[str] = ()
    ) -> dict[tuple[str, str], Candidate]:
        """The newest success of each ``(asset, partition)`` in ``keys`` that has one.

        Unpartitioned assets may also come as names alone, in ``assets`` (their keys are
        ``(asset, "")``). Only what a reuse check reads, with the inputs it consumed. One query
        for unpartitioned assets and one for partitions, whatever their number.
        """
        if not (keys or assets):
            return {}
        connection = self._reading()
        if self._nothing_recorded(connection):
            return {}
        names = [asset for asset, partition in keys if not partition] if keys else []
        names += assets
        pairs = [key for key in keys if key[1]]
        found: list[tuple[Any, ...]] = []
        if names:
            found += connection.execute(_LATEST_SUCCESSES_UNPARTITIONED, (json.dumps(names),))
        if pairs:
            found += connection.execute(_LATEST_SUCCESSES, (json.dumps(pairs),))
        rows: dict[str, tuple[Any, ...]] = {}
        inputs: dict[str, set[tuple[str, str, str | None]]] = {}
        for values in found:
            mat_id = values[0]
            if mat_id not in rows:
                rows[mat_id] = values[:-3]
                inputs[mat_id] = set()
            if values[-3] is not None:
                inputs[mat_id].add(values[-3:])
        return {
            (row[1], row[2]): _new_tuple(Candidate, (*row, frozenset(inputs[mat_id])))
            for mat_id, row in rows.items()
        }

    def current(self, assets: Iterable[str] | None = None) -> dict[tuple[str, str], PartitionState]:
        """Latest success and latest attempt of every partition of ``assets`` (default: all).

        Partitions never attempted are absent. One query, whatever the number of assets.
        """
        where, params = "", ""
        if assets is not None:
            names = list(assets)
            if not names:
                return {}
            where = "WHERE asset IN (SELECT value FROM json_each(:names))"
            params = json.dumps(names)
        last: dict[tuple[str, str], MaterializationRow] = {}
        success: dict[tuple[str, str], MaterializationRow] = {}
        for *values, is_last, is_success in self._reading().execute(
            _CURRENT.format(where=where), {"names": params}
        ):
            row = _new_tuple(MaterializationRow, values)
            key = (row.asset, row.partition)
            if is_last:
                last[key] = row
            if is_success:
                success[key] = row
        return {key: PartitionState(success.get(key), row) for key, row in last.items()}

    def history(
        self,
        asset: str | None = None,
        partition: str | None = None,
        *,
        limit: int | None = None,
        statuses: Sequence[str] | None = None,
    ) -> list[MaterializationRow]:
        """Materializations, newest first, optionally of one asset/partition/status set.

        Parameters
        ----------
        asset, partition
            Keep only these (``partition`` is the encoded key).
        limit
            At most this many rows.
        statuses
            Keep only rows with one of these statuses.
        """
        clauses: list[str] = []
        params: list[object] = []
        if asset is not None:
            clauses.append("asset = ?")
            params.append(asset)
        if partition is not None:
            clauses.append("partition_key = ?")
            params.append(partition)
        if statuses is not None:
            for status in statuses:
                _check_status_name(status, "history(statuses=...)")
            clauses.append("status IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(statuses)))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {_ROW_COLUMNS} FROM materializations {where} {_NEWEST_FIRST}"
        if limit is not None:
            if limit < 0:
                raise StoreError(
                    f"history(limit={limit}) is not allowed: pass a positive number of rows, or "
                    "None for all of them."
                )
            sql += " LIMIT ?"
            params.append(limit)
        found = self._reading().execute(sql, params)
        return [_new_tuple(MaterializationRow, values) for values in found]

    def forget(self, asset: str) -> int:
        """Delete every materialization of ``asset`` and the edges to its inputs.

        Edges of downstream materializations that consumed it stay: they are the downstream's
        record. Returns the number of materializations deleted.
        """
        self.wait_for_writes()
        with self._transaction(f"forget asset {asset!r}") as conn:
            conn.execute(
                "DELETE FROM lineage WHERE materialization_id IN "
                "(SELECT id FROM materializations WHERE asset = ?)",
                (asset,),
            )
            deleted: int = conn.execute(
                "DELETE FROM materializations WHERE asset = ?", (asset,)
            ).rowcount
        return deleted

    # --- lineage ----------------------------------------------------------------------------------

    def inputs(self, materialization_id: str) -> list[LineageEdge]:
        """The upstream materializations that ``materialization_id`` consumed."""
        found = self._reading().execute(
            f"SELECT {_EDGE_COLUMNS} FROM lineage WHERE materialization_id = ? "
            "ORDER BY upstream_asset, upstream_partition, upstream_id",
            (materialization_id,),
        )
        return [_new_tuple(LineageEdge, values) for values in found]

    def upstream(
        self, materialization_id: str, depth: int | None = None
    ) -> list[tuple[int, LineageEdge]]:
        """Every edge upstream of a materialization, with its distance (1 = direct input).

        Each edge appears once, at its shortest distance; cycles (which a healthy catalog never
        has) cannot make the walk loop. ``depth`` limits the distance.
        """
        return self._walk(materialization_id, depth, near="materialization_id", far="upstream_id")

    def downstream(
        self, materialization_id: str, depth: int | None = None
    ) -> list[tuple[int, LineageEdge]]:
        """Every edge downstream of a materialization (1 = direct consumer); see upstream."""
        return self._walk(materialization_id, depth, near="upstream_id", far="materialization_id")

    def _walk(
        self, start: str, depth: int | None, *, near: str, far: str
    ) -> list[tuple[int, LineageEdge]]:
        connection = self._reading()
        found: list[tuple[Any, ...]]
        if depth is None:
            edges = connection.execute(_CLOSURE.format(near=near, far=far), (start,)).fetchall()
            found = _shortest_depths(start, edges, upstream=near == "materialization_id")
        else:
            if depth < 1:
                raise StoreError(
                    f"Lineage depth {depth} is not allowed: pass a positive number of levels, "
                    "or None for all of them."
                )
            sql = _BOUNDED_WALK.format(near=near, far=far)
            found = connection.execute(sql, (start, depth)).fetchall()
        # (depth, materialization_id, upstream_id) is unique, so sorting never compares further.
        found.sort()
        return [(level, _new_tuple(LineageEdge, edge)) for level, *edge in found]

    # --- recovery ---------------------------------------------------------------------------------

    def recover_interrupted(self, *, stale_after: float = DEFAULT_STALE_AFTER) -> int:
        """Mark rows left ``running``/``pending`` by processes that are gone as failed.

        A row's process is gone when its run was on this host and its pid is not alive, or
        when its run was on another host (or is unknown) and started more than ``stale_after``
        seconds ago. Rows of live processes, and of this process, are never touched. Their runs
        are marked ``interrupted``. Returns how many materializations were marked.
        """
        connection = self._reading()
        now = time.time()
        rows = connection.execute(
            "SELECT m.id, m.run_id, coalesce(r.started_at, m.started_at), r.pid, r.host "
            "FROM materializations AS m LEFT JOIN runs AS r ON r.run_id = m.run_id "
            "WHERE m.status IN ('pending', 'running')"
        ).fetchall()
        runs = connection.execute(
            "SELECT run_id, run_id, started_at, pid, host FROM runs WHERE status = 'running'"
        ).fetchall()
        failed = [
            (f"Interrupted: {reason}", mat_id)
            for mat_id, *owner in rows
            if (reason := self._gone(*owner, now=now, stale_after=stale_after))
        ]
        dead_runs = [
            (run_id,)
            for run_id, *owner in runs
            if self._gone(*owner, now=now, stale_after=stale_after)
        ]
        if not failed and not dead_runs:
            return 0
        with self._transaction("mark interrupted materializations") as conn:
            marked: int = conn.executemany(
                "UPDATE materializations SET status = 'failed', error_type = 'Interrupted', "
                "error_message = ? WHERE id = ? AND status IN ('pending', 'running')",
                failed,
            ).rowcount
            conn.executemany(
                "UPDATE runs SET status = 'interrupted' WHERE run_id = ? AND status = 'running'",
                dead_runs,
            )
        return marked

    def _gone(
        self,
        run_id: str,
        started_at: float,
        pid: int | None,
        host: str | None,
        *,
        now: float,
        stale_after: float,
    ) -> str:
        """Why the owner of a run is considered gone, or ``""`` when it may be alive."""
        rerun = "Nothing was stored for it; the next materialize recomputes it."
        if host == self.host and pid is not None:
            if pid != os.getpid() and os.name == "posix" and not _pid_alive(pid):
                return (
                    f"the process that ran it (pid {pid} on {host}) ended before it finished. "
                    + rerun
                )
            return ""
        age = now - started_at
        if age <= stale_after:
            return ""
        where = f"on host {host}" if host is not None else "(no run record)"
        return (
            f"run {run_id} {where} started {_age(age)} ago and never finished; unfinished runs "
            f"that cannot be probed count as interrupted after {_age(stale_after)}. " + rerun
        )


def _run(values: Any) -> RunRow:
    run_id, started_at, ended_at, status, pid, host, kind, targets = values
    return RunRow(run_id, started_at, ended_at, status, pid, host, kind, tuple(json.loads(targets)))


def _check_status_name(status: str, where: str) -> None:
    if status not in STATUSES:
        raise StoreError(
            f"Status {status!r} in {where} is not one of {', '.join(STATUSES)}."
            f"{did_you_mean(status, STATUSES)}"
        )


def _check_status(row: MaterializationRow) -> None:
    if row.status not in STATUSES:
        raise StoreError(
            f"Status {row.status!r} of materialization {row.id!r} (asset {row.asset!r}, "
            f"partition {row.partition!r}) is not one of {', '.join(STATUSES)}."
            f"{did_you_mean(row.status, STATUSES)} Nothing of this batch was written."
        )


def _shortest_depths(
    start: str, edges: Sequence[tuple[Any, ...]], *, upstream: bool
) -> list[tuple[Any, ...]]:
    """Breadth-first over edge rows from ``start``: each once, as ``(distance, *edge)``."""
    near, far = (0, 1) if upstream else (1, 0)
    by_near: dict[str, list[tuple[Any, ...]]] = {}
    for edge in edges:
        by_near.setdefault(edge[near], []).append(edge)
    found: list[tuple[Any, ...]] = []
    seen = {start}
    frontier = [start]
    level = 0
    while frontier:
        level += 1
        following: list[str] = []
        for node in frontier:
            for edge in by_near.get(node, ()):
                found.append((level, *edge))
                if edge[far] not in seen:
                    seen.add(edge[far])
                    following.append(edge[far])
        frontier = following
    return found
