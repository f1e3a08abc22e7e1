"""A backfill with a failure, as its result tells it: one word and one colour per state, and why.

A partition skipped because an upstream partition failed names that partition and its error,
so the result explains the failure without a look at ``fs.history``.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

import flowstone_nb as fs
from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._core.states import PALETTE

WHY = "upstream readings[2024-05-04] raised ValueError: sensor file for 2024-05-04 is truncated"


def broken_day() -> None:
    days = fs.DailyPartitions("2024-05-01", "2024-05-05")

    @fs.asset(partitioned_by=days)
    def readings(context: Any) -> pd.DataFrame:
        if context.partition_key == "2024-05-04":
            raise ValueError(f"sensor file for {context.partition_key} is truncated")
        return pd.DataFrame({"value": [1.0, 2.0]})

    @fs.asset(partitioned_by=days)
    def daily_mean(readings: pd.DataFrame) -> float:
        return float(readings.value.mean())


def test_a_skipped_partition_names_the_upstream_partition_and_its_error() -> None:
    broken_day()
    announced: list[str] = []
    unsubscribe = subscribe(
        lambda event: (
            announced.append(str(event.detail["error"])) if event.kind == "skipped" else None
        )
    )
    try:
        result = fs.backfill("daily_mean", max_workers=2)
    finally:
        unsubscribe()
    skipped = result["2024-05-04"]
    assert skipped.status == "skipped"
    assert skipped.error == WHY
    assert skipped.error_type == "ValueError"
    assert announced == [WHY]  # what the live progress shows in its tooltip and problems


def test_the_result_line_uses_the_outcome_words_in_order_with_their_colours() -> None:
    broken_day()
    result = fs.backfill("daily_mean", max_workers=2)
    assert result.counts() == {"computed": 4, "skipped": 1}
    assert list(result.counts()) == ["computed", "skipped"]
    assert re.fullmatch(
        r"Backfill of daily_mean: 5 partition\(s\) — 4 computed, 1 skipped in \d+\.\d\d s",
        result.summary(),
    )
    text = repr(result).splitlines()
    assert text[-1].split(None, 2) == ["2024-05-04", "skipped", WHY]
    html = result._repr_html_()
    assert "fs-bar-computed" in html
    skipped_colour = PALETTE["skipped"].strong
    assert f'fs-bar-skipped" data-count="1" style="width:20%;background:{skipped_colour}' in html
    assert f'<span style="color:{PALETTE["skipped"].strong}">■</span> 1 skipped' in html
    assert html.count(f"background:{PALETTE['skipped'].strong}") == 3  # bar, square, badge
    assert 'title="2024-05-04: skipped — upstream readings[2024-05-04] raised ValueError' in html
    assert "sensor file for 2024-05-04 is truncated" in html.split("fs-backfill-failures")[1]
    assert "5/5" in html


def test_a_partition_whose_upstream_failed_outside_the_library_says_so() -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["a"]))
    def source(context: Any) -> int:
        raise fs.FlowstoneError("the source is offline")

    @fs.asset(partitioned_by=fs.StaticPartitions(["a"]))
    def target(source: int) -> int:
        return source

    result = fs.backfill("target")
    assert result["a"].error == "upstream source[a] raised FlowstoneError: the source is offline"


def test_progress_events_and_the_result_count_the_same_states() -> None:
    broken_day()
    kinds: list[str] = []

    def collect(event: Event) -> None:
        if event.asset == "daily_mean" and event.partition:
            kinds.append(event.kind)

    unsubscribe = subscribe(collect)
    try:
        result = fs.backfill("daily_mean", max_workers=1)
    finally:
        unsubscribe()
    finished = [kind for kind in kinds if kind != "started"]
    assert sorted(finished) == ["skipped", "succeeded", "succeeded", "succeeded", "succeeded"]
    assert result.counts() == {"computed": 4, "skipped": 1}
