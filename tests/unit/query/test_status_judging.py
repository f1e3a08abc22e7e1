"""The status report judges many partitions at once as the run would judge each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import flowstone_nb as fs
from flowstone_nb._storage.store import get_store

REGIONS = fs.StaticPartitions(["eu", "us", "apac"])


def test_values_stored_by_two_io_managers_are_each_checked_by_their_own(tmp_path: Path) -> None:
    def define(io_manager: str) -> Any:
        @fs.asset(
            name="kept",
            partitioned_by=REGIONS,
            io_manager=io_manager,
            code_version="1",
            replace=True,
        )
        def kept(context: Any) -> list[str]:
            return [context.partition]

        return kept

    fs.materialize(define("filesystem"), "eu")
    fs.materialize(define("memory"), "us")
    assert fs.status("kept")["kept"] == {"eu": "fresh", "us": "fresh", "apac": "missing"}
    stored = {row.partition: row for row in get_store().catalog.history("kept")}
    assert {row.io_manager for row in stored.values()} == {"filesystem", "memory"}
    Path(get_store().home, stored["s:eu"].location or "").unlink()
    get_store().io_manager("memory").delete(stored["s:us"].location or "")
    report = fs.status("kept")
    assert report["kept"] == {"eu": "stale", "us": "stale", "apac": "missing"}
    assert {row.reason for row in report.for_asset("kept")} == {
        "stored value is gone",
        "never materialized",
    }


def test_days_consuming_one_month_share_its_verdict() -> None:
    months = fs.MonthlyPartitions("2024-01", "2024-02")
    days = fs.DailyPartitions("2024-01-01", "2024-02-29")

    sold = {1: 10, 2: 20}

    @fs.asset(partitioned_by=months)
    def monthly(context: Any) -> int:
        return sold[context.partition.month]

    @fs.asset(partitioned_by=days, partition_mappings={"monthly": fs.TimeWindowMapping()})
    def daily(context: Any, monthly: int) -> int:
        return monthly

    fs.backfill(daily, "2024-01-01..2024-02-29", progress=False)
    assert set(fs.status("daily")["daily"].values()) == {"fresh"}
    sold[2] = 21
    fs.materialize(monthly, dt.date(2024, 2, 1), force=True)
    found = fs.status("daily")
    assert found.counts()["daily"] == {"fresh": 31, "stale": 29}
    assert {row.reason for row in found.for_asset("daily") if row.status == "stale"} == {
        "upstream 'monthly[2024-02]' changed"
    }
