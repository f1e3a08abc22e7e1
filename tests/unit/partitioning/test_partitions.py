"""Partition definitions: keys, parsing, selection, time windows, seed forms and spec strings."""

from __future__ import annotations

import pickle
import re
import time
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from flowstone_nb._core.errors import FlowstoneError, PartitionError
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.days import DailyPartitions, MonthlyPartitions, WeeklyPartitions
from flowstone_nb._partitioning.function import FunctionPartitions
from flowstone_nb._partitioning.hours import HourlyPartitions
from flowstone_nb._partitioning.spec import (
    parse_partition_spec,
    partition_spec_issues,
    resolve_partitions,
)
from flowstone_nb._partitioning.static_multi import (
    MultiPartitionKey,
    MultiPartitions,
    StaticPartitions,
)
from flowstone_nb._partitioning.time import TimePartitions

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2024, 1, 10, 12, 30, tzinfo=UTC)


def d(text: str) -> date:
    return date.fromisoformat(text)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# -- daily --------------------------------------------------------------------------------------
def test_daily_keys_are_dates_with_an_inclusive_end() -> None:
    days = DailyPartitions("2024-01-01", "2024-01-31")
    keys = days.keys()
    assert keys[0] == d("2024-01-01")
    assert keys[-1] == d("2024-01-31")
    assert len(keys) == 31 == days.count()
    assert all(type(k) is date for k in keys)
    assert days.kind == "daily"
    assert isinstance(days, TimePartitions)
    assert isinstance(days, PartitionsDefinition)


def test_start_and_end_accept_dates_datetimes_and_strings() -> None:
    a = DailyPartitions("2024-01-01", "2024-01-31")
    assert a == DailyPartitions(d("2024-01-01"), d("2024-01-31"))
    assert a == DailyPartitions(datetime(2024, 1, 1, 7), "2024-01-31T23:00")
    assert hash(a) == hash(DailyPartitions(d("2024-01-01"), d("2024-01-31")))
    assert a != DailyPartitions("2024-01-01", "2024-01-30")
    assert a != DailyPartitions("2024-01-01", "2024-01-31", timezone="Europe/Paris")
    assert a != StaticPartitions(["a"])
    assert len({a, DailyPartitions("2024-01-01", "2024-01-31")}) == 1
    assert a.start == d("2024-01-01")
    assert a.end == d("2024-01-31")


def test_open_end_means_up_to_now() -> None:
    days = DailyPartitions("2024-01-01")
    assert days.keys(now=NOW)[-1] == d("2024-01-10")
    assert days.count(now=NOW) == 10
    assert days.latest(now=NOW) == d("2024-01-10")
    assert days.end is None
    # Without an explicit now, the real clock decides: the definition has started.
    assert days.latest() is not None
    assert d("2024-01-05") in days


def test_now_may_be_naive_meaning_the_definitions_time_zone() -> None:
    days = DailyPartitions("2024-01-01", timezone="Pacific/Kiritimati")  # UTC+14
    assert days.latest(now=datetime(2024, 1, 10, 23, 0)) == d("2024-01-10")
    assert days.latest(now=utc(2024, 1, 10, 12)) == d("2024-01-11")


def test_start_in_the_future_gives_no_keys() -> None:
    days = DailyPartitions("2030-01-01")
    assert days.keys(now=NOW) == []
    assert days.latest(now=NOW) is None
    assert days.count(now=NOW) == 0


def test_explicit_end_lists_keys_after_now() -> None:
    days = DailyPartitions("2024-01-01", "2024-12-31")
    assert days.latest(now=NOW) == d("2024-12-31")
    assert days.count(now=NOW) == 366


def test_start_after_end_names_both() -> None:
    with pytest.raises(PartitionError, match=r"start '2024-03-01'.*after.*end '2024-01-31'"):
        DailyPartitions("2024-03-01", "2024-01-31")


def test_bad_bounds_say_what_was_expected() -> None:
    with pytest.raises(PartitionError, match=r"start.*'tomorrow'.*2024-01-31"):
        DailyPartitions("tomorrow")
    with pytest.raises(PartitionError, match=r"end.*int"):
        DailyPartitions("2024-01-01", 20240131)  # type: ignore[arg-type]  # a wrong type on purpose


def test_unknown_time_zone_suggests_close_names() -> None:
    with pytest.raises(PartitionError, match=r"'Europe/Pariss'.*Did you mean 'Europe/Paris'"):
        DailyPartitions("2024-01-01", timezone="Europe/Pariss")
    with pytest.raises(PartitionError, match="IANA"):
        DailyPartitions("2024-01-01", timezone=5)  # type: ignore[arg-type]  # wrong type on purpose


def test_membership_accepts_raw_forms_and_rejects_everything_else() -> None:
    days = DailyPartitions("2024-01-01", "2024-01-31")
    assert "2024-01-15" in days
    assert d("2024-01-15") in days
    assert datetime(2024, 1, 15) in days
    assert datetime(2024, 1, 15, 5) not in days
    assert "2024-02-01" not in days
    assert "2023-12-31" not in days
    assert "2024-1-5" not in days
    assert 42 not in days
    assert None not in days


