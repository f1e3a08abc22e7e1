"""fs.checks, fs.check_all and history's checks column: outcomes as the user asks for them."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._query.checks import CHECK_COLUMNS
from flowstone_nb._storage.store import get_store

DAYS = fs.DailyPartitions("2024-01-01", "2024-01-03")


def sales(calls: Counter[str]) -> fs.Asset:
    @fs.asset(partitioned_by=DAYS)
    def sales(context: Any) -> list[int]:
        calls["sales"] += 1
        return [context.partition.day, -context.partition.day if context.partition.day == 2 else 0]

    return sales


def define_check(body: str, *, name: str = "positive", blocking: bool = False) -> None:
    namespace: dict[str, Any] = {"fs": fs}
    exec(f"def {name}(sales):\n    return {body}\n", namespace)
    fs.check("sales", blocking=blocking)(namespace[name])


def test_checks_are_a_frame_newest_first_with_partitions_as_the_user_writes_them() -> None:
    sales(Counter())
    define_check("fs.CheckResult(min(sales) >= 0, f'min {min(sales)}', {'min': min(sales)})")
    fs.materialize("sales", "2024-01-01")
    fs.materialize("sales", "2024-01-02")
    frame = fs.checks()
    assert list(frame.columns) == CHECK_COLUMNS
    assert frame.partition.tolist() == ["2024-01-02", "2024-01-01"]
    newest = frame.iloc[0]
    assert (newest.asset, newest.check, newest.passed, newest.blocking) == (
        "sales",
        "positive",
        False,
        False,
    )
    assert (newest.message, newest.metadata) == ("min -2", {"min": -2})
    assert str(newest.started.tz) == "UTC"
    assert fs.load("sales", "2024-01-02", version=newest.materialization_id) == [2, -2]
    only = fs.checks("sales", "2024-01-01")
    assert only.partition.tolist() == ["2024-01-01"]
    assert only.metadata.tolist() == [{"min": 0}]
    assert len(fs.checks(limit=1)) == 1
    assert fs.checks("other_asset").empty


def test_checks_of_an_asset_no_longer_defined_keep_their_recorded_partitions(
    registry: fs.Registry,
) -> None:
    sales(Counter())
    define_check("True")
    fs.materialize("sales", "2024-01-03")
    registry.clear()
    frame = fs.checks("sales", "2024-01-03")
    assert frame.partition.tolist() == ["2024-01-03"]


def test_history_says_what_the_checks_said_of_each_value() -> None:
    sales(Counter())
    define_check("min(sales) >= 0")
    define_check("True", name="always")
    fs.materialize("sales", "2024-01-01")
    fs.materialize("sales", "2024-01-02")

    @fs.asset
    def unchecked() -> int:
        return 1

    fs.materialize(unchecked)
    frame = fs.history()
    assert dict(zip(frame.partition, frame.checks, strict=True)) == {
        "": "",
        "2024-01-02": "1 of 2 failed: positive",
        "2024-01-01": "2 passed",
    }
    assert fs.history("other").checks.tolist() == []
    assert fs.history("unchecked").checks.tolist() == [""]  # (no outcome looked up)


def test_check_all_runs_new_and_edited_checks_on_stored_values_without_computing() -> None:
    calls: Counter[str] = Counter()
    sales(calls)
    fs.backfill("sales")
    assert fs.check_all().empty  # no check yet
    define_check("min(sales) >= 0")
    first = fs.check_all()
    assert sorted(zip(first.partition, first.passed, strict=True)) == [
        ("2024-01-01", True),
        ("2024-01-02", False),
        ("2024-01-03", True),
    ]
    assert first.run_id.nunique() == 1
    [run] = [r for r in get_store().catalog.runs() if r.kind == "check"]
    assert run.status == "success"
    assert fs.check_all().empty  # judged already
    define_check("True")  # edited
    assert fs.check_all("sales").passed.tolist() == [True, True, True]
    assert len(fs.check_all(force=True)) == 3
    assert calls == {"sales": 3}
    days = ("2024-01-01", "2024-01-02", "2024-01-03")
    assert fs.status()["sales"] == dict.fromkeys(days, "fresh")


def test_check_all_judges_with_a_context_and_skips_values_it_cannot_read(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sales(Counter())
    fs.backfill("sales")
    row = get_store().catalog.latest_success("sales", get_store().catalog.partitions("sales")[0])
    assert row is not None
    (home / str(row.location)).unlink()
    seen: list[str] = []

    @fs.check("sales")
    def dated(context: fs.AssetContext, sales: list[int]) -> bool:
        seen.append(context.partition_key)
        return True

    with caplog.at_level(logging.WARNING, logger="flowstone_nb.checks"):
        frame = fs.check_all("sales")
    assert sorted(seen) == ["2024-01-02", "2024-01-03"]
    assert len(frame) == 2
    assert "Not checked: the stored value of sales[2024-01-01] cannot be read" in caplog.text


def test_check_all_records_what_it_judged_before_an_interruption() -> None:
    sales(Counter())
    fs.backfill("sales")

    @fs.check("sales")
    def interrupting(sales: list[int]) -> bool:
        if sales[0] == 2:
            raise KeyboardInterrupt
        return True

    with pytest.raises(KeyboardInterrupt):
        fs.check_all()
    assert fs.checks().partition.tolist() == ["2024-01-01"]
    [run] = [r for r in get_store().catalog.runs() if r.kind == "check"]
    assert run.status == "failed"


def test_a_check_of_an_asset_never_materialized_has_nothing_to_judge() -> None:
    sales(Counter())
    define_check("True")
    assert fs.check_all().empty
    assert isinstance(fs.checks(), pd.DataFrame)


def test_check_all_can_run_one_check_again_and_no_other() -> None:
    calls: Counter[str] = Counter()
    sales(calls)
    define_check("min(sales) >= 0")
    define_check("len(sales) == 2", name="two")
    fs.backfill("sales")
    before = len(fs.checks())
    ran = fs.check_all("sales", check="positive", force=True)
    assert sorted(ran.partition) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert set(ran.check) == {"positive"}
    assert len(fs.checks()) == before + 3
    assert fs.check_all("sales", check="positive").empty  # nothing new or edited
    assert calls["sales"] == 3
    with pytest.raises(fs.FlowstoneError, match=r"'sales' has no check 'postive'.*'positive'"):
        fs.check_all("sales", check="postive")
    with pytest.raises(fs.FlowstoneError, match="check= names one check of one asset: pass"):
        fs.check_all(check="positive")
