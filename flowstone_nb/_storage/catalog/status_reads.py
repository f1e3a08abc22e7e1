"""What the status report reads of the catalog: each partition's newest attempt and success.

:func:`newest` answers, for the partitions of some assets, with one narrow row each
(:class:`PartitionLatest`): the status and error of its newest attempt, and of its newest
success what the freshness verdict reads (versions, where and how its value is stored, its
stamp) with the inputs it consumed. One query, whose cost grows with the partitions asked for
and the inputs they consumed, not with how many times each was materialized: each partition
(the keys of its asset's definition, or those recorded, walked one index seek at a time) takes
an index seek for its newest attempt, and only when that failed or runs a second for its newest
success (a test reads the plan). It reads through the connection it is given and never writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from flowstone_nb._core.states import RecordStatus
from flowstone_nb._storage.catalog.schema import columns
from flowstone_nb._storage.tuples import from_values

__all__ = ["NEWEST", "PartitionLatest", "newest"]


class PartitionLatest(NamedTuple):
    """One partition's newest attempt, and its newest success as the freshness verdict reads it.

    Attributes
    ----------
    partition
        The encoded partition key (``""`` when unpartitioned).
    last_status, last_error_type, last_error_message, last_id
        The newest attempt's status, error (for failures) and materialization id; all ``None``
        when the newest attempt is the newest success (the common case: nothing to read twice).
    id
        The newest success's materialization id (``None``: the partition has no success; then
        every field below is ``None`` too).
    code_version, data_version, io_manager, location, size_bytes, modified_ns, value_problem
        Of the newest success, as in :class:`~.rows.MaterializationRow`.
    ended_at
        When the newest success finished (UNIX seconds).
    inputs
        ``(asset, partition, data_version)`` of every upstream value the success consumed.
    """

    partition: str
    last_status: str | None
    last_error_type: str | None
    last_error_message: str | None
    last_id: str | None
    id: str | None
    code_version: str | None
    data_version: str | None
    io_manager: str | None
    location: str | None
    size_bytes: int | None
    modified_ns: int | None
    value_problem: str | None
    ended_at: float | None
    inputs: frozenset[tuple[str, str, str | None]]


_SUCCESS = f"'{RecordStatus.SUCCESS}'"
# The newest row of the partition ``{of}`` names; ``{also}`` narrows it (to successes).
_NEWEST_ROW = (
    "SELECT m.rowid FROM materializations AS m WHERE m.asset = {of}.asset "
    "AND m.partition_key = {of}.partition_key {also}"
    "ORDER BY m.started_at DESC, m.rowid DESC LIMIT 1"
)
# The partitions of each asset: the keys its definition gives (``:given``, a list per asset of
# ``:names``), or, for an asset given none (null), those recorded, in key order: from the
# smallest, each next one is one seek (SQLite has no loose index scan of its own: DISTINCT would
# read every row of the history).
_PARTITIONS = (
    "WITH RECURSIVE found(number, asset, partition_key) AS (SELECT a.key, a.value, "
    "(SELECT min(partition_key) FROM materializations WHERE asset = a.value) "
    "FROM json_each(:names) AS a WHERE json_type(:given, '$[' || a.key || ']') = 'null' "
    "UNION ALL SELECT f.number, f.asset, (SELECT min(m.partition_key) "
    "FROM materializations AS m WHERE m.asset = f.asset AND m.partition_key > f.partition_key) "
    "FROM found AS f WHERE f.partition_key IS NOT NULL), "
    "keys(number, asset, partition_key) AS (SELECT number, asset, partition_key FROM found "
    "UNION ALL SELECT g.key, json_extract(:names, '$[' || g.key || ']'), k.value "
    "FROM json_each(:given) AS g, json_each(g.value) AS k WHERE g.type = 'array')"
)
# The newest attempt is read in full. When it is a success (the common case) it is the newest
# success too: no other row is sought, and its own fields are NULL (no text made twice).
_SUCCESS_COLUMNS = columns(PartitionLatest._fields[5:-1]).split(", ")
_WHEN_SUCCESS = f"CASE WHEN j.status = {_SUCCESS} THEN"
_ATTEMPT = ", ".join(
    f"{_WHEN_SUCCESS} NULL ELSE j.{column} END"
    for column in ("status", "error_type", "error_message", "last_id")
)
_SUCCESS_ROW = ", ".join(f"{_WHEN_SUCCESS} j.last_{c} ELSE s.{c} END" for c in _SUCCESS_COLUMNS)
NEWEST = (
    f"{_PARTITIONS}, newest AS (SELECT k.number, k.asset, k.partition_key, "
    f"({_NEWEST_ROW.format(of='k', also='')}) AS last_rowid "
    "FROM keys AS k WHERE k.partition_key IS NOT NULL), "
    "judged AS (SELECT n.number, n.partition_key, l.status, l.error_type, l.error_message, "
    f"{', '.join(f'l.{c} AS last_{c}' for c in _SUCCESS_COLUMNS)}, "
    f"CASE WHEN l.status = {_SUCCESS} THEN NULL "
    f"ELSE ({_NEWEST_ROW.format(of='n', also=f'AND m.status = {_SUCCESS} ')}) END AS success "
    "FROM newest AS n JOIN materializations AS l ON l.rowid = n.last_rowid) "
    f"SELECT j.number, j.partition_key, {_ATTEMPT}, {_SUCCESS_ROW}, "
    "e.upstream_asset, e.upstream_partition, e.upstream_data_version "
    "FROM judged AS j LEFT JOIN materializations AS s ON s.rowid = j.success "
    f"LEFT JOIN lineage AS e ON e.materialization_id = ({_WHEN_SUCCESS} j.last_id ELSE s.id END)"
)
# Each row: the asset's place in the names asked for, then the fields of a PartitionLatest but
# its inputs, then the input consumed (once per input).
_OWN_WIDTH = len(PartitionLatest._fields)
_NOTHING_CONSUMED: frozenset[tuple[str, str, str | None]] = frozenset()


def newest(
    connection: sqlite3.Connection, assets: Mapping[str, Sequence[str] | None]
) -> dict[str, dict[str, PartitionLatest]]:
    """The partitions of ``assets``: ``{asset: {encoded partition: latest}}``.

    ``assets`` maps each asset to the encoded keys asked for (those its definition has), or to
    ``None`` for every partition recorded. Partitions never attempted are absent, and so are
    assets with none. One query, whatever the number of assets.
    """
    if not assets:
        return {}
    names = list(assets)
    given = json.dumps([None if keys is None else list(keys) for keys in assets.values()])
    found = connection.execute(NEWEST, {"names": json.dumps(names), "given": given})
    return latest_from(found, names)


def latest_from(
    found: Iterable[Sequence[Any]], names: Sequence[str]
) -> dict[str, dict[str, PartitionLatest]]:
    """Gather :class:`PartitionLatest` rows, by asset and partition, from :data:`NEWEST`'s rows.

    A row names its asset by its place in ``names``; a partition comes once per input its
    newest success consumed (with ``NULL`` for none: the common case, made in one step).
    """
    by_asset: list[dict[str, PartitionLatest]] = [{} for _ in names]
    consumed: dict[tuple[int, str], set[tuple[str, str, str | None]]] = {}
    width = _OWN_WIDTH
    for values in found:
        by_asset[values[0]][values[1]] = from_values(
            PartitionLatest, (*values[1:width], _NOTHING_CONSUMED)
        )
        if values[width] is not None:
            consumed.setdefault((values[0], values[1]), set()).add(tuple(values[width:]))
    for (number, partition), inputs in consumed.items():
        latest = by_asset[number][partition]
        by_asset[number][partition] = latest._replace(inputs=frozenset(inputs))
    return {name: found for name, found in zip(names, by_asset, strict=True) if found}
