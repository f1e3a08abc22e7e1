"""``fs.history`` a page at a time: what the history widget asks for on a long history."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._core.errors import StoreError
from flowstone_nb._query.api import history_page


def daily_with_a_failure() -> fs.Asset:
    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-10"))
    def daily(context: Any) -> int:
        if context.partition.day == 4:
            raise ValueError("no data on the 4th")
        return context.partition.day

    fs.backfill(daily, progress=False)
    return daily


def test_pages_of_the_history_are_its_rows_in_order() -> None:
    daily_with_a_failure()
    whole = fs.history()
    assert len(whole) == 10
    pages = [fs.history(limit=3, offset=offset) for offset in range(0, 12, 3)]
    assert [len(page) for page in pages] == [3, 3, 3, 1]
    together = pd.concat(pages, ignore_index=True)
    for column in ("materialization_id", "partition", "status", "checks"):
        assert list(together[column]) == list(whole[column])
    assert fs.history(limit=3, offset=10).empty
    assert list(fs.history("daily", "2024-01-04", limit=5).status) == ["failed"]


def test_a_page_of_one_status_and_a_bad_offset() -> None:
    daily_with_a_failure()
    failed = history_page("daily", statuses=["failed"], limit=5)
    assert list(failed.partition) == ["2024-01-04"]
    successes = history_page("daily", statuses=["success"], limit=4, offset=4)
    assert len(successes) == 4
    assert set(successes.status) == {"success"}
    with pytest.raises(StoreError, match=r"offset=-1"):
        fs.history(limit=3, offset=-1)
