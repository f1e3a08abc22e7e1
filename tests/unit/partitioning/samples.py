"""Dates, zones and a key-listing function shared by the partitioning tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2024, 1, 10, 12, 30, tzinfo=UTC)


def d(text: str) -> date:
    """The date an ISO text names."""
    return date.fromisoformat(text)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """An hour in UTC."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def listed() -> list[str]:
    """Two custom keys, from a module-level function (so that definitions using it pickle)."""
    return ["a", "b"]
