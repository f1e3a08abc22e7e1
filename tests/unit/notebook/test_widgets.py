"""Widgets and rich views: lineage navigation, history filters, status grid, backfill progress.

Tests read widget values (``.value``, ``.children``, trait values) and click buttons with
``button.click()``; no browser is involved. Every HTML view is checked with a hostile name.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._core.html import when
from flowstone_nb._core.states import strong_colour
from flowstone_nb._notebook.views import (
    BackfillProgress,
    HistoryWidget,
    LineageWidget,
    StatusGrid,
    history_view,
    lineage_view,
    status_view,
    store_navigator,
)
from flowstone_nb._query.lineage import HISTORY_COLUMNS, Lineage, LineageEntry
from flowstone_nb._query.status import PartitionStatus, StatusReport
from tests.resources.fake_timers import FakeTimers
from tests.resources.status_reports import a_quarter_with_a_gap, count_rows_made

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def html_of(widget: Any) -> str:
    """All HTML-widget values under ``widget``, concatenated (what the browser would parse)."""
    own = widget.value if type(widget).__name__ == "HTML" else ""
    return own + "".join(html_of(child) for child in getattr(widget, "children", ()))


def assert_escaped(html: str) -> None:
    assert "<script" not in html
    assert ESCAPED in html


# --- lineage -----------------------------------------------------------------------------------


def entry(
    asset: str,
    mat_id: str,
    *,
    direction: str = "upstream",
    depth: int = 1,
    partition: str = "",
    status: str = "success",
    rows: int | None = 3,
) -> LineageEntry:
    return LineageEntry(
        direction=direction,
        depth=depth,
        asset=asset,
        partition=partition,
        materialization_id=mat_id,
        data_version="0123456789abcdef",
        finished_at=1_700_000_000.0,
        rows=rows,
        status=status,
        via="m-start",
    )


def lineage_of(asset: str, mat_id: str, *entries: LineageEntry, partition: str = "") -> Lineage:
    return Lineage(asset, partition, mat_id, "feedbeefcafe0000", tuple(entries))


START = lineage_of(
    "report",
    "m-report",
    entry("clean", "m-clean"),
    entry("raw", "m-raw", depth=2, partition="2024-01-01"),
    entry("dashboard", "m-dash", direction="downstream", rows=None),
)


class Navigator:
    """A navigate callback that serves hand-made lineages and remembers what was asked."""

    def __init__(self, known: dict[str, Lineage]) -> None:
        self.known = known
        self.asked: list[str] = []

    def __call__(self, target: LineageEntry) -> Lineage:
        self.asked.append(target.materialization_id)
        if target.materialization_id not in self.known:
            raise FlowstoneError(
                f"No materialization with id {target.materialization_id!r} of {target.asset}."
            )
        return self.known[target.materialization_id]


def test_lineage_widget_has_one_clickable_row_per_entry() -> None:
    widget = LineageWidget(START, navigate=Navigator({}))
    buttons = widget.row_buttons
    assert [b.description for b in buttons] == ["clean", "raw[2024-01-01]", "dashboard"]
    assert all("fs-lineage-row" in b._dom_classes for b in buttons)
    assert "fs-lineage-upstream" in buttons[0]._dom_classes
    assert "fs-lineage-downstream" in buttons[2]._dom_classes
    assert not any(b.disabled for b in buttons)
    assert "fs-lineage" in widget.widget._dom_classes
    assert "report" in widget.title.value
    assert widget.back_button.disabled
    grids = [c for c in widget.sections.children if type(c).__name__ == "GridBox"]
    assert len(grids) == 2
    text = html_of(widget.widget)
    assert "upstream" in text
    assert "downstream" in text
    assert "0123456789ab" in text
    assert "2023-11-14 22:13:20" in text


def test_clicking_a_row_recentres_and_back_returns() -> None:
    clean = lineage_of("clean", "m-clean", entry("raw", "m-raw"))
    navigator = Navigator({"m-clean": clean})
    widget = LineageWidget(START, navigate=navigator)
    widget.row_buttons[0].click()
    assert navigator.asked == ["m-clean"]
    assert widget.lineage is clean
    assert "clean" in widget.title.value
    assert [b.description for b in widget.row_buttons] == ["raw"]
    assert not widget.back_button.disabled
    assert "report" in widget.breadcrumb.value
    assert "fs-lineage-back" in widget.back_button._dom_classes
    widget.back_button.click()
    assert widget.lineage is START
    assert widget.back_button.disabled
    assert widget.breadcrumb.value == ""
    widget.back()  # nothing left to go back to: stays put
    assert widget.lineage is START


def test_a_failed_navigation_shows_the_error_and_stays() -> None:
    widget = LineageWidget(START, navigate=Navigator({}))
    widget.row_buttons[1].click()
    assert widget.lineage is START
    assert "No materialization with id" in widget.message.value
    assert "m-raw" in widget.message.value
    widget.open(START.entries[0])
    assert widget.lineage is START


def test_without_navigation_or_for_forgotten_rows_buttons_are_disabled() -> None:
    widget = LineageWidget(START)
    assert all(b.disabled for b in widget.row_buttons)
    forgotten = lineage_of("x", "m-x", entry("gone", "m-gone", status="forgotten"))
    widget = LineageWidget(forgotten, navigate=Navigator({}))
    assert widget.row_buttons[0].disabled
    assert "forgotten" in widget.row_buttons[0].tooltip


def test_lineage_without_entries_says_so() -> None:
    widget = LineageWidget(lineage_of("alone", "m-alone"))
    assert widget.row_buttons == []
    assert "no recorded inputs: alone consumed no other" in html_of(widget.widget)
    assert "no recorded inputs: alone consumed no other" in widget.to_text()
    assert "no recorded inputs: alone consumed no other" in widget.to_html()


def test_lineage_fallbacks_show_the_same_facts() -> None:
    clean = lineage_of("clean", "m-clean", entry("raw", "m-raw"))
    widget = LineageWidget(START, navigate=Navigator({"m-clean": clean}))
    widget.row_buttons[0].click()
    text = widget.to_text()
    assert repr(widget) == text
    assert "Lineage of clean" in text
    assert "back: report" in text
    html = widget.to_html()
    assert "fs-lineage" in html
    assert "report" in html
    bundle = widget._repr_mimebundle_()
    assert bundle[WIDGET_MIME]["model_id"] == widget.widget.model_id
    assert bundle["text/html"] == html
    assert bundle["text/plain"] == text


def test_every_lineage_string_is_escaped() -> None:
    evil = Lineage(
        EVIL,
        EVIL,
        "m-evil",
        EVIL,
        (entry(EVIL, "m-up", partition=EVIL), entry(EVIL, "m-down", direction="downstream")),
    )
    widget = LineageWidget(evil, navigate=Navigator({"m-up": evil}))
    widget.row_buttons[0].click()
    assert_escaped(html_of(widget.widget))
    assert_escaped(widget.to_html())
    # Buttons render their description as text, so it stays as typed.
    assert widget.row_buttons[0].description == f"{EVIL}[{EVIL}]"
    failing = LineageWidget(evil, navigate=Navigator({}))
    failing.row_buttons[1].click()
    assert_escaped(failing.message.value)


def test_lineage_view_is_the_widget_only_in_a_kernel(in_kernel: None) -> None:
    view = lineage_view(START, navigate=Navigator({}))
    assert isinstance(view, LineageWidget)
    assert not view.row_buttons[0].disabled


def test_lineage_view_outside_a_kernel_is_the_plain_object() -> None:
    assert lineage_view(START) is START


def three_step_chain() -> None:
    @fs.asset
    def raw() -> pd.DataFrame:
        return pd.DataFrame({"x": [1, 2, 3]})

    @fs.asset
    def clean(raw: pd.DataFrame) -> pd.DataFrame:
        return raw[raw.x > 1]

    @fs.asset
    def total(clean: pd.DataFrame) -> pd.DataFrame:
        return clean.sum().to_frame("total")

    fs.materialize("total")


def test_store_navigator_walks_real_lineage() -> None:
    three_step_chain()
    start = fs.lineage("total", depth=1)
    widget = LineageWidget(start, navigate=store_navigator(direction="upstream", depth=1))
    assert [b.description for b in widget.row_buttons] == ["clean"]
    widget.row_buttons[0].click()
    assert widget.lineage.asset == "clean"
    assert [b.description for b in widget.row_buttons] == ["raw"]
    widget.row_buttons[0].click()
    assert widget.lineage.asset == "raw"
    assert widget.row_buttons == []
    assert "total" in widget.breadcrumb.value
    assert "clean" in widget.breadcrumb.value


def test_default_navigation_follows_the_directions_shown(in_kernel: None) -> None:
    three_step_chain()
    down = fs.lineage("raw", direction="downstream")
    view = lineage_view(down)
    assert isinstance(view, LineageWidget)
    assert [b.description for b in view.row_buttons] == ["clean", "total"]
    view.row_buttons[0].click()
    assert view.lineage.asset == "clean"
    assert [b.description for b in view.row_buttons] == ["total"]
    both = fs.lineage("clean", direction="both")
    view = lineage_view(both)
    assert isinstance(view, LineageWidget)
    view.row_buttons[0].click()  # raw: nothing upstream, clean and total downstream
    assert [b.description for b in view.row_buttons] == ["clean", "total"]
    up = lineage_view(fs.lineage("total"))
    assert isinstance(up, LineageWidget)
    up.row_buttons[0].click()
    assert [b.description for b in up.row_buttons] == ["raw"]


# --- history -----------------------------------------------------------------------------------


def history(*rows: dict[str, Any]) -> pd.DataFrame:
    base = dict.fromkeys(HISTORY_COLUMNS)
    frame = pd.DataFrame([{**base, **row} for row in rows], columns=HISTORY_COLUMNS)
    for column in ("started", "finished"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame


FRAME = history(
    {
        "asset": "raw",
        "partition": "",
        "status": "success",
        "finished": 1_700_000_000.0,
        "duration_s": 0.12345,
        "rows": 3,
        "data_version": "0123456789abcdef",
    },
    {
        "asset": "clean",
        "partition": "2024-01-01",
        "status": "failed",
        "error_message": "ValueError: bad",
    },
    {"asset": "clean", "partition": "2024-01-02", "status": "success", "rows": 2},
)


def table_rows(widget: HistoryWidget) -> int:
    return int(widget.table.value.count("<tr>")) - 1


def test_history_widget_lists_everything_and_filters() -> None:
    widget = HistoryWidget(FRAME)
    assert table_rows(widget) == 3
    assert widget.asset_filter.options == (("all assets", ""), ("clean", "clean"), ("raw", "raw"))
    assert [v for _, v in widget.status_filter.options] == ["", "failed", "success"]
    assert "2023-11-14 22:13:20" in widget.table.value
    assert "0.12 s" in widget.table.value
    assert "0123456789ab" in widget.table.value
    assert "0123456789abc" not in widget.table.value
    widget.asset_filter.value = "clean"
    assert table_rows(widget) == 2
    widget.status_filter.value = "failed"
    assert table_rows(widget) == 1
    assert "ValueError: bad" in widget.table.value
    assert "fs-status-failed" in widget.table.value
    widget.asset_filter.value = "raw"
    assert table_rows(widget) == 0
    assert "no materializations match" in widget.table.value
    assert len(widget.filtered()) == 0


def test_history_widget_says_which_attempt_a_retried_row_was() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [
            {"asset": "feed", "partition": "2024-01-01", "status": "success", "attempt": 3},
            {"asset": "feed", "partition": "2024-01-01", "status": "failed", "attempt": 2},
            {"asset": "feed", "partition": "2024-01-02", "status": "success", "attempt": 1},
            {"asset": "feed", "partition": "2024-01-03", "status": "success"},  # (not known)
        ]
    )
    widget = HistoryWidget(frame)
    html = widget.to_html()
    assert html.count("attempt 3") == 1
    assert html.count("attempt 2") == 1
    assert "attempt 1" not in html  # a first attempt needs no word
    lines = widget.to_text().splitlines()
    assert "success (attempt 3)" in lines[2]
    assert "failed (attempt 2)" in lines[3]
    assert "attempt" not in lines[4]
    assert "attempt" not in lines[5]


def test_history_widget_has_human_headers_and_numbers_aligned_right() -> None:
    widget = HistoryWidget(FRAME)
    html = widget.to_html()
    headers = re.findall(r'<th style="text-align:(\w+);padding:[^"]*">([^<]*)</th>', html)
    assert headers == [
        ("left", "asset"),
        ("left", "partition"),
        ("left", "status"),
        ("left", "finished"),
        ("right", "duration"),
        ("right", "rows"),
        ("left", "data version"),
        ("left", "run"),
        ("left", "error"),
    ]
    assert re.search(r'<td style="text-align:right;padding:[^"]*">0\.12 s</td>', html)
    assert re.search(r'<td style="text-align:right;padding:[^"]*">3</td>', html)
    text = widget.to_text().splitlines()
    assert text[0].split() == [
        "asset",
        "partition",
        "status",
        "finished",
        "duration",
        "rows",
        "data",
        "version",
        "run",
        "error",
    ]
    duration_end = text[0].index("duration") + len("duration")
    assert text[2][:duration_end].endswith("0.12 s")  # right-aligned under its header
    assert "duration_s" not in html + widget.to_text()


def test_the_asset_filter_shows_the_asset_asked_for() -> None:
    one = FRAME[FRAME.asset == "clean"]
    assert HistoryWidget(one).asset_filter.value == "clean"  # what fs.history("clean") returns
    assert HistoryWidget(FRAME).asset_filter.value == ""
    chosen = HistoryWidget(FRAME, asset="raw")
    assert chosen.asset_filter.value == "raw"
    assert table_rows(chosen) == 1
    unknown = HistoryWidget(FRAME, asset="gone")
    assert unknown.asset_filter.value == "gone"
    assert "no materializations match" in unknown.table.value


def test_history_widget_caps_the_rows_it_shows() -> None:
    frame = history(*({"asset": f"a{i}", "status": "success"} for i in range(5)))
    widget = HistoryWidget(frame, max_rows=2)
    assert table_rows(widget) == 2
    assert "showing 2 of 5" in widget.table.value
    assert "showing 2 of 5" in widget.to_text()


def test_history_widget_shortens_long_errors() -> None:
    frame = history({"asset": "a", "status": "failed", "error_message": "x" * 500})
    widget = HistoryWidget(frame)
    assert "x" * 120 + "…" in widget.table.value
    assert "x" * 121 not in widget.table.value


def test_history_widget_keeps_times_and_partitions_on_one_line() -> None:
    frame = FRAME.copy()
    frame["finished"] = [1_700_000_000.0, 1_700_000_060.0, 1_700_000_120.0]
    frame["error_message"] = "x " * 200  # a long error takes the table's width
    html = HistoryWidget(frame).to_html()
    kept = re.findall(r'<span class="fs-one-line" style="white-space:nowrap">([^<]*)</span>', html)
    times = [text for text in kept if " " in text]
    assert len(times) == len(frame)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t) for t in times)
    assert sorted(set(kept) - set(times)) == ["2024-01-01", "2024-01-02"]  # the partitions


def test_history_widget_rejects_a_frame_that_is_not_history() -> None:
    with pytest.raises(
        FlowstoneError,
        match=r"lacks column\(s\) 'asset', 'status'\. Pass the frame that fs\.history\(\)",
    ):
        HistoryWidget(pd.DataFrame({"x": [1]}))


def test_history_fallbacks_and_escaping() -> None:
    frame = history(
        {
            "asset": EVIL,
            "partition": EVIL,
            "status": EVIL,
            "error_message": EVIL,
            "data_version": EVIL,
            "run_id": EVIL,
        }
    )
    widget = HistoryWidget(frame)
    assert_escaped(html_of(widget.widget))
    assert_escaped(widget.to_html())
    assert EVIL in widget.to_text()
    assert widget.asset_filter.options[1] == (EVIL, EVIL)
    bundle = widget._repr_mimebundle_()
    assert WIDGET_MIME in bundle
    assert bundle["text/plain"] == repr(widget)


def test_empty_history() -> None:
    widget = HistoryWidget(history())
    assert "no materializations" in widget.table.value
    assert "no materializations" in widget.to_text()


def test_history_view_of_a_real_store(in_kernel: None) -> None:
    three_step_chain()
    view = history_view(fs.history())
    assert isinstance(view, HistoryWidget)
    assert table_rows(view) == 3
    view.asset_filter.value = "clean"
    assert table_rows(view) == 1


def test_history_view_outside_a_kernel_is_the_frame() -> None:
    assert history_view(FRAME) is FRAME


# --- status grid -------------------------------------------------------------------------------


def report(*rows: tuple[str, str, str, str]) -> StatusReport:
    return StatusReport(tuple(PartitionStatus(a, p, s, r) for a, p, s, r in rows))


REPORT = report(
    ("raw", "", "fresh", ""),
    ("daily", "2024-01-01", "fresh", ""),
    ("daily", "2024-01-02", "stale", "code changed"),
    ("daily", "2024-01-03", "failed", "ValueError: bad"),
    ("monthly", "2024-01", "missing", "never materialized"),
)


def test_status_grid_has_a_coloured_cell_per_partition() -> None:
    grid = StatusGrid(REPORT)
    assert not grid.compact
    html = grid.grid.value
    assert html.count('class="fs-cell ') == 5
    assert f"background:{strong_colour('stale')}" in html
    assert 'title="daily[2024-01-02]: stale — code changed"' in html
    assert 'title="raw: fresh"' in html
    assert "1/3 fresh, 1 stale, 1 failed" in html
    assert "<th" in html
    assert "2024-01-03" in html
    assert "fs-status-grid" in grid.widget._dom_classes


def test_an_unpartitioned_asset_is_one_cell_in_a_column_of_its_own() -> None:
    html = StatusGrid(REPORT).to_html()
    rows = re.findall(r"<tr>(.*?)</tr>", html)
    head, raw, daily, _monthly = rows
    assert "colspan" not in html
    assert head.count("<th") == 2 + 1 + 4  # asset, status, the keyless column, four keys
    assert re.findall(r'<td class="fs-cell[^"]*"', raw) == ['<td class="fs-cell fs-cell-fresh"']
    assert raw.count("<td></td>") == 4  # nothing under the partition keys
    assert daily.split("<td")[2] == "></td>"  # partitioned rows leave the keyless column empty
    assert raw.count(">fresh<") == 1  # the status is written once, in the status column
    assert re.search(r'class="fs-cell[^>]*>\s*\w', html) is None  # no text inside a cell
    assert "white-space:nowrap" in raw
    keys_only = StatusGrid(report(("d", "k1", "fresh", ""))).to_html()
    assert 'title="unpartitioned"' not in keys_only


def test_status_grid_goes_compact_for_many_partitions() -> None:
    many = report(*((("daily", f"k{i:03}", "fresh", "")) for i in range(40)))
    grid = StatusGrid(many)
    assert grid.compact
    assert grid.form.value == "compact"
    html = grid.grid.value
    assert html.count('class="fs-square ') == 40
    assert "k000" not in html.split("fs-square")[0]  # no header row of keys
    assert 'title="daily[k039]: fresh"' in html
    grid.form.value = "grid"
    assert not grid.compact
    assert grid.grid.value.count('class="fs-cell ') == 40
    assert not StatusGrid(many, compact=False).compact
    assert StatusGrid(REPORT, compact=True).compact


def test_more_partitions_than_fit_show_as_runs_of_keys() -> None:
    rows = [("daily", f"2024-01-{d:02}", "fresh", "") for d in range(1, 32)]
    rows += [("daily", f"2024-02-{d:02}", "missing", "never materialized") for d in range(1, 30)]
    grid = StatusGrid(report(("raw", "", "fresh", ""), *rows), squares_up_to=30)
    html = grid.grid.value
    assert "fs-square fs-square-" in html  # the unpartitioned asset: one square
    assert html.count("fs-square ") == 1
    runs = re.findall(r'class="fs-run fs-run-(\w+)" data-count="(\d+)"[^>]*width:([\d.]+)%', html)
    assert runs == [("fresh", "31", "51.67"), ("missing", "29", "48.33")]
    assert 'title="daily[2024-01-01..2024-01-31]: fresh (31)"' in html
    assert "2024-02-01..2024-02-29 (29)" in html  # the ranges, as the text view writes them
    assert "2024-01-15" not in html


def test_a_compact_grid_of_many_partitions_shows_a_computed_report_without_its_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = count_rows_made(monkeypatch)
    a_quarter_with_a_gap(last="2024-01-31")
    grid = StatusGrid(fs.status())
    html = grid.grid.value
    assert grid.compact
    assert made == []  # keys, strips of runs, legend and text: no row made
    assert "2024-01-21..2024-01-31" in html
    assert re.findall(r'class="fs-status fs-status-(\w+)"', html.split("fs-legend")[1]) == [
        "fresh",
        "failed",
        "missing",
    ]
    grid.form.value = "grid"  # one cell per partition: rows made now
    assert len(made) == 91
    assert grid.grid.value.count('class="fs-cell ') == 91


def test_status_grid_text_is_the_compact_report() -> None:
    text = StatusGrid(REPORT).to_text()
    assert text == repr(REPORT)
    lines = text.splitlines()
    assert lines[0].split() == ["raw", "fresh"]
    assert lines[1].split() == ["daily", "1/3", "fresh,", "1", "stale,", "1", "failed"]
    assert "2024-01-02 stale — code changed" in lines[2]
    assert repr(StatusGrid(REPORT)) == text


def test_an_unknown_status_still_renders() -> None:
    grid = StatusGrid(report(("a", "k", "weird", "")))
    assert "background:#616161" in grid.grid.value
    assert grid.to_text().splitlines()[1].split() == ["k", "weird"]


def test_empty_status_report() -> None:
    grid = StatusGrid(StatusReport(()))
    assert "no assets" in grid.grid.value
    assert grid.to_text() == "(no assets)"


def test_status_grid_escapes_everything() -> None:
    evil = report((EVIL, EVIL, "stale", EVIL), ("plain", "", "fresh", EVIL))
    grid = StatusGrid(evil)
    assert_escaped(html_of(grid.widget))
    assert_escaped(grid.to_html())
    grid.form.value = "compact"
    assert_escaped(grid.grid.value)
    assert WIDGET_MIME in grid._repr_mimebundle_()


def test_status_view_of_a_real_store(in_kernel: None) -> None:
    three_step_chain()
    view = status_view(fs.status())
    assert isinstance(view, StatusGrid)
    assert view.grid.value.count('class="fs-cell fs-cell-fresh"') == 3


def test_status_view_outside_a_kernel_is_the_report() -> None:
    assert status_view(REPORT) is REPORT


# --- backfill progress -------------------------------------------------------------------------


def event(kind: str, partition: str, asset: str = "daily", **detail: Any) -> Event:
    return Event(kind, asset, partition, "run-1", detail)


def segments(progress: BackfillProgress) -> dict[str, int]:
    """State -> partitions, as the bar draws them."""
    found = re.findall(r'fs-bar-(\w+)" data-count="(\d+)"', progress.bar.value)
    return {state: int(n) for state, n in found}


def test_progress_counts_each_partition_once() -> None:
    progress = BackfillProgress(4, interval=0)
    assert progress.total == 4
    assert segments(progress) == {"pending": 4}
    progress.update(event("started", "a"))
    progress.update(event("started", "b"))
    assert progress.done == 0
    assert "2 running" in progress.counts.value
    progress.update(event("succeeded", "a"))
    progress.update(event("reused", "c"))
    progress.update(event("failed", "b", error="boom"))
    assert progress.done == 3
    assert "3/4" in progress.bar.value
    assert segments(progress) == {"computed": 1, "reused": 1, "failed": 1, "pending": 1}
    for state in ("1 computed", "1 reused", "1 failed", "1 pending"):
        assert state in progress.counts.value
    strip = progress.strip.value
    assert strip.count('class="fs-square ') == 4
    assert 'title="b: failed — boom"' in strip
    assert f"background:{strong_colour('reused')}" in strip
    assert "b failed: boom" in progress.problems.value
    progress.update(event("finished", ""))  # run-level events carry no partition
    assert progress.done == 3


def test_every_state_has_one_word_and_one_colour_in_bar_legend_and_strip() -> None:
    progress = BackfillProgress(6, on_cancel=lambda: None, interval=0)
    for kind, partition in zip(
        ("succeeded", "reused", "failed", "skipped", "cancelled", "started"), "abcdef", strict=True
    ):
        progress.update(event(kind, partition, error="why" if kind != "succeeded" else None))
    words = ("computed", "reused", "failed", "skipped", "cancelled", "running")
    assert list(segments(progress)) == list(words)
    for word in words:
        colour = strong_colour(word)
        assert f'fs-bar-{word}" data-count="1" style="width:16.67%;background:{colour}' in (
            progress.bar.value
        )
        assert f'<span style="color:{colour}">■</span> 1 {word}' in progress.counts.value
        assert f'fs-square fs-square-{word}" title="{"abcdef"[words.index(word)]}: {word}' in (
            progress.strip.value
        )
    assert "succeeded" not in progress.to_html() + progress.to_text()


def test_a_skipped_partition_names_the_upstream_failure_that_stopped_it() -> None:
    progress = BackfillProgress(3, on_cancel=lambda: None, interval=0)
    progress.update(event("succeeded", "a"))
    why = "upstream raw[b] failed: ValueError: truncated"
    progress.update(event("skipped", "b", error=why))
    progress.update(event("cancelled", "c", error="cancelled before it ran"))
    assert progress.done == 3
    assert progress.cancel_button.disabled
    assert "1 skipped" in progress.counts.value
    assert "1 cancelled" in progress.counts.value
    assert f"b skipped: {why}" in progress.problems.value
    assert "cancelled before" not in progress.problems.value  # the cancel note says it once
    assert progress.to_text().splitlines()[1:] == ["#-/", f"b skipped: {why}"]
    assert f"b skipped: {why}" in progress.to_html()


def test_only_the_first_problems_are_listed() -> None:
    progress = BackfillProgress(5, interval=0)
    for partition in "abcde":
        progress.update(event("failed", partition, error=f"bad {partition}"))
    progress.update(event("failed", "f"))  # no reason given
    assert progress.problems.value.count("<li>") == 4
    assert "… and 3 more" in progress.problems.value
    assert "bad d" not in progress.to_text()


def test_finishing_removes_the_cancel_button_and_draws_every_square() -> None:
    timers = FakeTimers(now=100.0)
    progress = BackfillProgress(
        2, on_cancel=lambda: None, interval=0.2, clock=timers.clock, schedule=timers.schedule
    )
    progress.update(event("succeeded", "a"))
    progress.update(event("succeeded", "b"))
    assert progress.cancel_button.disabled
    header = progress.widget.children[0]
    assert progress.cancel_button in header.children
    progress.finish()
    assert progress.cancel_button not in header.children
    assert "Cancel" not in repr(progress.widget)
    assert progress.strip.value.count("fs-square-computed") == 2
    progress.finish()  # twice is harmless


def test_a_finished_backfill_cannot_be_cancelled() -> None:
    cancelled: list[bool] = []
    progress = BackfillProgress(2, on_cancel=lambda: cancelled.append(True), interval=0)
    progress.update(event("succeeded", "a"))
    progress.update(event("succeeded", "b"))
    assert segments(progress) == {"computed": 2}
    assert progress.cancel_button.disabled
    progress.cancel_button.click()
    assert cancelled == []


def test_known_partitions_are_shown_pending_in_order() -> None:
    progress = BackfillProgress(3, partitions=["k1", "k2", "k3"], interval=0)
    assert progress.strip.value.count("fs-square-pending") == 3
    progress.update(event("succeeded", "k3"))
    squares = progress.strip.value.split("fs-square ")[1:]
    assert "k1" in squares[0]
    assert "k3" in squares[2]
    assert "fs-square-computed" in squares[2]


def test_cancel_calls_back_once_and_says_so() -> None:
    calls: list[int] = []
    progress = BackfillProgress(3, on_cancel=lambda: calls.append(1), interval=0)
    assert not progress.cancel_button.disabled
    progress.cancel_button.click()
    progress.cancel_button.click()
    progress.cancel()
    assert calls == [1]
    assert progress.cancel_button.disabled
    assert "cancel" in progress.state.value.lower()
    assert "cancel" in progress.to_text().lower()


def test_without_a_cancel_callback_there_is_no_cancel() -> None:
    progress = BackfillProgress(3)
    assert progress.cancel_button.disabled
    progress.cancel()
    assert progress.state.value == ""


def test_negative_total_is_refused() -> None:
    with pytest.raises(FlowstoneError, match=r"total=-1.*number of partitions"):
        BackfillProgress(-1)


def test_zero_partitions_is_done_at_once() -> None:
    progress = BackfillProgress(0)
    assert progress.cancel_button.disabled
    assert segments(progress) == {}
    assert "0/0" in progress.to_text()


def test_more_partitions_than_announced_grow_the_bar() -> None:
    progress = BackfillProgress(1, interval=0)
    progress.update(event("succeeded", "a"))
    progress.update(event("succeeded", "b"))
    assert progress.total == 2
    assert progress.done == 2


def test_strip_redraws_are_throttled_but_never_lost() -> None:
    timers = FakeTimers(now=100.0)
    progress = BackfillProgress(3, interval=0.2, clock=timers.clock, schedule=timers.schedule)
    progress.update(event("started", "a"))
    first = progress.strip.value
    assert "fs-square-running" in first
    progress.update(event("succeeded", "a"))
    assert progress.done == 1  # the bar is never throttled
    assert "1/3" in progress.bar.value
    assert progress.strip.value == first
    assert [round(d, 3) for d, _ in timers.armed] == [0.2]
    timers.now += 0.05
    progress.update(event("started", "b"))
    assert len(timers.armed) == 1  # one trailing redraw is enough
    timers.fire()
    assert "fs-square-computed" in progress.strip.value
    assert "fs-square-running" in progress.strip.value
    timers.now += 1
    progress.update(event("succeeded", "b"))  # the interval has passed: drawn at once
    progress.update(event("started", "c"))
    assert len(timers.armed) == 1
    progress.update(event("succeeded", "c"))  # last partition: drawn at once, timer disarmed
    assert progress.strip.value.count("fs-square-computed") == 3
    assert timers.armed == []
    assert timers.cancelled == 1


def test_updates_from_many_threads_count_exactly() -> None:
    total = 200
    progress = BackfillProgress(total, interval=0)
    barrier = threading.Barrier(8)

    def work(offset: int) -> None:
        barrier.wait()
        for i in range(offset, total, 8):
            progress.update(event("started", f"p{i}"))
            progress.update(event("succeeded", f"p{i}"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert progress.done == total
    assert progress.strip.value.count("fs-square-computed") == total
    assert f"{total} computed" in progress.counts.value


def test_progress_escapes_partitions_titles_and_errors() -> None:
    progress = BackfillProgress(2, title=EVIL, interval=0)
    progress.update(event("failed", EVIL, error=EVIL))
    assert_escaped(html_of(progress.widget))
    assert_escaped(progress.to_html())
    assert EVIL in progress.to_text()


def test_progress_fallbacks() -> None:
    progress = BackfillProgress(2, title="daily", interval=0)
    progress.update(event("succeeded", "a"))
    assert progress.to_text().startswith("daily: 1/2 done (1 computed, 1 pending)")
    html = progress.to_html()
    assert progress.bar.value in html  # the static copy draws the bar the widget shows
    assert progress.counts.value in html
    bundle = progress._repr_mimebundle_(include=None, exclude=None)
    assert bundle["text/plain"] == repr(progress)
    assert bundle["text/html"] == html
    assert WIDGET_MIME in bundle


def test_progress_follows_a_real_backfill() -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["a", "b", "c"]))
    def letters(context: Any) -> pd.DataFrame:
        if context.partition_key == "b":
            raise ValueError("no b today")
        return pd.DataFrame({"x": [1]})

    progress = BackfillProgress(3, interval=0)
    unsubscribe = subscribe(progress.update)
    try:
        result = fs.backfill("letters", ["a", "b", "c"], max_workers=2)
    finally:
        unsubscribe()
    assert not result.ok
    outcomes = [(p.partition, p.status, p.error) for p in result.partitions]
    assert progress.done == 3, outcomes
    assert segments(progress) == result.counts()
    assert "2 computed" in progress.counts.value
    assert "1 failed" in progress.counts.value
    assert "no b today" in progress.strip.value
    assert 'title="b: failed' in progress.strip.value


def test_open_without_navigation_explains_how_to_get_it() -> None:
    widget = LineageWidget(START)
    widget.open(START.entries[0])
    assert widget.lineage is START
    assert "no navigate callback" in widget.message.value
    assert "lineage_view" in widget.message.value


def test_long_lineages_are_cut_and_counted() -> None:
    many = lineage_of("big", "m-big", *(entry(f"a{i}", f"m-{i}") for i in range(5)))
    widget = LineageWidget(many, max_rows=2)
    assert len(widget.row_buttons) == 2
    assert "and 3 more" in html_of(widget.widget)


def test_times_show_in_utc_and_unknown_ones_stay_blank() -> None:
    assert when(None) == ""
    assert when(0) == "1970-01-01 00:00:00"
    assert when(pd.Timestamp("2024-05-01 12:00", tz="UTC")) == "2024-05-01 12:00:00"
    assert when("yesterday") == "yesterday"
    unknown = lineage_of(
        "x", "m-x", LineageEntry("upstream", 1, "y", "", "m-y", None, None, None, "success", "m-x")
    )
    assert "None" not in html_of(LineageWidget(unknown).widget)


KERNEL_CELL = """
import flowstone_nb as fs
from flowstone_nb._notebook.views import history_view, lineage_view, status_view
fs.configure(home="store")

