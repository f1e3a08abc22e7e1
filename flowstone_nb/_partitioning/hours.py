"""Hourly partitions: one key per local hour of a zone, counted along absolute time.

This module owns :class:`HourlyPartitions`: a key is the instant a local hour starts, as an aware
``datetime`` with a fixed offset (see :mod:`.datetimes`); index ``i`` is the local hour that starts
within the ``i``-th hour of UTC since 1970; naive values are read as wall-clock times in the zone.
The shared index arithmetic is :class:`.TimePartitions`'; this module must not know day-based
periods.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flowstone_nb._partitioning.base import UnreadableError
from flowstone_nb._partitioning.datetimes import (
    EPOCH,
    at_offset,
    day_start,
    offset_at,
    offset_change,
    read_time_value,
)
from flowstone_nb._partitioning.time import Point, TimePartitions

__all__ = ["HourlyPartitions"]

_HOUR = timedelta(hours=1)
_LAST_SECOND = _HOUR - timedelta(seconds=1)


class HourlyPartitions(TimePartitions):
    """One partition per local hour; keys are aware ``datetime`` values in the definition's zone.

    A key is the instant the zone's clocks show a whole hour, whatever the zone's offset (Kolkata
    +05:30, Kathmandu +05:45, Chatham +12:45 or +13:45) and whatever the season. A day when
    clocks jump forward an hour has 23 keys and one when they go back has 25 (two keys share a
    local hour and differ by their offset). Where clocks move by half an hour (Lord Howe, 02:00 to
    01:30 and 02:00 to 02:30), the hour before the change lasts 90 minutes when they go back, and
    the hour 02 starts at 02:30 when they jump: each day keeps 24 keys.
    """

    kind = "hourly"
    unit = "hour"
    article = "an"
    expected = "an hour like '2024-01-31T05:00' (a datetime on the hour, optionally with an offset)"
    sample = "'2024-01-31T05:00'"
    _forms = frozenset({"day", "time"})

    def _instant(self, value: datetime) -> datetime:
        if value.tzinfo is not None:
            return value
        aware = value.replace(tzinfo=self.tzinfo)
        if aware.astimezone(UTC).astimezone(self.tzinfo).replace(tzinfo=None) != value:
            raise UnreadableError(
                f"{value} does not exist in {self.timezone} (the clocks jump over it)"
            )
        return aware

    def _hour_start(
        self, start: datetime, offset: timedelta, following: timedelta
    ) -> tuple[datetime, timedelta]:
        """The first local hour start within the UTC hour from ``start``, and the offset then.

        ``offset`` and ``following`` are the zone's offsets at ``start`` and an hour later. The
        start is the instant the clocks show ``hh:00``; in a UTC hour where they never do (they
        jump over ``hh:00`` by part of an hour, as in Lord Howe, or before 1970 back across
        it), it is the jump.
        """
        if offset == following:
            return start + (-offset) % _HOUR, offset
        zone = self.tzinfo
        last = offset_at(zone, start + _LAST_SECOND)
        for candidate in sorted({offset, last}, key=lambda each: (-each) % _HOUR):
            mark = start + (-candidate) % _HOUR
            if offset_at(zone, mark) == candidate:
                return mark, candidate
        return offset_change(zone, start, start + _HOUR), last

    def _hour_at(self, index: int) -> tuple[datetime, timedelta]:
        """The start of the local hour with this index (in UTC), and the offset then."""
        start = EPOCH + index * _HOUR
        zone = self.tzinfo
        return self._hour_start(start, offset_at(zone, start), offset_at(zone, start + _HOUR))

    def _locate(self, instant: datetime) -> tuple[int, bool]:
        """The index of the hour containing ``instant``, and whether ``instant`` starts it."""
        index: int = (instant - EPOCH) // _HOUR
        start, _ = self._hour_at(index)
        if start <= instant:
            return index, start == instant
        return index - 1, False

    def _point(self, raw: object) -> Point:
        value = read_time_value(raw, self._forms, self.expected)
        if not isinstance(value, datetime):
            first = self._index_from(day_start(value, self.tzinfo))
            following = self._index_from(day_start(value + timedelta(days=1), self.tzinfo))
            return Point(first, following - 1, False)
        index, aligned = self._locate(self._instant(value))
        return Point(index, index, aligned)

    def _index_from(self, instant: datetime) -> int:
        """The index of the first key at or after ``instant``."""
        index, aligned = self._locate(instant)
        return index if aligned else index + 1

    def key_at(self, index: int) -> datetime:
        """The start of the local hour with this index, at the zone's offset then."""
        return at_offset(*self._hour_at(index))

    def keys_between(self, lo: int, hi: int) -> list[Any]:
        """The keys from ``lo`` to ``hi``: :meth:`key_at` each, reading each offset once."""
        zone = self.tzinfo
        starts = [EPOCH + index * _HOUR for index in range(lo, hi + 2)]
        offsets = [offset_at(zone, start) for start in starts]
        return [
            at_offset(*self._hour_start(start, offset, following))
            for start, offset, following in zip(starts, offsets, offsets[1:], strict=False)
        ]

    def index_at(self, instant: datetime) -> int:
        """The index of the hour containing ``instant`` (naive: in this time zone)."""
        return self._locate(self._instant(instant))[0]

    def window_at(self, index: int) -> tuple[datetime, datetime]:
        """From the start of this local hour to the start of the next."""
        return self.key_at(index), self.key_at(index + 1)

    def context_value(self, key: object) -> datetime:
        """The key as a datetime in the definition's ``ZoneInfo`` (UTC stays UTC)."""
        parsed: datetime = self.parse_key(key)
        return parsed.astimezone(self.tzinfo)

    def _format(self, key: datetime) -> str:
        local = key.astimezone(self.tzinfo)
        timespec = "seconds" if local.second else "minutes"  # an hour that starts at a jump
        twin = local.replace(fold=1 - local.fold)
        if twin.utcoffset() != local.utcoffset():
            return local.isoformat(timespec=timespec)
        return local.replace(tzinfo=None).isoformat(timespec=timespec)
