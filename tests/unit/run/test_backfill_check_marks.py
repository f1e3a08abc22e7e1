"""A backfill's result names the partitions a data check fails on, as its progress did.

A non-blocking check that fails leaves the partition computed (or reused) and fresh: the result
counts it apart ("1 partition with failing checks"), marks its square with the ring the status
grid uses and lists what the checks found, in its text and HTML alike.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import flowstone_nb as fs
from flowstone_nb._core.html import FLAGGED_RING
from flowstone_nb._core.states import PALETTE, CheckState
from flowstone_nb._run.backfill import BackfillResult, PartitionResult

REGIONS = fs.StaticPartitions(["north", "south", "west"])
EVIL = "<script>alert(1)</script>"


def regions() -> None:
    @fs.asset(partitioned_by=REGIONS)
    def sales(context: Any) -> pd.DataFrame:
        sign = -1.0 if context.partition == "south" else 1.0
        return pd.DataFrame({"amount": [sign, 2 * sign]})


def positive(sales: pd.DataFrame) -> fs.CheckResult:
    negative = int((sales.amount < 0).sum())
    return fs.CheckResult(negative == 0, f"{negative} negative amounts")


def test_the_result_names_the_partitions_checks_fail_on() -> None:
    regions()
    fs.check("sales")(positive)
    fs.check("sales", name="has_rows")(lambda sales: len(sales) > 0)
    result = fs.backfill("sales")
    assert result.ok  # a failing non-blocking check leaves the value fresh
    assert result.counts() == {"computed": 3}
    south = result["south"]
    assert (south.checks_failing, south.check_message) == (
        ("positive",),
        "positive: 2 negative amounts",
    )
    assert result["north"].checks_failing == ()
    assert [p.partition for p in result.flagged] == ["south"]
    assert result.summary().endswith("; 1 partition with failing checks")
    text = repr(result)
    assert "south  ⚑ positive: 2 negative amounts" in text
    html = result._repr_html_()
    assert html.count("fs-square fs-checks-failing fs-square-computed") == 1
    assert html.count(FLAGGED_RING) == 1
    assert "1 partition with failing checks" in html
    assert f"color:{PALETTE[CheckState.FAILING].strong}" in html
    assert "positive: 2 negative amounts" in html
    assert list(result.to_frame().columns)[-2:] == ["checks_failing", "check_message"]


def test_a_reused_partition_keeps_what_its_checks_found() -> None:
    regions()
    fs.check("sales")(positive)
    fs.backfill("sales")
    again = fs.backfill("sales")
    assert again.counts() == {"reused": 3}
    assert [p.partition for p in again.flagged] == ["south"]


def test_a_result_without_checks_asks_for_none_and_says_nothing_of_them() -> None:
    regions()
    result = fs.backfill("sales")
    assert result.flagged == []
    assert "failing checks" not in result.summary()
    assert "fs-checks-failing" not in result._repr_html_()


def test_many_flagged_partitions_are_listed_up_to_a_few_and_escaped() -> None:
    partitions = tuple(
        PartitionResult(f"p{i}", "computed", checks_failing=("x",), check_message=f"x: {EVIL}")
        for i in range(30)
    )
    result = BackfillResult("sales", "run", partitions, 1.0)
    text = repr(result)
    assert "… and 20 more" in text
    html = result._repr_html_()
    assert "<script" not in html
    assert "… and 20 more" in html
    assert html.count("<tr>") == 11  # the header and ten partitions
