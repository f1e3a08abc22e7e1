"""Inferred and multi-dimensional mappings: the mapping to use when none is given.

This module owns :func:`infer_mapping` and :class:`MultiToSingleDimension`, which live together
because each needs the other: inference picks a :class:`MultiToSingleDimension` for a multi
definition with a matching dimension, and that mapping infers how its dimension maps onto the
other side when it is given no inner mapping. It must not run, load or store anything.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from flowstone_nb._core.errors import PartitionError, did_you_mean
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.mappings.base import (
    EXAMPLES,
    AllPartitionsMapping,
    Definition,
    IdentityMapping,
    PartitionMapping,
    Step,
    asset_label,
    exported,
    key_kind,
    mapping_issues,
)
from flowstone_nb._partitioning.mappings.windows import TimeWindowMapping, has_windows
from flowstone_nb._partitioning.static_multi import MultiPartitions, StaticPartitions

__all__ = ["MultiToSingleDimension", "infer_mapping"]


class _Sides(NamedTuple):
    """A multi-to-single dependency seen as one dimension against the other side."""

    multi: MultiPartitions
    position: int
    down: PartitionsDefinition
    up: PartitionsDefinition
    multi_is_down: bool


@exported
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

    @property
    def depends_only_on_definitions(self) -> bool:
        """True when this mapping and its inner mapping (if any) are of this package."""
        inner = self.mapping is None or self.mapping.depends_only_on_definitions
        return inner and super().depends_only_on_definitions

    def _sides(self, down_def: Definition, up_def: Definition) -> _Sides:
        """The dependency with the multi side replaced by its dimension."""
        for multi, other, downstream in ((down_def, up_def, True), (up_def, down_def, False)):
            if isinstance(multi, MultiPartitions) and not isinstance(other, MultiPartitions):
                names = multi.dimension_names
                if self.dimension not in names:
                    raise PartitionError(
                        f"{self!r} names dimension {self.dimension!r}, which {multi!r} does not "
                        f"have.{did_you_mean(self.dimension, names)} Its dimensions are {names}."
                    )
                if other is None:
                    raise PartitionError(
                        f"{self!r} maps onto a partitioned asset, but the other asset is "
                        "unpartitioned: leave the mapping out."
                    )
                dim = multi.dimensions[self.dimension]
                down, up = (dim, other) if downstream else (other, dim)
                return _Sides(multi, names.index(self.dimension), down, up, downstream)
        raise PartitionError(
            f"{self!r} maps between a MultiPartitions with a dimension {self.dimension!r} and a "
            f"one-dimensional definition, not {down_def!r} and {up_def!r}."
        )

    def _inner(self, sides: _Sides) -> PartitionMapping:
        return self.mapping if self.mapping is not None else infer_mapping(sides.down, sides.up)

    def _expand(self, multi: MultiPartitions, values: list[Any], now: datetime | None) -> list[Any]:
        """Every key of ``multi`` whose dimension value is in ``values``."""
        chosen = (
            values if name == self.dimension else definition.keys(now=now)
            for name, definition in multi.dimensions.items()
        )
        return list(itertools.product(*chosen))

    def _upstream(self, step: Step) -> list[Any]:
        sides = self._sides(step.source, step.target)
        key = step.key[sides.position] if sides.multi_is_down else step.key
        values = (
            self._inner(sides).upstream_keys(
                sides.down,
                key,
                sides.up,
                now=step.now,
                downstream=step.source_asset,
                upstream=step.target_asset,
            )
            or []
        )
        return values if sides.multi_is_down else self._expand(sides.multi, values, step.now)

    def _downstream(self, step: Step) -> list[Any]:
        sides = self._sides(step.target, step.source)
        key = step.key if sides.multi_is_down else step.key[sides.position]
        values = self._inner(sides).downstream_keys(sides.up, key, sides.down, now=step.now) or []
        return self._expand(sides.multi, values, step.now) if sides.multi_is_down else values

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """The dimension must exist and its inner mapping must work."""
        try:
            sides = self._sides(down_def, up_def)
        except PartitionError as err:
            return [str(err)]
        return mapping_issues(sides.down, sides.up, self.mapping) if self.mapping else []

    def describe(self) -> str:
        """E.g. ``"the upstream partitions matching dimension 'day'"``."""
        return f"the partitions matching dimension {self.dimension!r}"


def _static_keys(definition: PartitionsDefinition) -> list[str] | None:
    return definition.keys() if isinstance(definition, StaticPartitions) else None


def _matching_dimension(
    multi: MultiPartitions, other: PartitionsDefinition
) -> PartitionMapping | None:
    for name, definition in multi.dimensions.items():
        if definition == other:
            return MultiToSingleDimension(name)
    timed = multi.time_dimension()
    if timed is not None and has_windows(other):
        return MultiToSingleDimension(timed, TimeWindowMapping())
    return None


def _infer_between(
    down_def: PartitionsDefinition, up_def: PartitionsDefinition
) -> PartitionMapping | str:
    """The mapping for two different partitionings, or why there is none."""
    multi = isinstance(down_def, MultiPartitions) or isinstance(up_def, MultiPartitions)
    if not multi and has_windows(down_def) and has_windows(up_def):
        return TimeWindowMapping()
    if isinstance(down_def, MultiPartitions) and not isinstance(up_def, MultiPartitions):
        return _matching_dimension(down_def, up_def) or "no dimension matches the upstream"
    if isinstance(up_def, MultiPartitions) and not isinstance(down_def, MultiPartitions):
        return _matching_dimension(up_def, down_def) or "no upstream dimension matches"
    if key_kind(down_def) != key_kind(up_def):
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
    down_name = asset_label(downstream, "the asset")
    up_name = asset_label(upstream, "its upstream")
    key = repr(upstream) if upstream else "'upstream'"
    raise PartitionError(
        f"The partitions of {down_name} ({down_def!r}) cannot be mapped onto those of "
        f"{up_name} ({up_def!r}): {found}. Pass an explicit mapping, e.g. "
        f"partition_mappings={{{key}: fs.AllPartitionsMapping()}}, or another of {EXAMPLES}."
    )
