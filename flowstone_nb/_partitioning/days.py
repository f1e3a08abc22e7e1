"""Day-based partitions: one key per local day, ISO week or calendar month.

This module owns :class:`DailyPartitions`, :class:`WeeklyPartitions` and
:class:`MonthlyPartitions`, whose periods are made of whole local days: a key is a ``date``, an
index is the day's ordinal, the week's number or the month's number, and a period runs from one
local midnight to the next period's. The shared index arithmetic is :class:`.TimePartitions`'; this
module must not deal with hours or UTC offsets beyond a period's window.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import date, datetime, time
from typing import Any

from flowstone_nb._partitioning.datetimes import day_start, read_time_value
from flowstone_nb._partitioning.time import Point, TimePartitions

__all__ = ["DailyPartitions", "MonthlyPartitions", "WeeklyPartitions"]


class _DayBasedPartitions(TimePartitions):
    """Periods made of whole local days: days, ISO weeks, months."""

    @abstractmethod
    def _date_index(self, day: date) -> tuple[int, bool]:
        """The index of the period containing ``day`` and whether ``day`` starts it."""

    def _point(self, raw: object) -> Point:
        value = read_time_value(raw, self._forms, self.expected)
        if isinstance(value, datetime):
            local = value if value.tzinfo is None else value.astimezone(self.tzinfo)
            index, aligned = self._date_index(local.date())
            return Point(index, index, aligned and local.time() == time())
        index, aligned = self._date_index(value)
        return Point(index, index, aligned)

    def index_at(self, instant: datetime) -> int:
        """The index of the period containing ``instant`` (naive: in this time zone)."""
        local = instant if instant.tzinfo is None else instant.astimezone(self.tzinfo)
        return self._date_index(local.date())[0]

    def _format(self, key: date) -> str:
        """The ISO date (months show only their year and month)."""
        return key.isoformat()

    def window_at(self, index: int) -> tuple[datetime, datetime]:
        """From the start of the period's first local day to that of the next period's."""
        first, following = self.key_at(index), self.key_at(index + 1)
        return day_start(first, self.tzinfo), day_start(following, self.tzinfo)


class DailyPartitions(_DayBasedPartitions):
    """One partition per day; keys are ``datetime.date``.

    Examples
    --------
    >>> DailyPartitions("2024-01-01", "2024-01-03").keys()[-1]
    datetime.date(2024, 1, 3)
    """

    kind = "daily"
    keys_read_plainly = True  # a day reads as its ISO date
    unit = "day"
    expected = "a date like '2024-01-31' (a datetime.date or 'YYYY-MM-DD')"
    sample = "'2024-01-31'"
    _forms = frozenset({"day", "time"})

    def _date_index(self, day: date) -> tuple[int, bool]:
        return day.toordinal(), True

    def key_at(self, index: int) -> date:
        """The day with this ordinal."""
        return date.fromordinal(index)

    def keys_between(self, lo: int, hi: int) -> list[Any]:
        """The days with ordinals ``lo`` to ``hi``."""
        return list(map(date.fromordinal, range(lo, hi + 1)))


class WeeklyPartitions(_DayBasedPartitions):
    """One partition per ISO week (Monday to Sunday); keys are the Monday ``date``."""

    kind = "weekly"
    keys_read_plainly = True  # a week reads as its Monday's ISO date
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
