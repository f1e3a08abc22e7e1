"""Time-window mappings: partitions consume the upstream partitions whose periods overlap theirs.

This module owns :class:`TimeWindowMapping` and the window arithmetic other mappings share:
whether a definition has time windows (:func:`has_windows`), the window of a key
(:func:`window_of`), the indexes whose periods overlap a window (:func:`overlap_range`), clipping
indexes to a definition's bounds (:func:`clip`) and the keys overlapping a window
(:func:`overlapping`). It must not run, load or store anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.base import PartitionsDefinition, preview_keys
from flowstone_nb._partitioning.mappings.base import (
    EXAMPLES,
    Definition,
    PartitionMapping,
    Step,
    Window,
    asset_label,
    exported,
)
from flowstone_nb._partitioning.static_multi import MultiPartitions
from flowstone_nb._partitioning.time import TimePartitions

__all__ = ["TimeWindowMapping", "clip", "has_windows", "overlap_range", "overlapping", "window_of"]


def has_windows(definition: PartitionsDefinition) -> bool:
    """Whether every key of ``definition`` has a time window (for multi: one time dimension)."""
    if isinstance(definition, MultiPartitions):
        return definition.time_dimension() is not None
    return definition.is_time_based


def window_of(definition: PartitionsDefinition, key: Any) -> Window:
    """The window of ``key``, for a definition with time windows."""
    window = definition.time_window(key)
    assert window is not None, "only called for definitions with time windows"
    return window


def overlap_range(definition: TimePartitions, window: Window) -> tuple[int, int]:
    """The first and last index whose period overlaps ``window`` (not clipped)."""
    start, end = window
    first = definition.index_at(start)
    last = definition.index_at(end)
    if definition.window_at(last)[0] >= end:
        last -= 1
    return first, last


def clip(definition: TimePartitions, first: int, last: int, now: datetime | None) -> range:
    """The indexes from ``first`` to ``last`` (inclusive) within the definition's bounds."""
    lo, hi = definition.index_bounds(now=now)
    return range(
        first if lo is None else max(first, lo), (last if hi is None else min(last, hi)) + 1
    )


def overlapping(
    definition: PartitionsDefinition, window: Window, now: datetime | None
) -> list[Any]:
    """The keys of ``definition`` whose periods overlap ``window``, within its bounds."""
    if isinstance(definition, TimePartitions):
        indexes = clip(definition, *overlap_range(definition, window), now)
        return definition.keys_between(indexes.start, indexes.stop - 1)
    start, end = window
    found = []
    for key in definition.keys(now=now):
        key_start, key_end = definition.time_window(key) or window
        if key_start < end and key_end > start:
            found.append(key)
    return found


def _not_time(mapping: PartitionMapping, definition: PartitionsDefinition) -> str:
    return (
        f"{mapping!r} needs time partitions on both sides, but {definition!r} is not a time "
        f"partitioning: pass another mapping, such as {EXAMPLES}."
    )


@exported
@dataclass(frozen=True)
class TimeWindowMapping(PartitionMapping):
    """Partitions consume the upstream partitions whose periods overlap their own.

    A month receives its days, a day its hours, a day the month it falls in. Periods are
    compared as instants, so a Paris day overlaps two UTC days.

    By default a partition receives the upstream partitions that exist in its period: where the
    upstream covers only part of a period (a month of a daily upstream that starts on the 15th,
    or the current month of one that runs up to now), it gets that part, and nothing is said.
    With ``allow_partial=False`` such a partition is an error that names the asset, the partition
    and the missing upstream keys (:meth:`missing_upstream` lists them).

    Parameters
    ----------
    allow_partial
        Whether a partition may consume part of a period (default ``True``).
    """

    allow_partial: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.allow_partial, bool):
            raise PartitionError(
                f"TimeWindowMapping's allow_partial takes True or False, got "
                f"{type(self.allow_partial).__name__} {self.allow_partial!r}."
            )

    def __repr__(self) -> str:
        return (
            "TimeWindowMapping()"
            if self.allow_partial
            else "TimeWindowMapping(allow_partial=False)"
        )

    def _overlapping(self, step: Step) -> list[Any]:
        """The keys of the target whose periods overlap the source key's (both checked)."""
        for definition in (step.source, step.target):
            if not has_windows(definition):
                raise PartitionError(_not_time(self, definition))
        return overlapping(step.target, window_of(step.source, step.key), step.now)

    def _upstream(self, step: Step) -> list[Any]:
        found = self._overlapping(step)
        start, end = window_of(step.source, step.key)
        missing = [] if self.allow_partial else _missing(step, found)
        if missing:
            raise PartitionError(
                f"Partition {step.source.key_str(step.key)!r} of "
                f"{asset_label(step.source_asset, 'the asset')} covers {start.isoformat()} to "
                f"{end.isoformat()}, but {asset_label(step.target_asset, 'its upstream')} "
                f"({step.target!r}) has only part of it: missing {preview_keys(missing)}. "
                f"{self!r} consumes whole periods: select partitions the upstream covers, widen "
                "the upstream, or use TimeWindowMapping() to consume part of a period."
            )
        if not found:
            raise PartitionError(
                f"No partitions of the upstream {step.target!r} overlap "
                f"{step.source.key_str(step.key)!r} of {step.source!r} ({start.isoformat()} to "
                f"{end.isoformat()}): the upstream has no data for it yet; select downstream keys "
                "within the upstream's range."
            )
        return found

    _downstream = _overlapping

    def missing_upstream(
        self,
        down_def: PartitionsDefinition,
        down_key: object,
        up_def: PartitionsDefinition,
        *,
        now: datetime | None = None,
    ) -> list[str]:
        """What the upstream lacks of the period of ``down_key``; ``[]`` when it covers it all.

        The texts of the missing upstream keys, or for an upstream that is not a time
        partitioning (a ``partition_fn`` listing dates), the periods no key covers.
        """
        step = Step(down_def, down_def.parse_key(down_key, now=now), up_def, now)
        return _missing(step, self._overlapping(step))

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """Both partitioned sides must be time partitions."""
        found = super().issues(down_def, up_def)
        for definition in (down_def, up_def):
            if definition is not None and not has_windows(definition):
                found.append(_not_time(self, definition))
        return found

    def describe(self) -> str:
        """The phrase for time windows."""
        phrase = "the upstream partitions in the same period"
        return phrase if self.allow_partial else f"{phrase}, all of them"


def _missing(step: Step, found: list[Any]) -> list[str]:
    """What ``step.target`` lacks of the period of ``step.key``, given the keys ``found`` in it."""
    window = window_of(step.source, step.key)
    target = step.target
    if isinstance(target, TimePartitions):
        first, last = overlap_range(target, window)
        present = clip(target, first, last, step.now)
        absent = (i for i in range(first, last + 1) if i not in present)
        return [target.key_str(target.key_at(i)) for i in absent]
    return [f"{a.isoformat()} to {b.isoformat()}" for a, b in _uncovered(window, target, found)]


def _uncovered(window: Window, definition: PartitionsDefinition, keys: list[Any]) -> list[Window]:
    """The parts of ``window`` that the periods of ``keys`` (of ``definition``) leave out."""
    gaps = []
    reached, end = window
    for start, stop in sorted(window_of(definition, key) for key in keys):
        if start > reached:
            gaps.append((reached, start))
        reached = max(reached, stop)
    if reached < end:
        gaps.append((reached, end))
    return gaps
