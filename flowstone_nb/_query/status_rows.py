"""One asset's statuses, kept compact: a status per partition, rows made when asked.

:class:`AssetStatuses` holds what the status report found of each partition of one asset, in
key order, as one small :class:`PartitionEntry` each (its key, status, reason, failing checks and
the newest success it judged). Counts and runs of consecutive keys with one status
(:class:`StatusRun`) are made from the entries alone and name only the keys where a run starts
or ends; the :class:`PartitionStatus` of each partition, and its key's text, are made when
someone asks for the rows. A report of 10,000 partitions thus costs its verdicts and a few runs
until it is expanded. This module judges nothing: :mod:`.status` does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from flowstone_nb._storage.tuples import from_values

if TYPE_CHECKING:
    from flowstone_nb._storage.catalog.status_reads import PartitionLatest

__all__ = [
    "EXPLAINED",
    "STATUSES",
    "AssetStatuses",
    "PartitionEntry",
    "PartitionStatus",
    "StatusRun",
    "partition_entry",
]

STATUSES = ("fresh", "stale", "missing", "failed", "running")
#: The statuses whose reason the compact views say (fresh and missing explain themselves).
EXPLAINED = frozenset({"stale", "failed"})


@dataclass(frozen=True)
class PartitionStatus:
    """The status of one asset partition.

    Attributes
    ----------
    asset
        The asset.
    partition
        The partition key as text (``""`` when unpartitioned).
    status
        ``"missing"``, ``"fresh"``, ``"stale"``, ``"failed"`` or ``"running"``.
    reason
        Why, in a few words (e.g. ``"code changed"``, ``"upstream 'raw' changed"``).
    materialization_id
        The latest successful materialization, if any.
    data_version
        Its data version.
    updated_at
        When it finished (UNIX seconds).
    checks_failing
        The data checks (defined now) whose latest outcome on its value is a failure.
    check_message
        What they found, ``"name: message"`` for each, joined by ``"; "``.
    """

    asset: str
    partition: str
    status: str
    reason: str = ""
    materialization_id: str | None = None
    data_version: str | None = None
    updated_at: float | None = None
    checks_failing: tuple[str, ...] = ()
    check_message: str = ""


@dataclass(frozen=True)
class StatusRun:
    """Consecutive partitions of one asset (in its key order) with one status and reason.

    Attributes
    ----------
    first, last
        The first and last partition key of the run, as text (the same key for one partition).
    status
        Their status.
    count
        How many partitions the run holds.
    reason
        Their reason (the same for every partition of the run).
    checks
        What their failing data checks said (the same for every partition of the run), or ``""``.
    """

    first: str
    last: str
    status: str
    count: int
    reason: str = ""
    checks: str = ""

    @property
    def keys(self) -> str:
        """``first..last``, or the one key."""
        return self.first if self.count == 1 else f"{self.first}..{self.last}"

    def __str__(self) -> str:
        """``2024-01-01..2024-02-29 fresh (60)``; a stale or failed run adds its reason."""
        count = f" ({self.count})" if self.count > 1 else ""
        why = f" — {self.reason}" if self.reason and self.status in EXPLAINED else ""
        checks = f" — failing checks: {self.checks}" if self.checks else ""
        return f"{self.keys} {self.status}{count}{why}{checks}"


class PartitionEntry(NamedTuple):
    """What the status report found of one partition (a tuple: one is made per partition).

    Attributes
    ----------
    key
        The partition key (its text, in a report made of rows; ``None`` when unpartitioned).
    status, reason, checks_failing, check_message
        As in :class:`PartitionStatus`.
    success
        The newest success it judged, if any (its id, data version and end make the row's).
    """

    key: Any
    status: str
    reason: str
    checks_failing: tuple[str, ...]
    check_message: str
    success: PartitionLatest | None


def partition_entry(  # noqa: PLR0917  # positional: made once per partition
    key: Any,
    status: str,
    reason: str,
    checks_failing: tuple[str, ...],
    check_message: str,
    success: PartitionLatest | None,
) -> PartitionEntry:
    """One :class:`PartitionEntry`, made without the named tuple's Python-level constructor."""
    return from_values(
        PartitionEntry, (key, status, reason, checks_failing, check_message, success)
    )


def _same(text: str) -> str:
    return text


class AssetStatuses:
    """The statuses of one asset's partitions, in key order, compact until expanded.

    Parameters
    ----------
    asset
        The asset.
    entries
        One entry per partition, in key order (one with the key ``None`` when unpartitioned).
    text
        How a key of the entries reads (called only for the keys shown).
    partitioned
        Whether the entries are partitions.
    rows
        The rows, when they exist already (a report made of rows).
    texts
        How many keys read, in one call (made once, for the rows and the lookups of every
        key); without it, ``text`` of each.
    """

    def __init__(
        self,
        asset: str,
        entries: Sequence[PartitionEntry],
        text: Callable[[Any], str],
        *,
        partitioned: bool,
        rows: Sequence[PartitionStatus] | None = None,
        texts: Callable[[Sequence[Any]], list[str]] | None = None,
    ) -> None:
        self.asset = asset
        self.entries = entries
        self.text = text
        self.partitioned = partitioned
        self._rows = None if rows is None else list(rows)
        self._texts = texts

    @classmethod
    def of_rows(cls, asset: str, rows: Sequence[PartitionStatus]) -> AssetStatuses:
        """The statuses of rows made elsewhere (keys are their texts)."""
        entries = [
            partition_entry(
                row.partition, row.status, row.reason, row.checks_failing, row.check_message, None
            )
            for row in rows
        ]
        partitioned = not (len(rows) == 1 and rows[0].partition == "")
        return cls(asset, entries, _same, partitioned=partitioned, rows=rows)

    @functools.cached_property
    def key_texts(self) -> list[str]:
        """How each entry's key reads, in order (``""`` when unpartitioned; made once)."""
        keys = [entry.key for entry in self.entries]
        if self._texts is not None:
            return self._texts(keys)
        text = self.text
        return ["" if key is None else text(key) for key in keys]

    @property
    def rows(self) -> list[PartitionStatus]:
        """A :class:`PartitionStatus` per partition (made on first use)."""
        if self._rows is None:
            self._rows = list(map(self._row, self.entries, self.key_texts))
        return self._rows

    def _row(self, entry: PartitionEntry, partition: str) -> PartitionStatus:
        success = entry.success
        return PartitionStatus(
            asset=self.asset,
            partition=partition,
            status=entry.status,
            reason=entry.reason,
            materialization_id=None if success is None else success.id,
            data_version=None if success is None else success.data_version,
            updated_at=None if success is None else success.ended_at,
            checks_failing=entry.checks_failing,
            check_message=entry.check_message,
        )

    def statuses(self) -> dict[str, str]:
        """``{partition text: status}``, without making rows."""
        return dict(zip(self.key_texts, (e.status for e in self.entries), strict=True))

    @functools.cached_property
    def counts(self) -> dict[str, int]:
        """How many partitions have each status (in the order first met)."""
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.status] = counts.get(entry.status, 0) + 1
        return counts

    @functools.cached_property
    def failing(self) -> list[PartitionEntry]:
        """The entries with failing data checks."""
        return [entry for entry in self.entries if entry.checks_failing]

    @functools.cached_property
    def runs(self) -> list[StatusRun]:
        """The partitions as runs of consecutive keys with one status, reason and checks."""
        runs: list[StatusRun] = []
        entries, text = self.entries, self.text
        start = 0
        for index in range(1, len(entries) + 1):
            if index < len(entries):
                before, entry = entries[index - 1], entries[index]
                if (entry.status, entry.reason, entry.check_message) == (
                    before.status,
                    before.reason,
                    before.check_message,
                ):
                    continue
            first, last = entries[start], entries[index - 1]
            runs.append(
                StatusRun(
                    text(first.key),
                    text(last.key),
                    first.status,
                    index - start,
                    first.reason,
                    first.check_message,
                )
            )
            start = index
        return runs
