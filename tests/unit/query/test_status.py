"""The status report at scale: counts first, then partitions as runs of keys, in text and HTML."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._query.status import RUNS_SHOWN, PartitionStatus, StatusReport, StatusRun
from tests.resources.status_reports import a_quarter_with_a_gap, count_rows_made

EVIL = "<script>alert(1)</script>"


def report(*rows: tuple[str, str, str, str]) -> StatusReport:
    return StatusReport(tuple(PartitionStatus(a, p, s, r) for a, p, s, r in rows))


def days(first: str, count: int) -> list[str]:
    start = dt.date.fromisoformat(first)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(count)]


def two_months_done_one_missing() -> StatusReport:
    """A daily asset of Jan-Mar 2024 with January and February fresh: 94 rows of status."""
    rows = [("daily", key, "fresh", "") for key in days("2024-01-01", 60)]
    rows += [("daily", key, "missing", "never materialized") for key in days("2024-03-01", 31)]
    return report(("raw", "", "fresh", ""), *rows, ("total", "", "stale", "code changed"))


def test_partitions_group_into_runs_of_one_status_and_reason() -> None:
    runs = two_months_done_one_missing().runs("daily")
    assert runs == [
        StatusRun("2024-01-01", "2024-02-29", "fresh", 60),
        StatusRun("2024-03-01", "2024-03-31", "missing", 31, "never materialized"),
    ]
    assert [str(run) for run in runs] == [
        "2024-01-01..2024-02-29 fresh (60)",
        "2024-03-01..2024-03-31 missing (31)",
    ]
    one = StatusRun("2024-01-05", "2024-01-05", "failed", 1, "ValueError: bad")
    assert str(one) == "2024-01-05 failed — ValueError: bad"


def test_the_text_of_a_daily_asset_gives_counts_then_key_ranges() -> None:
    text = repr(two_months_done_one_missing())
    assert text.splitlines() == [
        "raw    fresh",
        "daily  60/91 fresh, 31 missing",
        "       2024-01-01..2024-02-29 fresh (60), 2024-03-01..2024-03-31 missing (31)",
        "total  stale — code changed",
    ]


def test_partitions_with_different_reasons_stay_apart_and_say_why() -> None:
    text = repr(
        report(
            ("d", "2024-01-01", "stale", "code changed"),
            ("d", "2024-01-02", "stale", "code changed"),
            ("d", "2024-01-03", "failed", "ValueError: a"),
            ("d", "2024-01-04", "failed", "ValueError: b"),
        )
    )
    assert text.splitlines()[1:] == [
        "   2024-01-01..2024-01-02 stale (2) — code changed, 2024-01-03 failed — ValueError: a,",
        "   2024-01-04 failed — ValueError: b",
    ]


def test_many_runs_are_cut_and_counted() -> None:
    rows = [("h", f"k{i:03}", "fresh" if i % 2 else "missing", "") for i in range(40)]
    many = report(*rows)
    runs, hidden = many.shown_runs("h")
    assert len(runs) == RUNS_SHOWN
    assert hidden == 40 - RUNS_SHOWN
    assert f"… and {hidden} more runs" in repr(many)
    assert f"… and {hidden} more runs" in many._repr_html_()
    assert len(repr(many).splitlines()) < 10


def test_the_html_has_one_row_per_asset_with_its_runs() -> None:
    html = two_months_done_one_missing()._repr_html_()
    assert html.count("<tr>") == 4  # the header and three assets
    assert "2024-01-01..2024-02-29 (60)" in html
    assert "fs-status-missing" in html
    assert 'title="2024-03-01..2024-03-31 missing (31)"' in html
    assert "stale — code changed" in html
    assert "2024-01-15" not in html


def test_the_views_escape_keys_and_reasons() -> None:
    evil = report((EVIL, EVIL, "failed", EVIL), ("plain", "", "stale", EVIL))
    html = evil._repr_html_()
    assert "<script" not in html
    assert html.count("&lt;script&gt;") >= 4
    assert EVIL in repr(evil)


def test_a_real_daily_asset_reads_compactly() -> None:
    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01", "2024-03-31"))
    def daily(context: Any) -> int:
        return context.partition.day

    fs.backfill(daily, "2024-01-01..2024-02-29", progress=False)
    text = repr(fs.status())
    assert text.splitlines() == [
        "daily  60/91 fresh, 31 missing",
        "       2024-01-01..2024-02-29 fresh (60), 2024-03-01..2024-03-31 missing (31)",
    ]


def test_a_computed_report_makes_rows_only_when_they_are_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = count_rows_made(monkeypatch)
    a_quarter_with_a_gap()
    report = fs.status("daily")
    text = repr(report)
    assert text.splitlines() == [
        "daily  59/91 fresh, 31 missing, 1 failed",
        "       2024-01-01..2024-01-19 fresh (19), 2024-01-20 failed — ValueError: no data,",
        "       2024-01-21..2024-02-29 fresh (40), 2024-03-01..2024-03-31 missing (31)",
    ]
    html = report._repr_html_()
    assert report.counts() == {"daily": {"fresh": 59, "failed": 1, "missing": 31}}
    assert report.overall("daily") == "failed"
    assert "2024-01-21..2024-02-29" in text
    assert "2024-01-21..2024-02-29" in html
    assert report["daily"]["2024-01-20"] == "failed"
    assert made == []  # counts, runs, views and lookups: no row made
    rows = report.for_asset("daily")
    assert len(made) == len(rows) == 91
    assert rows[19] == report.rows[19]
    assert (rows[19].status, rows[19].reason) == ("failed", "ValueError: no data")
    assert rows[0].materialization_id is not None
    assert report == StatusReport(tuple(report.rows))  # the same as a report made of its rows
    assert hash(report) == hash(StatusReport(report.rows))


def test_a_partition_only_ever_pending_is_missing_and_a_report_equals_only_reports() -> None:
    from flowstone_nb._storage.catalog import MaterializationRow
    from flowstone_nb._storage.store import get_store

    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-03"))
    def daily(context: Any) -> int:
        return context.partition.day

    fs.materialize(daily, "2024-01-01")
    catalog = get_store().catalog
    run = catalog.start_run(kind="backfill", targets=["daily"])
    catalog.write([MaterializationRow("queued", run, "daily", "d:2024-01-02", "pending", 1.0)])
    report = fs.status(daily)
    assert report["daily"] == {
        "2024-01-01": "fresh",
        "2024-01-02": "missing",
        "2024-01-03": "missing",
    }
    assert report.for_asset("daily")[1].reason == "never materialized"
    assert report != "daily"
    assert report == fs.status(daily)


def test_the_keys_of_a_definition_that_cannot_change_are_listed_once(monkeypatch: Any) -> None:
    # A fixed range's keys are the same at every call (the report reuses them); the keys of a
    # range "up to now" may grow with the clock: listed again at every call.
    fixed = fs.DailyPartitions("1999-02-03", "1999-03-04")
    growing = fs.DailyPartitions("1999-02-03")
    asked: list[object] = []
    listed = fs.DailyPartitions.keys

    def counted(self: fs.DailyPartitions, *args: Any, **kwargs: Any) -> Any:
        asked.append(self)
        return listed(self, *args, **kwargs)

    monkeypatch.setattr(fs.DailyPartitions, "keys", counted)

    @fs.asset(partitioned_by=fixed)
    def kept(context: Any) -> int:
        return 1

    @fs.asset(partitioned_by=growing)
    def grown(context: Any) -> int:
        return 1

    fs.materialize(kept, "1999-02-04")
    first, second = fs.status(), fs.status()
    assert first == second
    assert first["kept"]["1999-02-04"] == "fresh"
    assert len(first["kept"]) == 30
    assert asked.count(fixed) <= 1
    assert asked.count(growing) == 2


def test_only_the_keys_of_the_last_few_definitions_are_kept() -> None:
    from flowstone_nb._query import status_keys as status

    for day in range(1, status.KEPT_AT_MOST + 5):
        definition = fs.DailyPartitions("1998-01-01", f"1998-02-{day:02d}")
        fs.asset(name=f"a{day}", partitioned_by=definition)(lambda context: 1)
    first = fs.DailyPartitions("1998-01-01", "1998-02-01")
    fs.status()
    assert len(status.KEPT) == status.KEPT_AT_MOST
    assert first not in status.KEPT  # (the oldest asked for went first)
    assert fs.DailyPartitions("1998-01-01", f"1998-02-{status.KEPT_AT_MOST + 4:02d}") in (
        status.KEPT
    )


def test_the_texts_of_a_reports_keys_are_made_in_one_call_when_rows_are_asked_for(
    monkeypatch: Any,
) -> None:
    from flowstone_nb._partitioning import display

    calls: list[int] = []
    bulk = display.key_texts

    def counted(definition: Any, keys: Any) -> list[str]:
        calls.append(len(keys))
        return bulk(definition, keys)

    monkeypatch.setattr(display, "key_texts", counted)

    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01", "2024-03-31"))
    def daily(context: Any) -> int:
        return 1

    fs.materialize(daily, "2024-01-05")
    report = fs.status(daily)
    assert calls == []
    assert [row.partition for row in report.rows][:2] == ["2024-01-01", "2024-01-02"]
    assert report["daily"]["2024-01-05"] == "fresh"
    assert calls == [91]  # the rows' texts, once; the lookup reused them
