"""Partitioned assets through the engine: mappings, context values, lineage per partition."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs

DAYS = fs.DailyPartitions("2024-01-01", "2024-02-29")
MONTHS = fs.MonthlyPartitions("2024-01", "2024-02")


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


def define_daily(calls: Counter[str]) -> fs.Asset:
    @fs.asset(partitioned_by=DAYS)
    def sales(context: Any) -> pd.DataFrame:
        calls["sales"] += 1
        assert isinstance(context.partition, dt.date)
        return pd.DataFrame({"day": [context.partition], "amount": [float(context.partition.day)]})

    return sales


def test_identity_mapping_passes_the_single_value(calls: Counter[str]) -> None:
    define_daily(calls)

    @fs.asset(partitioned_by=DAYS)
    def doubled(sales: pd.DataFrame) -> pd.DataFrame:
        return sales.assign(amount=sales.amount * 2)

    frame = fs.materialize(doubled, "2024-01-05")
    assert frame.amount.tolist() == [10.0]
    assert fs.materialize(doubled, dt.date(2024, 1, 5)).amount.tolist() == [10.0]
    assert calls["sales"] == 1


def test_monthly_on_daily_receives_that_months_days(calls: Counter[str]) -> None:
    define_daily(calls)

    @fs.asset(partitioned_by=MONTHS)
    def monthly(context: Any, sales: dict[dt.date, pd.DataFrame]) -> float:
        assert context.partition == dt.date(2024, 2, 1)
        assert min(sales) == dt.date(2024, 2, 1)
        return float(sum(frame.amount.sum() for frame in sales.values()))

    assert fs.materialize(monthly, "2024-02") == float(sum(range(1, 30)))
    assert calls["sales"] == 29
    lineage = fs.lineage(monthly, "2024-02")
    assert len(lineage.upstream) == 29
    assert lineage.partition == "2024-02"
    assert {e.partition for e in lineage.upstream} >= {"2024-02-01", "2024-02-29"}


def test_unpartitioned_downstream_receives_all_partitions(calls: Counter[str]) -> None:
    define_daily(calls)

    @fs.asset
    def everything(sales: dict[dt.date, pd.DataFrame]) -> int:
        return len(sales)

    assert fs.materialize(everything) == 60


def test_partitioned_downstream_of_unpartitioned_gets_the_single_value(calls: Counter[str]) -> None:
    @fs.asset
    def rates() -> dict[str, float]:
        calls["rates"] += 1
        return {"eur": 1.1}

    @fs.asset(partitioned_by=DAYS)
    def converted(context: Any, rates: dict[str, float]) -> float:
        return rates["eur"] * context.partition.day

    assert fs.materialize(converted, "2024-01-10") == pytest.approx(11.0)
    assert fs.materialize(converted, "2024-01-11") == pytest.approx(12.1)
    assert calls["rates"] == 1


def test_trailing_window(calls: Counter[str]) -> None:
    define_daily(calls)

    @fs.asset(partitioned_by=DAYS, partition_mappings={"sales": fs.TrailingWindow(7)})
    def weekly_avg(sales: dict[dt.date, pd.DataFrame]) -> float:
        return float(pd.concat(sales.values()).amount.mean())

    assert fs.materialize(weekly_avg, "2024-01-10") == pytest.approx(7.0)
    assert fs.materialize(weekly_avg, "2024-01-03") == pytest.approx(2.0)


def test_staleness_follows_the_mapping(calls: Counter[str]) -> None:
    define_daily(calls)

    @fs.asset(partitioned_by=MONTHS)
    def monthly(sales: dict[dt.date, pd.DataFrame]) -> int:
        calls["monthly"] += 1
        return len(sales)

    fs.materialize(monthly, "2024-01")
    fs.materialize(monthly, "2024-02")
    fs.materialize("sales", "2024-01-15", force=True)  # same content: nothing downstream changes
    report = fs.status(monthly)
    assert report["monthly"] == {"2024-01": "fresh", "2024-02": "fresh"}
    assert "2/2 fresh" in report.summary("monthly")


def test_a_partitioned_asset_needs_a_partition(calls: Counter[str]) -> None:
    sales = define_daily(calls)
    with pytest.raises(
        fs.PartitionError, match=r"pass partition=\.\.\., e\.g\. partition='2024-02-29'"
    ):
        fs.materialize(sales)
    with pytest.raises(fs.PartitionError, match="2024-03-01"):
        fs.materialize(sales, "2024-03-01")


def test_unmappable_partitionings_fail_at_definition_or_materialize(calls: Counter[str]) -> None:
    define_daily(calls)
    with pytest.raises(fs.PartitionError, match="cannot be mapped"):

        @fs.asset(partitioned_by=fs.StaticPartitions(["eu", "us"]))
        def regional(sales: Any) -> int:
            return 1

    with pytest.warns(fs.FlowstoneWarning, match="'later'"):  # its upstream comes later

        @fs.asset(partitioned_by=fs.StaticPartitions(["eu", "us"]))
        def early(later: Any) -> int:
            return 1

    @fs.asset(partitioned_by=DAYS)
    def later() -> int:
        calls["later"] += 1
        return 1

    with pytest.raises(fs.PartitionError, match="cannot be mapped"):
        fs.materialize(early, "eu")
    assert calls["later"] == 0


def test_status_lists_every_partition_with_readable_keys(calls: Counter[str]) -> None:
    sales = define_daily(calls)
    fs.backfill(sales, "2024-01-01..2024-01-03")
    report = fs.status(sales)
    assert report.counts() == {"sales": {"fresh": 3, "missing": 57}}
    assert report["sales"]["2024-01-02"] == "fresh"
    history = fs.history(sales)
    assert sorted(history.partition) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert list(fs.history(sales, "2024-01-02").partition) == ["2024-01-02"]


def test_hourly_context_value_is_aware(calls: Counter[str]) -> None:
    @fs.asset(partitioned_by=fs.HourlyPartitions("2024-01-01T00:00", "2024-01-01T23:00"))
    def hourly(context: Any) -> str:
        assert context.partition.tzinfo is not None
        return context.partition_key

    assert fs.materialize(hourly, "2024-01-01T05:00") == "2024-01-01T05:00"


def test_seed_form_custom_partitions(calls: Counter[str]) -> None:
    @fs.asset(partitioned_by="custom", partition_fn=lambda: ["eu", "us"])
    def region(context: Any) -> str:
        return context.partition.upper()

    assert fs.materialize(region, "us") == "US"
    result = fs.backfill(region)
    assert result.counts() == {"computed": 1, "reused": 1}


def test_previous_partition_of_the_asset_itself(calls: Counter[str]) -> None:
    days = fs.DailyPartitions("2024-01-01", "2024-01-05")

    @fs.asset(partitioned_by=days)
    def deposits(context: Any) -> int:
        return context.partition.day

    @fs.asset(partitioned_by=days, partition_mappings={"balance": fs.PreviousPartition()})
    def balance(deposits: int, balance: int | None) -> int:
        calls["balance"] += 1
        return deposits + (balance or 0)

    assert balance.depends_on == ["deposits", "balance"]
    result = fs.backfill(balance, max_workers=2)
    assert result.ok
    assert [fs.load(balance, f"2024-01-0{d}") for d in range(1, 6)] == [1, 3, 6, 10, 15]
    lineage = fs.lineage(balance, "2024-01-03", depth=1)
    assert {(e.asset, e.partition) for e in lineage.upstream} == {
        ("deposits", "2024-01-03"),
        ("balance", "2024-01-02"),
    }
    fs.materialize(deposits, "2024-01-02", force=True)  # same data: nothing downstream moves
    assert fs.status(balance)["balance"]["2024-01-05"] == "fresh"
    assert list(fs.impact(deposits, "2024-01-04")) == [
        ("balance", "2024-01-04"),
        ("balance", "2024-01-05"),
    ]
