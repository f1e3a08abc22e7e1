"""The partition mapping interface, and the two mappings every other builds on: identity and all.

A mapping is a small frozen value attached to a dependency (``partition_mappings={"sales":
fs.TrailingWindow(7)}``) or inferred from the two partitionings. It answers two questions, both
pure: :meth:`PartitionMapping.upstream_keys` (what to load for one downstream partition) and
:meth:`PartitionMapping.downstream_keys` (what an upstream partition affects, for staleness and
impact). ``None`` stands for an unpartitioned side, whose single value is consumed or affected.

This module owns the interface, the :class:`Step` a mapping answers in either direction, the
words shared by mapping messages, :class:`IdentityMapping` and :class:`AllPartitionsMapping`. It
must not run, load or store anything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.function import FunctionPartitions
from flowstone_nb._partitioning.static_multi import MultiPartitions

__all__ = [
    "EXAMPLES",
    "AllPartitionsMapping",
    "Definition",
    "IdentityMapping",
    "PartitionMapping",
    "Step",
    "Window",
    "asset_label",
    "exported",
    "key_kind",
    "mapping_issues",
]

Definition = PartitionsDefinition | None
Window = tuple[datetime, datetime]

_Class = TypeVar("_Class", bound=type)
_EXPORTED: set[type] = set()


def exported(cls: _Class) -> _Class:
    """Mark a public mapping class of this package (its keys depend on definitions alone)."""
    _EXPORTED.add(cls)
    return cls


EXAMPLES = (
    "fs.AllPartitionsMapping(), fs.TimeWindowMapping(), fs.TrailingWindow(7), "
    "fs.PreviousPartition() or fs.MultiToSingleDimension('day')"
)


class Step(NamedTuple):
    """One question to a mapping, across a dependency with both sides partitioned.

    Which keys of ``target`` go with ``key`` (already parsed) of ``source``? Asked upstream,
    ``source`` is the downstream definition; asked downstream, it is the upstream one. The asset
    names, when the caller gives them, are for messages.
    """

    source: PartitionsDefinition
    key: Any
    target: PartitionsDefinition
    now: datetime | None
    source_asset: str | None = None
    target_asset: str | None = None


def asset_label(name: str | None, fallback: str) -> str:
    """An asset's quoted name for messages, or ``fallback`` (e.g. "the asset") without one."""
    return repr(name) if name else fallback


