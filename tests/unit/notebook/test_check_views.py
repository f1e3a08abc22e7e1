"""Failing data checks in the notebook's views: the status grid, the DAG and backfill progress.

A value some check fails on keeps its status colour (a non-blocking failure leaves it fresh) and
is marked in the failing colour: a ring around its cell or square, a flag and a tooltip naming the
check and its message; a DAG node says how many of its checks fail. Each view reads what one
status report (or the run's events) says: none asks the catalog per partition.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._core.events import Event
from flowstone_nb._core.html import FLAGGED_RING
from flowstone_nb._core.states import PALETTE, CheckState, EventKind
from flowstone_nb._notebook.graph.build import graph_nodes
from flowstone_nb._notebook.graph.dot_text import NodeView, to_dot
from flowstone_nb._notebook.graph.live import LiveGraph
from flowstone_nb._notebook.views import BackfillProgress, StatusGrid, status_view
from flowstone_nb._query.status import PartitionStatus, StatusReport
from tests.resources.catalog_statements import statements_of
from tests.resources.fake_timers import FakeTimers
from tests.resources.regional_sales import define_sales, positive_check

EVIL = "<script>alert(1)</script>"
FAILING = PALETTE[CheckState.FAILING].strong
REGIONS = fs.StaticPartitions(["north", "south", "west"])


def row(partition: str, status: str = "fresh", *checks: tuple[str, str]) -> PartitionStatus:
    return PartitionStatus(
        "sales",
        partition,
        status,
        checks_failing=tuple(name for name, _ in checks),
        check_message="; ".join(f"{name}: {message}" for name, message in checks),
    )


REPORT = StatusReport(
    (
        row("north"),
        row("south", "fresh", ("positive", "2 negative amounts")),
        row("west", "failed", ("positive", "1 negative amount"), ("complete", "no rows")),
    )
)


def regions() -> None:
    define_sales(REGIONS.keys())


positive = positive_check()


# -- the status grid ------------------------------------------------------------------------------


def test_a_cell_with_a_failing_check_keeps_its_colour_and_wears_a_ring() -> None:
    html = StatusGrid(REPORT, compact=False).to_html()
    cells = re.findall(r'<td class="fs-cell ([^"]*)" title="([^"]*)" style="([^"]*)"', html)
    assert [classes for classes, _, _ in cells] == [
        "fs-cell-fresh",
        "fs-checks-failing fs-cell-fresh",
        "fs-checks-failing fs-cell-failed",
    ]
    (_, plain, plain_style), (_, south, south_style), (_, west, _) = cells
    assert FLAGGED_RING not in plain_style
    assert f"background:{PALETTE['fresh'].strong}" in south_style
    assert FLAGGED_RING in south_style
    assert south == "sales[south]: fresh — ⚑ 1 check failing: positive: 2 negative amounts"
    assert west.endswith("⚑ 2 checks failing: positive: 1 negative amount; complete: no rows")
    assert plain == "sales[north]: fresh"
    legend = html.split('class="fs-legend"')[1]
    assert f"color:{FAILING}" in legend
    assert "failing checks" in legend
    assert "2 with failing checks" in html  # the headline counts them


def test_compact_squares_and_runs_of_keys_are_marked_too() -> None:
    squares = StatusGrid(REPORT, compact=True).to_html()
    assert squares.count("fs-square fs-checks-failing fs-square-") == 2
    assert squares.count(FLAGGED_RING) == 2
    many = StatusGrid(REPORT, compact=True, squares_up_to=1).to_html()
    runs = re.findall(r'class="fs-run ([^"]*)" data-count="(\d)" title="([^"]*)"', many)
    assert [(classes, count) for classes, count, _ in runs] == [
        ("fs-run-fresh", "1"),
        ("fs-checks-failing fs-run-fresh", "1"),
        ("fs-checks-failing fs-run-failed", "1"),
    ]
    assert runs[1][2] == "sales[south]: fresh (1) — ⚑ failing checks: positive: 2 negative amounts"
    assert many.count(FLAGGED_RING) == 2


def test_a_grid_without_failing_checks_has_no_marks() -> None:
    html = StatusGrid(StatusReport((row("north"),))).to_html()
    assert "fs-checks-failing" not in html
    assert "failing checks" not in html


def test_check_messages_are_escaped_in_the_grid() -> None:
    evil = StatusReport((row("south", "fresh", ("positive", EVIL)),))
    for compact in (False, True):
        html = StatusGrid(evil, compact=compact).to_html()
        assert "<script" not in html
        assert "&lt;script&gt;" in html


def test_the_grid_of_a_real_store_marks_the_partition_a_check_fails_on(in_kernel: None) -> None:
    regions()
    fs.check("sales")(positive)
    fs.backfill("sales")
    grid = status_view(fs.status("sales"))
    assert isinstance(grid, StatusGrid)
    html = grid.grid.value
    assert html.count('class="fs-cell fs-checks-failing fs-cell-fresh"') == 1
    assert "sales[south]: fresh — ⚑ 1 check failing: positive: 2 negative amounts" in html


# -- the DAG --------------------------------------------------------------------------------------


def test_a_node_counts_its_failing_checks_and_names_them_in_its_tooltip() -> None:
    regions()
    fs.check("sales")(positive)
    fs.check("sales", name="complete")(lambda sales: fs.CheckResult(False, "no rows"))
    fs.backfill("sales")
    nodes, _ = graph_nodes(fs.get_registry(), ["sales", "total"], fs.status())
    sales, total = nodes
    assert sales.checks_failing == 2
    assert sales.checks_detail == (
        "complete fails on 3 partitions (north, south, west); positive fails on 1 partition (south)"
    )
    assert (total.checks_failing, total.checks_detail) == (0, "")


def test_the_badge_is_in_the_dot_text_and_so_in_every_drawing() -> None:
    nodes = [
        NodeView("sales", "fresh", "3/3 fresh", checks_failing=2, checks_detail=f"x: {EVIL}"),
        NodeView("total", "fresh"),
    ]
    dot = to_dot(nodes, [("sales", "total")])
    [sales] = [line for line in dot.splitlines() if line.strip().startswith('"sales" [')]
    assert 'label="sales\\n3/3 fresh\\n⚑ 2 checks failing"' in sales
    assert 'class="fs-node fs-checks-failing fs-status-fresh"' in sales
    assert f'color="{FAILING}"' in sales
    assert f'fillcolor="{PALETTE["fresh"].tint}"' in sales  # the status still fills it
    assert "penwidth=2.5" in sales
    assert "&lt;script&gt;" in sales
    assert "<script" not in dot
    [total] = [line for line in dot.splitlines() if line.strip().startswith('"total" [')]
    assert "checks failing" not in total
    assert "fs-checks-failing" not in total
    one = to_dot([NodeView("sales", "fresh", checks_failing=1)], [])
    assert 'label="sales\\n⚑ 1 check failing"' in one
    focused = to_dot(nodes, [], highlight="sales")
    assert "penwidth=3" in focused
    assert "penwidth=2.5" not in focused


def test_a_collapsed_group_counts_the_failing_checks_of_its_members() -> None:
    members = [NodeView(f"a{i}", "fresh", tags=("g",), checks_failing=i % 2) for i in range(200)]
    dot = to_dot(members, [])
    assert "200 assets: 200 fresh\\n⚑ 100 checks failing" in dot
    assert "fs-group fs-checks-failing" in dot


def test_the_graph_of_a_real_store_shows_the_badge_in_its_svg() -> None:
    regions()
    fs.check("sales")(positive)
    fs.backfill("sales")
    view = fs.graph()
    assert "⚑ 1 check failing" in view.source
    assert "1 check failing" in view.text
    svg = html.unescape(view.svg())  # (Graphviz writes a class's dashes as entities)
    assert "⚑ 1 check failing" in svg
    assert "fs-checks-failing" in svg


def test_the_badges_of_many_partitions_cost_no_query_beyond_the_status() -> None:
    days = fs.DailyPartitions("2020-01-01", "2024-12-31")  # 1,827 partitions

    @fs.asset(partitioned_by=days)
    def daily(context: Any) -> int:
        return int(context.partition.day)

    fs.check("daily", name="not_first")(lambda daily: daily != 1)
    fs.backfill("daily", "2024-12-01..2024-12-31", max_workers=1)
    status = statements_of(fs.status)
    drawn: list[Any] = []
    graph = statements_of(lambda: drawn.append(fs.graph()))
    assert len(graph) == len(status)
    assert "⚑ 1 check failing" in drawn[0].source
    assert "not_first fails on 1 partition (2024-12-01)" in drawn[0].source


def test_a_node_lists_a_few_partitions_and_an_unpartitioned_one_says_what_failed() -> None:
    regions()
    fs.check("sales", name="complete")(lambda sales: False)
    fs.check("total", name="big")(lambda total: fs.CheckResult(False, "only 2.0"))
    fs.materialize("total")
    days = StatusReport(tuple(row(f"2024-01-{d:02}", "fresh", ("late", "x")) for d in range(1, 9)))
    nodes, _ = graph_nodes(fs.get_registry(), ["sales", "total"], fs.status())
    assert nodes[1].checks_detail == "big: only 2.0"
    assert nodes[0].checks_detail == "complete fails on 3 partitions (north, south, west)"
    [many], _ = graph_nodes(fs.get_registry(), ["sales"], days)
    assert many.checks_detail == (
        "late fails on 8 partitions (2024-01-01, 2024-01-02, 2024-01-03, 2024-01-04, "
        "2024-01-05, … and 3 more)"
    )


def test_the_live_graph_marks_a_node_as_its_checks_fail() -> None:
    regions()
    shown: list[Any] = []
    timers = FakeTimers()

    def display(obj: Any, display_id: bool = False) -> Any:
        shown.append(obj)
        return type("Handle", (), {"update": lambda self, new: shown.append(new)})()

    live = LiveGraph(display=display, schedule=timers.schedule, clock=timers.clock)
    with live:

        def send(kind: str, partition: str, **detail: Any) -> None:
            live.on_event(Event(kind, "sales", partition, "r", detail))

        send(EventKind.STARTED, "south")
        send(EventKind.CHECKED, "south", check="positive", passed=False, message="bad")
        send(EventKind.CHECKED, "south", check="complete", passed=True, message=None)
        send(EventKind.SUCCEEDED, "south")
        send(EventKind.CHECKED, "other", check="x", passed=False, message="ignored")
        send(EventKind.SKIPPED, "west")  # not a state the graph draws: changes nothing
        live.on_event(Event(EventKind.CHECKED, "unknown", "", "r", {"passed": False}))
    report = live.report()
    assert report is not None
    [south] = [r for r in report.rows if r.partition == "south"]
    assert (south.status, south.checks_failing, south.check_message) == (
        "fresh",
        ("positive",),
        "positive: bad",
    )
    assert "⚑ 1 check failing" in shown[-1].source
    with live:  # a partition computed again starts without marks
        live.on_event(Event(EventKind.STARTED, "sales", "south", "r2", {}))
    again = live.report()
    assert again is not None
    [south] = [r for r in again.rows if r.partition == "south"]
    assert south.checks_failing == ()


# -- backfill progress ----------------------------------------------------------------------------


def event(kind: str, partition: str, **detail: Any) -> Event:
    return Event(kind, "sales", partition, "run", detail)


def test_progress_marks_the_partitions_a_check_fails_on_and_lists_them() -> None:
    progress = BackfillProgress(3, partitions=["north", "south", "west"], title="sales")
    for partition in ("north", "south", "west"):
        progress.update(event(EventKind.STARTED, partition))
        passed = partition != "south"
        message = None if passed else f"2 negative {EVIL}"
        progress.update(
            event(EventKind.CHECKED, partition, check="positive", passed=passed, message=message)
        )
        progress.update(event(EventKind.SUCCEEDED, partition))
    progress.finish()
    strip = progress.strip.value
    assert strip.count("fs-square fs-checks-failing fs-square-computed") == 1
    assert "south: computed — ⚑ positive: 2 negative &lt;script&gt;" in strip
    assert "1 partition with failing checks" in progress.counts.value
    assert f"color:{FAILING}" in progress.counts.value
    assert "south ⚑ positive: 2 negative &lt;script&gt;" in progress.problems.value
    html = progress.to_html()
    assert "<script" not in html
    assert "1 partition with failing checks" in html
    text = progress.to_text()
    assert "3/3 done (3 computed); 1 partition with failing checks" in text
    assert "south ⚑ positive: 2 negative <script>alert(1)</script>" in text


def test_a_partition_that_runs_again_starts_without_marks() -> None:
    progress = BackfillProgress(1, title="sales")
    progress.update(event(EventKind.CHECKED, "south", check="positive", passed=False))
    progress.update(event(EventKind.CHECKED, "south", check="complete", passed=False))
    assert "south ⚑ complete: failed; positive: failed" in progress.to_text()
    progress.update(event(EventKind.CHECKED, "south", check="positive", passed=True))
    assert "south ⚑ complete: failed\n" in f"{progress.to_text()}\n"
    progress.update(event(EventKind.STARTED, "south"))
    assert "failing checks" not in progress.to_text()
    assert "fs-checks-failing" not in progress.to_html()


def test_a_check_that_passes_again_takes_the_mark_away() -> None:
    progress = BackfillProgress(1, title="sales")
    progress.update(event(EventKind.CHECKED, "south", check="positive", passed=False))
    progress.update(event(EventKind.CHECKED, "south", check="positive", passed=True))
    progress.update(event(EventKind.CHECKED, "north", check="positive", passed=True))
    assert "failing checks" not in progress.to_text()
    assert "fs-checks-failing" not in progress.to_html()


def test_progress_follows_the_checks_of_a_real_backfill(in_kernel: None) -> None:
    regions()
    fs.check("sales")(positive)
    shown: list[Any] = []
    from flowstone_nb._notebook.progress import ProgressPresenter

    presenter = ProgressPresenter(display=lambda obj, display_id=False: shown.append(obj))
    from flowstone_nb._core.events import subscribe
    from flowstone_nb._core.progress import ANNOUNCEMENTS

    unsubscribe = subscribe(presenter.on_event, kinds=ANNOUNCEMENTS)
    try:
        fs.backfill("sales", progress=True)
    finally:
        unsubscribe()
    [progress] = shown
    assert "1 partition with failing checks" in progress.to_text()
    assert "south ⚑ positive: 2 negative amounts" in progress.to_text()


@pytest.mark.parametrize("compact", [False, True])
def test_every_mark_is_in_the_failing_colour(compact: bool) -> None:
    html = StatusGrid(REPORT, compact=compact).to_html()
    assert FAILING in html
    other = {PALETTE[s].strong for s in PALETTE if s != CheckState.FAILING}
    assert FAILING not in other