@fs.asset
def raw():
    return 1

@fs.asset
def doubled(raw):
    return raw * 2

fs.materialize("doubled")
display(status_view(fs.status()))
display(history_view(fs.history()))
display(lineage_view(fs.lineage("doubled")))
"""

KERNEL_RUN_CELL = """
from flowstone_nb._notebook.graph.live import LiveGraph

@fs.asset(partitioned_by=fs.StaticPartitions(["a", "b"]))
def letters(context):
    return 1

with LiveGraph(interval=0):
    fs.backfill("letters", ["a", "b"], progress=True)
"""


@pytest.mark.slow
def test_in_a_real_kernel_every_view_is_a_widget_with_fallbacks(tmp_path: Path) -> None:
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    cells = [nbformat.v4.new_code_cell(c) for c in (KERNEL_CELL, KERNEL_RUN_CELL)]
    notebook = nbformat.v4.new_notebook(cells=cells)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    *outputs, live = notebook.cells[0].outputs  # the cell's live status line comes last
    assert [o.output_type for o in outputs] == ["display_data"] * 3
    for output, css in zip(outputs, ("fs-status-grid", "fs-history", "fs-lineage"), strict=True):
        assert WIDGET_MIME in output.data
        assert css in output.data["text/html"]
    assert "doubled" in outputs[2].data["text/plain"]
    assert live.data["text/plain"] == "raw: fresh\ndoubled: fresh · depends on raw"
    graph, progress, _ = notebook.cells[1].outputs
    assert "letters (fresh, 2/2 fresh)" in graph.data["text/plain"]  # updated in place
    assert WIDGET_MIME in progress.data
    assert "fs-backfill" in progress.data["text/html"]


# --- every view ----------------------------------------------------------------------------------


def every_view() -> list[Any]:
    from flowstone_nb._notebook.graph.render import GraphView

    graph = GraphView("digraph { a -> b }", text="a (fresh)\nb (stale) <- a")
    return [
        StatusGrid(REPORT),
        HistoryWidget(FRAME),
        LineageWidget(START),
        BackfillProgress(2, title="daily", interval=0),
        graph.widget(),
    ]


def test_every_view_carries_the_widget_its_html_and_a_short_text() -> None:
    for view in every_view():
        bundle = view._repr_mimebundle_()
        assert set(bundle) == {WIDGET_MIME, "text/html", "text/plain"}, type(view).__name__
        assert bundle["text/html"] == view.to_html()
        assert 'class="fs-' in bundle["text/html"]
        assert bundle["text/plain"] == view.to_text() == repr(view)
        assert "children=" not in bundle["text/plain"]
        assert len(bundle["text/plain"].splitlines()) < 20
