"""What the catalog answers: latest successes, current states, history and prunable values.

This module owns the read queries (each written so that SQLite seeks an index rather than scans
or sorts; a test reads their plans) and turns their results into rows. Every function reads
through the connection it is given and never writes. The engine's freshness check
(:func:`latest_successes`) is the hot path. Lineage walks are :mod:`.lineage_reads`'.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from flowstone_nb._core.errors import StoreError
from flowstone_nb._core.states import RecordStatus
from flowstone_nb._storage.catalog.connections import data_version
from flowstone_nb._storage.catalog.rows import (
    Candidate,
    CheckRow,
    MaterializationRow,
    PartitionState,
    RunRow,
    candidates_from,
    check_rows_from,
    check_status,
    run_from_values,
    states_from,
)
from flowstone_nb._storage.catalog.schema import (
    CHECK_COLUMNS,
    ROW_COLUMNS,
    RUN_COLUMNS,
    columns,
)
from flowstone_nb._storage.tuples import from_values

__all__ = [
    "CURRENT",
    "HOT_READS",
    "LATEST_CHECKS",
    "LATEST_SUCCESS",
    "LATEST_SUCCESSES",
    "LATEST_SUCCESSES_UNPARTITIONED",
    "NOTHING_RECORDED",
    "PRUNABLE",
    "assets",
    "check_results",
    "current",
    "get",
    "history",
    "latest_checks",
    "latest_success",
    "latest_successes",
    "partitions",
    "prepare",
    "prunable",
    "run",
    "runs",
]

_SUCCESS = f"status = '{RecordStatus.SUCCESS}'"  # the condition of the index ix_mat_success
_NEWEST_FIRST = "ORDER BY started_at DESC, rowid DESC"

LATEST_SUCCESS = (
    f"SELECT {ROW_COLUMNS} FROM materializations WHERE asset = ? AND partition_key = ? "
    f"AND {_SUCCESS} {_NEWEST_FIRST} LIMIT 1"
)
# The same for many partitions at once, given as a JSON list of [asset, partition] pairs: one
# index seek each. Unpartitioned assets, the common case, skip the pairs' JSON parsing.
_NEWEST_SUCCESS_OF = (
    "SELECT rowid FROM materializations WHERE asset = {asset} AND partition_key = {partition} "
    f"AND {_SUCCESS} {_NEWEST_FIRST} LIMIT 1"
)
# Each candidate comes once per input it consumed (with NULLs when it consumed none): the
# layout candidates_from reads.
_WITH_INPUTS = (
    f"SELECT {columns(Candidate._fields[:-1], 'm')}, "
    "l.upstream_asset, l.upstream_partition, l.upstream_data_version "
    "FROM json_each(?) AS k JOIN materializations AS m ON m.rowid = ({newest}) "
    "LEFT JOIN lineage AS l ON l.materialization_id = m.id"
)
LATEST_SUCCESSES = _WITH_INPUTS.format(
    newest=_NEWEST_SUCCESS_OF.format(
        asset="json_extract(k.value, '$[0]')", partition="json_extract(k.value, '$[1]')"
    )
)
LATEST_SUCCESSES_UNPARTITIONED = _WITH_INPUTS.format(
    newest=_NEWEST_SUCCESS_OF.format(asset="k.value", partition="''")
)
# Every materialize runs these. Compiling one costs a fresh connection up to 0.4 ms and a
# compiled statement is kept per connection, so the catalog compiles them on the opening
# thread's connection when it opens.
HOT_READS = (LATEST_SUCCESSES_UNPARTITIONED, LATEST_SUCCESSES)
NOTHING_RECORDED = "SELECT NOT EXISTS (SELECT 1 FROM materializations)"

# Per partition, two index seeks find the newest attempt and the newest success; only those
# rows are read in full. (Window functions would sort every row of the table instead.)
_NEWEST_ATTEMPT = (
    "SELECT m.rowid FROM materializations AS m WHERE m.asset = k.asset "
    "AND m.partition_key = k.partition_key ORDER BY m.started_at DESC, m.rowid DESC LIMIT 1"
)
_NEWEST_SUCCESS = _NEWEST_ATTEMPT.replace(" ORDER BY", f" AND m.{_SUCCESS} ORDER BY")
CURRENT = (
    "WITH keys AS (SELECT DISTINCT asset, partition_key FROM materializations {where}), "
    f"newest AS (SELECT ({_NEWEST_ATTEMPT}) AS last_rowid, ({_NEWEST_SUCCESS}) AS success_rowid "
    "FROM keys AS k) "
    f"SELECT {ROW_COLUMNS}, m.rowid = n.last_rowid, m.rowid = n.success_rowid "
    "FROM newest AS n JOIN materializations AS m ON m.rowid IN (n.last_rowid, n.success_rowid)"
)
_GET = f"SELECT {ROW_COLUMNS} FROM materializations WHERE id = ?"
_RUN_BY_ID = f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?"
_RUNS = f"SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, rowid DESC"


def prepare(connection: sqlite3.Connection) -> tuple[bool, int]:
    """Compile :data:`HOT_READS` on ``connection``; tell whether nothing is recorded yet.

    Returns whether no materialization is recorded, and the connection's data version (see
    :func:`~.connections.data_version`) at that moment: one read transaction for both.
    """
    for statement in HOT_READS:
        connection.execute(statement, ("[]",)).fetchall()  # no keys: finds nothing
    connection.execute("BEGIN")
    try:
        empty = bool(connection.execute(NOTHING_RECORDED).fetchone()[0])
        version = data_version(connection)
    finally:
        connection.execute("COMMIT")
    return empty, version


def run(connection: sqlite3.Connection, run_id: str) -> RunRow | None:
    """The run ``run_id``, or ``None``."""
    values = connection.execute(_RUN_BY_ID, (run_id,)).fetchone()
    return None if values is None else run_from_values(values)


def runs(connection: sqlite3.Connection) -> list[RunRow]:
    """Every run, newest first."""
    return [run_from_values(values) for values in connection.execute(_RUNS)]


def get(connection: sqlite3.Connection, materialization_id: str) -> MaterializationRow | None:
    """The materialization ``materialization_id``, or ``None``."""
    values = connection.execute(_GET, (materialization_id,)).fetchone()
    return None if values is None else from_values(MaterializationRow, values)


_ASSETS = "SELECT DISTINCT asset FROM materializations ORDER BY asset"
_PARTITIONS = (
    "SELECT DISTINCT partition_key FROM materializations WHERE asset = ? ORDER BY partition_key"
)


def assets(connection: sqlite3.Connection) -> list[str]:
    """Every asset with a recorded materialization, sorted."""
    return [name for (name,) in connection.execute(_ASSETS)]


def partitions(connection: sqlite3.Connection, asset: str) -> list[str]:
    """The encoded partition keys of ``asset`` with a recorded materialization, sorted."""
    return [key for (key,) in connection.execute(_PARTITIONS, (asset,))]


def latest_success(
    connection: sqlite3.Connection, asset: str, partition: str
) -> MaterializationRow | None:
    """The newest successful materialization of one asset partition, or ``None``."""
    values = connection.execute(LATEST_SUCCESS, (asset, partition)).fetchone()
    return None if values is None else from_values(MaterializationRow, values)


def latest_successes(
    connection: sqlite3.Connection, keys: Sequence[tuple[str, str]], assets: Sequence[str]
) -> dict[tuple[str, str], Candidate]:
    """The newest success of each ``(asset, partition)`` in ``keys``, and of each of ``assets``.

    One query for unpartitioned assets and one for partitions, whatever their number.
    """
    names = [asset for asset, partition in keys if not partition] if keys else []
    names += assets
    pairs = [key for key in keys if key[1]]
    found: list[tuple[Any, ...]] = []
    if names:
        found += connection.execute(LATEST_SUCCESSES_UNPARTITIONED, (json.dumps(names),))
    if pairs:
        found += connection.execute(LATEST_SUCCESSES, (json.dumps(pairs),))
    return candidates_from(found)


def current(
    connection: sqlite3.Connection, assets: Iterable[str] | None
) -> dict[tuple[str, str], PartitionState]:
    """Latest success and latest attempt of every partition of ``assets`` (``None``: all)."""
    where, params = "", ""
    if assets is not None:
        names = list(assets)
        if not names:
            return {}
        where = "WHERE asset IN (SELECT value FROM json_each(:names))"
        params = json.dumps(names)
    return states_from(connection.execute(CURRENT.format(where=where), {"names": params}))


def history(
    connection: sqlite3.Connection,
    asset: str | None,
    partition: str | None,
    *,
    limit: int | None,
    statuses: Sequence[str] | None,
    offset: int = 0,
) -> list[MaterializationRow]:
    """Materializations, newest first, optionally of one asset/partition/status set.

    ``limit`` rows at most, after the ``offset`` newest: a page of the history.
    """
    clauses, params = _filters(asset, partition)
    if statuses is not None:
        for status in statuses:
            check_status(status, "in history(statuses=...)")
        clauses.append("status IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(statuses)))
    sql = f"SELECT {ROW_COLUMNS} FROM materializations {_where(clauses)} {_NEWEST_FIRST}"
    if limit is not None or offset:
        sql += " LIMIT ? OFFSET ?"
        params += [-1 if limit is None else _checked_limit(limit, "history"), offset]
        if offset < 0:
            raise StoreError(
                f"history(offset={offset}) is not allowed: pass how many of the newest rows to "
                "skip (0 or more)."
            )
    found = connection.execute(sql, params)
    return [from_values(MaterializationRow, values) for values in found]


# The newest outcome of each check of each value: one index seek per (value, check).
LATEST_CHECKS = (
    f"SELECT {CHECK_COLUMNS} FROM check_results AS c "
    "WHERE c.materialization_id IN (SELECT value FROM json_each(?)) AND c.rowid = ("
    "SELECT n.rowid FROM check_results AS n WHERE n.materialization_id = c.materialization_id "
    "AND n.check_name = c.check_name ORDER BY n.started_at DESC, n.rowid DESC LIMIT 1)"
)


def latest_checks(
    connection: sqlite3.Connection, materialization_ids: Iterable[str]
) -> list[CheckRow]:
    """The newest outcome of each check of each of ``materialization_ids`` (one query)."""
    found = connection.execute(LATEST_CHECKS, (json.dumps(list(materialization_ids)),))
    return check_rows_from(found)


def check_results(
    connection: sqlite3.Connection, asset: str | None, partition: str | None, limit: int | None
) -> list[CheckRow]:
    """Check outcomes, newest first, optionally of one asset (and partition), at most ``limit``."""
    clauses, params = _filters(asset, partition)
    sql = f"SELECT {CHECK_COLUMNS} FROM check_results {_where(clauses)} {_NEWEST_FIRST}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(_checked_limit(limit, "checks"))
    return check_rows_from(connection.execute(sql, params))


def _filters(asset: str | None, partition: str | None) -> tuple[list[str], list[object]]:
    """The conditions (and their parameters) keeping one asset's rows, or one partition's."""
    clauses: list[str] = []
    params: list[object] = []
    if asset is not None:
        clauses.append("asset = ?")
        params.append(asset)
    if partition is not None:
        clauses.append("partition_key = ?")
        params.append(partition)
    return clauses, params


def _where(clauses: Sequence[str]) -> str:
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""


def _checked_limit(limit: int, what: str) -> int:
    if limit < 0:
        raise StoreError(
            f"{what}(limit={limit}) is not allowed: pass a positive number of rows, or "
            "None for all of them."
        )
    return limit


# The values no kept materialization needs: kept are the newest ``keep`` successes of each
# partition and, transitively, every materialization they consumed; a value is needed when any
# of them points at its file (equal content is stored once, so rows may share a file).
PRUNABLE = (
    "WITH RECURSIVE needed(id) AS ("
    "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY asset, partition_key "
    f"ORDER BY started_at DESC, rowid DESC) AS n FROM materializations WHERE {_SUCCESS}) "
    "WHERE n <= :keep "
    "UNION SELECT l.upstream_id FROM lineage AS l JOIN needed ON l.materialization_id = needed.id"
    "), kept AS (SELECT DISTINCT io_manager, location FROM materializations "
    "WHERE id IN (SELECT id FROM needed) AND location IS NOT NULL) "
    f"SELECT {ROW_COLUMNS} FROM materializations AS m WHERE {_SUCCESS} "
    "AND m.location IS NOT NULL AND m.value_problem IS NOT :pruned {where}"
    "AND m.id NOT IN (SELECT id FROM needed) AND NOT EXISTS (SELECT 1 FROM kept AS k "
    "WHERE k.io_manager = m.io_manager AND k.location = m.location) "
    "ORDER BY m.asset, m.partition_key, m.started_at"
)


def prunable(
    connection: sqlite3.Connection, assets: Sequence[str] | None, keep: int, pruned: str
) -> list[MaterializationRow]:
    """The successes whose stored values no kept materialization needs (see :data:`PRUNABLE`).

    Parameters
    ----------
    assets
        Only rows of these assets (default: every asset); what is kept is judged over all.
    keep
        How many of the newest successes of each partition are kept.
    pruned
        The value problem of rows whose value was pruned already (they are left out).
    """
    where = "" if assets is None else "AND m.asset IN (SELECT value FROM json_each(:names)) "
    params = {"keep": keep, "pruned": pruned, "names": json.dumps(list(assets or ()))}
    found = connection.execute(PRUNABLE.format(where=where), params)
    return [from_values(MaterializationRow, values) for values in found]