def test_parse_key_out_of_range_names_key_definition_and_nearest() -> None:
    days = DailyPartitions("2024-01-01", "2024-01-31")
    with pytest.raises(PartitionError) as info:
        days.parse_key("2024-02-10")
    message = str(info.value)
    assert "'2024-02-10'" in message
    assert "DailyPartitions('2024-01-01', '2024-01-31')" in message
    assert "Nearest valid key: '2024-01-31'" in message
    with pytest.raises(PartitionError, match="Nearest valid key: '2024-01-01'"):
        days.parse_key(d("2023-06-01"))


def test_parse_key_after_now_on_an_open_end_says_why() -> None:
    with pytest.raises(PartitionError, match=r"has not started yet.*'2024-01-10'"):
        DailyPartitions("2024-01-01").parse_key("2024-02-01", now=NOW)


def test_parse_key_wrong_form_says_the_expected_form() -> None:
    days = DailyPartitions("2024-01-01", "2024-01-31")
    with pytest.raises(PartitionError, match=r"'2024-01'.*expected a date like '2024-01-31'"):
        days.parse_key("2024-01")
    with pytest.raises(PartitionError, match=r"2024-01-15 05:00:00.*not the start of a day"):
        days.parse_key(datetime(2024, 1, 15, 5))
    with pytest.raises(PartitionError, match="Nearest valid keys: '2024-01-15', '2024-01-16'"):
        days.parse_key(datetime(2024, 1, 15, 5))
    with pytest.raises(PartitionError, match=r"got float"):
        days.parse_key(3.5)
    with pytest.raises(PartitionError, match="'2024-13-45'"):
        days.parse_key("2024-13-45")


def test_key_str_round_trips_and_context_value_is_a_date() -> None:
    days = DailyPartitions("2024-01-01", "2024-01-31")
    assert days.key_str(d("2024-01-05")) == "2024-01-05"
    assert days.key_str("2024-01-05") == "2024-01-05"
    keys = days.keys()
    for key in keys:
        assert days.parse_key(days.key_str(key)) == key
    assert days.context_value("2024-01-05") == d("2024-01-05")


def test_time_window_of_a_day_in_a_time_zone() -> None:
    days = DailyPartitions("2024-03-01", "2024-03-31", timezone="Europe/Paris")
    start, end = days.time_window("2024-03-31") or (None, None)
    assert start == datetime(2024, 3, 31, tzinfo=PARIS)
    assert end == datetime(2024, 4, 1, tzinfo=PARIS)
    assert end - start == timedelta(hours=23)  # the day clocks jump forward
    assert DailyPartitions("2024-01-01").time_window("2024-01-02") == (
        utc(2024, 1, 2),
        utc(2024, 1, 3),
    )


def test_repr_and_describe() -> None:
    assert repr(DailyPartitions("2024-01-01", "2024-03-31")) == (
        "DailyPartitions('2024-01-01', '2024-03-31')"
    )
    assert repr(DailyPartitions("2024-01-01")) == "DailyPartitions('2024-01-01')"
    assert repr(DailyPartitions("2024-01-01", timezone="Europe/Paris")) == (
        "DailyPartitions('2024-01-01', timezone='Europe/Paris')"
    )
    assert repr(DailyPartitions(None)) == "DailyPartitions(None)"
    assert repr(DailyPartitions(None, "2024-01-31")) == "DailyPartitions(None, '2024-01-31')"
    assert DailyPartitions("2024-01-01", "2024-03-31").describe() == (
        "daily partitions from 2024-01-01 to 2024-03-31 (91 keys)"
    )
    assert DailyPartitions("2024-01-01", timezone="Europe/Paris").describe() == (
        "daily partitions from 2024-01-01 up to the current day, in Europe/Paris"
    )
    assert "any day" in DailyPartitions(None).describe()
    assert "any day up to 2024-01-31" in DailyPartitions(None, "2024-01-31").describe()


def test_definitions_are_immutable_and_picklable() -> None:
    days = DailyPartitions("2024-01-01", "2024-01-31", timezone="Europe/Paris")
    with pytest.raises(AttributeError, match="immutable"):
        days.start = d("2023-01-01")  # type: ignore[misc]  # immutability on purpose
    with pytest.raises(AttributeError, match="immutable"):
        del days.start  # type: ignore[misc]  # immutability on purpose
    for definition in (
        days,
        HourlyPartitions("2024-01-01T00", "2024-01-01T05", timezone="Europe/Paris"),
        WeeklyPartitions("2024-01-01"),
        MonthlyPartitions(None),
        StaticPartitions(["eu", "us"]),
        MultiPartitions({"region": StaticPartitions(["eu"]), "day": days}),
        FunctionPartitions("custom", _listed),
    ):
        copy = pickle.loads(pickle.dumps(definition))
        assert copy == definition
        assert repr(copy) == repr(definition)


