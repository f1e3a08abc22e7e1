"""fs.backfill: many partitions, in parallel, resumable, with per-partition results."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date
from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._storage.store import get_store

JANUARY = fs.DailyPartitions("2024-01-01", "2024-01-31")


def daily_pair(calls: Counter[str], fail_on: set[date] | None = None) -> tuple[fs.Asset, fs.Asset]:
    lock = threading.Lock()

    @fs.asset(partitioned_by=JANUARY)
    def sales(context: Any) -> pd.DataFrame:
        with lock:  # partitions run on several threads; += on a Counter is not atomic
            calls["sales"] += 1
        if fail_on and context.partition in fail_on:
            raise ValueError(f"no data for {context.partition}")
        day = context.partition
        return pd.DataFrame({"day": [day.isoformat()] * 3, "amount": [1.0, 2.0, float(day.day)]})

    @fs.asset(partitioned_by=JANUARY)
    def totals(sales: pd.DataFrame) -> pd.DataFrame:
        with lock:
            calls["totals"] += 1
        return sales.groupby("day", as_index=False).amount.sum()

    return sales, totals


def test_backfill_runs_each_partition_and_upstream_once() -> None:
    calls: Counter[str] = Counter()
    _, totals = daily_pair(calls)
    result = fs.backfill(totals, "2024-01-01..2024-01-10", max_workers=2)
    assert result.ok, [(p.partition, p.error) for p in result.failed]
    assert [p.partition for p in result.partitions][:2] == ["2024-01-01", "2024-01-02"]
    assert result.counts() == {"computed": 10}
    assert calls == {"sales": 10, "totals": 10}
    frame = fs.materialize(totals, "2024-01-05")
    assert frame.amount.iloc[0] == 8.0
    assert calls == {"sales": 10, "totals": 10}


def test_backfill_again_resumes_only_what_is_not_fresh() -> None:
    calls: Counter[str] = Counter()
    fail_on = {date(2024, 1, 3), date(2024, 1, 7)}
    _, totals = daily_pair(calls, fail_on)
    first = fs.backfill(totals, ("2024-01-01", "2024-01-10"), max_workers=2)
    assert not first.ok
    failed = sorted(p.partition for p in first.failed)
    assert failed == ["2024-01-03", "2024-01-07"], [(p.partition, p.error) for p in first.failed]
    assert first["2024-01-03"].status == "skipped"
    assert str(first["2024-01-03"].error).startswith("upstream sales[2024-01-03] raised ")
    fail_on.clear()
    calls.clear()
    second = fs.backfill(totals, ("2024-01-01", "2024-01-10"), max_workers=2)
    assert second.ok
    assert second.counts() == {"computed": 2, "reused": 8}
    assert calls == {"sales": 2, "totals": 2}


def test_fail_fast_stops_starting_new_partitions() -> None:
    calls: Counter[str] = Counter()
    _, totals = daily_pair(calls, {date(2024, 1, 1)})
    result = fs.backfill(totals, "2024-01-01..2024-01-31", max_workers=1, fail_fast=True)
    statuses = result.counts()
    assert statuses.get("cancelled", 0) > 0
    assert calls["sales"] < 31


def test_cancel_event_stops_the_backfill_cleanly() -> None:
    calls: Counter[str] = Counter()
    _, totals = daily_pair(calls)
    cancel = threading.Event()

    def stop_after_first(event: Event) -> None:
        if event.kind == "succeeded" and event.asset == "totals":
            cancel.set()

    unsubscribe = subscribe(stop_after_first)
    try:
        result = fs.backfill(totals, max_workers=1, cancel=cancel)
    finally:
        unsubscribe()
    assert result.counts()["cancelled"] > 0
    rows = get_store().catalog.history("totals")
    assert all(r.status == "success" for r in rows)
    assert len(rows) == result.counts()["computed"]


def test_force_and_views() -> None:
    calls: Counter[str] = Counter()
    sales, _ = daily_pair(calls)
    fs.backfill(sales, ["2024-01-01", "2024-01-02"])
    result = fs.backfill(sales, ["2024-01-01", "2024-01-02"], force=True)
    assert calls["sales"] == 4
    assert "Backfill of sales: 2 partition(s)" in repr(result)
    assert "fs-backfill" in result._repr_html_()
    assert list(result.to_frame().status) == ["computed", "computed"]


def test_bad_input() -> None:
    @fs.asset
    def plain() -> int:
        return 1

    with pytest.raises(fs.PartitionError, match=r"not partitioned: use fs\.materialize"):
        fs.backfill(plain, "2024-01-01..2024-01-02")
    calls: Counter[str] = Counter()
    sales, _ = daily_pair(calls)
    with pytest.raises(fs.PartitionError):
        fs.backfill(sales, "2024-02-01..2024-02-03")
    with pytest.raises(fs.PartitionError):
        fs.backfill(sales, "2024-01-01...2024-01-03x")
    with pytest.raises(fs.FlowstoneError, match=r"executor='nope' is not understood"):
        fs.backfill(sales, "2024-01-01..2024-01-02", executor="nope")


def test_skipped_and_cancelled_partitions_are_announced() -> None:
    calls: Counter[str] = Counter()
    _, totals = daily_pair(calls, {date(2024, 1, 2)})
    seen: list[tuple[str, str, str]] = []

    def collect(event: Event) -> None:
        if event.kind in ("skipped", "cancelled"):
            seen.append((event.kind, event.asset, event.partition))

    unsubscribe = subscribe(collect)
    try:
        fs.backfill(totals, "2024-01-01..2024-01-03", max_workers=1, fail_fast=True)
    finally:
        unsubscribe()
    assert ("skipped", "totals", "2024-01-02") in seen
    assert any(kind == "cancelled" for kind, _, _ in seen)
