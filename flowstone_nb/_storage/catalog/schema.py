"""The catalog's tables: their creation, their migrations, and how row fields map to columns.

This module owns the schema (tables, indexes, :data:`MIGRATIONS`, :data:`SCHEMA_VERSION`) and the
column list of each row type, derived from the row's fields so that a new field cannot misalign
a query. It must not open connections nor hold the queries of reads and writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog.connections import damaged
from flowstone_nb._storage.catalog.rows import (
    CheckRow,
    LineageEdge,
    MaterializationRow,
    PartitionLatest,
    RunRow,
)

__all__ = [
    "CHECK_COLUMNS",
    "EDGE_COLUMNS",
    "LATEST_COLUMNS",
    "MIGRATIONS",
    "ROW_COLUMNS",
    "RUN_COLUMNS",
    "SCHEMA_VERSION",
    "columns",
    "migrate",
]

# Migrations are history: what they create never changes, so their statuses are written out
# rather than taken from RecordStatus.


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


def _record_process_marks(conn: sqlite3.Connection) -> None:
    # Beside the pid, what tells the process that ran a run from a later one with its pid.
    conn.execute("ALTER TABLE runs ADD COLUMN process_mark TEXT")


def _record_value_stamps(conn: sqlite3.Connection) -> None:
    # What a stored value's file looked like when it was stored, checked before it is loaded.
    conn.execute("ALTER TABLE materializations ADD COLUMN size_bytes INTEGER")
    conn.execute("ALTER TABLE materializations ADD COLUMN modified_ns INTEGER")


def _record_value_problems(conn: sqlite3.Connection) -> None:
    # What a verification found wrong with a stored value (NULL: nothing known).
    conn.execute("ALTER TABLE materializations ADD COLUMN value_problem TEXT")


def _record_check_results(conn: sqlite3.Connection) -> None:
    # The outcome of each data check on each materialized value, in the run that checked it.
    conn.execute(
        "CREATE TABLE check_results (materialization_id TEXT NOT NULL, run_id TEXT NOT NULL, "
        "asset TEXT NOT NULL, partition_key TEXT NOT NULL, check_name TEXT NOT NULL, "
        "passed INTEGER NOT NULL, blocking INTEGER NOT NULL, code_version TEXT, message TEXT, "
        "metadata TEXT, started_at REAL NOT NULL, duration REAL NOT NULL, traceback TEXT, "
        "PRIMARY KEY (materialization_id, check_name, run_id))"
    )
    # the newest outcome of each check of a value (the primary key's order would need a sort)
    conn.execute(
        "CREATE INDEX ix_checks_value ON check_results (materialization_id, check_name, started_at)"
    )
    # fs.checks of one asset or partition, newest first
    conn.execute(
        "CREATE INDEX ix_checks_partition ON check_results (asset, partition_key, started_at)"
    )
    conn.execute("CREATE INDEX ix_checks_time ON check_results (started_at)")


def _record_attempt_numbers(conn: sqlite3.Connection) -> None:
    # Which attempt of its partition in its run a row is (a retried one has several); rows
    # recorded before attempts were counted were first attempts.
    conn.execute("ALTER TABLE materializations ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1")


def _record_partition_latest(conn: sqlite3.Connection) -> None:
    # Each partition's newest attempt and newest success, as the status report reads them (in
    # PartitionLatest's field order, but its inputs): one row per partition recorded, whatever
    # the length of its history. Every write keeps it (writes.refresh_latest); filled here from
    # the rows by the same rule: newest first by start, then by the order rows were written.
    conn.execute(
        "CREATE TABLE partition_latest (asset TEXT NOT NULL, partition_key TEXT NOT NULL, "
        "last_status TEXT, last_error_type TEXT, last_error_message TEXT, last_id TEXT, "
        "id TEXT, code_version TEXT, data_version TEXT, io_manager TEXT, location TEXT, "
        "size_bytes INTEGER, modified_ns INTEGER, value_problem TEXT, ended_at REAL, "
        "PRIMARY KEY (asset, partition_key)) WITHOUT ROWID"
    )
    newest = (
        "SELECT m.rowid FROM materializations AS m WHERE m.asset = k.asset "
        "AND m.partition_key = k.partition_key {also}ORDER BY m.started_at DESC, m.rowid DESC "
        "LIMIT 1"
    )
    attempt, success = newest.format(also=""), newest.format(also="AND m.status = 'success' ")
    conn.execute(
        "INSERT INTO partition_latest SELECT a.asset, a.partition_key, "
        "NULLIF(a.status, 'success'), iif(a.status = 'success', NULL, a.error_type), "
        "iif(a.status = 'success', NULL, a.error_message), iif(a.status = 'success', NULL, a.id), "
        "s.id, s.code_version, s.data_version, s.io_manager, s.location, s.size_bytes, "
        "s.modified_ns, s.value_problem, s.ended_at "
        "FROM (SELECT DISTINCT asset, partition_key FROM materializations) AS k "
        f"JOIN materializations AS a ON a.rowid = ({attempt}) "
        f"LEFT JOIN materializations AS s ON s.rowid = ({success})"
    )


#: Migration ``n`` brings a catalog from schema version ``n`` to ``n + 1``. Append, never edit.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _create_tables,
    _create_indexes,
    _record_process_marks,
    _record_value_stamps,
    _record_value_problems,
    _record_check_results,
    _record_attempt_numbers,
    _record_partition_latest,
)
SCHEMA_VERSION = len(MIGRATIONS)

# Row fields whose column is named otherwise (the columns came first).
_COLUMN_OF_FIELD = {"partition": "partition_key", "rows": "row_count", "schema": "schema_summary"}


def columns(fields: Iterable[str], table: str = "") -> str:
    """The columns that hold ``fields`` of a row, comma-separated, optionally as ``table.column``.

    Parameters
    ----------
    fields
        Field names of a row type, in the order the query should give them.
    table
        An alias to qualify each column with (``"m"`` gives ``m.id, m.asset, ...``).
    """
    prefix = f"{table}." if table else ""
    return ", ".join(prefix + _COLUMN_OF_FIELD.get(field, field) for field in fields)


#: The columns of :class:`MaterializationRow`, :class:`LineageEdge`, :class:`RunRow` and
#: :class:`CheckRow`, in field order: selecting them gives values that
#: :func:`~.rows.from_values` turns into rows. ``partition_latest`` holds a
#: :class:`PartitionLatest`'s fields but its inputs, after the asset (``LATEST_COLUMNS``).
ROW_COLUMNS = columns(MaterializationRow._fields)
EDGE_COLUMNS = columns(LineageEdge._fields)
RUN_COLUMNS = columns(RunRow._fields)
CHECK_COLUMNS = columns(CheckRow._fields)
LATEST_COLUMNS = columns(PartitionLatest._fields[:-1])


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the catalog at ``path`` to :data:`SCHEMA_VERSION`, inside the caller's transaction.

    Raises
    ------
    StoreError
        When the catalog was written by a newer flowstone_nb, or its version is not a number.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    found = conn.execute("SELECT version FROM schema_version").fetchone()
    version = 0 if found is None else found[0]
    if type(version) is not int:
        raise damaged(path, "read its schema version", f"the version is {version!r}")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The catalog {path} has schema version {version}, newer than this "
            f"flowstone_nb understands ({SCHEMA_VERSION}): upgrade flowstone_nb, or "
            "configure another home."
        )
    if version < SCHEMA_VERSION:
        for migration in MIGRATIONS[version:]:
            migration(conn)
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
