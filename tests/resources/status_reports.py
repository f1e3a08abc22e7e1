"""A computed status report to look at, and a count of the rows it makes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import flowstone_nb as fs


def count_rows_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The partitions whose ``PartitionStatus`` row gets made from now on, in order."""
    from flowstone_nb._query import status_rows

    made: list[str] = []

    class Counted(status_rows.PartitionStatus):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(kwargs["partition"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(status_rows, "PartitionStatus", Counted)
    return made


def a_quarter_with_a_gap(last: str = "2024-02-29") -> None:
    """A daily asset of 2024-01-01..03-31, backfilled up to ``last``; 2024-01-20 fails."""

    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01", "2024-03-31"))
    def daily(context: Any) -> int:
        if context.partition == dt.date(2024, 1, 20):
            raise ValueError("no data")
        return int(context.partition.day)

    fs.backfill(daily, f"2024-01-01..{last}", progress=False)
