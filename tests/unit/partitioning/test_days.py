"""Day-based partitions (daily, weekly, monthly): keys, bounds, windows, open definitions."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.days import DailyPartitions, MonthlyPartitions, WeeklyPartitions
from flowstone_nb._partitioning.static_multi import StaticPartitions
from flowstone_nb._partitioning.time import TimePartitions
from tests.unit.partitioning.samples import NOW, PARIS, d, utc


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


def test_time_window_and_key_str_refuse_non_keys() -> None:
    with pytest.raises(PartitionError, match="Nearest valid keys: '2024-01-01', '2024-01-02'"):
        DailyPartitions("2024-01-01", "2024-01-31").time_window("2024-01-01T05:00")
    with pytest.raises(PartitionError, match="not the start of a month"):
        MonthlyPartitions(None).key_str("2024-01-15")


def test_nearest_keys_stop_at_the_end_of_the_calendar() -> None:
    with pytest.raises(PartitionError, match=r"Nearest valid key: '9999-12'\."):
        MonthlyPartitions(None).parse_key("9999-12-15")
