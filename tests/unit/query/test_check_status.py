"""fs.status names the failing data checks of each partition; a failing blocking check fails it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._core.errors import CheckFailedError
from flowstone_nb._define.registry import Registry

DAYS = fs.StaticPartitions(["north", "south"])


def regions() -> fs.Asset:
    @fs.asset(partitioned_by=DAYS)
    def sales(context: Any) -> pd.DataFrame:
        sign = -1.0 if context.partition == "south" else 1.0
        return pd.DataFrame({"amount": [sign, 2 * sign]})

    return sales


def positive(sales: pd.DataFrame) -> fs.CheckResult:
    negative = int((sales.amount < 0).sum())
    return fs.CheckResult(negative == 0, f"{negative} negative amounts")


def test_a_failing_check_keeps_a_value_fresh_and_is_named_on_its_row() -> None:
    regions()
    fs.check("sales")(positive)
    fs.check("sales", name="has_rows")(lambda sales: len(sales) > 0)
    fs.backfill("sales")
    report = fs.status()
    assert report["sales"] == {"north": "fresh", "south": "fresh"}
    north, south = report.for_asset("sales")
    assert (north.checks_failing, north.check_message) == ((), "")
    assert south.checks_failing == ("positive",)
    assert south.check_message == "positive: 2 negative amounts"
    text = repr(report)
    assert "checks" in text.splitlines()[0]
    assert "positive: 2 negative amounts" in text
    assert ">checks</th>" in report._repr_html_()
    frame = report.to_frame()
    assert frame.loc[frame.partition == "south", "checks_failing"].iloc[0] == ("positive",)


def test_a_report_without_failing_checks_has_no_checks_column() -> None:
    regions()
    fs.check("sales", name="has_rows")(lambda sales: len(sales) > 0)
    fs.backfill("sales")
    report = fs.status()
    assert "checks" not in repr(report).splitlines()[0]
    assert ">checks</th>" not in report._repr_html_()


def test_a_failing_blocking_check_makes_the_partition_failed_and_names_it() -> None:
    regions()
    fs.check("sales", blocking=True)(positive)
    result = fs.backfill("sales")
    assert result["south"].status == "failed"
    assert result["south"].error_type == "CheckFailedError"
    south = fs.status().for_asset("sales")[1]
    assert south.status == "failed"
    assert "Blocking check 'positive' of asset 'sales' failed on partition 'south'" in south.reason
    assert south.checks_failing == ("positive",)
    assert south.materialization_id is None  # no good value yet


def test_a_blocking_check_added_later_fails_the_stored_value_in_the_status(
    registry: Registry,
) -> None:
    sales = regions()
    fs.backfill(sales)
    fs.check("sales", blocking=True)(positive)
    with pytest.raises(CheckFailedError):
        fs.materialize(sales, "south")
    south = fs.status().for_asset("sales")[1]
    assert (south.status, south.reason) == ("failed", "blocking check 'positive' failed")
    assert south.materialization_id is not None


def test_outcomes_of_checks_no_longer_defined_are_not_shown(registry: Registry) -> None:
    regions()
    fs.check("sales")(positive)
    fs.backfill("sales")
    registry.clear()
    regions()
    assert fs.status().for_asset("sales")[1].checks_failing == ()