def _listed() -> list[str]:
    return ["a", "b"]


# -- open definitions (seed "date"/"datetime" without partition_fn) -----------------------------
def test_open_definition_accepts_any_valid_key_but_cannot_list_keys() -> None:
    days = DailyPartitions(None)
    assert "1999-12-31" in days
    assert "2999-12-31" in days
    assert days.latest(now=NOW) == d("2024-01-10")
    assert days.start is None
    with pytest.raises(PartitionError, match=r"no start.*give a start.*partition_fn"):
        days.keys()
    with pytest.raises(PartitionError, match="no start"):
        days.select(None)
    assert days.select("2024-01-01..2024-01-03") == [
        d("2024-01-01"),
        d("2024-01-02"),
        d("2024-01-03"),
    ]
    assert days.select(["2024-01-05", "2024-01-01"]) == [d("2024-01-01"), d("2024-01-05")]
    with pytest.raises(PartitionError, match="no start"):
        days.select("..2024-01-03")


def test_open_definition_with_only_an_end() -> None:
    days = DailyPartitions(None, "2024-01-31")
    assert "1900-01-01" in days
    assert "2024-02-01" not in days
    assert days.latest(now=NOW) == d("2024-01-31")


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


# -- weekly and monthly -------------------------------------------------------------------------
def test_weekly_keys_are_mondays() -> None:
    weeks = WeeklyPartitions("2024-01-03", "2024-02-01")
    keys = weeks.keys()
    assert keys == [
        d("2024-01-01"),
        d("2024-01-08"),
        d("2024-01-15"),
        d("2024-01-22"),
        d("2024-01-29"),
    ]
    assert weeks.kind == "weekly"
    assert weeks.parse_key("2024-W03") == d("2024-01-15")
    assert weeks.parse_key("2024W03") == d("2024-01-15")
    with pytest.raises(PartitionError, match="Nearest valid keys: '2024-01-08', '2024-01-15'"):
        weeks.parse_key("2024-01-10")
    assert weeks.time_window("2024-01-08") == (utc(2024, 1, 8), utc(2024, 1, 15))
    assert repr(weeks) == "WeeklyPartitions('2024-01-01', '2024-01-29')"


def test_monthly_keys_are_first_days() -> None:
    months = MonthlyPartitions("2024-01", "2024-12")
    keys = months.keys()
    assert len(keys) == 12
    assert keys[1] == d("2024-02-01")
    assert months.kind == "monthly"
    assert months.parse_key("2024-02") == d("2024-02-01")
    assert months.parse_key(d("2024-02-01")) == d("2024-02-01")
    assert months.key_str(d("2024-02-01")) == "2024-02"
    assert repr(months) == "MonthlyPartitions('2024-01', '2024-12')"
    assert months.time_window("2024-02") == (utc(2024, 2, 1), utc(2024, 3, 1))
    assert months.latest(now=NOW) == d("2024-12-01")
    assert MonthlyPartitions("2023-11-15").keys(now=NOW) == [
        d("2023-11-01"),
        d("2023-12-01"),
        d("2024-01-01"),
    ]
    with pytest.raises(PartitionError, match=r"expected a month like '2024-01'"):
        months.parse_key("2024-W03")
    with pytest.raises(PartitionError, match="Nearest valid keys: '2024-02', '2024-03'"):
        months.parse_key("2024-02-15")


def test_month_at_the_end_of_the_calendar() -> None:
    months = MonthlyPartitions("9999-11", "9999-12")
    assert months.keys() == [d("9999-11-01"), d("9999-12-01")]
    with pytest.raises(PartitionError, match="Nearest valid key: '9999-12'\\."):
        months.parse_key("9999-12-15")


# -- static -------------------------------------------------------------------------------------
def test_static_keys_keep_their_declared_order() -> None:
    regions = StaticPartitions(["eu", "us", "apac"])
    assert regions.keys() == ["eu", "us", "apac"]
    assert regions.kind == "static"
    assert "us" in regions
    assert "mars" not in regions
    assert 3 not in regions
    assert regions.time_window("eu") is None
    assert regions.context_value("eu") == "eu"
    assert regions.key_str("apac") == "apac"
    assert regions.latest() == "apac"
    assert regions.count() == 3
    assert repr(regions) == "StaticPartitions(['eu', 'us', 'apac'])"
    assert regions.describe() == "3 static partitions: eu, us, apac"
    assert regions == StaticPartitions(("eu", "us", "apac"))
    assert regions != StaticPartitions(["us", "eu", "apac"])


def test_static_unknown_key_suggests_close_keys() -> None:
    regions = StaticPartitions(["europe", "us", "apac"])
    with pytest.raises(PartitionError, match=r"'eurpe'.*Did you mean 'europe'\?"):
        regions.parse_key("eurpe")
    with pytest.raises(PartitionError, match=r"Valid keys: 'europe', 'us', 'apac'"):
        regions.parse_key("mars")
    with pytest.raises(PartitionError, match="expected one of the string keys"):
        regions.parse_key(1)


