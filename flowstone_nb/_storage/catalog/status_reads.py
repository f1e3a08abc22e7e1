"""What the status report reads of the catalog: each partition's newest attempt and success.

:func:`newest` answers, for the partitions of some assets, with one narrow row each
(:class:`PartitionLatest`): the status and error of its newest attempt, and of its newest
success what the freshness verdict reads (versions, where and how its value is stored, its
stamp) with the inputs it consumed. Its cost grows with the partitions asked for and the inputs
they consumed, not with how many times each was materialized, and it computes nothing per row
that Python could not do cheaper:

* one query per asset (its name a bound value, its keys a JSON list) seeks each partition's
  newest attempt in ``ix_mat_partition`` and reads that row's columns as they are stored, with
  the inputs it consumed, in the order of :class:`PartitionLatest`'s fields: a success that
  consumed nothing (most of them) becomes its ``PartitionLatest`` as it comes;
* an asset asked for with no keys (an open definition) has its recorded keys walked one index
  seek at a time instead (SQLite has no loose index scan of its own: ``DISTINCT`` would read
  every row of the history);
* only the few partitions whose newest attempt failed or still runs take a second query, which
  reads that attempt's error and seeks their newest success in ``ix_mat_success``.

A test reads the plans. It reads through the connection it is given and never writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from flowstone_nb._core.states import RecordStatus
from flowstone_nb._storage.catalog.schema import columns
from flowstone_nb._storage.tuples import from_values

__all__ = ["GIVEN", "OLDER", "RECORDED", "PartitionLatest", "newest"]


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


# Of a success: its id, then what the verdict reads (PartitionLatest.id .. ended_at).
_SUCCESS_FIELDS = PartitionLatest._fields[5:-1]
_EDGE = "e.upstream_asset, e.upstream_partition, e.upstream_data_version"
# The newest row of the partition ``k.partition_key`` of ``:asset``; ``{also}`` narrows it.
_NEWEST_ROW = (
    "SELECT m.rowid FROM materializations AS m WHERE m.asset = :asset "
    "AND m.partition_key = k.partition_key {also}ORDER BY m.started_at DESC, m.rowid DESC LIMIT 1"
)
# Each row is a PartitionLatest as it comes when the newest attempt is the newest success (its
# status then reads NULL), but for its inputs: one input it consumed in the last three columns
# (a partition comes once per input; with NULLs for none). Otherwise the status says what the
# attempt is, and its id stands in the success's place until the success is read (OLDER).
_ATTEMPT = (
    f"NULLIF(l.status, '{RecordStatus.SUCCESS}'), NULL, NULL, NULL, "
    f"{columns(_SUCCESS_FIELDS, 'l')}, {_EDGE} "
    f"FROM {{keys}} JOIN materializations AS l ON l.rowid = ({_NEWEST_ROW.format(also='')}) "
    "LEFT JOIN lineage AS e ON e.materialization_id = l.id"
)
#: The newest attempt of each key of ``:keys`` (a JSON list) of ``:asset``.
_GIVEN_KEYS = "(SELECT key, value AS partition_key FROM json_each(:keys)) AS k"
GIVEN = f"SELECT k.partition_key, {_ATTEMPT.format(keys=_GIVEN_KEYS)}"
#: The newest attempt of each partition of ``:asset`` recorded, in key order.
RECORDED = (
    "WITH RECURSIVE k(partition_key) AS (SELECT min(partition_key) FROM materializations "
    "WHERE asset = :asset UNION ALL SELECT (SELECT min(m.partition_key) FROM materializations "
    "AS m WHERE m.asset = :asset AND m.partition_key > k.partition_key) FROM k "
    f"WHERE k.partition_key IS NOT NULL) SELECT k.partition_key, {_ATTEMPT.format(keys='k')}"
)
_ONLY_SUCCESS = f"AND m.status = '{RecordStatus.SUCCESS}' "
#: Of each key of ``:keys`` of ``:asset`` (whose newest attempt is not a success): the newest
#: attempt's error, and the newest success, if any, with its inputs.
OLDER = (
    f"SELECT k.key, a.error_type, a.error_message, {columns(_SUCCESS_FIELDS, 's')}, {_EDGE} "
    f"FROM {_GIVEN_KEYS} JOIN materializations AS a ON a.rowid = "
    f"({_NEWEST_ROW.format(also='')}) LEFT JOIN materializations AS s ON s.rowid = "
    f"({_NEWEST_ROW.format(also=_ONLY_SUCCESS)}) "
    "LEFT JOIN lineage AS e ON e.materialization_id = s.id"
)

_NOTHING_CONSUMED: frozenset[tuple[str, str, str | None]] = frozenset()
_NO_INPUTS = (_NOTHING_CONSUMED,)  # (the inputs field of a success that consumed nothing)
_STATUS = PartitionLatest._fields.index("last_status")  # (a row's attempt status: NULL, a success)
_ID = PartitionLatest._fields.index("id")  # (a row's id: the attempt's, when not a success)
_INPUT = slice(-3, None)  # (a row's input: its last three columns)
_LATEST = slice(None, -3)  # (a row's PartitionLatest fields, but its inputs)


def newest(
    connection: sqlite3.Connection, assets: Mapping[str, Sequence[str] | None]
) -> dict[str, dict[str, PartitionLatest]]:
    """The partitions of ``assets``: ``{asset: {encoded partition: latest}}``.

    ``assets`` maps each asset to the encoded keys asked for (those its definition has), or to
    ``None`` for every partition recorded. Partitions never attempted are absent, and so are
    assets with none. One read transaction: every asset is read as of one moment.
    """
    found: dict[str, dict[str, PartitionLatest]] = {}
    if not assets:
        return found
    connection.execute("BEGIN")
    try:
        for asset, keys in assets.items():
            latest = _of_asset(connection, asset, keys)
            if latest:
                found[asset] = latest
    finally:
        connection.execute("COMMIT")
    return found


def _of_asset(
    connection: sqlite3.Connection, asset: str, keys: Sequence[str] | None
) -> dict[str, PartitionLatest]:
    """The partitions of one asset (see :func:`newest`)."""
    if keys is None:
        rows = connection.execute(RECORDED, {"asset": asset})
    elif keys:
        rows = connection.execute(GIVEN, {"asset": asset, "keys": json.dumps(list(keys))})
    else:
        return {}
    by_key: dict[str, PartitionLatest] = {}
    unsettled: dict[str, tuple[str, str]] = {}  # newest attempts that are not successes
    for values in rows:
        if values[_STATUS] is not None:  # not a success
            unsettled[values[0]] = (values[_STATUS], values[_ID])
        elif values[-3] is None:  # a success that consumed nothing: one row, as it comes
            by_key[values[0]] = from_values(PartitionLatest, values[_LATEST] + _NO_INPUTS)
        else:
            _add_input(by_key, values[_LATEST], values[_INPUT])
    if unsettled:
        _settle(connection, asset, unsettled, by_key)
    return by_key


def _add_input(
    by_key: dict[str, PartitionLatest],
    latest: tuple[Any, ...],
    consumed: tuple[str, str, str | None],
) -> None:
    """Note one more input of a partition (``latest``: its fields but the inputs)."""
    known = by_key.get(latest[0])
    if known is None:
        by_key[latest[0]] = from_values(PartitionLatest, (*latest, frozenset((consumed,))))
    else:  # the same partition again, for its next input
        by_key[latest[0]] = known._replace(inputs=known.inputs | {consumed})


def _settle(
    connection: sqlite3.Connection,
    asset: str,
    unsettled: dict[str, tuple[str, str]],
    by_key: dict[str, PartitionLatest],
) -> None:
    """Give each partition whose newest attempt failed or runs its error and its newest success."""
    keys = list(unsettled)
    found = connection.execute(OLDER, {"asset": asset, "keys": json.dumps(keys)})
    for values in found:
        key = keys[values[0]]
        status, attempt = unsettled[key]
        latest = (key, status, values[1], values[2], attempt, *values[3:-3])
        if values[-3] is None:  # (no input, or no success at all: every field is NULL)
            by_key[key] = from_values(PartitionLatest, (*latest, _NOTHING_CONSUMED))
        else:
            _add_input(by_key, latest, values[_INPUT])
