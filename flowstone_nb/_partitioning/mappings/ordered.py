"""Ordered mappings: partitions consume their neighbours in key order.

This module owns :class:`TrailingWindow` (the last ``n`` upstream partitions up to the matching
one) and :class:`PreviousPartition` (the partition before, for a self dependency), and
:func:`keys_around`, the one walk along a definition's keys they share: by index for time
partitions, by listed position for the others. It must not run, load or store anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.mappings.base import Definition, PartitionMapping, Step, exported
from flowstone_nb._partitioning.mappings.windows import (
    clip,
    has_windows,
    overlap_range,
    overlapping,
    window_of,
)
from flowstone_nb._partitioning.time import TimePartitions

__all__ = ["PreviousPartition", "TrailingWindow", "keys_around"]


def _by_index(
    definition: TimePartitions, key: Any, first: int, last: int, now: datetime | None
) -> list[Any]:
    index = definition.index_of(key)
    indexes = clip(definition, index + first, index + last, now)
    return definition.keys_between(indexes.start, indexes.stop - 1)


def _by_position(
    definition: PartitionsDefinition, key: Any, first: int, last: int, now: datetime | None
) -> list[Any]:
    keys = definition.keys(now=now)
    at = keys.index(definition.parse_key(key, now=now))
    return keys[max(0, at + first) : max(0, at + last + 1)]


def keys_around(
    definition: PartitionsDefinition, key: Any, first: int, last: int, now: datetime | None
) -> list[Any]:
    """The keys ``first`` to ``last`` places from ``key`` (negative: before it), inclusive.

    Places beyond the definition's first or last key are left out.
    """
    if isinstance(definition, TimePartitions):
        return _by_index(definition, key, first, last, now)
    return _by_position(definition, key, first, last, now)


@exported
@dataclass(frozen=True)
class TrailingWindow(PartitionMapping):
    """The last ``n`` upstream partitions up to and including the matching one.

    The matching upstream partition has the same key, or for time partitions of another
    granularity it is the last one overlapping the downstream period. The window is clipped at the
    upstream's start, e.g. ``TrailingWindow(7)`` on daily keys gives the first days fewer than 7.

    Parameters
    ----------
    n
        How many partitions, at least 1.
    """

    n: int

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int):
            raise PartitionError(
                f"TrailingWindow takes a whole number of partitions, got {type(self.n).__name__} "
                f"{self.n!r}: e.g. TrailingWindow(7)."
            )
        if self.n < 1:
            raise PartitionError(
                f"TrailingWindow({self.n}) needs at least 1 partition: e.g. TrailingWindow(7)."
            )

    def __repr__(self) -> str:
        return f"TrailingWindow({self.n})"

    def _anchor(self, step: Step) -> Any:
        """The matching upstream key (not checked against the upstream's bounds)."""
        if has_windows(step.source) and isinstance(step.target, TimePartitions):
            window = window_of(step.source, step.key)
            return step.target.key_at(overlap_range(step.target, window)[1])
        return step.key

    def _upstream(self, step: Step) -> list[Any]:
        found = keys_around(step.target, self._anchor(step), 1 - self.n, 0, step.now)
        if not found:
            raise PartitionError(
                f"{self!r} finds no partitions of the upstream {step.target!r} up to "
                f"{step.source.key_str(step.key)!r} of {step.source!r}: the upstream starts later; "
                "select downstream keys within the upstream's range."
            )
        return found

    def _downstream(self, step: Step) -> list[Any]:
        """Across granularities, the downstream keys whose window reaches back to the key."""
        up_def, key, down_def, now = step.source, step.key, step.target, step.now
        if isinstance(up_def, TimePartitions) and has_windows(down_def):
            first = up_def.index_of(key)
            start = up_def.window_at(first)[0]
            end = up_def.window_at(first + self.n - 1)[1]
            candidates = overlapping(down_def, (start, end), now)
            return [c for c in candidates if self._consumes(Step(down_def, c, up_def, now), key)]
        return _by_position(down_def, key, 0, self.n - 1, now)

    def _consumes(self, step: Step, up_key: Any) -> bool:
        try:
            return up_key in self._upstream(step)
        except PartitionError:
            return False

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """Both sides must be partitioned."""
        if up_def is None:
            return [
                (
                    f"{self!r} reads the last {self.n} partitions of the upstream, but the "
                    "upstream is unpartitioned: leave the mapping out (each partition then "
                    "receives its single value), or partition the upstream."
                )
            ]
        if down_def is None:
            return [
                (
                    f"{self!r} reads the upstream partitions up to a partition of the asset, but "
                    "the asset is unpartitioned: use fs.AllPartitionsMapping() to receive every "
                    "upstream partition, or partition the asset."
                )
            ]
        return []

    def describe(self) -> str:
        """E.g. ``"the last 7 upstream partitions up to the matching one"``."""
        return f"the last {self.n} upstream partitions up to the matching one"


@exported
@dataclass(frozen=True)
class PreviousPartition(PartitionMapping):
    """The previous partition of the same asset, for a self dependency (the first gets none).

    Use it as ``partition_mappings={"<the asset itself>": fs.PreviousPartition()}``, e.g. for
    running totals. Upstream, it gives ``[previous key]`` (``[]`` for the first partition);
    downstream, ``[next key]`` (``[]`` for the last).
    """

    def __repr__(self) -> str:
        return "PreviousPartition()"

    def _sides_problem(self, down_def: Definition, up_def: Definition) -> str | None:
        """The asset must be partitioned."""
        if down_def is not None and up_def is not None:
            return None
        return (
            f"{self!r} reads the previous partition of an asset, but the asset is unpartitioned: "
            "partition it (e.g. partitioned_by=fs.DailyPartitions('2024-01-01'))."
        )

    def _upstream(self, step: Step) -> list[Any]:
        return keys_around(step.target, step.key, -1, -1, step.now)

    def _downstream(self, step: Step) -> list[Any]:
        return keys_around(step.target, step.key, 1, 1, step.now)

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """The asset must be partitioned, the same way on both sides."""
        problem = self._sides_problem(down_def, up_def)
        if problem is not None:
            return [problem]
        if down_def != up_def:
            return [
                (
                    f"{self!r} maps onto the previous partition of the same partitions, but "
                    f"{down_def!r} and {up_def!r} differ: use it for a self dependency only."
                )
            ]
        return []

    def describe(self) -> str:
        """The phrase for the previous partition."""
        return "the previous partition"