def test_static_bad_keys_fail_clearly() -> None:
    with pytest.raises(PartitionError, match="at least one key"):
        StaticPartitions([])
    with pytest.raises(PartitionError, match=r"'us'.*twice"):
        StaticPartitions(["us", "eu", "us"])
    with pytest.raises(PartitionError, match=r"empty"):
        StaticPartitions(["eu", ""])
    with pytest.raises(PartitionError, match=r"strings.*int 3"):
        StaticPartitions(["eu", 3])  # type: ignore[list-item]  # a wrong type on purpose
    with pytest.raises(PartitionError, match=r"a list of keys.*StaticPartitions\(\['eu', 'us'\]\)"):
        StaticPartitions("eu,us")


def test_static_repr_of_many_keys_is_short() -> None:
    many = StaticPartitions([f"k{i}" for i in range(30)])
    assert repr(many) == "StaticPartitions(['k0', 'k1', 'k2', 'k3', 'k4', ... 25 more])"
    assert many.describe().startswith("30 static partitions: k0, k1")
    assert many.describe().endswith("...")


# -- selection ----------------------------------------------------------------------------------
def test_select_all_and_ranges() -> None:
    days = DailyPartitions("2024-01-01", "2024-01-31")
    first_three = [d("2024-01-01"), d("2024-01-02"), d("2024-01-03")]
    assert days.select(None) == days.keys()
    assert days.select("2024-01-01..2024-01-03") == first_three
    assert days.select(" 2024-01-01 .. 2024-01-03 ") == first_three
    assert days.select(("2024-01-01", "2024-01-03")) == first_three
    assert days.select(slice("2024-01-01", "2024-01-03")) == first_three
    assert days.select(slice(None, "2024-01-03")) == first_three
    assert days.select("..2024-01-03") == first_three
    assert days.select(slice("2024-01-30", None)) == [d("2024-01-30"), d("2024-01-31")]
    assert days.select("2024-01-30..") == [d("2024-01-30"), d("2024-01-31")]
    assert days.select("2024-01-05") == [d("2024-01-05")]
    assert days.select(d("2024-01-05")) == [d("2024-01-05")]
    assert days.select(["2024-01-05", d("2024-01-02"), "2024-01-05"]) == [
        d("2024-01-02"),
        d("2024-01-05"),
    ]
    assert days.select({"2024-01-05", "2024-01-02"}) == [d("2024-01-02"), d("2024-01-05")]


def test_select_ranges_accept_coarser_bounds() -> None:
    hours = HourlyPartitions("2024-01-01", "2024-01-03")
    assert len(hours.select("2024-01-02..2024-01-02")) == 24
    assert len(hours.select("2024-01-02..")) == 48
    months = MonthlyPartitions("2024-01", "2024-12")
    assert months.select("2024-03-15..2024-05-01") == [
        d("2024-03-01"),
        d("2024-04-01"),
        d("2024-05-01"),
    ]


def test_select_open_end_runs_up_to_now() -> None:
    days = DailyPartitions("2024-01-01")
    assert days.select("2024-01-09..", now=NOW) == [d("2024-01-09"), d("2024-01-10")]
    assert days.select(None, now=NOW)[-1] == d("2024-01-10")
    with pytest.raises(PartitionError, match=r"after.*'2024-01-10'.*no end"):
        days.select("2024-01-09..2024-01-20", now=NOW)


def test_select_errors_say_what_was_expected() -> None:
    days = DailyPartitions("2024-01-01", "2024-01-31")
    with pytest.raises(PartitionError, match=r"reversed.*'2024-01-20'.*'2024-01-10'.*FIRST..LAST"):
        days.select("2024-01-20..2024-01-10")
    with pytest.raises(PartitionError, match=r"'2024-01-01..2024-01-05..2024-01-09'.*FIRST..LAST"):
        days.select("2024-01-01..2024-01-05..2024-01-09")
    with pytest.raises(PartitionError, match=r"'2024-01-01...2024-01-09'.*expected"):
        days.select("2024-01-01...2024-01-09")
    with pytest.raises(PartitionError, match=r"'..'.*FIRST..LAST"):
        days.select("..")
    with pytest.raises(PartitionError, match=r"before.*first key '2024-01-01'"):
        days.select("2023-12-01..2024-01-05")
    with pytest.raises(PartitionError, match=r"after.*last key '2024-01-31'"):
        days.select("2024-01-05..2024-02-05")
    with pytest.raises(PartitionError, match="step"):
        days.select(slice("2024-01-01", "2024-01-05", 2))
    with pytest.raises(PartitionError, match=r"\(FIRST, LAST\)"):
        days.select(("2024-01-01", "2024-01-02", "2024-01-03"))
    with pytest.raises(PartitionError, match=r"Nearest valid key"):
        days.select(["2024-01-05", "2025-01-01"])
    with pytest.raises(PartitionError, match="per-dimension"):
        days.select({"day": "2024-01-01"})


