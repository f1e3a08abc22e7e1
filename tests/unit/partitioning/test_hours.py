"""Hourly partitions: keys on local hours, string forms, DST and odd-offset zones."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.days import DailyPartitions
from flowstone_nb._partitioning.hours import HourlyPartitions
from flowstone_nb._partitioning.mappings import TimeWindowMapping
from tests.unit.partitioning.samples import NOW, d, utc


# -- hourly -------------------------------------------------------------------------------------
def test_hourly_keys_are_aware_datetimes_on_the_hour() -> None:
    hours = HourlyPartitions("2024-01-01T00", "2024-01-01T05")
    keys = hours.keys()
    assert keys == [utc(2024, 1, 1, h) for h in range(6)]
    assert all(k.tzinfo is not None for k in keys)
    assert hours.kind == "hourly"
    assert hours.key_str(keys[5]) == "2024-01-01T05:00"
    assert repr(hours) == "HourlyPartitions('2024-01-01T00:00', '2024-01-01T05:00')"
    assert hours.time_window(keys[1]) == (utc(2024, 1, 1, 1), utc(2024, 1, 1, 2))
    assert hours.context_value("2024-01-01T03:00") == utc(2024, 1, 1, 3)


def test_hourly_accepts_many_string_forms() -> None:
    hours = HourlyPartitions("2024-01-01", "2024-01-02")
    key = utc(2024, 1, 1, 5)
    for raw in (
        "2024-01-01T05",
        "2024-01-01T05:00",
        "2024-01-01 05:00",
        "2024-01-01T05:00:00Z",
        "2024-01-01T06:00+01:00",
        datetime(2024, 1, 1, 5),
        datetime(2024, 1, 1, 6, tzinfo=timezone(timedelta(hours=1))),
    ):
        assert hours.parse_key(raw) == key, raw


def test_hourly_end_given_as_a_date_includes_the_whole_day() -> None:
    hours = HourlyPartitions("2024-01-01", "2024-01-02")
    assert hours.count() == 48
    assert hours.latest() == utc(2024, 1, 2, 23)
    assert hours.start == utc(2024, 1, 1, 0)


def test_hourly_rejects_off_the_hour_keys_and_dates_with_nearest_hours() -> None:
    hours = HourlyPartitions("2024-01-01", "2024-01-02")
    with pytest.raises(
        PartitionError, match="Nearest valid keys: '2024-01-01T05:00', '2024-01-01T06:00'"
    ):
        hours.parse_key("2024-01-01T05:30")
    with pytest.raises(PartitionError, match=r"expected an hour like"):
        hours.parse_key("2024-01-01")
    with pytest.raises(PartitionError, match=r"expected an hour like"):
        hours.parse_key("2024-01")


def test_hourly_open_end_uses_the_latest_started_hour() -> None:
    hours = HourlyPartitions("2024-01-10")
    assert hours.latest(now=NOW) == utc(2024, 1, 10, 12)
    assert hours.count(now=NOW) == 13


def test_hourly_in_a_dst_zone_skips_and_repeats_local_hours() -> None:
    spring = HourlyPartitions("2024-03-31", "2024-03-31", timezone="Europe/Paris")
    assert spring.count() == 23
    assert [k.hour for k in list(spring.keys())][:4] == [0, 1, 3, 4]
    with pytest.raises(PartitionError, match=r"does not exist in Europe/Paris"):
        spring.parse_key("2024-03-31T02:00")
    autumn = HourlyPartitions("2024-10-27", "2024-10-27", timezone="Europe/Paris")
    keys = autumn.keys()
    assert len(keys) == 25
    assert [k.hour for k in keys][:5] == [0, 1, 2, 2, 3]
    texts = [autumn.key_str(k) for k in keys]
    assert texts[2] == "2024-10-27T02:00+02:00"
    assert texts[3] == "2024-10-27T02:00+01:00"
    assert texts[4] == "2024-10-27T03:00"
    assert len(set(texts)) == 25
    for key, text in zip(keys, texts, strict=True):
        parsed = autumn.parse_key(text)
        assert parsed == key
        assert parsed.utcoffset() == key.utcoffset()
        start, end = autumn.time_window(parsed) or (key, key)
        assert end - start == timedelta(hours=1)


def test_hourly_in_a_half_hour_zone_follows_its_local_hours() -> None:
    hours = HourlyPartitions("2024-01-01", "2024-01-01", timezone="Asia/Kolkata")
    keys = hours.keys()
    assert len(keys) == 24
    assert all(k.minute == 0 for k in keys)
    assert keys[0] == datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert hours.key_str(keys[0]) == "2024-01-01T00:00"
    assert repr(hours) == (
        "HourlyPartitions('2024-01-01T00:00', '2024-01-01T23:00', timezone='Asia/Kolkata')"
    )


# -- zones with :30 and :45 offsets, in every season ---------------------------------------------
@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Asia/Kathmandu", "2024-01-15"),  # +05:45
        ("Asia/Kathmandu", "2024-07-15"),
        ("Pacific/Chatham", "2024-01-15"),  # +13:45 in its summer
        ("Pacific/Chatham", "2024-07-15"),  # +12:45
        ("Australia/Lord_Howe", "2024-01-15"),  # +11:00 in its summer
        ("Australia/Lord_Howe", "2024-07-15"),  # +10:30
        ("America/St_Johns", "2024-01-15"),  # -03:30
        ("America/St_Johns", "2024-07-15"),  # -02:30
        ("Asia/Kolkata", "2024-07-15"),  # +05:30
    ],
)
def test_hourly_keys_fall_on_local_hours_in_every_zone_and_season(zone: str, day: str) -> None:
    hours = HourlyPartitions(day, day, timezone=zone)
    keys = hours.keys()
    local = [key.astimezone(ZoneInfo(zone)) for key in keys]
    assert [t.hour for t in local] == list(range(24))
    assert all(t.minute == 0 and t.date().isoformat() == day for t in local)
    texts = [hours.key_str(key) for key in keys]
    assert texts[:2] == [f"{day}T00:00", f"{day}T01:00"]
    assert [hours.parse_key(text) for text in texts] == keys
    assert HourlyPartitions(f"{day}T00:00", f"{day}T02:00", timezone=zone).keys() == keys[:3]
    assert all(hours.time_window(key)[1] - key == timedelta(hours=1) for key in keys)


def test_a_kathmandu_day_consumes_its_24_hours() -> None:
    zone = "Asia/Kathmandu"
    days = DailyPartitions("2024-01-01", "2024-01-31", timezone=zone)
    hours = HourlyPartitions("2024-01-01", "2024-01-31", timezone=zone)
    consumed = TimeWindowMapping().upstream_keys(days, "2024-01-15", hours)
    assert consumed == hours.select("2024-01-15..2024-01-15")
    assert consumed is not None
    assert len(consumed) == 24
    assert TimeWindowMapping().downstream_keys(hours, consumed[0], days) == [d("2024-01-15")]
    assert TimeWindowMapping().downstream_keys(hours, consumed[-1], days) == [d("2024-01-15")]


@pytest.mark.parametrize(
    ("zone", "day", "local_hours"),
    [
        # Chatham's clocks go back from 03:45 to 02:45 and forward from 02:45 to 03:45.
        ("Pacific/Chatham", "2024-04-07", [0, 1, 2, 3, 3, *range(4, 24)]),
        ("Pacific/Chatham", "2024-09-29", [0, 1, 2, *range(4, 24)]),
        # St John's (-03:30) changes at 02:00, within an hour of UTC.
        ("America/St_Johns", "2024-03-10", [0, 1, *range(3, 24)]),
        ("America/St_Johns", "2024-11-03", [0, 1, 1, *range(2, 24)]),
        # Lord Howe's go back from 02:00 to 01:30 (so 01:00 lasts 90 minutes) ...
        ("Australia/Lord_Howe", "2024-04-07", list(range(24))),
        # ... and forward from 02:00 to 02:30 (so the hour 02 starts at 02:30).
        ("Australia/Lord_Howe", "2024-10-06", list(range(24))),
    ],
)
def test_hourly_keys_on_dst_days_of_odd_offset_zones(
    zone: str, day: str, local_hours: list[int]
) -> None:
    hours = HourlyPartitions(day, day, timezone=zone)
    keys = hours.keys()
    local = [key.astimezone(ZoneInfo(zone)) for key in keys]
    assert [t.hour for t in local] == local_hours
    texts = [hours.key_str(key) for key in keys]
    assert len(set(texts)) == len(keys)
    assert [hours.parse_key(text) for text in texts] == keys
    windows = [hours.time_window(key) for key in keys]
    assert all(end == following for (_, end), (following, _) in itertools.pairwise(windows))
    midnight = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone))
    assert (windows[0][0], windows[-1][1]) == (midnight, midnight + timedelta(days=1))


def test_lord_howe_hours_across_its_half_hour_shifts() -> None:
    zone = "Australia/Lord_Howe"
    autumn = HourlyPartitions("2024-04-07", "2024-04-07", timezone=zone)
    one = autumn.parse_key("2024-04-07T01:00")
    assert autumn.time_window(one)[1] - one == timedelta(minutes=90)
    assert autumn.key_str(autumn.keys()[2]) == "2024-04-07T02:00"
    spring = HourlyPartitions("2024-10-06", "2024-10-06", timezone=zone)
    two = spring.keys()[2]
    assert spring.key_str(two) == "2024-10-06T02:30"
    assert spring.time_window(two)[1] - two == timedelta(minutes=30)
    with pytest.raises(PartitionError, match=r"does not exist in Australia/Lord_Howe"):
        spring.parse_key("2024-10-06T02:00")
    with pytest.raises(
        PartitionError, match=r"Nearest valid keys: '2024-10-06T01:00', '2024-10-06T02:30'"
    ):
        spring.parse_key("2024-10-06T01:30")
    year = HourlyPartitions("2024-01-01", "2024-12-31", timezone=zone)
    assert year.count() == len(set(year.keys())) == 366 * 24


# -- a date bound is the whole local day, even when its midnight does not exist -------------------
@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/Sao_Paulo", "2018-11-04"),
        ("America/Santiago", "2024-09-08"),
        ("Asia/Beirut", "2024-03-31"),
    ],
)
def test_a_day_without_a_midnight_is_its_23_hours_from_one(zone: str, day: str) -> None:
    hours = HourlyPartitions(day, day, timezone=zone)
    keys = hours.keys()
    assert len(keys) == 23
    assert [hours.key_str(k) for k in (keys[0], keys[-1])] == [f"{day}T01:00", f"{day}T23:00"]
    wider = HourlyPartitions(None, timezone=zone)
    assert wider.select(f"{day}..{day}") == keys
    assert wider.select((day, day)) == keys
    assert wider.select(slice(day, day)) == keys
    days = DailyPartitions(day, day, timezone=zone)
    start, end = days.time_window(day)
    assert (start, end) == (keys[0], hours.time_window(keys[-1])[1])
    assert (start.hour, start.minute) == (1, 0)
    assert TimeWindowMapping().upstream_keys(days, day, hours) == keys


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Paris", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns"]
)
def test_listing_hours_equals_reading_them_one_by_one(zone: str) -> None:
    hours = HourlyPartitions("2024-01-01", "2024-12-31", timezone=zone)
    lo, hi = hours.index_bounds()
    assert lo is not None
    assert hi is not None
    keys = hours.keys()
    assert keys == [hours.key_at(index) for index in range(lo, hi + 1)]
    assert [hours.index_at(key) for key in keys] == list(range(lo, hi + 1))


def test_an_hour_that_starts_at_a_jump_with_seconds_reads_back() -> None:
    # Pago Pago left its local mean time (-11:22:48) for -11:00 at midnight 1911-01-01: the day,
    # and its first hour, start when the clocks jump to 00:22:48.
    hours = HourlyPartitions("1911-01-01", "1911-01-01", timezone="Pacific/Pago_Pago")
    keys = hours.keys()
    assert len(keys) == 24
    assert [hours.key_str(key) for key in keys[:2]] == ["1911-01-01T00:22:48", "1911-01-01T01:00"]
    assert [hours.parse_key(hours.key_str(key)) for key in keys] == keys
