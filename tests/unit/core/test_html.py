"""The HTML and text pieces of every view: one colour per state, aligned tables, durations."""

from __future__ import annotations

import re

from flowstone_nb._core.html import (
    CHECK_FLAG,
    FLAGGED_RING,
    check_flag,
    checks_failing,
    counted,
    duration,
    html_table,
    legend,
    square,
    state_bar,
    text_table,
    tooltip,
    with_failing_checks,
)
from flowstone_nb._core.states import (
    PALETTE,
    CheckState,
    EventKind,
    Freshness,
    Outcome,
    RecordStatus,
)

EVIL = "<script>alert(1)</script>"


def test_every_state_a_user_can_see_has_its_own_colour() -> None:
    shown = [*Outcome, RecordStatus.RUNNING, RecordStatus.PENDING]
    colours = [PALETTE[state].strong for state in shown]
    assert len(set(colours)) == len(colours), dict(zip(shown, colours, strict=True))
    # A word shared by two vocabularies is one state, drawn once.
    assert PALETTE[EventKind.SKIPPED] == PALETTE[Outcome.SKIPPED]
    assert PALETTE[Freshness.FAILED] == PALETTE[Outcome.FAILED]


def test_a_square_and_its_tooltip_escape_the_title() -> None:
    html = square("failed", tooltip(EVIL, "failed", "ValueError: <x>"))
    assert "<script" not in html
    assert 'class="fs-square fs-square-failed"' in html
    assert PALETTE["failed"].strong in html
    assert tooltip("a[1]", "fresh") == "a[1]: fresh"


def test_counts_read_the_same_as_text_and_as_a_legend() -> None:
    counts = {"computed": 9, "reused": 0, "skipped": 1}
    assert counted(counts) == "9 computed, 1 skipped"
    html = legend(counts)
    assert "reused" not in html
    assert re.search(rf"color:{PALETTE['skipped'].strong}\">■</span> 1 skipped", html)
    assert html.index("computed") < html.index("skipped")


def test_the_state_bar_has_one_segment_per_state_as_long_as_its_share() -> None:
    html = state_bar({"computed": 3, "failed": 1, "pending": 0}, label="4/4")
    segments = re.findall(r'fs-bar-(\w+)" data-count="(\d+)" style="width:([\d.]+)%', html)
    assert segments == [("computed", "3", "75"), ("failed", "1", "25")]
    assert f"background:{PALETTE['failed'].strong}" in html
    assert 'title="3 computed, 1 failed"' in html
    assert html.endswith('<span class="fs-bar-label">4/4</span>')
    assert "fs-bar-label" not in state_bar({"computed": 1})


def test_table_headers_sit_over_their_cells_and_numbers_align_right() -> None:
    html = html_table(["name", "rows"], [[EVIL, 12]], right_columns=(1,))
    assert "<script" not in html
    assert html.count("text-align:right") == 2  # the header and the cell of "rows"
    assert html.count("text-align:left") == 2
    assert html.count("padding:") == 4
    text = text_table(["name", "rows"], [["a", 5], ["b", 123]], right_columns=(1,))
    assert text.splitlines() == ["name  rows", "----  ----", "a        5", "b      123"]


def test_durations_read_in_seconds_minutes_or_hours() -> None:
    assert duration(0.1) == "0.10 s"
    assert duration(59.994) == "59.99 s"
    assert duration(125) == "2 min 05 s"
    assert duration(3725) == "1 h 02 min"


def test_a_failing_check_has_a_colour_no_status_has() -> None:
    statuses = [*Freshness, *Outcome, RecordStatus.PENDING]
    assert PALETTE[CheckState.FAILING].strong not in {PALETTE[s].strong for s in statuses}
    assert PALETTE[CheckState.PASSED] == PALETTE[Outcome.COMPUTED]


def test_failing_checks_read_the_same_in_every_view() -> None:
    assert checks_failing(1) == "1 check failing"
    assert checks_failing(2) == "2 checks failing"
    assert with_failing_checks(1) == "1 partition with failing checks"
    assert with_failing_checks(3) == "3 partitions with failing checks"
    flag = check_flag(f"positive: {EVIL}")
    assert "<script" not in flag
    assert f"color:{PALETTE[CheckState.FAILING].strong}" in flag
    assert CHECK_FLAG in flag
    assert 'class="fs-check-flag"' in flag


def test_a_flagged_square_keeps_its_status_colour_and_wears_a_ring() -> None:
    html = square("fresh", "sales[south]: fresh", flagged=True)
    assert f"background:{PALETTE['fresh'].strong}" in html
    assert FLAGGED_RING in html
    assert PALETTE[CheckState.FAILING].strong in FLAGGED_RING
    # The status stays the last class (views and browser tests read it there).
    assert 'class="fs-square fs-checks-failing fs-square-fresh"' in html
    assert FLAGGED_RING not in square("fresh", "x")