def test_static_select_by_declared_order() -> None:
    regions = StaticPartitions(["eu", "us", "apac", "latam"])
    assert regions.select("us..apac") == ["us", "apac"]
    assert regions.select(slice("apac", None)) == ["apac", "latam"]
    assert regions.select(["latam", "eu"]) == ["eu", "latam"]
    assert regions.select("eu") == ["eu"]
    with pytest.raises(PartitionError, match="reversed"):
        regions.select("apac..eu")
    with pytest.raises(PartitionError, match=r"'mars'"):
        regions.select("eu..mars")


def test_static_keys_may_contain_the_range_separator() -> None:
    odd = StaticPartitions(["a..b", "c"])
    assert odd.select("a..b") == ["a..b"]
    with pytest.raises(PartitionError, match=r"FIRST\.\.LAST"):
        odd.select("a..b..c")  # ambiguous: a tuple says it unambiguously
    assert odd.select(("a..b", "c")) == ["a..b", "c"]


# -- multi --------------------------------------------------------------------------------------
def region_by_day() -> MultiPartitions:
    return MultiPartitions(
        {
            "region": StaticPartitions(["eu", "us"]),
            "day": DailyPartitions("2024-01-01", "2024-01-03"),
        }
    )


def test_multi_keys_are_tuples_in_dimension_order() -> None:
    multi = region_by_day()
    keys = multi.keys()
    assert len(keys) == 6 == multi.count()
    assert keys[0] == ("eu", d("2024-01-01"))
    assert keys[3] == ("us", d("2024-01-01"))
    assert multi.kind == "multi"
    assert list(multi.dimensions) == ["region", "day"]
    assert multi.dimensions["region"] == StaticPartitions(["eu", "us"])
    assert ("us", "2024-01-02") in multi
    assert ("mars", "2024-01-02") not in multi
    assert multi.latest() == ("us", d("2024-01-03"))


def test_multi_parse_key_accepts_tuples_strings_and_mappings() -> None:
    multi = region_by_day()
    key = ("eu", d("2024-01-02"))
    assert multi.parse_key(("eu", "2024-01-02")) == key
    assert multi.parse_key(["eu", "2024-01-02"]) == key
    assert multi.parse_key("eu|2024-01-02") == key
    assert multi.parse_key({"day": "2024-01-02", "region": "eu"}) == key
    assert multi.key_str(key) == "eu|2024-01-02"
    assert multi.parse_key(multi.key_str(key)) == key
    with pytest.raises(PartitionError, match=r"dimension 'region'.*Did you mean 'eu'"):
        multi.parse_key(("euu", "2024-01-02"))
    with pytest.raises(PartitionError, match=r"2 parts.*'region', 'day'.*'eu\|2024-01-31'"):
        multi.parse_key("eu")
    with pytest.raises(PartitionError, match=r"missing dimension\(s\) 'day'"):
        multi.parse_key({"region": "eu"})
    with pytest.raises(PartitionError, match=r"unknown dimension\(s\) 'dya'.*Did you mean 'day'"):
        multi.parse_key({"region": "eu", "day": "2024-01-01", "dya": "x"})
    with pytest.raises(PartitionError, match=r"got int"):
        multi.parse_key(5)


def test_multi_context_value_has_dimension_names() -> None:
    multi = region_by_day()
    value = multi.context_value(("eu", "2024-01-02"))
    assert isinstance(value, MultiPartitionKey)
    assert value == ("eu", d("2024-01-02"))
    assert value.region == "eu"
    assert value.day == d("2024-01-02")
    assert value.dimensions == {"region": "eu", "day": d("2024-01-02")}
    assert repr(value) == "MultiPartitionKey(region='eu', day=datetime.date(2024, 1, 2))"
    assert pickle.loads(pickle.dumps(value)).day == d("2024-01-02")
    with pytest.raises(AttributeError, match=r"'dy'.*region, day"):
        _ = value.dy
    assert hash(value) == hash(("eu", d("2024-01-02")))


def test_multi_time_window_comes_from_its_time_dimension() -> None:
    multi = region_by_day()
    assert multi.time_window(("eu", "2024-01-02")) == (utc(2024, 1, 2), utc(2024, 1, 3))
    plain = MultiPartitions({"a": StaticPartitions(["x"]), "b": StaticPartitions(["y"])})
    assert plain.time_window(("x", "y")) is None


