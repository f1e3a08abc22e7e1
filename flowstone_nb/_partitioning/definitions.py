"""Partitions definitions: which keys an asset has, and how keys are read, shown and selected.

This module owns the definitions (daily, hourly, weekly, monthly, static, multi-dimensional and the
seed form whose ``partition_fn`` lists the keys), reading raw keys (:meth:`parse_key`), showing them
(:meth:`key_str`), selecting them (:meth:`select`), their time windows, and turning the Asset fields
(``partitioned_by``/``partition_fn``) and ``%%asset --partitioned-by`` spec strings into a
definition. It is pure and stdlib-only because it is imported with the package: it must not run
assets, store anything or import pandas.

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

Aware datetimes (hourly keys, time windows) carry a fixed UTC offset rather than the ``ZoneInfo``:
Python compares and subtracts two datetimes of the same ``ZoneInfo`` by wall clock (PEP 495), so
the two 02:00 hours of a day when clocks go back would be "equal" and a 23-hour day would last 24.
With fixed offsets, keys compare, hash and subtract as instants. :meth:`context_value` hands user
code the datetime in the definition's ``ZoneInfo``.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
import zoneinfo
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, ClassVar

from flowstone_nb._core.errors import PartitionError, did_you_mean

__all__ = [
    "DailyPartitions",
    "FunctionPartitions",
    "HourlyPartitions",
    "MonthlyPartitions",
    "MultiPartitionKey",
    "MultiPartitions",
    "PartitionsDefinition",
    "StaticPartitions",
    "TimePartitions",
    "WeeklyPartitions",
    "parse_partition_spec",
    "partition_spec_issues",
    "resolve_partitions",
]

RANGE_SEPARATOR = ".."
MULTI_SEPARATOR = "|"
SEED_KINDS = ("date", "datetime", "custom")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR = timedelta(hours=1)
_PREVIEW = 10


# -- small helpers --------------------------------------------------------------------------------
class _UnreadableError(Exception):
    """A raw value that is not a key of the expected form; ``reason`` says why (internal only)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _show(raw: object) -> str:
    """Quote a raw key for messages: dates and datetimes in their ISO-like ``str`` form."""
    return repr(str(raw)) if isinstance(raw, date) else repr(raw)


def _got(raw: object) -> str:
    return f"got {type(raw).__name__} {raw!r}"


def _nearest_sentence(texts: Sequence[str]) -> str:
    label = "Nearest valid key" if len(texts) == 1 else "Nearest valid keys"
    return f" {label}: {', '.join(repr(t) for t in texts)}."


def _preview(keys: Sequence[str], limit: int = _PREVIEW) -> str:
    shown = ", ".join(repr(k) for k in keys[:limit])
    return f"{shown}, ... ({len(keys)} keys)" if len(keys) > limit else shown


def _zone(name: object) -> tzinfo:
    """The ``tzinfo`` for an IANA zone name (``"UTC"`` is the fast built-in one)."""
    if name == "UTC":
        return UTC
    if isinstance(name, str) and name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    hint = did_you_mean(name, zoneinfo.available_timezones()) if isinstance(name, str) else ""
    raise PartitionError(
        f"Unknown time zone {name!r}.{hint} Use an IANA name such as 'Europe/Paris', or 'UTC'."
    )


@functools.lru_cache(maxsize=64)
def _offset_zone(offset: timedelta) -> tzinfo:
    return UTC if offset == timedelta(0) else timezone(offset)


def _fixed(value: datetime) -> datetime:
    """The same instant and wall clock, with a fixed-offset zone (see the module docstring)."""
    if value.tzinfo is UTC:
        return value
    offset = value.utcoffset()
    assert offset is not None, "only called with aware datetimes"
    return value.replace(tzinfo=_offset_zone(offset), fold=0)


def _aware_now(now: datetime | None, zone: tzinfo) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=zone)


_MONTH_TEXT = re.compile(r"(\d{4})-(\d{2})")
_WEEK_TEXT = re.compile(r"(\d{4})-?W(\d{2})")
_DAY_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}.*")


def _read_time_text(text: str, forms: frozenset[str]) -> date | None:
    """Read ``text`` in one of ``forms`` ("month", "week", "day", "time"), or ``None``."""
    try:
        if "month" in forms and (match := _MONTH_TEXT.fullmatch(text)):
            return date(int(match[1]), int(match[2]), 1)
        if "week" in forms and (match := _WEEK_TEXT.fullmatch(text)):
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        if "day" in forms and _DAY_TEXT.fullmatch(text):
            return date.fromisoformat(text)
        if "time" in forms and _TIME_TEXT.fullmatch(text):
            return datetime.fromisoformat(text)
    except ValueError:
        return None
    return None


