"""Time partitions: consecutive periods of time (days, weeks, months, hours) counted by index.

This module owns :class:`TimePartitions`, the arithmetic every time granularity shares: each
period has an integer index, so listing, counting, membership, bounds, ranges and "up to now" are
computed rather than searched. A granularity (:mod:`.days`, :mod:`.hours`) only says where a value
falls (:meth:`TimePartitions._point`), which key an index has, and the period an index covers. It
must not know the granularities themselves.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, ClassVar

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.base import (
    PartitionsDefinition,
    UnreadableError,
    nearest_sentence,
    quote_key,
)
from flowstone_nb._partitioning.datetimes import aware_now, zone_named

__all__ = ["Point", "TimePartitions"]


@dataclass(frozen=True)
class Point:
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
        self._set(tzinfo=zone_named(timezone), timezone=timezone)
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
        except UnreadableError as err:
            raise PartitionError(
                f"Cannot read the {role} {quote_key(raw)} of {type(self).__name__}: {err.reason}."
            ) from err
        return point.index if role == "start" else point.last

    # -- what each granularity provides -----------------------------------------------------
    @abstractmethod
    def _point(self, raw: object) -> Point:
        """Where ``raw`` falls; raises :class:`UnreadableError`."""

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

    def reads(self, raw: object) -> bool:
        """Whether ``raw`` reads as a time of this granularity (a bound, not necessarily a key)."""
        try:
            self._point(raw)
        except UnreadableError:
            return False
        return True

    def index_bounds(self, *, now: datetime | None = None) -> tuple[int | None, int | None]:
        """The first and last index (``None`` where unbounded)."""
        return self._lo, self._hi_at(now)

    def _hi_at(self, now: datetime | None) -> int | None:
        if self._hi is not None or self._lo is None:
            return self._hi
        return self.index_at(aware_now(now, self.tzinfo))

    def _read(self, raw: object) -> Point:
        try:
            return self._point(raw)
        except UnreadableError as err:
            raise PartitionError(
                f"Cannot read partition key {quote_key(raw)} for {self!r}: {err.reason}."
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
        nearest = nearest_sentence(self._nearest((index, index + 1), now))
        return PartitionError(
            f"{quote_key(raw)} is not the start of {self.article} {self.unit} of {self!r}: "
            f"expected {self.expected}.{nearest}"
        )

    def _check_in_range(self, raw: object, index: int, now: datetime | None) -> None:
        lo, hi = self._lo, self._hi_at(now)
        if lo is not None and index < lo:
            first = self._text(lo)
            raise PartitionError(
                f"Partition key {quote_key(raw)} is before the first key {first!r} of "
                f"{self!r}.{nearest_sentence([first])}"
            )
        if hi is not None and index > hi:
            last = self._text(hi)
            if self._hi is None:
                raise PartitionError(
                    f"Partition key {quote_key(raw)} has not started yet: {self!r} has no end, so "
                    f"its keys run up to the current {self.unit} ({last!r})."
                    f"{nearest_sentence([last])}"
                )
            raise PartitionError(
                f"Partition key {quote_key(raw)} is after the last key {last!r} of "
                f"{self!r}.{nearest_sentence([last])}"
            )

    # -- the public interface ----------------------------------------------------------------
    def keys(self, *, now: datetime | None = None) -> list[Any]:
        """All periods from ``start`` to ``end`` (or now), oldest first."""
        lo = self._require_start("list its keys")
        hi = self._hi_at(now)
        assert hi is not None
        return self.keys_between(lo, hi)

    def keys_between(self, lo: int, hi: int) -> list[Any]:
        """The keys with indexes ``lo`` to ``hi`` (inclusive; none when ``hi < lo``)."""
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
            hi = self.index_at(aware_now(now, self.tzinfo))
        if self._lo is not None and hi < self._lo:
            return None
        return self.key_at(hi)

    def parse_key(self, raw: object, *, now: datetime | None = None) -> Any:
        """The key ``raw`` names (see :mod:`flowstone_nb._partitioning.base` for the forms)."""
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
        except UnreadableError as err:
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
            hi = hi_def if hi_def is not None else self.index_at(aware_now(now, self.tzinfo))
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
        return self.keys_between(lo, hi)

    def _sorted(self, keys: list[Any], now: datetime | None) -> list[Any]:
        return sorted(keys, key=self.index_of)
