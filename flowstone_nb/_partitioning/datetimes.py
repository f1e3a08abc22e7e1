"""Dates and times as partition keys: zones, fixed-offset instants, ISO text read and written.

This module owns the time values every time-based definition shares: looking up an IANA zone,
turning an aware datetime into one with a fixed offset, reading the ISO-like texts keys and bounds
are written in, and writing a datetime back. It knows no definition and raises only
:class:`~flowstone_nb._core.errors.PartitionError` (unknown zones) or
:class:`~flowstone_nb._partitioning.base.UnreadableError` (unreadable values).

Aware datetimes (hourly keys, time windows) carry a fixed UTC offset rather than the ``ZoneInfo``:
Python compares and subtracts two datetimes of the same ``ZoneInfo`` by wall clock (PEP 495), so
the two 02:00 hours of a day when clocks go back would be "equal" and a 23-hour day would last 24.
With fixed offsets, keys compare, hash and subtract as instants; a definition's ``context_value``
hands user code the datetime in its ``ZoneInfo``.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from flowstone_nb._core.errors import PartitionError, did_you_mean
from flowstone_nb._partitioning.base import UnreadableError, got

__all__ = [
    "DAY_TEXT",
    "EPOCH",
    "at_offset",
    "aware_now",
    "day_start",
    "fixed_offset",
    "format_datetime",
    "offset_at",
    "offset_change",
    "offset_zone",
    "plain_datetime",
    "read_time_text",
    "read_time_value",
    "zone_named",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_OFFSET = timedelta(0)
_MIDNIGHT = time()


def zone_named(name: object) -> tzinfo:
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
def offset_zone(offset: timedelta) -> tzinfo:
    """The fixed-offset zone for ``offset`` (UTC for none), shared between equal offsets."""
    return UTC if offset == timedelta(0) else timezone(offset)


def fixed_offset(value: datetime) -> datetime:
    """The same instant and wall clock, with a fixed-offset zone (see the module docstring)."""
    if value.tzinfo is UTC:
        return value
    offset = value.utcoffset()
    assert offset is not None, "only called with aware datetimes"
    return at_offset(value, offset)


def at_offset(instant: datetime, offset: timedelta) -> datetime:
    """The same instant with the fixed-offset zone of ``offset`` (UTC for none)."""
    return instant.astimezone(offset_zone(offset)) if offset else instant.astimezone(UTC)


def offset_at(zone: tzinfo, instant: datetime) -> timedelta:
    """The UTC offset of ``zone`` at ``instant`` (aware)."""
    if zone is UTC:
        return _NO_OFFSET
    return instant.astimezone(zone).utcoffset() or _NO_OFFSET


def offset_change(zone: tzinfo, before: datetime, after: datetime) -> datetime:
    """The instant in ``(before, after]`` at which the UTC offset of ``zone`` changes.

    ``before`` and ``after`` are aware, whole seconds apart, with different offsets in ``zone``
    and one change between them (clocks are never changed twice within hours).
    """
    offset = offset_at(zone, before)
    low, high = 0, int((after - before).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if offset_at(zone, before + timedelta(seconds=middle)) == offset:
            low = middle
        else:
            high = middle
    return before + timedelta(seconds=high)


def day_start(day: date, zone: tzinfo) -> datetime:
    """When a local day begins, with a fixed offset: its midnight, or the jump over it.

    Where the clocks jump over midnight (``2018-11-04`` in ``America/Sao_Paulo`` starts at
    01:00), the day begins at the instant they jump.
    """
    # PEP 495: a midnight the clocks jump over reads with the offset before the jump (fold=0,
    # the later instant) or after it (fold=1, the earlier one); the jump lies between.
    local = datetime.combine(day, _MIDNIGHT, tzinfo=zone)
    offset = local.utcoffset() or _NO_OFFSET
    first = datetime.combine(day, _MIDNIGHT, tzinfo=UTC) - offset
    if offset_at(zone, first) != offset:
        earlier = local.replace(fold=1).astimezone(UTC)
        first = offset_change(zone, earlier, first)
        offset = offset_at(zone, first)
    return at_offset(first, offset)


def aware_now(now: datetime | None, zone: tzinfo) -> datetime:
    """``now`` as an aware datetime (naive: in ``zone``), or the clock when it is ``None``."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=zone)


_MONTH_TEXT = re.compile(r"(\d{4})-(\d{2})")
_WEEK_TEXT = re.compile(r"(\d{4})-?W(\d{2})")
DAY_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}.*")


def read_time_text(text: str, forms: frozenset[str]) -> date | None:
    """Read ``text`` in one of ``forms`` ("month", "week", "day", "time"), or ``None``."""
    try:
        if "month" in forms and (match := _MONTH_TEXT.fullmatch(text)):
            return date(int(match[1]), int(match[2]), 1)
        if "week" in forms and (match := _WEEK_TEXT.fullmatch(text)):
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        if "day" in forms and DAY_TEXT.fullmatch(text):
            return date.fromisoformat(text)
        if "time" in forms and _TIME_TEXT.fullmatch(text):
            return datetime.fromisoformat(text)
    except ValueError:
        return None
    return None


def read_time_value(raw: object, forms: frozenset[str], expected: str) -> date:
    """A ``date`` or ``datetime`` from a raw key; raises :class:`UnreadableError`."""
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        value = read_time_text(raw.strip(), forms)
        if value is not None:
            return value
    raise UnreadableError(f"expected {expected}, {got(raw)}")


def format_datetime(value: datetime) -> str:
    """ISO text without needless seconds; the offset only when it is not UTC's."""
    timespec = "seconds" if value.second else "minutes"
    timespec = "microseconds" if value.microsecond else timespec
    text = value.replace(tzinfo=None).isoformat(timespec=timespec)
    if value.utcoffset() == timedelta(0):
        return text
    return value.isoformat(timespec=timespec)


def plain_datetime(value: datetime) -> datetime:
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
