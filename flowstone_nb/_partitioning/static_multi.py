"""Static and multi-dimensional partitions: declared string keys, and products of definitions.

This module owns :class:`StaticPartitions` (a fixed list of strings, kept in the declared order),
:class:`MultiPartitions` (the product of several one-dimensional definitions, with per-dimension
selection) and :class:`MultiPartitionKey` (a multi key as user code sees it). It must not know
the time granularities beyond the :class:`.PartitionsDefinition` interface.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from flowstone_nb._core.errors import PartitionError, did_you_mean
from flowstone_nb._partitioning.base import (
    PREVIEW,
    PartitionsDefinition,
    got,
    preview_keys,
)

__all__ = ["MULTI_SEPARATOR", "MultiPartitionKey", "MultiPartitions", "StaticPartitions"]

MULTI_SEPARATOR = "|"


class StaticPartitions(PartitionsDefinition):
    """A fixed list of string keys, kept in the declared order.

    Parameters
    ----------
    keys
        Non-empty, unique strings, e.g. ``["eu", "us", "apac"]``.
    """

    kind = "static"
    _keys: tuple[str, ...]
    _positions: dict[str, int]

    def __init__(self, keys: Iterable[str]) -> None:
        if isinstance(keys, str):
            raise PartitionError(
                f"StaticPartitions takes a list of keys, not the string {keys!r}: write "
                f"StaticPartitions({keys.split(',')!r})."
            )
        if not isinstance(keys, Iterable):
            raise PartitionError(f"StaticPartitions takes a list of keys, {got(keys)}.")
        listed = tuple(keys)
        _check_static_keys(listed)
        self._set(_keys=listed, _positions={key: i for i, key in enumerate(listed)})

    def _example(self) -> str:
        return repr(self._keys[0])

    def _identity(self) -> tuple[object, ...]:
        return self._keys

    def _arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (list(self._keys),), {}

    def __repr__(self) -> str:
        if len(self._keys) <= 8:
            return super().__repr__()
        shown = ", ".join(repr(k) for k in self._keys[:5])
        return f"StaticPartitions([{shown}, ... {len(self._keys) - 5} more])"

    def keys(self, *, now: datetime | None = None) -> list[str]:
        """The keys in their declared order."""
        return list(self._keys)

    def count(self, *, now: datetime | None = None) -> int:
        """How many keys there are."""
        return len(self._keys)

    def parse_key(self, raw: object, *, now: datetime | None = None) -> str:
        """``raw`` itself when it is one of the keys."""
        if isinstance(raw, str) and raw in self._positions:
            return raw
        if not isinstance(raw, str):
            raise PartitionError(
                f"Cannot read partition key {raw!r} for {self!r}: expected one of the string "
                f"keys ({preview_keys(self._keys)}), {got(raw)}."
            )
        raise PartitionError(
            f"Unknown partition key {raw!r} for {self!r}.{did_you_mean(raw, self._keys)} "
            f"Valid keys: {preview_keys(self._keys)}."
        )

    def key_str(self, key: object) -> str:
        """The key itself."""
        return self.parse_key(key)

    def describe(self) -> str:
        """E.g. ``"3 static partitions: eu, us, apac"``."""
        shown = ", ".join(self._keys[:PREVIEW])
        more = ", ..." if len(self._keys) > PREVIEW else ""
        return f"{len(self._keys)} static partitions: {shown}{more}"

    def _sorted(self, keys: list[Any], now: datetime | None) -> list[Any]:
        return sorted(keys, key=self._positions.__getitem__)


def _check_static_keys(keys: Sequence[object]) -> None:
    if not keys:
        raise PartitionError(
            "StaticPartitions needs at least one key, e.g. StaticPartitions(['eu', 'us'])."
        )
    seen: set[str] = set()
    for position, key in enumerate(keys):
        if not isinstance(key, str):
            raise PartitionError(
                f"Static partition keys must be strings; the key at position {position} is "
                f"{type(key).__name__} {key!r}: write {str(key)!r} instead."
            )
        if not key:
            raise PartitionError(
                f"The static partition key at position {position} is empty: keys must be "
                "non-empty strings."
            )
        if key in seen:
            raise PartitionError(f"Static partition key {key!r} is listed twice: list it once.")
        seen.add(key)


# -- multi-dimensional partitions -----------------------------------------------------------------
class MultiPartitionKey(tuple[Any, ...]):
    """A multi-dimensional key as user code sees it: a tuple with a field per dimension.

    It equals (and hashes like) the plain tuple, so it can be used wherever a key is expected.

    Parameters
    ----------
    values
        The per-dimension values, in dimension order.
    names
        The dimension names.
    """

    _names: tuple[str, ...]

    def __new__(cls, values: Iterable[Any], names: Sequence[str]) -> MultiPartitionKey:
        key = super().__new__(cls, values)
        key._names = tuple(names)
        return key

    @property
    def dimensions(self) -> dict[str, Any]:
        """The values by dimension name."""
        return dict(zip(self._names, self, strict=True))

    def __getattr__(self, name: str) -> Any:
        names = self.__dict__.get("_names", ())
        if name in names:
            return self[names.index(name)]
        raise AttributeError(
            f"MultiPartitionKey has no dimension {name!r}; its dimensions are "
            f"{', '.join(names)}.{did_you_mean(name, names)}"
        )

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.dimensions.items())
        return f"MultiPartitionKey({shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (MultiPartitionKey, (tuple(self), self._names))


class MultiPartitions(PartitionsDefinition):
    """The product of several one-dimensional definitions, e.g. region x day.

    Keys are tuples in dimension order; the first dimension varies slowest.

    Parameters
    ----------
    dimensions
        Dimension name to definition, e.g. ``{"region": StaticPartitions([...]),
        "day": DailyPartitions("2024-01-01")}``.
    """

    kind = "multi"
    _dims: tuple[tuple[str, PartitionsDefinition], ...]

    def __init__(self, dimensions: Mapping[str, PartitionsDefinition]) -> None:
        if not isinstance(dimensions, Mapping) or not dimensions:
            raise PartitionError(
                "MultiPartitions needs at least one dimension, as a dict such as "
                "{'region': StaticPartitions(['eu', 'us']), 'day': DailyPartitions('2024-01-01')}."
            )
        for name, definition in dimensions.items():
            _check_dimension(name, definition)
        self._set(_dims=tuple(dimensions.items()))

    @property
    def dimensions(self) -> dict[str, PartitionsDefinition]:
        """The dimensions in order (a copy)."""
        return dict(self._dims)

    @property
    def dimension_names(self) -> tuple[str, ...]:
        """The dimension names in order."""
        return tuple(name for name, _ in self._dims)

    def _example(self) -> str:
        return repr(MULTI_SEPARATOR.join(d._example().strip("'") for _, d in self._dims))

    def _identity(self) -> tuple[object, ...]:
        return self._dims

    def _arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (dict(self._dims),), {}

    def keys(self, *, now: datetime | None = None) -> list[tuple[Any, ...]]:
        """Every combination of the dimensions' keys, first dimension slowest."""
        return list(itertools.product(*(d.keys(now=now) for _, d in self._dims)))

    def count(self, *, now: datetime | None = None) -> int:
        """The product of the dimensions' counts."""
        return math.prod(d.count(now=now) for _, d in self._dims)

    def latest(self, *, now: datetime | None = None) -> tuple[Any, ...] | None:
        """The last key of every dimension, or ``None`` if one has no keys."""
        latest = tuple(d.latest(now=now) for _, d in self._dims)
        return None if any(value is None for value in latest) else latest

    def parse_key(self, raw: object, *, now: datetime | None = None) -> tuple[Any, ...]:
        """A tuple, a ``"eu|2024-01-31"`` string or a dict by dimension name."""
        parts = self._split(raw)
        return tuple(
            self._parse_part(name, definition, part, now)
            for (name, definition), part in zip(self._dims, parts, strict=True)
        )

    def _parse_part(
        self, name: str, definition: PartitionsDefinition, part: object, now: datetime | None
    ) -> Any:
        try:
            return definition.parse_key(part, now=now)
        except PartitionError as err:
            raise PartitionError(f"In dimension {name!r} of {self!r}: {err}") from err

    def _split(self, raw: object) -> Sequence[object]:
        names = self.dimension_names
        if isinstance(raw, Mapping):
            self._check_names(raw, f"Partition key {raw!r}", require_all=True)
            return [raw[name] for name in names]
        if isinstance(raw, str):
            parts: Sequence[object] = raw.split(MULTI_SEPARATOR)
        elif isinstance(raw, (tuple, list)):
            parts = raw
        else:
            raise PartitionError(
                f"Cannot read partition key {raw!r} for {self!r}: expected a tuple in dimension "
                f"order {names}, a string like {self._example()} or a dict by dimension name, "
                f"{got(raw)}."
            )
        if len(parts) != len(names):
            raise PartitionError(
                f"Partition key {raw!r} of {self!r} has {len(parts)} part(s); expected "
                f"{len(names)} parts, one per dimension {names}, e.g. {self._example()}."
            )
        return parts

    def _check_names(self, given: Mapping[Any, Any], what: str, *, require_all: bool) -> None:
        names = self.dimension_names
        unknown = [name for name in given if name not in names]
        if unknown:
            hint = did_you_mean(str(unknown[0]), names)
            raise PartitionError(
                f"{what} of {self!r} has unknown dimension(s) "
                f"{', '.join(repr(n) for n in unknown)}.{hint} The dimensions are {names}."
            )
        missing = [name for name in names if name not in given]
        if require_all and missing:
            raise PartitionError(
                f"{what} of {self!r} has missing dimension(s) "
                f"{', '.join(repr(n) for n in missing)}: give a value for each of {names}."
            )

    def key_str(self, key: object) -> str:
        """The dimensions' texts joined by ``"|"``."""
        parsed = self.parse_key(key)
        return MULTI_SEPARATOR.join(
            d.key_str(part) for (_, d), part in zip(self._dims, parsed, strict=True)
        )

    def context_value(self, key: object) -> MultiPartitionKey:
        """A :class:`MultiPartitionKey` with a field per dimension."""
        parsed = self.parse_key(key)
        values = (d.context_value(p) for (_, d), p in zip(self._dims, parsed, strict=True))
        return MultiPartitionKey(values, self.dimension_names)

    def time_dimension(self) -> str | None:
        """The name of the one time-based dimension, or ``None`` (none, or several)."""
        timed = [name for name, d in self._dims if d.is_time_based]
        return timed[0] if len(timed) == 1 else None

    def time_window(self, key: object) -> tuple[datetime, datetime] | None:
        """The window of the key's time dimension, when there is exactly one."""
        name = self.time_dimension()
        if name is None:
            return None
        position = self.dimension_names.index(name)
        return self._dims[position][1].time_window(self.parse_key(key)[position])

    def describe(self) -> str:
        """E.g. ``"multi partitions region x day: region (...) x day (...)"``."""
        parts = " x ".join(f"{name} ({d.describe()})" for name, d in self._dims)
        return f"multi partitions {' x '.join(self.dimension_names)}: {parts}"

    def _select_tuple(self, spec: tuple[Any, ...], now: datetime | None) -> list[Any]:
        try:
            return [self.parse_key(spec, now=now)]
        except PartitionError:
            return super()._select_tuple(spec, now)

    def _select_mapping(self, spec: Mapping[Any, Any], now: datetime | None) -> list[Any]:
        self._check_names(spec, f"The selection {dict(spec)!r}", require_all=False)
        chosen = (d.select(spec.get(name), now=now) for name, d in self._dims)
        return list(itertools.product(*chosen))


def _check_dimension(name: object, definition: object) -> None:
    if not isinstance(name, str) or not name:
        raise PartitionError(
            f"MultiPartitions dimension names must be non-empty strings, {got(name)}."
        )
    if not isinstance(definition, PartitionsDefinition):
        raise PartitionError(
            f"MultiPartitions dimension {name!r} must be a partitions definition such as "
            f"StaticPartitions([...]) or DailyPartitions('2024-01-01'), not "
            f"{type(definition).__name__} {definition!r}."
        )
    if isinstance(definition, MultiPartitions):
        raise PartitionError(
            f"MultiPartitions dimension {name!r} is itself a MultiPartitions: do not nest them, "
            "list all dimensions in one MultiPartitions."
        )
    if isinstance(definition, StaticPartitions):
        static_keys = definition.keys()
        for key in static_keys:
            if MULTI_SEPARATOR in key:
                raise PartitionError(
                    f"Static key {key!r} of dimension {name!r} contains {MULTI_SEPARATOR!r}, "
                    "which separates dimensions in multi keys: rename the key."
                )
