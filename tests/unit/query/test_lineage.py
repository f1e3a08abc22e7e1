"""Lineage, impact, history and status as plain data with text and HTML views."""

from __future__ import annotations

from typing import Any

import pytest

import flowstone_nb as fs


def diamond() -> None:
    @fs.asset(io_manager="memory")
    def raw() -> list[int]:
        return [1, 2, 3]

    @fs.asset
    def left(raw: list[int]) -> int:
        return sum(raw)

    @fs.asset
    def right(raw: list[int]) -> int:
        return max(raw)

    @fs.asset(description="<script>alert('x')</script>")
    def top(left: int, right: int) -> int:
        return left * right


def test_upstream_lineage_walks_every_consumed_materialization() -> None:
    diamond()
    assert fs.materialize("top") == 18
    lineage = fs.lineage("top")
    assert lineage.asset == "top"
    assert {(e.asset, e.depth) for e in lineage.upstream} == {("left", 1), ("right", 1), ("raw", 2)}
    assert lineage.downstream == []
    raw_entry = next(e for e in lineage.upstream if e.asset == "raw")
    assert raw_entry.data_version
    assert raw_entry.status == "success"
    shallow = fs.lineage("top", depth=1)
    assert {e.asset for e in shallow.entries} == {"left", "right"}
    frame = lineage.to_frame()
    assert set(frame.asset) == {"left", "right", "raw"}
    assert "Lineage of top" in repr(lineage)
    assert "upstream:" in repr(lineage)
    assert "<table" in lineage._repr_html_()


def test_downstream_and_both() -> None:
    diamond()
    fs.materialize("top")
    down = fs.lineage("raw", direction="downstream")
    assert {(e.asset, e.depth) for e in down.downstream} == {("left", 1), ("right", 1), ("top", 2)}
    both = fs.lineage("left", direction="both")
    assert {e.asset for e in both.upstream} == {"raw"}
    assert {e.asset for e in both.downstream} == {"top"}
    with pytest.raises(fs.FlowstoneError, match="direction='sideways' is not one of"):
        fs.lineage("left", direction="sideways")


def test_lineage_of_something_never_materialized_says_it_is_missing() -> None:
    diamond()
    missing = fs.lineage("top")
    assert missing.missing
    assert (missing.asset, missing.materialization_id, missing.entries) == ("top", None, ())
    assert "missing: never materialized" in repr(missing)
    assert "missing: never materialized" in missing._repr_html_()
    assert "no recorded" not in repr(missing)


def test_a_root_has_no_recorded_inputs_and_the_message_points_downstream() -> None:
    diamond()
    fs.materialize("top")
    text = repr(fs.lineage("raw"))
    assert "(no recorded inputs: raw consumed no other asset" in text
    assert "direction='downstream'" in text
    assert "consumers" not in text
    assert "(no recorded consumers yet)" in repr(fs.lineage("top", direction="downstream"))
    assert "downstream:" in repr(fs.lineage("raw", direction="both"))

    @fs.asset
    def alone() -> int:
        return 1

    fs.materialize("alone")
    assert "(no recorded inputs or consumers)" in repr(fs.lineage("alone", direction="both"))


def test_entries_are_sorted_by_asset_then_partition_key_and_runs_collapse() -> None:
    days = fs.DailyPartitions("2024-01-01", "2024-01-31")

    @fs.asset(partitioned_by=days)
    def daily(context: Any) -> int:
        return int(context.partition_key[-2:])

    @fs.asset
    def config() -> int:
        return 1

    @fs.asset(partitioned_by=fs.MonthlyPartitions("2024-01", "2024-01"))
    def monthly(config: int, daily: dict[Any, int]) -> int:
        return sum(daily.values()) * config

    order = ["2024-01-15", "2024-01-01", "2024-01-02", "2024-01-11"]
    for day in order:  # materialized out of order
        fs.materialize("daily", partition=day)
    fs.backfill("daily")
    fs.materialize("monthly", partition="2024-01")
    lineage = fs.lineage("monthly", "2024-01")
    assert lineage.upstream[0].asset == "config"  # sorted by asset first
    keys = [e.partition for e in lineage.upstream[1:]]
    assert keys == [f"2024-01-{d:02d}" for d in range(1, 32)]
    assert lineage.groups("downstream") == []
    assert [e.partition for e in fs.lineage("monthly", "2024-01").upstream[1:]] == keys
    text = repr(lineage)
    assert "2024-01-01 … 2024-01-31 · 31 · success" in text
    assert "2024-01-15" not in text  # collapsed
    groups = lineage.groups("upstream")
    assert [(g.asset, g.first, g.last, g.count, g.status) for g in groups] == [
        ("config", "", "", 1, "success"),
        ("daily", "2024-01-01", "2024-01-31", 31, "success"),
    ]
    page = lineage._repr_html_()
    assert "<details" in page
    assert "2024-01-15" in page  # expandable: the entries are inside


