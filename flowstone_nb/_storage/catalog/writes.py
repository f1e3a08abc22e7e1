"""What the catalog writes: its insert, update and delete statements, run in a given transaction.

This module owns the write statements (the hot ones compiled when the writer thread opens its
connection, :data:`HOT_WRITES`) and how a batch (a run's start, rows, edges, check outcomes and
end) is written. Each function writes through the connection it is given, inside the caller's
transaction; the :class:`~.catalog.Catalog` decides which thread writes and when.

Every write that changes a partition's rows also brings its row of ``partition_latest`` (its
newest attempt and newest success, see :class:`~.rows.PartitionLatest`) up to date, in the same
transaction (:func:`refresh_latest`): the status report reads that table alone. A row keeps the
asset and partition it was first written with (the engine writes an attempt again only to end
it).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from flowstone_nb._core.errors import StoreError
from flowstone_nb._core.states import RecordStatus
from flowstone_nb._storage.catalog.rows import (
    CheckRow,
    LineageEdge,
    MaterializationRow,
    PartitionLatest,
    RunRow,
    run_values,
    whole_rows,
)
from flowstone_nb._storage.catalog.schema import (
    CHECK_COLUMNS,
    EDGE_COLUMNS,
    LATEST_COLUMNS,
    ROW_COLUMNS,
    RUN_COLUMNS,
    columns,
)

__all__ = [
    "HOT_WRITES",
    "forget",
    "mark_value_problems",
    "prepare",
    "record",
    "refresh_latest",
    "refresh_partitions_of",
]


def _placeholders(fields: Sequence[str]) -> str:
    return ", ".join("?" * len(fields))


_INSERT_ROW = (
    f"INSERT OR REPLACE INTO materializations ({ROW_COLUMNS}) "
    f"VALUES ({_placeholders(MaterializationRow._fields)})"
)
_INSERT_EDGE = (
    f"INSERT OR REPLACE INTO lineage ({EDGE_COLUMNS}) VALUES ({_placeholders(LineageEdge._fields)})"
)
_INSERT_CHECK = (
    f"INSERT OR REPLACE INTO check_results ({CHECK_COLUMNS}) "
    f"VALUES ({_placeholders(CheckRow._fields)})"
)
_INSERT_RUN = f"INSERT INTO runs ({RUN_COLUMNS}) VALUES ({_placeholders(RunRow._fields)})"
_END_RUN = "UPDATE runs SET ended_at = ?, status = ? WHERE run_id = ?"
# The newest row of the partition (asset ?1, partition ?2): newest first by start, then by the
# order rows were written (ix_mat_partition; ix_mat_success for ``{also}`` a success).
_NEWEST = (
    "SELECT m.rowid FROM materializations AS m WHERE m.asset = ?1 "
    "AND m.partition_key = ?2 {also}ORDER BY m.started_at DESC, m.rowid DESC LIMIT 1"
)
_SUCCESS = f"'{RecordStatus.SUCCESS}'"
# Of a success: its id, then what the verdict reads (PartitionLatest.id .. ended_at).
_SUCCESS_FIELDS = PartitionLatest._fields[PartitionLatest._fields.index("id") : -1]
# The partition's row of partition_latest, from its newest attempt ``a`` and newest success ``s``:
# the attempt's own fields are NULL when it is that success.
_REFRESH = (
    f"INSERT OR REPLACE INTO partition_latest (asset, {LATEST_COLUMNS}) "
    f"SELECT a.asset, a.partition_key, NULLIF(a.status, {_SUCCESS}), "
    + ", ".join(
        f"iif(a.status = {_SUCCESS}, NULL, a.{field})"
        for field in ("error_type", "error_message", "id")
    )
    + f", {columns(_SUCCESS_FIELDS, 's')} FROM materializations AS a "
    f"LEFT JOIN materializations AS s ON s.rowid = "
    f"({_NEWEST.format(also=f'AND m.status = {_SUCCESS} ')}) "
    f"WHERE a.rowid = ({_NEWEST.format(also='')})"
)
_PARTITIONS_OF = (
    "SELECT DISTINCT asset, partition_key FROM materializations "
    "WHERE id IN (SELECT value FROM json_each(?))"
)
_FORGET_LATEST = "DELETE FROM partition_latest WHERE asset = ?"
_ASSET = MaterializationRow._fields.index("asset")
_PARTITION = MaterializationRow._fields.index("partition")
#: Every materialize runs these; the writer thread compiles them on its connection when the
#: catalog opens (see reads.HOT_READS for why).
HOT_WRITES = (_INSERT_RUN, _INSERT_ROW, _REFRESH, _INSERT_EDGE, _END_RUN)
_FORGET_EDGES = (
    "DELETE FROM lineage WHERE materialization_id IN "
    "(SELECT id FROM materializations WHERE asset = ?)"
)
_FORGET_ROWS = "DELETE FROM materializations WHERE asset = ?"
_FORGET_CHECKS = "DELETE FROM check_results WHERE asset = ?"
_MARK_VALUE = "UPDATE materializations SET value_problem = ? WHERE id = ?"


def prepare(connection: sqlite3.Connection) -> None:
    """Compile :data:`HOT_WRITES` on ``connection`` (kept by its statement cache)."""
    for statement in HOT_WRITES:
        connection.executemany(statement, [])  # compiled and kept; nothing is written


def record(
    connection: sqlite3.Connection,
    path: Path,
    rows: Iterable[tuple[Any, ...]],
    edges: Iterable[tuple[Any, ...]],
    *,
    start: RunRow | None,
    end: tuple[str, str] | None,
    checks: Iterable[CheckRow] = (),
) -> None:
    """Insert the run ``start``, rows, edges and check outcomes, then end the run ``end``.

    Raises
    ------
    StoreError
        ``end`` names a run the catalog at ``path`` does not have (the caller's transaction
        then writes nothing).
    """
    if start is not None:
        connection.execute(_INSERT_RUN, run_values(start))
    if rows:
        written: dict[tuple[str, str], None] = {}  # (each partition written, once)
        connection.executemany(_INSERT_ROW, _noting(whole_rows(rows), written))
        refresh_latest(connection, written)
    if edges:
        connection.executemany(_INSERT_EDGE, edges)
    if checks:
        connection.executemany(_INSERT_CHECK, checks)
    if end is not None:
        run_id, status = end
        changed = connection.execute(_END_RUN, (time.time(), status, run_id)).rowcount
        if not changed:
            raise StoreError(
                f"The catalog {path} has no run {run_id!r} to end: pass an id "
                "returned by start_run on the same catalog. Nothing was written."
            )


def _noting(
    rows: Iterable[tuple[Any, ...]], written: dict[tuple[str, str], None]
) -> Iterator[tuple[Any, ...]]:
    """``rows`` as they come, noting the partition of each in ``written``."""
    for row in rows:
        written[row[_ASSET], row[_PARTITION]] = None
        yield row


def refresh_latest(connection: sqlite3.Connection, partitions: Iterable[tuple[str, str]]) -> None:
    """Bring the ``partition_latest`` row of each ``(asset, partition)`` up to date with its rows.

    Each partition given must have rows (one that has none keeps its row: only :func:`forget`
    deletes rows, and it deletes the asset's rows of ``partition_latest`` with them).
    """
    connection.executemany(_REFRESH, partitions)


def forget(connection: sqlite3.Connection, asset: str) -> int:
    """Delete ``asset``'s materializations, the edges to its inputs and its check outcomes.

    Returns the number of materializations deleted.
    """
    connection.execute(_FORGET_LATEST, (asset,))
    connection.execute(_FORGET_EDGES, (asset,))
    connection.execute(_FORGET_CHECKS, (asset,))
    deleted: int = connection.execute(_FORGET_ROWS, (asset,)).rowcount
    return deleted


def mark_value_problems(connection: sqlite3.Connection, problems: Mapping[str, str | None]) -> None:
    """Set (or clear, for ``None``) the recorded problem of each materialization's value."""
    connection.executemany(_MARK_VALUE, [(problem, id_) for id_, problem in problems.items()])
    refresh_partitions_of(connection, problems)


def refresh_partitions_of(connection: sqlite3.Connection, ids: Iterable[str]) -> None:
    """:func:`refresh_latest` of the partitions of the materializations ``ids`` (changed rows)."""
    found = connection.execute(_PARTITIONS_OF, (json.dumps(list(ids)),)).fetchall()
    refresh_latest(connection, found)
