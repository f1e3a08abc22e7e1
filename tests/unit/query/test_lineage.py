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


def test_lineage_of_something_never_materialized() -> None:
    diamond()
    with pytest.raises(fs.FlowstoneError, match="no successful materialization to trace"):
        fs.lineage("top")
    fs.materialize("raw")
    assert "(no recorded inputs or consumers)" in repr(fs.lineage("raw"))


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
