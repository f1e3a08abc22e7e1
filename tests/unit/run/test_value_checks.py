"""A stored value changed on disk is never used as good: not loaded, not reused, not called fresh.

Values are checked against the stamp recorded with them (size, modification time, data version)
when they are loaded or reused; a forced materialize always leaves a good value behind.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._storage.io import ChangedValueError
from flowstone_nb._storage.store import get_store

# A modification time long past (a file edited right after it was stored may keep its time).
LONG_AGO = 1_600_000_000 * 10**9


def value_path(home: Path, asset: str, partition: str = "") -> Path:
    row = get_store().catalog.latest_success(asset, partition)
    assert row is not None
    return home / str(row.location)


def pipeline(calls: Counter[str]) -> None:
    @fs.asset
    def answer() -> int:
        calls["answer"] += 1
        return 100

    @fs.asset
    def doubled(answer: int) -> int:
        calls["doubled"] += 1
        return answer * 2


def test_fs_load_refuses_a_value_edited_on_disk(home: Path) -> None:
    pipeline(Counter())
    fs.materialize("answer")
    value_path(home, "answer").write_text("999")
    with pytest.raises(ChangedValueError, match=r"asset 'answer'.*changed on disk") as info:
        fs.load("answer")
    assert str(value_path(home, "answer")) in str(info.value)


def test_an_edited_value_is_not_fresh_and_the_next_materialize_recomputes_it(home: Path) -> None:
    calls: Counter[str] = Counter()
    pipeline(calls)
    fs.materialize("doubled")
    value_path(home, "answer").write_text("999")
    row = fs.status("answer").for_asset("answer")[0]
    assert row.status == "stale"
    assert "changed on disk" in row.reason
    assert fs.materialize("doubled") == 200  # the downstream never sees 999
    assert calls == {"answer": 2, "doubled": 1}  # doubled consumed the same version again
    assert fs.load("answer") == 100
    assert fs.status()["answer"] == "fresh"


def test_a_downstream_value_is_never_computed_from_an_edited_upstream(home: Path) -> None:
    calls: Counter[str] = Counter()
    pipeline(calls)
    fs.materialize("answer")
    value_path(home, "answer").write_text("999")
    assert fs.materialize("doubled") == 200
    assert calls == {"answer": 2, "doubled": 1}


def test_force_repairs_a_damaged_value_of_the_same_version(home: Path) -> None:
    pipeline(Counter())
    fs.materialize("answer")
    path = value_path(home, "answer")
    path.write_text("999")
    with pytest.raises(ChangedValueError, match="force=True"):
        fs.load("answer")
    assert fs.materialize("answer", force=True) == 100
    assert path.read_text() == "100"
    assert fs.load("answer") == 100


def test_a_partitioned_value_edited_on_disk_is_named_by_its_key(home: Path) -> None:
    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-03"))
    def sales(context: fs.AssetContext) -> pd.DataFrame:
        return pd.DataFrame({"day": [context.partition_key], "n": [1]})

    fs.backfill("sales")
    path = value_path(home, "sales", get_store().catalog.history("sales")[0].partition)
    pd.DataFrame({"day": ["x"], "n": [2]}).to_parquet(path)
    os.utime(path, ns=(LONG_AGO, LONG_AGO))
    problems = [
        row for row in fs.status("sales").for_asset("sales") if "changed on disk" in row.reason
    ]
    assert [row.status for row in problems] == ["stale"]
    with pytest.raises(ChangedValueError, match=rf"partition '{problems[0].partition}'"):
        fs.load("sales", partition=problems[0].partition)
    result = fs.backfill("sales")
    assert result.counts().get("computed") == 1
    assert fs.load("sales", partition=problems[0].partition).day.tolist() == [problems[0].partition]


def corrupt_keeping_stamp(path: Path) -> None:
    """Make the file unreadable, with the size and modification time it was stored with."""
    stamp = path.stat()
    path.write_bytes(b"\0" * stamp.st_size)
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))


def test_a_value_unreadable_behind_an_intact_stamp_is_computed_again(home: Path) -> None:
    calls: Counter[str] = Counter()
    pipeline(calls)
    fs.materialize("doubled")
    corrupt_keeping_stamp(value_path(home, "answer"))
    assert fs.materialize("doubled", force=True) == 200  # its input, reused, is recomputed
    assert calls == {"answer": 2, "doubled": 2}
    corrupt_keeping_stamp(value_path(home, "answer"))
    assert fs.materialize("answer") == 100  # the target itself, reused: recomputed
    assert calls["answer"] == 3
    assert fs.load("answer") == 100


def test_a_failure_speaks_of_the_last_good_value_only_when_there_is_one() -> None:
    failing = {"now": True}

    @fs.asset
    def flaky() -> int:
        if failing["now"]:
            raise ValueError("not today")
        return 1

    with pytest.raises(fs.MaterializationError) as first:
        fs.materialize("flaky")
    assert "last good value" not in str(first.value)
    assert "no value of it was stored before" in str(first.value)
    failing["now"] = False
    fs.materialize("flaky")
    failing["now"] = True
    with pytest.raises(fs.MaterializationError) as again:
        fs.materialize("flaky", force=True)
    assert "the last good value stays loadable (fs.load)" in str(again.value)

    @fs.asset(name="flaky", replace=True)
    def flaky_edited() -> int:
        raise ValueError("edited, and wrong")

    with pytest.raises(fs.MaterializationError) as edited:
        fs.materialize("flaky")  # stale (its code changed), with a good value from before
    assert "the last good value stays loadable (fs.load)" in str(edited.value)
    assert fs.load("flaky") == 1


def unstamp_and_garble(home: Path, asset: str) -> None:
    """A value recorded before stamps were (no size, no time) whose file no longer decodes."""
    catalog = get_store().catalog
    catalog.wait_for_writes()
    with sqlite3.connect(catalog.path) as conn:
        for table in ("materializations", "partition_latest"):  # (as a migrated catalog has)
            conn.execute(f"UPDATE {table} SET size_bytes = NULL, modified_ns = NULL")
    conn.close()
    value_path(home, asset).write_text("{not json")


def test_an_unreadable_target_without_a_stamp_is_computed_again(home: Path) -> None:
    calls: Counter[str] = Counter()
    pipeline(calls)
    fs.materialize("answer")
    unstamp_and_garble(home, "answer")
    assert fs.materialize("answer") == 100
    assert calls["answer"] == 2
    assert fs.load("answer") == 100


def test_an_unreadable_input_without_a_stamp_is_computed_again_on_the_way(home: Path) -> None:
    calls: Counter[str] = Counter()
    pipeline(calls)
    fs.materialize("doubled")
    unstamp_and_garble(home, "answer")
    assert fs.materialize("doubled", force=True) == 200
    assert calls == {"answer": 2, "doubled": 2}
