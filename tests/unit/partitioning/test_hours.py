"""Hourly partitions: keys on local hours, string forms, DST and odd-offset zones."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.hours import HourlyPartitions
from tests.unit.partitioning.samples import NOW, utc


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