def test_lineage_history_and_impact_answer_after_a_restart_without_definitions() -> None:
    days = fs.DailyPartitions("2024-01-01", "2024-01-03")

    @fs.asset(partitioned_by=days)
    def daily(context: Any) -> int:
        return 1

    @fs.asset
    def total(daily: dict[Any, int]) -> int:
        return sum(daily.values())

    fs.backfill("daily")
    fs.materialize("total")
    _fresh_registry()  # a kernel restart: nothing is defined
    assert [e.partition for e in fs.lineage("total").upstream] == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
    ]
    down = fs.lineage("daily", "2024-01-02", direction="downstream")
    assert [(e.asset, e.partition) for e in down.downstream] == [("total", "")]
    assert list(fs.impact("daily", "2024-01-02")) == [("total", "")]
    assert len(fs.history("daily")) == 3
    assert set(fs.history("daily", "2024-01-02").partition) == {"2024-01-02"}
    with pytest.raises(fs.FlowstoneError, match=r"'totl'.*nothing recorded.*'total'"):
        fs.lineage("totl")
    with pytest.raises(fs.FlowstoneError, match=r"'daily' is partitioned: pass a partition"):
        fs.lineage("daily")
    with pytest.raises(fs.FlowstoneError, match=r"'daily' has no partition '2024-02-30'"):
        fs.lineage("daily", "2024-02-30")


def _fresh_registry() -> None:
    from flowstone_nb._define.registry import Registry, set_registry

    set_registry(Registry())


def test_lineage_of_a_root_consumed_20000_times_stays_short_to_show() -> None:
    from flowstone_nb._storage.catalog import LineageEdge, MaterializationRow
    from flowstone_nb._storage.store import get_store

    catalog = get_store().catalog
    run = catalog.start_run(kind="backfill", targets=["daily"])
    rows = [MaterializationRow("root", run, "root", "", "success", 1.0, 2.0, 1.0, "c", "dv")]
    edges = []
    for i in range(20_000):
        rows.append(
            MaterializationRow(f"m{i}", run, "daily", f"i:{i}", "success", 3.0 + i, 4.0 + i)
        )
        edges.append(LineageEdge(f"m{i}", "root", "root", "", "dv"))
    catalog.write(rows, edges)
    lineage = fs.lineage("root", direction="downstream")
    assert len(lineage.downstream) == 20_000
    assert [g.count for g in lineage.groups("downstream")] == [20_000]
    assert len(repr(lineage)) < 2_000
    assert len(lineage._repr_html_()) < 100_000  # a page of rows, and a count of the rest
    assert "19,900 more" in lineage._repr_html_()


def test_impact_lists_what_would_become_stale() -> None:
    diamond()
    impact = fs.impact("raw")
    assert list(impact) == [("left", ""), ("right", ""), ("top", "")]
    assert len(impact) == 3
    assert "Impact of raw: 3 partition(s)" in repr(impact)
    assert "nothing downstream" in repr(fs.impact("top"))
    assert "<table" in impact._repr_html_()


def test_impact_follows_partition_mappings() -> None:
    days = fs.DailyPartitions("2024-01-01", "2024-01-31")

    @fs.asset(partitioned_by=days)
    def daily(context: Any) -> int:
        return 1

    @fs.asset(partitioned_by=fs.MonthlyPartitions("2024-01", "2024-01"))
    def monthly(daily: dict[Any, int]) -> int:
        return sum(daily.values())

    @fs.asset
    def total(monthly: dict[Any, int]) -> int:
        return sum(monthly.values())

    assert list(fs.impact(daily, "2024-01-15")) == [("monthly", "2024-01"), ("total", "")]


def test_history_is_newest_first_with_failures() -> None:
    @fs.asset
    def flaky() -> int:
        raise ValueError("nope")

    diamond()
    fs.materialize("top")
    with pytest.raises(fs.MaterializationError):
        fs.materialize(flaky)
    history = fs.history()
    assert history.asset.iloc[0] == "flaky"
    assert history.status.iloc[0] == "failed"
    assert set(history.asset) == {"flaky", "top", "left", "right", "raw"}
    assert str(history.started.dtype).startswith("datetime64")
    assert len(fs.history(limit=2)) == 2


def test_status_views_escape_user_strings() -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["<b>eu</b>", "us"]))
    def regional(context: Any) -> str:
        return context.partition

    fs.materialize(regional, "<b>eu</b>")
    report = fs.status()
    html = report._repr_html_()
    assert "<b>eu</b>" not in html
    assert "&lt;b&gt;eu&lt;/b&gt;" in html
    assert "regional" in repr(report)
    assert report.overall("regional") == "fresh"  # one of two fresh, the other missing
    assert report.summary("regional") == "1/2 fresh, 1 missing"
    assert list(report.to_frame().status) == ["fresh", "missing"]
    with pytest.raises(KeyError):
        report["nope"]
    assert repr(fs.status(registry=fs.Registry())) == "StatusReport(no assets)"


def test_status_of_a_running_materialization() -> None:
    seen: dict[str, Any] = {}

    @fs.asset
    def slow() -> int:
        seen["status"] = fs.status()["slow"]
        return 1

    fs.materialize(slow)
    assert seen["status"] == "running"
    assert fs.status()["slow"] == "fresh"


def test_forget_removes_the_definition_and_optionally_the_history() -> None:
    diamond()
    fs.materialize("left")
    removed = fs.forget("left")
    assert removed.name == "left"
    assert "left" not in fs.get_registry()
    assert "left" in set(fs.history().asset)
    fs.forget("right", purge=True)
    fs.materialize("raw")
    assert "right" not in set(fs.history().asset)


def test_results_render_text_and_html_and_never_pick_a_widget() -> None:
    diamond()
    fs.materialize("top")
    for result in (fs.lineage("top"), fs.status()):
        # The notebook layer's views choose the widget (tests/unit/notebook/test_views.py).
        assert not hasattr(result, "_repr_mimebundle_")
        assert "top" in repr(result)
        assert "top" in result._repr_html_()
