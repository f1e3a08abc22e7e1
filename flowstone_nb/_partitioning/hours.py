"""Hourly partitions: one key per hour of absolute time, shown on the local clock of a zone.

This module owns :class:`HourlyPartitions`: a key is an aware ``datetime`` with a fixed offset (see
:mod:`.datetimes`), an index counts hours from the epoch on the zone's grid of local hours, and
naive values are read as wall-clock times in the zone. The shared index arithmetic is
:class:`.TimePartitions`'; this module must not know day-based periods.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flowstone_nb._partitioning.base import UnreadableError
from flowstone_nb._partitioning.datetimes import EPOCH, fixed_offset, read_time_value
from flowstone_nb._partitioning.time import Point, TimePartitions

__all__ = ["HourlyPartitions"]

_HOUR = timedelta(hours=1)


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
            raise UnreadableError(
                f"{value} does not exist in {self.timezone} (the clocks jump over it)"
            )
        return aware

    def _point(self, raw: object) -> Point:
        value = read_time_value(raw, self._forms, self.expected)
        if not isinstance(value, datetime):
            first = self.index_at(self._instant(datetime.combine(value, time())))
            following = datetime.combine(value + timedelta(days=1), time())
            return Point(first, self.index_at(self._instant(following)) - 1, False)
        offset = self._instant(value) - EPOCH - self._grid
        index = offset // _HOUR
        return Point(index, index, offset % _HOUR == timedelta(0))

    def key_at(self, index: int) -> datetime:
        """The start of the hour with this index, at the zone's offset then."""
        return fixed_offset((EPOCH + self._grid + index * _HOUR).astimezone(self.tzinfo))

    def index_at(self, instant: datetime) -> int:
        """The index of the hour containing ``instant`` (naive: in this time zone)."""
        return (self._instant(instant) - EPOCH - self._grid) // _HOUR

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
