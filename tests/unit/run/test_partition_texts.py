"""Partitions are named in every message, result, status and history as their users write them.

The catalog keeps keys in a tagged form ('d:2013-01-05') and a month as the date it starts: neither
may reach a person.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._cli import main as cli
from flowstone_nb._core.events import Event, subscribe

DAYS = fs.DailyPartitions("2013-01-01", "2013-02-28")
MONTHS = fs.MonthlyPartitions("2013-01", "2013-02")
#: The catalog's tagged forms of a key: d:, s:, i:, t:, n:, m:[
TAGGED = re.compile(r"\b[dsitnm]:[\[\"0-9a-z]")


def untagged(*texts: object) -> bool:
    return not any(TAGGED.search(str(text)) for text in texts)


def define_daily() -> fs.Asset:
    @fs.asset(partitioned_by=DAYS)
    def daily(context: Any) -> int:
        if context.partition_key == "2013-01-05":
            raise ValueError("no data for this day")
        return 1

    return daily


def test_a_failing_daily_partition_is_named_as_written() -> None:
    daily = define_daily()
    with pytest.raises(fs.MaterializationError) as caught:
        fs.materialize(daily, "2013-01-05")
    message = str(caught.value)
    assert message.startswith("Asset 'daily' partition '2013-01-05' failed: ValueError: no data")
    result = fs.backfill(daily, "2013-01-04..2013-01-06")
    (failed,) = result.failed
    assert failed.partition == "2013-01-05"
    assert "partition '2013-01-05' failed" in str(failed.error)
    assert fs.status(daily).rows[4].partition == "2013-01-05"
    assert untagged(message, result, result._repr_html_(), fs.status(daily))


def test_a_failing_month_is_named_as_a_month() -> None:
    @fs.asset(partitioned_by=MONTHS)
    def monthly(context: Any) -> int:
        raise RuntimeError("the month is closed")

    with pytest.raises(fs.MaterializationError, match=r"^Asset 'monthly' partition '2013-01' fail"):
        fs.materialize(monthly, "2013-01")
    history = fs.history(monthly)
    assert list(history.partition) == ["2013-01"]
    assert list(history.error_message) == ["the month is closed"]
    assert fs.status(monthly).rows[0].reason == "RuntimeError: the month is closed"


def test_a_month_whose_day_fails_names_the_day_and_the_month() -> None:
    define_daily()

    @fs.asset(partitioned_by=MONTHS)
    def monthly(daily: dict[Any, int]) -> int:
        return sum(daily.values())

    seen: list[Event] = []
    unsubscribe = subscribe(seen.append)
    try:
        with pytest.raises(fs.MaterializationError) as caught:
            fs.materialize(monthly, "2013-01")
    finally:
        unsubscribe()
    assert str(caught.value).startswith("Asset 'daily' partition '2013-01-05' failed")
    assert {e.partition for e in seen if e.asset == "monthly"} <= {"2013-01"}
    assert {e.partition for e in seen if e.asset == "daily"} >= {"2013-01-04", "2013-01-05"}
    result = fs.backfill(monthly, "2013-01..2013-02")
    assert [(p.partition, p.error) for p in result.failed] == [
        ("2013-01", "upstream daily[2013-01-05] raised ValueError: no data for this day")
    ]
    assert untagged(caught.value, result, *(e.partition for e in seen))


def test_a_missing_upstream_period_is_named_as_written() -> None:
    @fs.asset(partitioned_by=fs.DailyPartitions("2013-01-30", "2013-02-28"))
    def daily() -> int:
        return 1

    @fs.asset(
        partitioned_by=MONTHS,
        partition_mappings={"daily": fs.TimeWindowMapping(allow_partial=False)},
    )
    def monthly(daily: dict[Any, int]) -> int:
        return sum(daily.values())

    with pytest.raises(fs.PartitionError) as caught:
        fs.materialize(monthly, "2013-01")
    message = str(caught.value)
    assert message.startswith("Partition '2013-01' of 'monthly' covers 2013-01-01T00:00:00")
    assert "missing '2013-01-01', '2013-01-02', '2013-01-03'" in message
    with pytest.raises(fs.FlowstoneError, match=r"^Asset 'monthly\[2013-01\]' has no successful"):
        fs.load(monthly, "2013-01")


def test_history_and_lineage_rows_name_multi_and_hourly_keys_as_written() -> None:
    @fs.asset(
        partitioned_by=fs.MultiPartitions(
            {"region": fs.StaticPartitions(["eu", "us"]), "day": DAYS}
        )
    )
    def regional(context: Any) -> str:
        return str(context.partition_key)

    @fs.asset(partitioned_by=fs.HourlyPartitions("2013-01-05", "2013-01-05", timezone="Asia/Tokyo"))
    def hourly(context: Any) -> str:
        return str(context.partition_key)

    fs.materialize(regional, ("eu", "2013-01-05"))
    fs.materialize(hourly, "2013-01-05T09:00")
    history = fs.history()
    assert sorted(history.partition) == ["2013-01-05T09:00", "eu|2013-01-05"]
    assert fs.lineage(hourly, "2013-01-05T09:00").partition == "2013-01-05T09:00"
    assert fs.load(regional, "eu|2013-01-05") == "eu|2013-01-05"
    assert untagged(history.to_string(), fs.status())


MONTHLY_SOURCE = """
import flowstone_nb as fs


@fs.asset(partitioned_by=fs.MonthlyPartitions("2013-01", "2013-02"))
def monthly(context):
    if context.partition_key == "2013-01":
        raise RuntimeError("the month is closed")
    return 1
"""


def test_the_command_line_names_a_failing_month_as_a_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "months.py"
    source.write_text(MONTHLY_SOURCE, encoding="utf-8")
    home = str(tmp_path / "cli-home")
    assert cli.main(["backfill", str(source), "monthly", "--home", home]) == 1
    out, err = capsys.readouterr()
    assert "monthly[2013-01] failed: the month is closed" in err
    assert cli.main(["history", "--home", home, "--json"]) == 0
    out, _ = capsys.readouterr()
    assert sorted(row["partition"] for row in json.loads(out)) == ["2013-01", "2013-02"]
    assert untagged(out, err)
