"""The interface every definition shares: value semantics, selection, errors, speed."""

from __future__ import annotations

import pickle
import time

import pytest

from flowstone_nb._core.errors import FlowstoneError, PartitionError
from flowstone_nb._partitioning.days import DailyPartitions, MonthlyPartitions, WeeklyPartitions
from flowstone_nb._partitioning.function import FunctionPartitions
from flowstone_nb._partitioning.hours import HourlyPartitions
from flowstone_nb._partitioning.static_multi import MultiPartitions, StaticPartitions
from tests.unit.partitioning.samples import NOW, d, listed


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
        FunctionPartitions("custom", listed),
    ):
        copy = pickle.loads(pickle.dumps(definition))
        assert copy == definition
        assert repr(copy) == repr(definition)


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