@exported
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
        downstream: str | None = None,
        upstream: str | None = None,
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
        downstream, upstream
            The asset names, for messages.
        """
        self._check_sides(down_def, up_def)
        if up_def is None:
            return None
        if down_def is None:
            return self._for_unpartitioned(up_def, now)
        key = down_def.parse_key(down_key, now=now)
        return self._upstream(Step(down_def, key, up_def, now, downstream, upstream))

    def upstream_keys_many(
        self,
        down_def: Definition,
        down_keys: Sequence[Any],
        up_def: Definition,
        *,
        now: datetime | None = None,
        downstream: str | None = None,
        upstream: str | None = None,
    ) -> list[list[Any] | None]:
        """:meth:`upstream_keys` of each of ``down_keys`` (keys of ``down_def``), in order.

        A mapping that can answer for many keys faster than one by one overrides it (a
        status report asks it for every partition of an asset); this one asks each in turn.
        """
        return [
            self.upstream_keys(
                down_def, key, up_def, now=now, downstream=downstream, upstream=upstream
            )
            for key in down_keys
        ]

    def downstream_keys(
        self,
        up_def: Definition,
        up_key: object,
        down_def: Definition,
        *,
        now: datetime | None = None,
    ) -> list[Any] | None:
        """The downstream keys that consume upstream partition ``up_key`` (for impact)."""
        self._check_sides(down_def, up_def)
        if down_def is None:
            return None
        if up_def is None:
            return down_def.keys(now=now)
        return self._downstream(Step(up_def, up_def.parse_key(up_key, now=now), down_def, now))

    @property
    def depends_only_on_definitions(self) -> bool:
        """Whether the keys it gives depend on the two definitions alone (and the clock).

        True for the mappings of this package, so that what is derived from them may be kept
        until a definition changes; false for mappings defined elsewhere, which may consult
        anything.
        """
        return type(self) in _EXPORTED

    def _sides_problem(self, down_def: Definition, up_def: Definition) -> str | None:
        """Why this mapping cannot be asked about these sides at all; ``None`` when it can."""
        return None

    def _check_sides(self, down_def: Definition, up_def: Definition) -> None:
        problem = self._sides_problem(down_def, up_def)
        if problem is not None:
            raise PartitionError(problem)

    def _for_unpartitioned(self, up_def: PartitionsDefinition, now: datetime | None) -> list[Any]:
        """What an unpartitioned downstream consumes of a partitioned upstream."""
        raise PartitionError(self._unpartitioned_downstream(up_def))

    def _unpartitioned_downstream(self, up_def: PartitionsDefinition) -> str:
        return (
            f"{self!r} cannot give an unpartitioned asset the partitions of {up_def!r}: "
            "use AllPartitionsMapping() to receive all of them."
        )

    @abstractmethod
    def _upstream(self, step: Step) -> list[Any]:
        """The upstream keys (``step.target``) for a downstream key (``step.source``)."""

    @abstractmethod
    def _downstream(self, step: Step) -> list[Any]:
        """The downstream keys (``step.target``) for an upstream key (``step.source``)."""

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """Why this mapping cannot work between these definitions; ``[]`` when it can."""
        if down_def is None and up_def is not None:
            return [self._unpartitioned_downstream(up_def)]
        return []

    @abstractmethod
    def describe(self) -> str:
        """A short phrase for people."""


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


def key_kind(definition: PartitionsDefinition) -> object:
    """What kind of values the keys are, for deciding whether identity can work."""
    if isinstance(definition, FunctionPartitions):
        return {"date": "daily", "datetime": "hourly"}.get(definition.kind, "static")
    if isinstance(definition, MultiPartitions):
        return ("multi", definition.dimension_names)
    return definition.kind


@exported
@dataclass(frozen=True)
class IdentityMapping(PartitionMapping):
    """Each downstream partition consumes the upstream partition with the same key.

    With an unpartitioned upstream, every downstream partition consumes its single value.
    """

    def _upstream(self, step: Step) -> list[Any]:
        try:
            return [step.target.parse_key(step.key, now=step.now)]
        except PartitionError as err:
            raise PartitionError(
                f"{self!r} maps {step.source.key_str(step.key)!r} of {step.source!r} onto the "
                f"same key upstream, which the upstream does not have: {err}"
            ) from err

    def _downstream(self, step: Step) -> list[Any]:
        try:
            return [step.target.parse_key(step.key, now=step.now)]
        except PartitionError:
            return []

    def upstream_keys_many(
        self,
        down_def: Definition,
        down_keys: Sequence[Any],
        up_def: Definition,
        *,
        now: datetime | None = None,
        downstream: str | None = None,
        upstream: str | None = None,
    ) -> list[list[Any] | None]:
        """See :meth:`PartitionMapping.upstream_keys_many`.

        Across two equal definitions each key is its own upstream key (keys of ``down_def``
        need no parsing).
        """
        if down_def is None or down_def != up_def:
            return super().upstream_keys_many(
                down_def, down_keys, up_def, now=now, downstream=downstream, upstream=upstream
            )
        return [[key] for key in down_keys]

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """Different kinds of keys on the two sides cannot match."""
        found = super().issues(down_def, up_def)
        if down_def is not None and up_def is not None and key_kind(down_def) != key_kind(up_def):
            instead = (
                "fs.TimeWindowMapping() (the upstream partitions in the same period)"
                if down_def.is_time_based and up_def.is_time_based
                else "fs.AllPartitionsMapping() (every upstream partition)"
            )
            found.append(
                f"{self!r} gives each partition the upstream partition with the same key, but "
                f"{down_def!r} and {up_def!r} have different kinds of keys: use {instead}, or "
                "a PartitionMapping of your own."
            )
        return found

    def describe(self) -> str:
        """The phrase for identity."""
        return "the partition with the same key"


@exported
@dataclass(frozen=True)
class AllPartitionsMapping(PartitionMapping):
    """Every downstream partition (or the single unpartitioned value) consumes all upstream keys."""

    def _for_unpartitioned(self, up_def: PartitionsDefinition, now: datetime | None) -> list[Any]:
        return up_def.keys(now=now)

    def _upstream(self, step: Step) -> list[Any]:
        return step.target.keys(now=step.now)

    _downstream = _upstream

    def issues(self, down_def: Definition, up_def: Definition) -> list[str]:
        """Always works."""
        return []

    def describe(self) -> str:
        """The phrase for all partitions."""
        return "all upstream partitions"
