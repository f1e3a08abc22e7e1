"""Time windows end to end: what a day or a month consumes of finer partitions, in real zones.

A day consumes the local hours it has (24 in Kathmandu and Chatham, whose offsets have :45; 23 on
the day Sao Paulo's clocks skipped midnight), and a month consumes the days its upstream has of
it: all it has by default, or, with ``TimeWindowMapping(allow_partial=False)``, the whole month or
an error before anything runs.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import flowstone_nb as fs

MONTHS = fs.MonthlyPartitions("2024-01", "2024-03")


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


def define_hourly_and_daily(zone: str, first: str, last: str, calls: Counter[str]) -> fs.Asset:
    @fs.asset(partitioned_by=fs.HourlyPartitions(first, last, timezone=zone))
    def readings(context: Any) -> int:
        calls["readings"] += 1
        local = context.partition.astimezone(ZoneInfo(zone))
        assert (local.minute, local.second) == (0, 0), local
        return 1

    @fs.asset(partitioned_by=fs.DailyPartitions(first, last, timezone=zone))
    def per_day(readings: dict[datetime, int]) -> int:
        return sum(readings.values())

    return per_day


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe"])
@pytest.mark.parametrize("day", ["2024-01-15", "2024-07-15"])
def test_a_daily_roll_up_of_hours_counts_each_local_hour_once(
    zone: str, day: str, calls: Counter[str]
) -> None:
    per_day = define_hourly_and_daily(zone, "2024-01-01", "2024-12-31", calls)
    assert fs.materialize(per_day, day) == 24
    assert calls["readings"] == 24
    lineage = fs.lineage(per_day, day)
    assert sorted(e.partition for e in lineage.upstream) == [
        f"{day}T{hour:02d}:00" for hour in range(24)
    ]


def test_the_day_sao_paulo_skipped_midnight_rolls_up_its_23_hours(calls: Counter[str]) -> None:
    per_day = define_hourly_and_daily("America/Sao_Paulo", "2018-11-01", "2018-11-30", calls)
    result = fs.backfill("readings", "2018-11-04..2018-11-04")
    assert [p.partition for p in result.partitions][:2] == ["2018-11-04T01:00", "2018-11-04T02:00"]
    assert len(result.partitions) == 23
    assert fs.materialize(per_day, "2018-11-04") == 23
    assert fs.materialize(per_day, "2018-11-05") == 24
    assert calls["readings"] == 23 + 24


# -- months of a daily upstream that covers part of them ------------------------------------------
def define_days_from_the_15th(calls: Counter[str]) -> None:
    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-15", "2024-03-31"))
    def sales(context: Any) -> int:
        calls["sales"] += 1
        return 1


def test_by_default_a_month_gets_the_days_its_upstream_has(calls: Counter[str]) -> None:
    define_days_from_the_15th(calls)

    @fs.asset(partitioned_by=MONTHS)
    def monthly(sales: dict[date, int]) -> int:
        return sum(sales.values())

    assert fs.materialize(monthly, "2024-01") == 17
    assert len(fs.lineage(monthly, "2024-01").upstream) == 17
    assert fs.backfill(monthly, "2024-01..2024-03").ok
    assert fs.status(monthly).counts() == {"monthly": {"fresh": 3}}


def test_whole_months_only_refuse_a_partial_month_before_anything_runs(
    calls: Counter[str],
) -> None:
    define_days_from_the_15th(calls)

    @fs.asset(
        partitioned_by=MONTHS,
        partition_mappings={"sales": fs.TimeWindowMapping(allow_partial=False)},
    )
    def monthly(sales: dict[date, int]) -> int:
        return sum(sales.values())

    expected = (
        r"^Partition '2024-01' of 'monthly' covers .* but 'sales' \(DailyPartitions\("
        r"'2024-01-15', '2024-03-31'\)\) has only part of it: missing '2024-01-01', .* "
        r"\(14 keys\)\. TimeWindowMapping\(allow_partial=False\) consumes whole periods: select"
    )
    with pytest.raises(fs.PartitionError, match=expected):
        fs.materialize(monthly, "2024-01")
    with pytest.raises(fs.PartitionError, match=expected):
        fs.backfill(monthly, "2024-01..2024-03")
    assert calls["sales"] == 0
    assert fs.history().empty
    result = fs.backfill(monthly, "2024-02..2024-03")
    assert result.ok
    assert fs.load(monthly, "2024-02") == 29
    assert calls["sales"] == 29 + 31
    assert fs.validate(monthly) == []  # a definition that fits: only its first month is partial