def _read_time_value(raw: object, forms: frozenset[str], expected: str) -> date:
    """A ``date`` or ``datetime`` from a raw key; raises :class:`_UnreadableError`."""
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        value = _read_time_text(raw.strip(), forms)
        if value is not None:
            return value
    raise _UnreadableError(f"expected {expected}, {_got(raw)}")


def _format_datetime(value: datetime) -> str:
    """ISO text without needless seconds; the offset only when it is not UTC's."""
    timespec = "seconds" if value.second else "minutes"
    timespec = "microseconds" if value.microsecond else timespec
    text = value.replace(tzinfo=None).isoformat(timespec=timespec)
    if value.utcoffset() == timedelta(0):
        return text
    return value.isoformat(timespec=timespec)


def _plain_datetime(value: datetime) -> datetime:
    """A plain ``datetime`` from a subclass such as a pandas ``Timestamp``."""
    if type(value) is datetime:
        return value
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=value.tzinfo,
        fold=value.fold,
    )


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
    """

    kind: str

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


# -- time partitions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Point:
    """Where a raw time value falls: the period containing it and whether it starts one.

    ``last`` is the last period the value covers (a whole day given to an hourly definition).
    """

    index: int
    last: int
    aligned: bool


class TimePartitions(PartitionsDefinition):
    """Keys that are consecutive periods of time (days, hours, weeks, months) in a time zone.

    Each period has an integer *index* (e.g. the day's ordinal), so that listing, membership and
    ranges are arithmetic. The bounds accept a ``date``, a ``datetime`` or an ISO string and are
    rounded to the period containing them (an ``end`` given as a day, for hourly keys, means that
    day's last hour).

    Parameters
    ----------
    start
        The first period, or ``None`` for a definition that accepts any well-formed key.
    end
        The last period (inclusive), or ``None`` for "up to now".
    timezone
        The IANA zone the periods are counted in.
    """

    unit: ClassVar[str]
    article: ClassVar[str] = "a"
    expected: ClassVar[str]
    sample: ClassVar[str]
    _forms: ClassVar[frozenset[str]]
    start: Any
    end: Any
    timezone: str
    tzinfo: tzinfo
    _lo: int | None
    _hi: int | None

    def __init__(
        self,
        start: date | str | None = None,
        end: date | str | None = None,
        *,
        timezone: str = "UTC",
    ) -> None:
        self._set(tzinfo=_zone(timezone), timezone=timezone)
        self._setup()
        lo = None if start is None else self._bound(start, "start")
        hi = None if end is None else self._bound(end, "end")
        if lo is not None and hi is not None and lo > hi:
            raise PartitionError(
                f"{type(self).__name__} start {self._text(lo)!r} is after its end "
                f"{self._text(hi)!r}: swap them, or fix the dates."
            )
        self._set(
            _lo=lo,
            _hi=hi,
            start=None if lo is None else self.key_at(lo),
            end=None if hi is None else self.key_at(hi),
        )

    def _setup(self) -> None:
        """Prepare anything :meth:`_point` needs before the bounds are read."""

    def _bound(self, raw: object, role: str) -> int:
        try:
            point = self._point(raw)
        except _UnreadableError as err:
            raise PartitionError(
                f"Cannot read the {role} {_show(raw)} of {type(self).__name__}: {err.reason}."
            ) from err
        return point.index if role == "start" else point.last

    # -- what each granularity provides -----------------------------------------------------
    @abstractmethod
    def _point(self, raw: object) -> _Point:
        """Where ``raw`` falls; raises :class:`_UnreadableError`."""

    @abstractmethod
    def key_at(self, index: int) -> Any:
        """The key of the period with this index."""

    @abstractmethod
    def index_at(self, instant: datetime) -> int:
        """The index of the period containing ``instant`` (naive: in this time zone)."""

    @abstractmethod
    def window_at(self, index: int) -> tuple[datetime, datetime]:
        """The half-open period ``[start, end)`` of this index, as aware datetimes."""

    @abstractmethod
    def _format(self, key: Any) -> str:
        """The display text of a key in canonical form."""

    # -- value semantics ---------------------------------------------------------------------
    def _identity(self) -> tuple[object, ...]:
        return (self._lo, self._hi, self.timezone)

    def _arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        first = None if self._lo is None else self._text(self._lo)
        args: tuple[Any, ...] = (first,) if self._hi is None else (first, self._text(self._hi))
        kwargs = {} if self.timezone == "UTC" else {"timezone": self.timezone}
        return args, kwargs

    def _text(self, index: int) -> str:
        return self._format(self.key_at(index))

    def _example(self) -> str:
        return self.sample

    @property
    def is_time_based(self) -> bool:
        """Always true: every key is a period of time."""
        return True

    # -- indexes -----------------------------------------------------------------------------
    def index_of(self, raw: object) -> int:
        """The index of a key (any accepted form), whether or not it is within the bounds.

        Raises
        ------
        PartitionError
            When ``raw`` is not a key of this granularity.
        """
        point = self._read(raw)
        if not point.aligned:
            raise self._unaligned_error(raw, point.index, None)
        return point.index

    def index_bounds(self, *, now: datetime | None = None) -> tuple[int | None, int | None]:
        """The first and last index (``None`` where unbounded)."""
        return self._lo, self._hi_at(now)

    def _hi_at(self, now: datetime | None) -> int | None:
        if self._hi is not None or self._lo is None:
            return self._hi
        return self.index_at(_aware_now(now, self.tzinfo))

    def _read(self, raw: object) -> _Point:
        try:
            return self._point(raw)
        except _UnreadableError as err:
            raise PartitionError(
                f"Cannot read partition key {_show(raw)} for {self!r}: {err.reason}."
            ) from err

    def _require_start(self, action: str) -> int:
        if self._lo is None:
            raise PartitionError(
                f"{self!r} has no start, so it cannot {action}: give a start, e.g. "
                f"{type(self).__name__}({self._example()}), or a partition_fn that lists the keys."
            )
        return self._lo

    def _nearest(self, indexes: Iterable[int], now: datetime | None) -> list[str]:
        lo, hi = self._lo, self._hi_at(now)
        texts: dict[str, None] = {}
        for index in indexes:
            clipped = max(index, lo) if lo is not None else index
            clipped = min(clipped, hi) if hi is not None else clipped
            try:
                texts[self._text(clipped)] = None
            except (ValueError, OverflowError):
                continue  # beyond the calendar (year 9999): no neighbour on that side
        return list(texts)

    def _unaligned_error(self, raw: object, index: int, now: datetime | None) -> PartitionError:
        nearest = _nearest_sentence(self._nearest((index, index + 1), now))
        return PartitionError(
            f"{_show(raw)} is not the start of {self.article} {self.unit} of {self!r}: "
            f"expected {self.expected}.{nearest}"
        )

    def _check_in_range(self, raw: object, index: int, now: datetime | None) -> None:
        lo, hi = self._lo, self._hi_at(now)
        if lo is not None and index < lo:
            first = self._text(lo)
            raise PartitionError(
                f"Partition key {_show(raw)} is before the first key {first!r} of "
                f"{self!r}.{_nearest_sentence([first])}"
            )
        if hi is not None and index > hi:
            last = self._text(hi)
            if self._hi is None:
                raise PartitionError(
                    f"Partition key {_show(raw)} has not started yet: {self!r} has no end, so "
                    f"its keys run up to the current {self.unit} ({last!r})."
                    f"{_nearest_sentence([last])}"
                )
            raise PartitionError(
                f"Partition key {_show(raw)} is after the last key {last!r} of "
                f"{self!r}.{_nearest_sentence([last])}"
            )

    # -- the public interface ----------------------------------------------------------------
    def keys(self, *, now: datetime | None = None) -> list[Any]:
        """All periods from ``start`` to ``end`` (or now), oldest first."""
        lo = self._require_start("list its keys")
        hi = self._hi_at(now)
        assert hi is not None
        return self._keys_between(lo, hi)

    def _keys_between(self, lo: int, hi: int) -> list[Any]:
        return list(map(self.key_at, range(lo, hi + 1)))

    def count(self, *, now: datetime | None = None) -> int:
        """How many periods :meth:`keys` lists, without listing them."""
        lo = self._require_start("count its keys")
        hi = self._hi_at(now)
        assert hi is not None
        return max(0, hi - lo + 1)

    def latest(self, *, now: datetime | None = None) -> Any:
        """The last key: ``end``, or the latest started period; ``None`` before ``start``."""
        hi = self._hi_at(now)
        if hi is None:
            hi = self.index_at(_aware_now(now, self.tzinfo))
        if self._lo is not None and hi < self._lo:
            return None
        return self.key_at(hi)

    def parse_key(self, raw: object, *, now: datetime | None = None) -> Any:
        """The key ``raw`` names (see the module docstring for the accepted forms)."""
        point = self._read(raw)
        if not point.aligned:
            raise self._unaligned_error(raw, point.index, now)
        self._check_in_range(raw, point.index, now)
        return self.key_at(point.index)

    def key_str(self, key: object) -> str:
        """The canonical text of ``key``."""
        return self._text(self.index_of(key))

    def time_window(self, key: object) -> tuple[datetime, datetime]:
        """The half-open period ``[start, end)`` of ``key``, as aware datetimes."""
        return self.window_at(self.index_of(key))

    def describe(self) -> str:
        """E.g. ``"daily partitions from 2024-01-01 to 2024-03-31 (91 keys)"``."""
        if self._lo is None:
            upto = "" if self._hi is None else f" up to {self._text(self._hi)}"
            text = (
                f"{self.kind} partitions for any {self.unit}{upto} "
                "(no start: give one to list keys)"
            )
        elif self._hi is None:
            text = (
                f"{self.kind} partitions from {self._text(self._lo)} up to the current {self.unit}"
            )
        else:
            text = (
                f"{self.kind} partitions from {self._text(self._lo)} to {self._text(self._hi)} "
                f"({self._hi - self._lo + 1} keys)"
            )
        return text if self.timezone == "UTC" else f"{text}, in {self.timezone}"

    # -- selection by index arithmetic -------------------------------------------------------
    def _range_bound(self, raw: object, role: str, text: str) -> int:
        try:
            point = self._point(raw)
        except _UnreadableError as err:
            raise self._range_error(text, err.reason) from err
        return point.index if role == "start" else point.last

    def _select_range(
        self, first: object, last: object, now: datetime | None, text: str
    ) -> list[Any]:
        lo_def, hi_def = self._lo, self._hi_at(now)
        if first is None:
            lo = self._require_start(f"select the open range {text}")
        else:
            lo = self._range_bound(first, "start", text)
        if last is not None:
            hi = self._range_bound(last, "end", text)
        else:
            hi = hi_def if hi_def is not None else self.index_at(_aware_now(now, self.tzinfo))
        if lo > hi:
            raise self._reversed_error(text, self._text(lo), self._text(hi))
        if lo_def is not None and lo < lo_def:
            raise PartitionError(
                f"The range {text} starts before the first key {self._text(lo_def)!r} of "
                f"{self!r}: start it at or after that key."
            )
        if hi_def is not None and hi > hi_def:
            why = (
                f" (it has no end, so its keys stop at the current {self.unit})"
                if self._hi is None
                else ""
            )
            raise PartitionError(
                f"The range {text} ends after the last key {self._text(hi_def)!r} of "
                f"{self!r}{why}: end it at or before that key."
            )
        return self._keys_between(lo, hi)

    def _sorted(self, keys: list[Any], now: datetime | None) -> list[Any]:
        return sorted(keys, key=self.index_of)


class _DayBasedPartitions(TimePartitions):
    """Periods made of whole local days: days, ISO weeks, months."""

    @abstractmethod
    def _date_index(self, day: date) -> tuple[int, bool]:
        """The index of the period containing ``day`` and whether ``day`` starts it."""

    def _point(self, raw: object) -> _Point:
        value = _read_time_value(raw, self._forms, self.expected)
        if isinstance(value, datetime):
            local = value if value.tzinfo is None else value.astimezone(self.tzinfo)
            index, aligned = self._date_index(local.date())
            return _Point(index, index, aligned and local.time() == time())
        index, aligned = self._date_index(value)
        return _Point(index, index, aligned)

    def index_at(self, instant: datetime) -> int:
        """The index of the period containing ``instant`` (naive: in this time zone)."""
        local = instant if instant.tzinfo is None else instant.astimezone(self.tzinfo)
        return self._date_index(local.date())[0]

    def window_at(self, index: int) -> tuple[datetime, datetime]:
        """From local midnight of the period's first day to that of the next period."""
        return (
            _fixed(datetime.combine(self.key_at(index), time(), tzinfo=self.tzinfo)),
            _fixed(datetime.combine(self.key_at(index + 1), time(), tzinfo=self.tzinfo)),
        )


class DailyPartitions(_DayBasedPartitions):
    """One partition per day; keys are ``datetime.date``.

    Examples
    --------
    >>> DailyPartitions("2024-01-01", "2024-01-03").keys()[-1]
    datetime.date(2024, 1, 3)
    """

    kind = "daily"
    unit = "day"
    expected = "a date like '2024-01-31' (a datetime.date or 'YYYY-MM-DD')"
    sample = "'2024-01-31'"
    _forms = frozenset({"day", "time"})

    def _date_index(self, day: date) -> tuple[int, bool]:
        return day.toordinal(), True

    def key_at(self, index: int) -> date:
        """The day with this ordinal."""
        return date.fromordinal(index)

    def _keys_between(self, lo: int, hi: int) -> list[Any]:
        return list(map(date.fromordinal, range(lo, hi + 1)))

    def _format(self, key: date) -> str:
        return key.isoformat()


class WeeklyPartitions(_DayBasedPartitions):
    """One partition per ISO week (Monday to Sunday); keys are the Monday ``date``."""

    kind = "weekly"
    unit = "week"
    expected = "the Monday of an ISO week, like '2024-01-29' or '2024-W05'"
    sample = "'2024-01-29'"
    _forms = frozenset({"week", "day", "time"})

    def _date_index(self, day: date) -> tuple[int, bool]:
        # Ordinal 1 (0001-01-01) is a Monday, so weeks are blocks of 7 ordinals from there.
        return (day.toordinal() - 1) // 7, day.weekday() == 0

    def key_at(self, index: int) -> date:
        """The Monday of the week with this index."""
        return date.fromordinal(index * 7 + 1)

    def _format(self, key: date) -> str:
        return key.isoformat()


class MonthlyPartitions(_DayBasedPartitions):
    """One partition per calendar month; keys are the first ``date`` of the month."""

    kind = "monthly"
    unit = "month"
    expected = "a month like '2024-01' (or the date of its first day)"
    sample = "'2024-01'"
    _forms = frozenset({"month", "day", "time"})

    def _date_index(self, day: date) -> tuple[int, bool]:
        return day.year * 12 + day.month - 1, day.day == 1

    def key_at(self, index: int) -> date:
        """The first day of the month with this index."""
        return date(index // 12, index % 12 + 1, 1)

    def _format(self, key: date) -> str:
        return f"{key.year:04d}-{key.month:02d}"


class HourlyPartitions(TimePartitions):
    """One partition per hour; keys are aware ``datetime`` values in the definition's zone.

    Hours are counted in absolute time, so a day when clocks jump forward has 23 keys and one
    when they go back has 25 (two keys share a local hour and differ by their offset).
    """

    kind = "hourly"
    unit = "hour"
    article = "an"
    expected = "an hour like '2024-01-31T05:00' (a datetime on the hour, optionally with an offset)"
    sample = "'2024-01-31T05:00'"
    _forms = frozenset({"day", "time"})
    _grid: timedelta

    def _setup(self) -> None:
        # Zones such as Asia/Kolkata (+05:30) start their local hours at :30 UTC.
        offset = self.tzinfo.utcoffset(datetime(2000, 1, 1)) or timedelta(0)
        self._set(_grid=offset % _HOUR)

    def _instant(self, value: datetime) -> datetime:
        if value.tzinfo is not None:
            return value
        aware = value.replace(tzinfo=self.tzinfo)
        if aware.astimezone(UTC).astimezone(self.tzinfo).replace(tzinfo=None) != value:
            raise _UnreadableError(
                f"{value} does not exist in {self.timezone} (the clocks jump over it)"
            )
        return aware

    def _point(self, raw: object) -> _Point:
        value = _read_time_value(raw, self._forms, self.expected)
        if not isinstance(value, datetime):
            first = self.index_at(self._instant(datetime.combine(value, time())))
            following = datetime.combine(value + timedelta(days=1), time())
            return _Point(first, self.index_at(self._instant(following)) - 1, False)
        offset = self._instant(value) - _EPOCH - self._grid
        index = offset // _HOUR
        return _Point(index, index, offset % _HOUR == timedelta(0))

    def key_at(self, index: int) -> datetime:
        """The start of the hour with this index, at the zone's offset then."""
        return _fixed((_EPOCH + self._grid + index * _HOUR).astimezone(self.tzinfo))

    def index_at(self, instant: datetime) -> int:
        """The index of the hour containing ``instant`` (naive: in this time zone)."""
        return (self._instant(instant) - _EPOCH - self._grid) // _HOUR

    def window_at(self, index: int) -> tuple[datetime, datetime]:
        """One hour of absolute time."""
        return self.key_at(index), self.key_at(index + 1)

    def context_value(self, key: object) -> datetime:
        """The key as a datetime in the definition's ``ZoneInfo`` (UTC stays UTC)."""
        parsed: datetime = self.parse_key(key)
        return parsed.astimezone(self.tzinfo)

    def _format(self, key: datetime) -> str:
        local = key.astimezone(self.tzinfo)
        twin = local.replace(fold=1 - local.fold)
        if twin.utcoffset() != local.utcoffset():
            return local.isoformat(timespec="minutes")
        return local.replace(tzinfo=None).isoformat(timespec="minutes")


_TIME_CLASSES: dict[str, type[TimePartitions]] = {
    "daily": DailyPartitions,
    "hourly": HourlyPartitions,
    "weekly": WeeklyPartitions,
    "monthly": MonthlyPartitions,
}


# -- static partitions ----------------------------------------------------------------------------
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
            raise PartitionError(f"StaticPartitions takes a list of keys, {_got(keys)}.")
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
                f"keys ({_preview(self._keys)}), {_got(raw)}."
            )
        raise PartitionError(
            f"Unknown partition key {raw!r} for {self!r}.{did_you_mean(raw, self._keys)} "
            f"Valid keys: {_preview(self._keys)}."
        )

    def key_str(self, key: object) -> str:
        """The key itself."""
        return self.parse_key(key)

    def describe(self) -> str:
        """E.g. ``"3 static partitions: eu, us, apac"``."""
        shown = ", ".join(self._keys[:_PREVIEW])
        more = ", ..." if len(self._keys) > _PREVIEW else ""
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
                f"{_got(raw)}."
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
            f"MultiPartitions dimension names must be non-empty strings, {_got(name)}."
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


# -- the seed form: partitioned_by="date"|"datetime"|"custom" with a partition_fn --------------
def _function_name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    return f"{module}.{qualname}" if module and qualname else repr(fn)


def _coerce_date(value: object) -> date:
    if isinstance(value, datetime):
        if value.time() != time() or (value.tzinfo is not None and value.utcoffset()):
            raise _UnreadableError(f"{_show(value)} is not a date (it has a time of day)")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DAY_TEXT.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _UnreadableError(f"expected a date like '2024-01-31', {_got(value)}")


def _coerce_datetime(value: object) -> datetime:
    if isinstance(value, str):
        parsed = _read_time_text(value.strip(), frozenset({"time"}))
        value = parsed if parsed is not None else value
    if isinstance(value, datetime):
        plain = _plain_datetime(value)
        return _fixed(plain) if plain.utcoffset() is not None else plain.replace(tzinfo=UTC)
    raise _UnreadableError(f"expected a datetime like '2024-01-31T05:00', {_got(value)}")


def _coerce_custom(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _UnreadableError(
        f"custom partition keys are strings, {_got(value)}: return {str(value)!r} if that is meant"
    )


_COERCERS: dict[str, Callable[[object], Any]] = {
    "date": _coerce_date,
    "datetime": _coerce_datetime,
    "custom": _coerce_custom,
}


class FunctionPartitions(PartitionsDefinition):
    """Keys listed by a function each time they are needed (the seed ``partition_fn`` form).

    Nothing is cached: the function may return more keys over time.

    Parameters
    ----------
    kind
        ``"date"`` (the function returns dates or ISO date strings), ``"datetime"`` (datetimes;
        naive ones are taken as UTC) or ``"custom"`` (strings, kept in the returned order).
    fn
        A function without arguments returning an iterable of keys; duplicates are dropped.
    """

    fn: Callable[[], Iterable[Any]]

    def __init__(self, kind: str, fn: Callable[[], Iterable[Any]]) -> None:
        if kind not in SEED_KINDS:
            raise PartitionError(
                f"Unknown partition kind {kind!r} for a partition_fn."
                f"{did_you_mean(kind, SEED_KINDS)}"
                " Use 'date' (the function returns dates), 'datetime' (datetimes) or 'custom' "
                "(strings)."
            )
        if not callable(fn):
            raise PartitionError(
                "partition_fn must be callable (a function returning the partition keys), "
                f"not {type(fn).__name__} {fn!r}."
            )
        self._set(kind=kind, fn=fn)

    def _example(self) -> str:
        return {"date": "'2024-01-31'", "datetime": "'2024-01-31T05:00'"}.get(self.kind, "'key'")

    @property
    def is_time_based(self) -> bool:
        """True for ``"date"`` keys, which are whole (UTC) days."""
        return self.kind == "date"

    def _identity(self) -> tuple[object, ...]:
        return (self.kind, self.fn)

    def _arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.kind, self.fn), {}

    def __repr__(self) -> str:
        return f"FunctionPartitions({self.kind!r}, {_function_name(self.fn)})"

    def _call(self) -> list[Any]:
        name = _function_name(self.fn)
        try:
            result = self.fn()
            if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
                raise PartitionError(
                    f"partition_fn {name} must return an iterable of keys (e.g. a list), but "
                    f"returned {type(result).__name__} {result!r}."
                )
            return list(result)
        except PartitionError:
            raise
        except Exception as err:
            raise PartitionError(
                f"partition_fn {name} raised {type(err).__name__}: {err}. Fix the function; it is "
                "called whenever the keys are needed."
            ) from err

    def _coerce(self, raw: object) -> Any:
        try:
            return _COERCERS[self.kind](raw)
        except _UnreadableError as err:
            raise PartitionError(
                f"Cannot read partition key {_show(raw)} for {self!r}: {err.reason}."
            ) from err

    def keys(self, *, now: datetime | None = None) -> list[Any]:
        """Call the function: time keys sorted, custom keys in the returned order."""
        coerce = _COERCERS[self.kind]
        keys: dict[Any, None] = {}
        for value in self._call():
            try:
                keys[coerce(value)] = None
            except _UnreadableError as err:
                raise PartitionError(
                    f"partition_fn {_function_name(self.fn)} returned a value that is not a "
                    f"{self.kind} key: {err.reason}."
                ) from err
        return list(keys) if self.kind == "custom" else sorted(keys)

    def parse_key(self, raw: object, *, now: datetime | None = None) -> Any:
        """The listed key that ``raw`` names."""
        candidate = self._coerce(raw)
        keys = self.keys()
        listed = {key: key for key in keys}
        if candidate in listed:
            return listed[candidate]
        if not keys:
            raise PartitionError(
                f"{self!r} has no keys (the function returned none), so {_show(raw)} is not one "
                "of them."
            )
        raise PartitionError(
            f"Unknown partition key {_show(raw)} for {self!r}.{self._hint(candidate, keys)}"
        )

    def _hint(self, candidate: Any, keys: list[Any]) -> str:
        if self.kind == "custom":
            texts = [str(k) for k in keys]
            return f"{did_you_mean(candidate, texts)} Valid keys: {_preview(texts)}."
        at = bisect.bisect_left(keys, candidate)
        return _nearest_sentence([self.key_str(k) for k in keys[max(0, at - 1) : at + 1]])

    def key_str(self, key: object) -> str:
        """ISO text for time keys, the string itself for custom keys."""
        value = self._coerce(key)
        if isinstance(value, datetime):
            return _format_datetime(value)
        return value.isoformat() if isinstance(value, date) else str(value)

    def time_window(self, key: object) -> tuple[datetime, datetime] | None:
        """The UTC day of a ``"date"`` key; ``None`` for other kinds."""
        if self.kind != "date":
            return None
        day = self._coerce(key)
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start, start + timedelta(days=1)

    def describe(self) -> str:
        """E.g. ``"custom partitions listed by mymodule.regions()"``."""
        return f"{self.kind} partitions listed by {_function_name(self.fn)}()"


# -- Asset fields and spec strings ----------------------------------------------------------------
_SPEC_FORMS = (
    "daily:2024-01-01[:2024-03-31], hourly:2024-01-01T00[:2024-01-02T23], "
    "weekly:2024-01-01[:2024-12-30], monthly:2024-01[:2024-12], static:eu,us,apac "
    "(the end is optional and inclusive; '..' may separate start and end)"
)
_SPEC_KINDS = ("daily", "hourly", "weekly", "monthly", "static", *SEED_KINDS)
_SPEC_ALIASES = {"date": "daily", "datetime": "hourly"}


def _spec_error(text: str, reason: str) -> PartitionError:
    return PartitionError(
        f"Cannot read the partition spec {text!r}: {reason} Expected one of: {_SPEC_FORMS}."
    )


def _split_bounds(cls: type[TimePartitions], rest: str, text: str) -> tuple[str, str | None]:
    if RANGE_SEPARATOR in rest:
        parts = [part.strip() for part in rest.split(RANGE_SEPARATOR)]
        if len(parts) == 2:
            return parts[0], parts[1] or None
        raise _spec_error(text, "it has more than one '..'.")
    probe = cls(None)
    candidates = [(rest, None)] + [
        (rest[:i].strip(), rest[i + 1 :].strip()) for i, char in enumerate(rest) if char == ":"
    ]
    for start, end in candidates:
        try:
            probe._point(start)
            if end is not None:
                probe._point(end)
        except _UnreadableError:
            continue
        return start, end
    raise _spec_error(text, f"cannot read the bounds {rest!r} as {probe.expected}.")


def parse_partition_spec(text: str) -> PartitionsDefinition:
    """The definition a ``%%asset --partitioned-by`` spec describes.

    Parameters
    ----------
    text
        ``KIND[:START[:END]]`` for ``daily``, ``hourly``, ``weekly`` and ``monthly`` (``date`` and
        ``datetime`` are aliases of ``daily`` and ``hourly``; ``START..END`` works too; without a
        start the definition accepts any key), or ``static:KEY1,KEY2,...``.

    Raises
    ------
    PartitionError
        Listing the accepted forms.
    """
    stripped = text.strip()
    if not stripped:
        raise _spec_error(text, "the spec is empty.")
    kind_text, _, rest = stripped.partition(":")
    kind = kind_text.strip().lower()
    kind = _SPEC_ALIASES.get(kind, kind)
    rest = rest.strip()
    if kind == "custom":
        raise PartitionError(
            f"The partition spec {text!r} asks for custom partitions, which need a partition_fn "
            "that a spec cannot give: use static:KEY1,KEY2 for fixed keys, or define the asset "
            "in Python with partitioned_by='custom' and partition_fn=..."
        )
    if kind == "static":
        return StaticPartitions([key.strip() for key in rest.split(",")] if rest else [])
    cls = _TIME_CLASSES.get(kind)
    if cls is None:
        hint = did_you_mean(kind, _SPEC_KINDS)
        raise _spec_error(text, f"unknown kind {kind_text.strip()!r}.{hint}")
    if not rest:
        return cls(None)
    start, end = _split_bounds(cls, rest, text)
    return cls(start, end)


_FN_ONLY_WITH_SEED = (
    "partition_fn is only used with partitioned_by='date', 'datetime' or 'custom'; "
    "partitioned_by={!r} already says what its keys are: drop partition_fn, or use one of those."
)


def partition_spec_issues(partitioned_by: object, partition_fn: object) -> list[str]:
    """What is inconsistent about an asset's ``partitioned_by``/``partition_fn``; ``[]`` if fine.

    The partition function is never called.
    """
    if partition_fn is not None and not callable(partition_fn):
        return [
            (
                "partition_fn must be callable (a function returning the partition keys), not "
                f"{type(partition_fn).__name__} {partition_fn!r}."
            )
        ]
    if partitioned_by is None:
        if partition_fn is None:
            return []
        return [
            (
                "partition_fn is set but partitioned_by is not: add partitioned_by='custom' "
                "(the function returns strings), 'date' or 'datetime'."
            )
        ]
    if isinstance(partitioned_by, PartitionsDefinition):
        return [] if partition_fn is None else [_FN_ONLY_WITH_SEED.format(partitioned_by)]
    if not isinstance(partitioned_by, str):
        return [
            (
                "partitioned_by must be None, a partitions definition such as "
                "fs.DailyPartitions('2024-01-01'), or one of 'date', 'datetime', 'custom'; got "
                f"{type(partitioned_by).__name__} {partitioned_by!r}."
            )
        ]
    return _string_spec_issues(partitioned_by, partition_fn)


def _string_spec_issues(partitioned_by: str, partition_fn: object) -> list[str]:
    if partitioned_by in SEED_KINDS:
        if partitioned_by == "custom" and partition_fn is None:
            return [
                (
                    "partitioned_by='custom' needs a partition_fn returning the keys, e.g. "
                    "partition_fn=lambda: ['eu', 'us'] (or use fs.StaticPartitions(['eu', 'us']))."
                )
            ]
        return []
    try:
        parse_partition_spec(partitioned_by)
    except PartitionError as err:
        return [str(err)]
    return [] if partition_fn is None else [_FN_ONLY_WITH_SEED.format(partitioned_by)]


def resolve_partitions(
    partitioned_by: object, partition_fn: object = None
) -> PartitionsDefinition | None:
    """The definition an asset's ``partitioned_by``/``partition_fn`` fields describe.

    ``None`` stays ``None``; a definition is returned as is; ``"date"``, ``"datetime"`` and
    ``"custom"`` with a function become :class:`FunctionPartitions`; ``"date"``/``"datetime"``
    without one become open :class:`DailyPartitions`/:class:`HourlyPartitions` (any key is
    accepted); other strings are spec strings (see :func:`parse_partition_spec`).

    Raises
    ------
    PartitionError
        For the combinations :func:`partition_spec_issues` reports.
    """
    issues = partition_spec_issues(partitioned_by, partition_fn)
    if issues:
        raise PartitionError(" ".join(issues))
    if partitioned_by is None or isinstance(partitioned_by, PartitionsDefinition):
        return partitioned_by
    assert isinstance(partitioned_by, str)
    if partition_fn is not None:
        assert callable(partition_fn)
        return FunctionPartitions(partitioned_by, partition_fn)
    return parse_partition_spec(partitioned_by)
