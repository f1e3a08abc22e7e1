"""Partition mappings: which upstream partitions a downstream partition consumes.

A mapping is a small frozen value attached to a dependency (``partition_mappings={"sales":
fs.TrailingWindow(7)}``) or inferred from the two partitionings by :func:`infer_mapping`. It
answers two questions, both pure: :meth:`PartitionMapping.upstream_keys` (what to load for one
downstream partition) and :meth:`PartitionMapping.downstream_keys` (what an upstream partition
affects, for staleness and impact). ``None`` stands for an unpartitioned side, whose single value
is consumed or affected. This module must not run, load or store anything.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowstone_nb._core.errors import PartitionError, did_you_mean
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.function import FunctionPartitions
from flowstone_nb._partitioning.static_multi import MultiPartitions, StaticPartitions
from flowstone_nb._partitioning.time import TimePartitions

__all__ = [
    "AllPartitionsMapping",
    "IdentityMapping",
    "MultiToSingleDimension",
    "PartitionMapping",
    "PreviousPartition",
    "TimeWindowMapping",
    "TrailingWindow",
    "infer_mapping",
    "mapping_issues",
]

Definition = PartitionsDefinition | None
Window = tuple[datetime, datetime]

_EXAMPLES = (
    "fs.AllPartitionsMapping(), fs.TimeWindowMapping(), fs.TrailingWindow(7), "
    "fs.PreviousPartition() or fs.MultiToSingleDimension('day')"
)


class PartitionMapping(ABC):
    """How the partitions of a downstream asset map onto those of one upstream asset.

    Every method takes the two definitions (``None`` for an unpartitioned asset). With an
    unpartitioned upstream, :meth:`upstream_keys` returns ``None`` (consume its single value);
    with an unpartitioned downstream, :meth:`downstream_keys` returns ``None``.
    """

    def upstream_keys(
        self,
        down_def: Definition,
        down_key: object,
        up_def: Definition,
        *,
        now: datetime | None = None,
    ) -> list[Any] | None:
        """The upstream keys that downstream partition ``down_key`` consumes.

        Parameters
        ----------
        down_def, down_key
            The downstream definition and key (``None`` and ``None`` when unpartitioned).
        up_def
            The upstream definition, or ``None``.
        now
            The current time for definitions without an end (default: the clock).
        """
        if up_def is None:
            return None
        if down_def is None:
            return self._for_unpartitioned(up_def, now)
        return self._upstream(down_def, down_def.parse_key(down_key, now=now), up_def, now)

    def _for_unpartitioned(self, up_def: PartitionsDefinition, now: datetime | None) -> list[Any]:
        """What an unpartitioned downstream consumes of a partitioned upstream."""
        raise PartitionError(
            f"{self!r} cannot give an unpartitioned asset the partitions of {up_def!r}: "
            "use AllPartitionsMapping() to receive all of them."
        )

    def downstream_keys(
        self,
        up_def: Definition,
        up_key: object,
        down_def: Definition,
        *,
        now: datetime | None = None,
    ) -> list[Any] | None:
        """The downstream keys that consume upstream partition ``up_key`` (for impact)."""
        if down_def is None:
            return None
        if up_def is None:
            return down_def.keys(now=now)
        return self._downstream(up_def, up_def.parse_key(up_key, now=now), down_def, now)

    @abstractmethod
    def _upstream(
        self,
        down_def: PartitionsDefinition,
        key: Any,
        up_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        """Both sides partitioned; ``key`` already parsed."""

    @abstractmethod
    def _downstream(
        self,
        up_def: PartitionsDefinition,
        key: Any,
        down_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        """Both sides partitioned; ``key`` already parsed."""

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """Why this mapping cannot work between these definitions; ``[]`` when it can."""
        if down_def is None and up_def is not None:
            return [
                (
                    f"{self!r} cannot give an unpartitioned asset the partitions of {up_def!r}: "
                    "use AllPartitionsMapping() to receive all of them."
                )
            ]
        return []

    @abstractmethod
    def describe(self) -> str:
        """A short phrase for people."""


# -- identity and all -----------------------------------------------------------------------------
def _key_type(definition: PartitionsDefinition) -> object:
    """What kind of values the keys are, for deciding whether identity can work."""
    if isinstance(definition, FunctionPartitions):
        return {"date": "daily", "datetime": "hourly"}.get(definition.kind, "static")
    if isinstance(definition, MultiPartitions):
        return ("multi", definition.dimension_names)
    return definition.kind


@dataclass(frozen=True)
class IdentityMapping(PartitionMapping):
    """Each downstream partition consumes the upstream partition with the same key.

    With an unpartitioned upstream, every downstream partition consumes its single value.
    """

    def _upstream(
        self,
        down_def: PartitionsDefinition,
        key: Any,
        up_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        try:
            return [up_def.parse_key(key, now=now)]
        except PartitionError as err:
            raise PartitionError(
                f"{self!r} maps {down_def.key_str(key)!r} of {down_def!r} onto the same key "
                f"upstream, which the upstream does not have: {err}"
            ) from err

    def _downstream(
        self,
        up_def: PartitionsDefinition,
        key: Any,
        down_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        try:
            return [down_def.parse_key(key, now=now)]
        except PartitionError:
            return []

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """Different kinds of keys on the two sides cannot match."""
        found = super().issues(down_def, up_def)
        if down_def is not None and up_def is not None and _key_type(down_def) != _key_type(up_def):
            found.append(
                f"{self!r} gives each partition the upstream partition with the same key, but "
                f"{down_def!r} and {up_def!r} have different kinds of keys: pass a mapping such "
                f"as {_EXAMPLES}."
            )
        return found

    def describe(self) -> str:
        """The phrase for identity."""
        return "the partition with the same key"


@dataclass(frozen=True)
class AllPartitionsMapping(PartitionMapping):
    """Every downstream partition (or the single unpartitioned value) consumes all upstream keys."""

    def _for_unpartitioned(self, up_def: PartitionsDefinition, now: datetime | None) -> list[Any]:
        return up_def.keys(now=now)

    def _upstream(
        self,
        down_def: PartitionsDefinition,
        key: Any,
        up_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        return up_def.keys(now=now)

    def _downstream(
        self,
        up_def: PartitionsDefinition,
        key: Any,
        down_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        return down_def.keys(now=now)

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """Always works."""
        return []

    def describe(self) -> str:
        """The phrase for all partitions."""
        return "all upstream partitions"


# -- time windows ---------------------------------------------------------------------------------
def _has_windows(definition: PartitionsDefinition) -> bool:
    if isinstance(definition, MultiPartitions):
        return definition.time_dimension() is not None
    return definition.is_time_based


def _not_time(mapping: PartitionMapping, definition: PartitionsDefinition) -> str:
    return (
        f"{mapping!r} needs time partitions on both sides, but {definition!r} is not a time "
        f"partitioning: pass another mapping, such as {_EXAMPLES}."
    )


def _require_windows(mapping: PartitionMapping, *definitions: PartitionsDefinition) -> None:
    for definition in definitions:
        if not _has_windows(definition):
            raise PartitionError(_not_time(mapping, definition))


def _window(definition: PartitionsDefinition, key: Any) -> Window:
    window = definition.time_window(key)
    assert window is not None, "only called for definitions with time windows"
    return window


def _overlap_range(definition: TimePartitions, window: Window) -> tuple[int, int]:
    """The first and last index whose period overlaps ``window`` (not clipped)."""
    start, end = window
    first = definition.index_at(start)
    last = definition.index_at(end)
    if definition.window_at(last)[0] >= end:
        last -= 1
    return first, last


def _clip(definition: TimePartitions, first: int, last: int, now: datetime | None) -> range:
    lo, hi = definition.index_bounds(now=now)
    return range(
        first if lo is None else max(first, lo), (last if hi is None else min(last, hi)) + 1
    )


def _overlapping(
    definition: PartitionsDefinition, window: Window, now: datetime | None
) -> list[Any]:
    """The keys of ``definition`` whose periods overlap ``window``, within its bounds."""
    if isinstance(definition, TimePartitions):
        indexes = _clip(definition, *_overlap_range(definition, window), now)
        return [definition.key_at(i) for i in indexes]
    start, end = window
    found = []
    for key in definition.keys(now=now):
        key_start, key_end = definition.time_window(key) or window
        if key_start < end and key_end > start:
            found.append(key)
    return found


@dataclass(frozen=True)
class TimeWindowMapping(PartitionMapping):
    """Partitions consume the upstream partitions whose periods overlap their own.

    A month receives its days, a day its hours, a day the month it falls in. Periods are
    compared as instants, so a Paris day overlaps two UTC days. Upstream keys outside the
    upstream definition (before its start, after its end or now) are left out.
    """

    def _upstream(
        self,
        down_def: PartitionsDefinition,
        key: Any,
        up_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        _require_windows(self, down_def, up_def)
        window = _window(down_def, key)
        found = _overlapping(up_def, window, now)
        if not found:
            raise PartitionError(
                f"No partitions of the upstream {up_def!r} overlap {down_def.key_str(key)!r} of "
                f"{down_def!r} ({window[0].isoformat()} to {window[1].isoformat()}): the upstream "
                "has no data for it yet; select downstream keys within the upstream's range."
            )
        return found

    def _downstream(
        self,
        up_def: PartitionsDefinition,
        key: Any,
        down_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        _require_windows(self, up_def, down_def)
        window = _window(up_def, key)
        return _overlapping(down_def, window, now)

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """Both partitioned sides must be time partitions."""
        found = super().issues(down_def, up_def)
        for definition in (down_def, up_def):
            if definition is not None and not _has_windows(definition):
                found.append(_not_time(self, definition))
        return found

    def describe(self) -> str:
        """The phrase for time windows."""
        return "the upstream partitions in the same period"


# -- trailing windows and the previous partition --------------------------------------------------
def _position(keys: Sequence[Any], key: Any) -> int:
    return list(keys).index(key)


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

    def _anchor(
        self,
        down_def: PartitionsDefinition,
        key: Any,
        up_def: PartitionsDefinition,
        now: datetime | None,
    ) -> Any:
        """The matching upstream key (not checked against the upstream's bounds)."""
        if _has_windows(down_def) and isinstance(up_def, TimePartitions):
            window = _window(down_def, key)
            return up_def.key_at(_overlap_range(up_def, window)[1])
        return key

    def _upstream(
        self,
        down_def: PartitionsDefinition,
        key: Any,
        up_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        anchor = self._anchor(down_def, key, up_def, now)
        if isinstance(up_def, TimePartitions):
            last = up_def.index_of(anchor)
            found = [up_def.key_at(i) for i in _clip(up_def, last - self.n + 1, last, now)]
        else:
            keys = up_def.keys(now=now)
            at = _position(keys, up_def.parse_key(anchor, now=now))
            found = keys[max(0, at - self.n + 1) : at + 1]
        if not found:
            raise PartitionError(
                f"{self!r} finds no partitions of the upstream {up_def!r} up to "
                f"{down_def.key_str(key)!r} of {down_def!r}: the upstream starts later; select "
                "downstream keys within the upstream's range."
            )
        return found

    def _downstream(
        self,
        up_def: PartitionsDefinition,
        key: Any,
        down_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        if isinstance(up_def, TimePartitions) and _has_windows(down_def):
            first = up_def.index_of(key)
            start = up_def.window_at(first)[0]
            end = up_def.window_at(first + self.n - 1)[1]
            candidates = _overlapping(down_def, (start, end), now)
            return [c for c in candidates if self._consumes(down_def, c, up_def, key, now)]
        keys = down_def.keys(now=now)
        at = _position(keys, down_def.parse_key(key, now=now))
        return keys[at : at + self.n]

    def _consumes(
        self,
        down_def: PartitionsDefinition,
        down_key: Any,
        up_def: PartitionsDefinition,
        up_key: Any,
        now: datetime | None,
    ) -> bool:
        try:
            return up_key in self._upstream(down_def, down_key, up_def, now)
        except PartitionError:
            return False

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """Both sides must be partitioned."""
        if down_def is None or up_def is None:
            return [
                (
                    f"{self!r} reads earlier partitions, but an asset here is unpartitioned: "
                    "partition both assets, or leave the mapping out."
                )
            ]
        return []

    def describe(self) -> str:
        """E.g. ``"the last 7 upstream partitions up to the matching one"``."""
        return f"the last {self.n} upstream partitions up to the matching one"


@dataclass(frozen=True)
class PreviousPartition(PartitionMapping):
    """The previous partition of the same asset, for a self dependency (the first gets none).

    Use it as ``partition_mappings={"<the asset itself>": fs.PreviousPartition()}``, e.g. for
    running totals.
    """

    def __repr__(self) -> str:
        return "PreviousPartition()"

    def _unpartitioned(self) -> PartitionError:
        return PartitionError(
            f"{self!r} reads the previous partition of an asset, but the asset is unpartitioned: "
            "partition it (e.g. partitioned_by=fs.DailyPartitions('2024-01-01'))."
        )

    def upstream_keys(
        self,
        down_def: Definition,
        down_key: object,
        up_def: Definition,
        *,
        now: datetime | None = None,
    ) -> list[Any] | None:
        """``[previous key]``, or ``[]`` for the first partition."""
        if down_def is None or up_def is None:
            raise self._unpartitioned()
        return super().upstream_keys(down_def, down_key, up_def, now=now)

    def downstream_keys(
        self,
        up_def: Definition,
        up_key: object,
        down_def: Definition,
        *,
        now: datetime | None = None,
    ) -> list[Any] | None:
        """``[next key]``, or ``[]`` for the last partition."""
        if down_def is None or up_def is None:
            raise self._unpartitioned()
        return super().downstream_keys(up_def, up_key, down_def, now=now)

    def _step(
        self, definition: PartitionsDefinition, key: Any, step: int, now: datetime | None
    ) -> list[Any]:
        if isinstance(definition, TimePartitions):
            index = definition.index_of(key) + step
            return [definition.key_at(i) for i in _clip(definition, index, index, now)]
        keys = definition.keys(now=now)
        at = _position(keys, definition.parse_key(key, now=now)) + step
        return [keys[at]] if 0 <= at < len(keys) else []

    def _upstream(
        self,
        down_def: PartitionsDefinition,
        key: Any,
        up_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        return self._step(up_def, key, -1, now)

    def _downstream(
        self,
        up_def: PartitionsDefinition,
        key: Any,
        down_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        return self._step(down_def, key, 1, now)

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """The asset must be partitioned, the same way on both sides."""
        if down_def is None or up_def is None:
            return [str(self._unpartitioned())]
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


# -- multi-dimensional ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MultiToSingleDimension(PartitionMapping):
    """Map one dimension of a :class:`MultiPartitions` onto a one-dimensional definition.

    Either side may be the multi one: a region x day partition consumes the daily upstream's day;
    a daily partition consumes every region of a region x day upstream for that day.

    Parameters
    ----------
    dimension
        The name of the multi side's dimension that corresponds to the other side.
    mapping
        How that dimension maps onto the other side (default: inferred, e.g. identity for equal
        definitions, a time window for daily on monthly).
    """

    dimension: str
    mapping: PartitionMapping | None = None

    def __repr__(self) -> str:
        inner = "" if self.mapping is None else f", {self.mapping!r}"
        return f"MultiToSingleDimension({self.dimension!r}{inner})"

    def _sides(
        self, down_def: Definition, up_def: Definition
    ) -> tuple[MultiPartitions, PartitionsDefinition, bool]:
        """The multi side, the other side, and whether the multi side is downstream."""
        for multi, other, downstream in ((down_def, up_def, True), (up_def, down_def, False)):
            if isinstance(multi, MultiPartitions) and not isinstance(other, MultiPartitions):
                if self.dimension not in multi.dimension_names:
                    names = multi.dimension_names
                    raise PartitionError(
                        f"{self!r} names dimension {self.dimension!r}, which {multi!r} does not "
                        f"have.{did_you_mean(self.dimension, names)} Its dimensions are {names}."
                    )
                if other is None:
                    raise PartitionError(
                        f"{self!r} maps onto a partitioned asset, but the other asset is "
                        "unpartitioned: leave the mapping out."
                    )
                return multi, other, downstream
        raise PartitionError(
            f"{self!r} maps between a MultiPartitions with a dimension {self.dimension!r} and a "
            f"one-dimensional definition, not {down_def!r} and {up_def!r}."
        )

    def _inner(
        self, down_def: PartitionsDefinition, up_def: PartitionsDefinition
    ) -> PartitionMapping:
        return self.mapping if self.mapping is not None else infer_mapping(down_def, up_def)

    def _expand(self, multi: MultiPartitions, values: list[Any], now: datetime | None) -> list[Any]:
        """Every key of ``multi`` whose dimension value is in ``values``."""
        chosen = (
            values if name == self.dimension else definition.keys(now=now)
            for name, definition in multi.dimensions.items()
        )
        return list(itertools.product(*chosen))

    def _upstream(
        self,
        down_def: PartitionsDefinition,
        key: Any,
        up_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        multi, other, multi_is_down = self._sides(down_def, up_def)
        dim = multi.dimensions[self.dimension]
        if multi_is_down:
            part = key[multi.dimension_names.index(self.dimension)]
            return self._inner(dim, other).upstream_keys(dim, part, other, now=now) or []
        values = self._inner(other, dim).upstream_keys(other, key, dim, now=now) or []
        return self._expand(multi, values, now)

    def _downstream(
        self,
        up_def: PartitionsDefinition,
        key: Any,
        down_def: PartitionsDefinition,
        now: datetime | None,
    ) -> list[Any]:
        multi, other, multi_is_down = self._sides(down_def, up_def)
        dim = multi.dimensions[self.dimension]
        if multi_is_down:
            values = self._inner(dim, other).downstream_keys(other, key, dim, now=now) or []
            return self._expand(multi, values, now)
        part = key[multi.dimension_names.index(self.dimension)]
        return self._inner(other, dim).downstream_keys(dim, part, other, now=now) or []

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """The dimension must exist and its inner mapping must work."""
        try:
            multi, other, multi_is_down = self._sides(down_def, up_def)
        except PartitionError as err:
            return [str(err)]
        dim = multi.dimensions[self.dimension]
        if multi_is_down:
            return mapping_issues(dim, other, self.mapping) if self.mapping else []
        return mapping_issues(other, dim, self.mapping) if self.mapping else []

    def describe(self) -> str:
        """E.g. ``"the upstream partitions matching dimension 'day'"``."""
        return f"the partitions matching dimension {self.dimension!r}"


# -- inference and validation ---------------------------------------------------------------------
def _static_keys(definition: PartitionsDefinition) -> list[str] | None:
    return definition.keys() if isinstance(definition, StaticPartitions) else None


def _matching_dimension(
    multi: MultiPartitions, other: PartitionsDefinition
) -> PartitionMapping | None:
    for name, definition in multi.dimensions.items():
        if definition == other:
            return MultiToSingleDimension(name)
    timed = multi.time_dimension()
    if timed is not None and _has_windows(other):
        return MultiToSingleDimension(timed, TimeWindowMapping())
    return None


def _infer_between(
    down_def: PartitionsDefinition, up_def: PartitionsDefinition
) -> PartitionMapping | str:
    """The mapping for two different partitionings, or why there is none."""
    multi = isinstance(down_def, MultiPartitions) or isinstance(up_def, MultiPartitions)
    if not multi and _has_windows(down_def) and _has_windows(up_def):
        return TimeWindowMapping()
    if isinstance(down_def, MultiPartitions) and not isinstance(up_def, MultiPartitions):
        return _matching_dimension(down_def, up_def) or "no dimension matches the upstream"
    if isinstance(up_def, MultiPartitions) and not isinstance(down_def, MultiPartitions):
        return _matching_dimension(up_def, down_def) or "no upstream dimension matches"
    if _key_type(down_def) != _key_type(up_def):
        return "their keys are of different kinds"
    down_keys, up_keys = _static_keys(down_def), _static_keys(up_def)
    if down_keys is not None and up_keys is not None:
        missing = [key for key in down_keys if key not in set(up_keys)]
        if missing:
            return f"the keys {', '.join(repr(k) for k in missing)} are not keys of the upstream"
    return IdentityMapping()


def infer_mapping(
    down_def: Definition,
    up_def: Definition,
    *,
    downstream: str | None = None,
    upstream: str | None = None,
) -> PartitionMapping:
    """The mapping to use when none is given for a dependency.

    Unpartitioned on either side, or equal definitions: identity (the single value); an
    unpartitioned downstream of a partitioned upstream: all partitions; two time partitionings:
    :class:`TimeWindowMapping`; a multi definition with a matching dimension:
    :class:`MultiToSingleDimension`; keys of the same kind (e.g. static keys that are a subset):
    identity.

    Parameters
    ----------
    down_def, up_def
        The two definitions (``None`` for unpartitioned assets).
    downstream, upstream
        The asset names, for the error message.

    Raises
    ------
    PartitionError
        When the two partitionings cannot be mapped, saying how to pass a mapping.
    """
    if up_def is None or down_def == up_def:
        return IdentityMapping()
    if down_def is None:
        return AllPartitionsMapping()
    found = _infer_between(down_def, up_def)
    if isinstance(found, PartitionMapping):
        return found
    down_name = repr(downstream) if downstream else "the asset"
    up_name = repr(upstream) if upstream else "its upstream"
    key = repr(upstream) if upstream else "'upstream'"
    raise PartitionError(
        f"The partitions of {down_name} ({down_def!r}) cannot be mapped onto those of "
        f"{up_name} ({up_def!r}): {found}. Pass an explicit mapping, e.g. "
        f"partition_mappings={{{key}: fs.AllPartitionsMapping()}}, or another of {_EXAMPLES}."
    )


def mapping_issues(down_def: Definition, up_def: Definition, mapping: object) -> list[str]:
    """Why ``mapping`` cannot map ``down_def`` onto ``up_def``; ``[]`` when it can.

    Used when a definition is validated, before anything runs.
    """
    if not isinstance(mapping, PartitionMapping):
        return [
            (
                f"A partition mapping must be a mapping object such as fs.TrailingWindow(7), not "
                f"{type(mapping).__name__} {mapping!r}."
            )
        ]
    return mapping.issues(down_def, up_def)