def test_multi_select_per_dimension_and_by_range() -> None:
    multi = region_by_day()
    assert multi.select({"region": "us", "day": "2024-01-02.."}) == [
        ("us", d("2024-01-02")),
        ("us", d("2024-01-03")),
    ]
    assert multi.select({"day": "2024-01-01"}) == [("eu", d("2024-01-01")), ("us", d("2024-01-01"))]
    assert multi.select(("eu", "2024-01-02")) == [("eu", d("2024-01-02"))]
    assert multi.select((("eu", "2024-01-02"), ("eu", "2024-01-03"))) == [
        ("eu", d("2024-01-02")),
        ("eu", d("2024-01-03")),
    ]
    assert multi.select("eu|2024-01-03..us|2024-01-01") == [
        ("eu", d("2024-01-03")),
        ("us", d("2024-01-01")),
    ]
    assert multi.select([("us", "2024-01-01"), "eu|2024-01-01"]) == [
        ("eu", d("2024-01-01")),
        ("us", d("2024-01-01")),
    ]
    with pytest.raises(PartitionError, match=r"unknown dimension\(s\) 'region2'"):
        multi.select({"region2": "eu"})


def test_multi_definition_errors() -> None:
    with pytest.raises(PartitionError, match="at least one dimension"):
        MultiPartitions({})
    with pytest.raises(PartitionError, match=r"non-empty strings, got int 1"):
        MultiPartitions({1: StaticPartitions(["a"])})  # type: ignore[dict-item]  # on purpose
    with pytest.raises(PartitionError, match=r"'region'.*partitions definition.*list"):
        MultiPartitions({"region": ["eu"]})  # type: ignore[dict-item]  # on purpose
    with pytest.raises(PartitionError, match=r"nest"):
        MultiPartitions({"a": region_by_day()})
    with pytest.raises(PartitionError, match=r"'a\|b'.*'\|'"):
        MultiPartitions({"a": StaticPartitions(["a|b"]), "d": DailyPartitions("2024-01-01")})


def test_multi_repr_and_describe() -> None:
    multi = region_by_day()
    assert repr(multi) == (
        "MultiPartitions({'region': StaticPartitions(['eu', 'us']), "
        "'day': DailyPartitions('2024-01-01', '2024-01-03')})"
    )
    assert multi.describe() == (
        "multi partitions region x day: region (2 static partitions: eu, us) x "
        "day (daily partitions from 2024-01-01 to 2024-01-03 (3 keys))"
    )


# -- function partitions (seed form) ------------------------------------------------------------
def test_function_partitions_call_the_function_each_time() -> None:
    keys = ["2024-01-02", "2024-01-01"]
    parts = FunctionPartitions("date", lambda: list(keys))
    assert parts.kind == "date"
    assert parts.keys() == [d("2024-01-01"), d("2024-01-02")]
    keys.append("2024-01-03")
    assert parts.keys()[-1] == d("2024-01-03")
    assert "2024-01-03" in parts
    assert "2024-01-04" not in parts
    assert parts.latest() == d("2024-01-03")
    assert parts.time_window("2024-01-01") == (utc(2024, 1, 1), utc(2024, 1, 2))
    assert parts.key_str(d("2024-01-01")) == "2024-01-01"


def test_function_date_keys_accept_dates_datetimes_and_strings_and_dedupe() -> None:
    parts = FunctionPartitions(
        "date", lambda: [d("2024-01-02"), datetime(2024, 1, 1), "2024-01-02", "2024-01-03"]
    )
    assert parts.keys() == [d("2024-01-01"), d("2024-01-02"), d("2024-01-03")]
    with pytest.raises(PartitionError, match=r"Nearest valid key: '2024-01-03'"):
        parts.parse_key("2024-01-09")
    with pytest.raises(PartitionError, match=r"2024-01-01 05:00:00.*a date"):
        FunctionPartitions("date", lambda: [datetime(2024, 1, 1, 5)]).keys()


def test_function_datetime_keys_are_aware() -> None:
    paris = datetime(2024, 1, 1, 6, tzinfo=PARIS)
    parts = FunctionPartitions("datetime", lambda: ["2024-01-01T05:00", paris, utc(2024, 1, 1, 7)])
    keys = parts.keys()
    assert keys == [utc(2024, 1, 1, 5), utc(2024, 1, 1, 7)]
    assert parts.parse_key("2024-01-01T05:00:00+00:00") == utc(2024, 1, 1, 5)
    assert parts.key_str(keys[0]) == "2024-01-01T05:00"
    assert (
        parts.key_str(datetime(2024, 1, 1, 6, 0, 30, tzinfo=PARIS)) == "2024-01-01T06:00:30+01:00"
    )
    assert parts.key_str(utc(2024, 1, 1, 5).replace(microsecond=5)) == "2024-01-01T05:00:00.000005"
    assert parts.time_window(keys[0]) is None
    with pytest.raises(
        PartitionError, match=r"Nearest valid keys: '2024-01-01T05:00', '2024-01-01T07:00'"
    ):
        parts.parse_key("2024-01-01T06:00")
    with pytest.raises(PartitionError, match=r"a datetime"):
        FunctionPartitions("datetime", lambda: [d("2024-01-01")]).keys()


