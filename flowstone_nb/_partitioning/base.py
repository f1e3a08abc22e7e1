"""The common interface of partitions definitions: listing, reading, showing and selecting keys.

This module owns :class:`PartitionsDefinition` (value semantics, selection by range, list, slice
or single key) and the message helpers every definition shares. The definitions themselves live in
:mod:`.time`, :mod:`.days`, :mod:`.hours`, :mod:`.static_multi` and :mod:`.function`; turning
``partitioned_by`` fields and spec strings into a definition lives in :mod:`.spec`. Definitions are
pure and stdlib-only because they are imported with the package: they must not run assets, store
anything or import pandas.

Key forms
---------
Every definition accepts its natural key value or a string form, and :meth:`key_str` writes a form
that :meth:`parse_key` reads back:

- daily: ``datetime.date``; ``"2024-01-31"`` (a midnight ``datetime`` is accepted too).
- weekly: the Monday ``date`` of an ISO week; ``"2024-01-29"`` or ``"2024-W05"``.
- monthly: the first ``date`` of the month; ``"2024-01"`` or ``"2024-01-01"``.
- hourly: an aware ``datetime`` in the definition's time zone, on the hour;
  ``"2024-01-31T05:00"``, ``"2024-01-31T05"``, ``"2024-01-31 05:00"``, optionally with a UTC
  offset (``"...+01:00"``, ``"Z"``).
  Naive values are wall-clock times in the definition's zone; a local hour that occurs twice (when
  clocks go back) is written with its offset, and a local hour that does not exist is refused.
- static and custom: the strings themselves.
- multi: a tuple in dimension order, ``"eu|2024-01-31"``, or ``{"region": "eu", "day": ...}``.

``end`` is inclusive; ``end=None`` means "up to now" (every period that has started). A time
definition without a ``start`` accepts any well-formed key but cannot list its keys.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from flowstone_nb._core.errors import PartitionError

__all__ = [
    "PREVIEW",
    "RANGE_SEPARATOR",
    "PartitionsDefinition",
    "UnreadableError",
    "got",
    "nearest_sentence",
    "preview_keys",
    "quote_key",
]

RANGE_SEPARATOR = ".."
PREVIEW = 10


# -- message helpers shared by every definition ---------------------------------------------------
class UnreadableError(Exception):
    """A raw value that is not a key of the expected form; ``reason`` says why (internal only)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def quote_key(raw: object) -> str:
    """Quote a raw key for messages: dates and datetimes in their ISO-like ``str`` form."""
    return repr(str(raw)) if isinstance(raw, date) else repr(raw)


def got(raw: object) -> str:
    """``"got TYPE VALUE"``, for a message about an unexpected value."""
    return f"got {type(raw).__name__} {raw!r}"


def nearest_sentence(texts: Sequence[str]) -> str:
    """A sentence naming the valid keys nearest to a wrong one (with a leading space)."""
    label = "Nearest valid key" if len(texts) == 1 else "Nearest valid keys"
    return f" {label}: {', '.join(repr(t) for t in texts)}."


def preview_keys(keys: Sequence[str], limit: int = PREVIEW) -> str:
    """The first ``limit`` keys, quoted, and how many there are when some are left out."""
    shown = ", ".join(repr(k) for k in keys[:limit])
    return f"{shown}, ... ({len(keys)} keys)" if len(keys) > limit else shown


