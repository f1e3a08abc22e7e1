"""What the status report reads of the catalog: each partition's newest attempt and success.

:func:`newest` answers, for the partitions of some assets, with one narrow row each
(:class:`PartitionLatest`): the status and error of its newest attempt, and of its newest
success what the freshness verdict reads (versions, where and how its value is stored, its
stamp) with the inputs it consumed. Every write keeps those rows in the table
``partition_latest`` (see :mod:`.writes`), one per partition, so the read's cost grows with the
partitions asked for and the inputs they consumed, not with how many times each was
materialized, and it computes nothing per row that Python could not do cheaper:

* one query per asset (its name a bound value) reads the asset's rows of ``partition_latest``
  in key order, each with the inputs its newest success consumed, in the order of
  :class:`PartitionLatest`'s fields: a partition that consumed nothing (most of them) becomes
  its ``PartitionLatest`` as it comes;
* the keys of a definition bound the range read; a few keys (:data:`FEW_KEYS` or fewer, given
  as a JSON list) are sought one by one instead.

A test reads the plans. It reads through the connection it is given and never writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from flowstone_nb._storage.catalog.rows import PartitionLatest
from flowstone_nb._storage.catalog.schema import columns
from flowstone_nb._storage.tuples import from_values

__all__ = ["FEW_KEYS", "GIVEN", "RANGE", "RECORDED", "PartitionLatest", "newest"]

#: Up to this many keys of an asset are sought one by one; more bound a range read in key order.
FEW_KEYS = 64

# Each row is a PartitionLatest as it comes, but for its inputs: one input the newest success
# consumed in the last three columns (a partition comes once per input; with NULLs for none).
_READ = (
    f"SELECT {columns(PartitionLatest._fields[:-1], 's')}, "
    "e.upstream_asset, e.upstream_partition, e.upstream_data_version "
    "FROM {keys}partition_latest AS s LEFT JOIN lineage AS e ON e.materialization_id = s.id "
    "WHERE s.asset = :asset{also}"
)
#: Every partition of ``:asset`` recorded, in key order.
RECORDED = _READ.format(keys="", also="")
#: The partitions of ``:asset`` from ``:first`` to ``:last``, in key order.
RANGE = _READ.format(keys="", also=" AND s.partition_key BETWEEN :first AND :last")
#: The partitions of ``:asset`` among ``:keys`` (a JSON list), sought one by one.
GIVEN = _READ.format(
    keys="json_each(:keys) AS k CROSS JOIN ", also=" AND s.partition_key = k.value"
)

_NOTHING_CONSUMED: frozenset[tuple[str, str, str | None]] = frozenset()
_NO_INPUTS = (_NOTHING_CONSUMED,)  # (the inputs field of a success that consumed nothing)
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
    wanted: frozenset[str] | None = None
    if keys is None:
        rows = connection.execute(RECORDED, {"asset": asset})
    elif len(keys) > FEW_KEYS:
        wanted = frozenset(keys)
        bounds = {"asset": asset, "first": min(wanted), "last": max(wanted)}
        rows = connection.execute(RANGE, bounds)
    elif keys:
        rows = connection.execute(GIVEN, {"asset": asset, "keys": json.dumps(list(keys))})
    else:
        return {}
    found = rows.fetchall()
    if wanted is not None:  # (some recorded in the range may not be among the keys asked for)
        found = [values for values in found if values[0] in wanted]
    # A partition that consumed nothing (most) is one row, as it comes; another comes once per
    # input it consumed.
    by_key = {
        values[0]: from_values(PartitionLatest, values[_LATEST] + _NO_INPUTS)
        for values in found
        if values[-3] is None
    }
    if len(by_key) < len(found):
        for values in found:
            if values[-3] is not None:
                _add_input(by_key, values[_LATEST], values[_INPUT])
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