def test_function_custom_keys_keep_their_order() -> None:
    parts = FunctionPartitions("custom", lambda: iter(["b", "a", "b", "c"]))
    assert parts.keys() == ["b", "a", "c"]
    assert parts.select("a..c") == ["a", "c"]
    assert parts.time_window("a") is None
    assert parts.context_value("a") == "a"
    with pytest.raises(PartitionError, match=r"'d'.*Valid keys: 'b', 'a', 'c'"):
        parts.parse_key("d")
    with pytest.raises(PartitionError, match=r"'bb'.*Did you mean 'b'"):
        parts.parse_key("bb")
    with pytest.raises(PartitionError, match=r"custom partition keys are strings.*3"):
        FunctionPartitions("custom", lambda: ["a", 3]).keys()


def test_function_partitions_report_a_failing_or_odd_function() -> None:
    def broken() -> list[str]:
        raise RuntimeError("database down")

    with pytest.raises(
        PartitionError, match=r"partition_fn .*broken.* raised RuntimeError: database down"
    ) as info:
        FunctionPartitions("custom", broken).keys()
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(PartitionError, match=r"must return an iterable of keys.*int"):
        FunctionPartitions("custom", lambda: 5).keys()
    with pytest.raises(PartitionError, match=r"must return an iterable of keys.*str"):
        FunctionPartitions("custom", lambda: "abc").keys()
    with pytest.raises(PartitionError, match=r"Unknown partition kind 'dat'.*Did you mean 'date'"):
        FunctionPartitions("dat", _listed)
    with pytest.raises(PartitionError, match=r"callable.*int"):
        FunctionPartitions("custom", 5)  # type: ignore[arg-type]  # on purpose


def test_function_partitions_repr_equality_describe() -> None:
    parts = FunctionPartitions("custom", _listed)
    assert repr(parts) == f"FunctionPartitions('custom', {__name__}._listed)"
    assert parts == FunctionPartitions("custom", _listed)
    assert parts != FunctionPartitions("date", _listed)
    assert parts.describe() == f"custom partitions listed by {__name__}._listed()"
    assert FunctionPartitions("custom", _listed).key_str("a") == "a"


def test_function_empty_keys() -> None:
    parts = FunctionPartitions("custom", list)
    assert parts.keys() == []
    assert parts.latest() is None
    with pytest.raises(PartitionError, match="no keys"):
        parts.parse_key("a")


# -- seed forms: resolve_partitions and partition_spec_issues ----------------------------------
def test_resolve_partitions_maps_the_asset_fields() -> None:
    daily = DailyPartitions("2024-01-01")
    assert resolve_partitions(None, None) is None
    assert resolve_partitions(daily, None) is daily
    assert resolve_partitions("date", None) == DailyPartitions(None)
    assert resolve_partitions("datetime", None) == HourlyPartitions(None)
    assert resolve_partitions("date", _listed) == FunctionPartitions("date", _listed)
    assert resolve_partitions("datetime", _listed) == FunctionPartitions("datetime", _listed)
    assert resolve_partitions("custom", _listed) == FunctionPartitions("custom", _listed)
    assert resolve_partitions("daily:2024-01-01", None) == daily
    assert resolve_partitions("static:a,b", None) == StaticPartitions(["a", "b"])


@pytest.mark.parametrize(
    ("partitioned_by", "partition_fn", "pattern"),
    [
        ("custom", None, r"partition_fn"),
        (None, _listed, r"partition_fn is set but partitioned_by is not"),
        ("date", 5, r"partition_fn must be callable.*int"),
        (DailyPartitions("2024-01-01"), _listed, r"partition_fn is only used"),
        ("daily:2024-01-01", _listed, r"partition_fn is only used"),
        ("dialy", None, r"Did you mean 'daily'"),
        (5, None, r"partitioned_by must be.*int"),
    ],
)
def test_inconsistent_fields_are_issues_and_resolve_errors(
    partitioned_by: object, partition_fn: object, pattern: str
) -> None:
    issues = partition_spec_issues(partitioned_by, partition_fn)
    assert len(issues) == 1
    assert re.search(pattern, issues[0]), issues
    with pytest.raises(PartitionError, match=pattern):
        resolve_partitions(partitioned_by, partition_fn)


def test_spec_issues_are_empty_when_fine_and_never_call_the_function() -> None:
    def explode() -> list[str]:
        raise AssertionError("must not be called")

    assert partition_spec_issues(None, None) == []
    assert partition_spec_issues("custom", explode) == []
    assert partition_spec_issues("date", None) == []
    assert partition_spec_issues(DailyPartitions("2024-01-01"), None) == []
    assert partition_spec_issues("monthly:2024-01", None) == []