def _rebuild(
    cls: type[PartitionsDefinition], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> PartitionsDefinition:
    """Unpickle a definition by calling its constructor again."""
    return cls(*args, **kwargs)


# -- the common interface -------------------------------------------------------------------------
class PartitionsDefinition(ABC):
    """The partition keys of an asset: listing, reading, showing and selecting them.

    Definitions are immutable values: equal when their parameters are equal, hashable, picklable.

    Attributes
    ----------
    kind
        ``"daily"``, ``"hourly"``, ``"weekly"``, ``"monthly"``, ``"static"``, ``"multi"``, or for
        :class:`FunctionPartitions` the seed kind ``"date"``, ``"datetime"`` or ``"custom"``.
    keys_read_plainly
        Whether every key's text is its plain form (a date's ISO text), so that a stored key
        reads without this definition parsing it (a named fast path of
        :func:`~flowstone_nb._partitioning.display.stored_key_text`, tested equal to the
        general one).
    """

    kind: str
    keys_read_plainly: ClassVar[bool] = False

    @abstractmethod
    def _example(self) -> str:
        """A quoted example key for messages."""

    # -- value semantics ---------------------------------------------------------------------
    @abstractmethod
    def _identity(self) -> tuple[object, ...]:
        """The parameters that make two definitions equal."""

    @abstractmethod
    def _arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Constructor arguments that rebuild this definition (for repr and pickling)."""

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, PartitionsDefinition)
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._identity()))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(
            f"{type(self).__name__} is immutable: build a new definition instead of setting "
            f"{name!r}."
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: {name!r} cannot be deleted.")

    def __reduce__(self) -> tuple[Any, ...]:
        args, kwargs = self._arguments()
        return (_rebuild, (type(self), args, kwargs))

    def __repr__(self) -> str:
        args, kwargs = self._arguments()
        shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        return f"{type(self).__name__}({', '.join(shown)})"

    # -- the public interface ----------------------------------------------------------------
    @abstractmethod
    def keys(self, *, now: datetime | None = None) -> list[Any]:
        """All keys in order (chronological for time, declared for static).

        Parameters
        ----------
        now
            The current time for definitions without an end (default: the clock).
        """

    @abstractmethod
    def parse_key(self, raw: object, *, now: datetime | None = None) -> Any:
        """The key that ``raw`` (a key or its string form) names.

        Raises
        ------
        PartitionError
            Naming the key, this definition, the expected form and the nearest valid keys.
        """

    @abstractmethod
    def key_str(self, key: object) -> str:
        """A readable form of ``key`` that :meth:`parse_key` reads back."""

    @abstractmethod
    def describe(self) -> str:
        """A one-line description for people."""

    @property
    def is_time_based(self) -> bool:
        """True when every key covers a period of time (see :meth:`time_window`)."""
        return False

    def count(self, *, now: datetime | None = None) -> int:
        """How many keys :meth:`keys` lists."""
        return len(self.keys(now=now))

    def latest(self, *, now: datetime | None = None) -> Any:
        """The last key (for an open end: the latest started period), or ``None``."""
        keys = self.keys(now=now)
        return keys[-1] if keys else None

    def time_window(self, key: object) -> tuple[datetime, datetime] | None:
        """The half-open period ``[start, end)`` a key covers, or ``None`` if it is not a time."""
        return None

    def context_value(self, key: object) -> Any:
        """The value user code receives as ``context.partition`` for ``key``."""
        return self.parse_key(key)

    def __contains__(self, raw: object) -> bool:
        try:
            self.parse_key(raw)
        except PartitionError:
            return False
        return True

    # -- selection ---------------------------------------------------------------------------
    def select(self, spec: object = None, *, now: datetime | None = None) -> list[Any]:
        """The keys that ``spec`` selects, in key order.

        Parameters
        ----------
        spec
            ``None`` (all keys); a range ``"FIRST..LAST"`` (inclusive, either side may be empty
            for an open end), a tuple ``(FIRST, LAST)`` or a ``slice(FIRST, LAST)`` (also
            inclusive); a list or set of keys (sorted, duplicates dropped); or a single key.
            Time ranges may use coarser bounds (``"2024-01-02..2024-01-03"`` on hourly keys).
            For :class:`MultiPartitions`, also ``{dimension: spec}`` (missing dimensions: all).
        now
            The current time for definitions without an end.
        """
        if spec is None:
            return self.keys(now=now)
        selectors: tuple[tuple[type, Callable[[Any, datetime | None], list[Any]]], ...] = (
            (slice, self._select_slice),
            (str, self._select_text),
            (tuple, self._select_tuple),
            (Mapping, self._select_mapping),
            (Iterable, self._select_many),
        )
        for kind, selector in selectors:
            if isinstance(spec, kind):
                return selector(spec, now)
        return [self.parse_key(spec, now=now)]

    def _select_slice(self, spec: slice, now: datetime | None) -> list[Any]:
        if spec.step is not None:
            raise PartitionError(
                f"A slice of {self!r} takes no step, got {spec!r}: use slice(FIRST, LAST)."
            )
        return self._select_range(spec.start, spec.stop, now, repr(spec))

    def _select_many(self, spec: Iterable[object], now: datetime | None) -> list[Any]:
        keys = dict.fromkeys(self.parse_key(raw, now=now) for raw in spec)
        return self._sorted(list(keys), now)

    def _select_text(self, text: str, now: datetime | None) -> list[Any]:
        stripped = text.strip()
        if RANGE_SEPARATOR in stripped:
            try:
                return [self.parse_key(stripped, now=now)]
            except PartitionError:
                return self._select_range_text(text, stripped, now)
        return [self.parse_key(stripped, now=now)]

    def _select_range_text(self, text: str, stripped: str, now: datetime | None) -> list[Any]:
        parts = stripped.split(RANGE_SEPARATOR)
        if len(parts) != 2:
            raise self._range_error(repr(text), "it has more than one '..'")
        first, last = (part.strip() or None for part in parts)
        if first is None and last is None:
            raise self._range_error(repr(text), "both ends are empty")
        return self._select_range(first, last, now, repr(text))

    def _select_tuple(self, spec: tuple[Any, ...], now: datetime | None) -> list[Any]:
        if len(spec) != 2:
            raise PartitionError(
                f"A tuple selects a range (FIRST, LAST) of {self!r}, but {spec!r} has "
                f"{len(spec)} items: pass a list to select several keys."
            )
        return self._select_range(spec[0], spec[1], now, repr(spec))

    def _select_mapping(self, spec: Mapping[Any, Any], now: datetime | None) -> list[Any]:
        raise PartitionError(
            f"A per-dimension selection {dict(spec)!r} needs MultiPartitions; {self!r} has one "
            "dimension: pass the key, range or list directly."
        )

    def _range_error(self, text: str, reason: str) -> PartitionError:
        return PartitionError(
            f"Cannot read the range {text} of {self!r}: {reason}. Expected FIRST..LAST "
            f"(inclusive) with keys like {self._example()}; leave a side empty for an open end, "
            "e.g. 'FIRST..'."
        )

    def _reversed_error(self, text: str, first: str, last: str) -> PartitionError:
        return PartitionError(
            f"The range {text} of {self!r} is reversed: {first!r} comes after {last!r}. "
            f"Write it as FIRST..LAST, e.g. '{last}..{first}'."
        )

    def _parse_bound(self, raw: object, text: str, now: datetime | None) -> Any:
        try:
            return self.parse_key(raw, now=now)
        except PartitionError as err:
            raise PartitionError(f"In the range {text}: {err}") from err

    def _select_range(
        self, first: object, last: object, now: datetime | None, text: str
    ) -> list[Any]:
        keys = self.keys(now=now)
        positions = {key: i for i, key in enumerate(keys)}
        lo = 0 if first is None else positions[self._parse_bound(first, text, now)]
        hi = len(keys) - 1 if last is None else positions[self._parse_bound(last, text, now)]
        if lo > hi:
            raise self._reversed_error(text, self.key_str(keys[lo]), self.key_str(keys[hi]))
        return keys[lo : hi + 1]

    def _sorted(self, keys: list[Any], now: datetime | None) -> list[Any]:
        positions = {key: i for i, key in enumerate(self.keys(now=now))}
        return sorted(keys, key=positions.__getitem__)
