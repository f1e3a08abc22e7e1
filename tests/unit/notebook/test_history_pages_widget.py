"""The history widget on a long history: it asks for one page at a time, never the whole table."""

from __future__ import annotations

from typing import Any

import pandas as pd

import flowstone_nb as fs
from flowstone_nb._notebook.views import paged_history_view
from flowstone_nb._notebook.widgets.history import HistoryWidget, StorePages


class Recorded(StorePages):
    """The store's pages, with every request noted."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str | None, str | None, int, int]] = []

    def page(self, asset: str | None, status: str | None, offset: int, limit: int) -> pd.DataFrame:
        self.asked.append((asset, status, offset, limit))
        return super().page(asset, status, offset, limit)


def twenty_five_rows() -> None:
    """24 partitions of ``daily`` (one failed) and one value of ``config``."""

    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-24"))
    def daily(context: Any) -> int:
        if context.partition.day == 20:
            raise ValueError("no data on the 20th")
        return context.partition.day

    @fs.asset
    def config() -> dict[str, int]:
        return {"a": 1}

    fs.backfill(daily, progress=False, max_workers=1)
    fs.materialize(config)


def rows(widget: HistoryWidget) -> int:
    return int(widget.table.value.count("<tr>")) - 1


def test_a_paged_widget_steps_through_pages_of_the_store() -> None:
    twenty_five_rows()
    pages = Recorded()
    widget = HistoryWidget.paged(pages, page_size=10)
    assert rows(widget) == 10
    assert "rows 1-10, older ones follow" in widget.table.value
    assert (widget.previous.disabled, widget.next.disabled) == (True, False)
    assert widget.asset_filter.options == (
        ("all assets", ""),
        ("config", "config"),
        ("daily", "daily"),
    )
    widget.next.click()
    assert "rows 11-20, older ones follow" in widget.table.value
    widget.step(1)
    assert rows(widget) == 5
    assert "rows 21-25" in widget.table.value
    assert "older ones follow" not in widget.table.value
    assert (widget.previous.disabled, widget.next.disabled) == (False, True)
    widget.previous.click()
    assert "rows 11-20" in widget.table.value
    # each request was one page (and one row more, to know whether another follows)
    assert pages.asked == [
        (None, None, 0, 11),
        (None, None, 10, 11),
        (None, None, 20, 11),
        (None, None, 10, 11),
    ]


def test_filters_ask_for_the_first_page_under_them() -> None:
    twenty_five_rows()
    pages = Recorded()
    widget = HistoryWidget.paged(pages, page_size=10)
    widget.step(2)
    widget.status_filter.value = "failed"
    assert rows(widget) == 1
    assert "no data on the 20th" in widget.table.value
    assert pages.asked[-1] == (None, "failed", 0, 11)
    widget.status_filter.value = ""
    widget.asset_filter.value = "config"
    assert rows(widget) == 1
    assert "rows 1-1" in widget.table.value
    widget.step(1)
    assert rows(widget) == 0
    assert "no materializations match" in widget.table.value
    assert len(widget.filtered()) == 0


def test_a_paged_widget_of_an_empty_store_and_of_one_asset() -> None:
    empty = HistoryWidget.paged(StorePages(), page_size=10)
    assert "no materializations" in empty.to_text()
    twenty_five_rows()
    daily = HistoryWidget.paged(StorePages(), page_size=30, asset="daily")
    assert daily.asset_filter.value == "daily"
    assert rows(daily) == 24


def test_the_history_magic_view_pages_in_a_kernel_and_is_the_table_elsewhere(
    in_kernel: None,
) -> None:
    twenty_five_rows()
    shown = paged_history_view("daily", page_size=5)
    assert isinstance(shown, HistoryWidget)
    assert rows(shown) == 5


def test_outside_a_kernel_the_history_magic_view_is_the_whole_table() -> None:
    twenty_five_rows()
    shown = paged_history_view("daily")
    assert isinstance(shown, pd.DataFrame)
    assert len(shown) == 24


def test_a_widget_of_one_frame_has_no_pages_to_step_through() -> None:
    twenty_five_rows()
    widget = HistoryWidget(fs.history(), max_rows=10)
    before = widget.table.value
    widget.step(1)
    assert widget.table.value == before
    assert (widget.previous, widget.next) == (None, None)
