"""What the catalog writes: its insert, update and delete statements, run in a given transaction.

This module owns the write statements (the hot ones compiled when the writer thread opens its
connection, :data:`HOT_WRITES`) and how a batch (a run's start, rows, edges, check outcomes and
end) is written. Each function writes through the connection it is given, inside the caller's
transaction; the :class:`~.catalog.Catalog` decides which thread writes and when.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog.rows import (
    CheckRow,
    LineageEdge,
    MaterializationRow,
    RunRow,
    run_values,
    whole_rows,
)
from flowstone_nb._storage.catalog.schema import (
    CHECK_COLUMNS,
    EDGE_COLUMNS,
    ROW_COLUMNS,
    RUN_COLUMNS,
)

__all__ = ["HOT_WRITES", "forget", "mark_value_problems", "prepare", "record"]


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
#: Every materialize runs these; the writer thread compiles them on its connection when the
#: catalog opens (see reads.HOT_READS for why).
HOT_WRITES = (_INSERT_RUN, _INSERT_ROW, _INSERT_EDGE, _END_RUN)
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
        connection.executemany(_INSERT_ROW, whole_rows(rows))  # (in column order)
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


def forget(connection: sqlite3.Connection, asset: str) -> int:
    """Delete ``asset``'s materializations, the edges to its inputs and its check outcomes.

    Returns the number of materializations deleted.
    """
    connection.execute(_FORGET_EDGES, (asset,))
    connection.execute(_FORGET_CHECKS, (asset,))
    deleted: int = connection.execute(_FORGET_ROWS, (asset,)).rowcount
    return deleted


def mark_value_problems(connection: sqlite3.Connection, problems: Mapping[str, str | None]) -> None:
    """Set (or clear, for ``None``) the recorded problem of each materialization's value."""
    connection.executemany(_MARK_VALUE, [(problem, id_) for id_, problem in problems.items()])