# -- spec strings (%%asset --partitioned-by) ----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily:2024-01-01:2024-03-31", DailyPartitions("2024-01-01", "2024-03-31")),
        ("daily:2024-01-01..2024-03-31", DailyPartitions("2024-01-01", "2024-03-31")),
        ("daily:2024-01-01", DailyPartitions("2024-01-01")),
        ("Daily : 2024-01-01", DailyPartitions("2024-01-01")),
        ("daily", DailyPartitions(None)),
        ("date", DailyPartitions(None)),
        ("datetime", HourlyPartitions(None)),
        ("hourly:2024-01-01T00:2024-01-02T23", HourlyPartitions("2024-01-01T00", "2024-01-02T23")),
        ("hourly:2024-01-01T00:00:2024-01-02T23:00", HourlyPartitions("2024-01-01", "2024-01-02")),
        ("hourly:2024-01-01T00:00", HourlyPartitions("2024-01-01")),
        ("weekly:2024-01-01:2024-12-30", WeeklyPartitions("2024-01-01", "2024-12-30")),
        ("monthly:2024-01:2024-12", MonthlyPartitions("2024-01", "2024-12")),
        ("static:eu,us,apac", StaticPartitions(["eu", "us", "apac"])),
        ("static: eu , us ", StaticPartitions(["eu", "us"])),
    ],
)
def test_parse_partition_spec(text: str, expected: PartitionsDefinition) -> None:
    assert parse_partition_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("dialy:2024-01-01", r"'dialy:2024-01-01'.*Did you mean 'daily'.*static:eu,us,apac"),
        ("daily:yesterday", r"'daily:yesterday'.*monthly:2024-01"),
        ("daily:2024-01-01:2024-02-01:2024-03-01", r"daily:2024-01-01"),
        ("daily:2024-03-01:2024-01-01", r"after"),
        ("static:", r"at least one key"),
        ("custom", r"partition_fn"),
        ("", r"empty"),
    ],
)
def test_bad_partition_specs_list_the_forms(text: str, pattern: str) -> None:
    with pytest.raises(PartitionError, match=pattern):
        parse_partition_spec(text)


# -- errors and performance ---------------------------------------------------------------------
def test_partition_errors_are_flowstone_and_value_errors() -> None:
    with pytest.raises(FlowstoneError):
        StaticPartitions([])
    with pytest.raises(ValueError, match="at least one key"):
        StaticPartitions([])


def test_a_year_of_daily_keys_and_membership_are_fast() -> None:
    days = DailyPartitions("2024-01-01", "2024-12-31")
    started = time.perf_counter()
    for _ in range(100):
        keys = days.keys()
    per_call = (time.perf_counter() - started) / 100
    assert len(keys) == 366
    assert per_call < 0.005, per_call  # typically ~50 µs; generous for loaded CI machines
    century = DailyPartitions("1950-01-01", "2049-12-31")
    started = time.perf_counter()
    for _ in range(1000):
        assert "2024-06-01" in century
    assert (time.perf_counter() - started) / 1000 < 0.001


# -- edges ----------------------------------------------------------------------------------------
class Stamp(datetime):
    """A datetime subclass, like a pandas Timestamp."""


def test_function_keys_accept_datetime_subclasses_and_count() -> None:
    parts = FunctionPartitions("datetime", lambda: [Stamp(2024, 1, 1, 5, tzinfo=UTC)])
    keys = parts.keys()
    assert type(keys[0]) is datetime
    assert keys == [utc(2024, 1, 1, 5)]
    assert parts.count() == 1


def test_function_date_keys_refuse_impossible_dates_and_other_types() -> None:
    with pytest.raises(PartitionError, match=r"not a date key.*'2024-13-45'"):
        FunctionPartitions("date", lambda: ["2024-13-45"]).keys()
    with pytest.raises(PartitionError, match=r"not a date key.*got int 5"):
        FunctionPartitions("date", lambda: [5]).keys()
    with pytest.raises(PartitionError, match=r"Cannot read partition key 5.*got int"):
        FunctionPartitions("custom", _listed).parse_key(5)


def test_function_range_errors_show_an_example_of_the_kind() -> None:
    for kind, example in (("date", "'2024-01-31'"), ("datetime", "'2024-01-31T05:00'")):
        with pytest.raises(PartitionError, match=re.escape(example)):
            FunctionPartitions(kind, list).select("a..b..c")
    with pytest.raises(PartitionError, match="keys like 'key'"):
        FunctionPartitions("custom", list).select("a..b..c")


def test_time_window_and_key_str_refuse_non_keys() -> None:
    with pytest.raises(PartitionError, match="Nearest valid keys: '2024-01-01', '2024-01-02'"):
        DailyPartitions("2024-01-01", "2024-01-31").time_window("2024-01-01T05:00")
    with pytest.raises(PartitionError, match="not the start of a month"):
        MonthlyPartitions(None).key_str("2024-01-15")


def test_nearest_keys_stop_at_the_end_of_the_calendar() -> None:
    with pytest.raises(PartitionError, match=r"Nearest valid key: '9999-12'\."):
        MonthlyPartitions(None).parse_key("9999-12-15")


def test_static_partitions_need_an_iterable() -> None:
    with pytest.raises(PartitionError, match=r"a list of keys, got int 5"):
        StaticPartitions(5)  # type: ignore[arg-type]  # a wrong type on purpose


def test_spec_with_two_range_separators() -> None:
    with pytest.raises(PartitionError, match=r"more than one '\.\.'"):
        parse_partition_spec("daily:2024-01-01..2024-02-01..2024-03-01")
