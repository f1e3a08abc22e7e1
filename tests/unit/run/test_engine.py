"""fs.materialize: only what is needed runs, everything is recorded, failures lose nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._storage.store import get_store
from tests.resources.counting import load_module


def chain(
    calls: Counter[str], io_manager: str | None = None
) -> tuple[fs.Asset, fs.Asset, fs.Asset]:
    @fs.asset(io_manager=io_manager)
    def raw() -> pd.DataFrame:
        calls["raw"] += 1
        return pd.DataFrame({"x": [1, 2, 3], "y": [10.0, 20.0, 30.0]})

    @fs.asset(io_manager=io_manager)
    def clean(raw: pd.DataFrame) -> pd.DataFrame:
        calls["clean"] += 1
        return raw[raw.x > 1]

    @fs.asset(io_manager=io_manager)
    def report(context: Any, clean: pd.DataFrame) -> dict[str, float]:
        calls["report"] += 1
        return {"total": float(clean.y.sum())}

    return raw, clean, report


def test_materialize_returns_the_value_and_computes_upstream_first() -> None:
    calls: Counter[str] = Counter()
    _, _, report = chain(calls)
    assert fs.materialize(report) == {"total": 50.0}
    assert calls == {"raw": 1, "clean": 1, "report": 1}


def test_second_call_with_nothing_changed_computes_nothing() -> None:
    calls: Counter[str] = Counter()
    _, clean, report = chain(calls)
    fs.materialize(report)
    assert fs.materialize(report) == {"total": 50.0}
    assert calls == {"raw": 1, "clean": 1, "report": 1}
    pd.testing.assert_frame_equal(
        fs.materialize("clean"), clean(pd.DataFrame({"x": [1, 2, 3], "y": [10.0, 20.0, 30.0]}))
    )


def test_force_recomputes_only_the_target() -> None:
    calls: Counter[str] = Counter()
    _, _, report = chain(calls)
    fs.materialize(report)
    fs.materialize(report, force=True)
    assert calls == {"raw": 1, "clean": 1, "report": 2}


def test_several_targets_return_a_mapping() -> None:
    calls: Counter[str] = Counter()
    raw, _, _ = chain(calls)
    values = fs.materialize([raw, "report"])
    assert set(values) == {"raw", "report"}
    assert values["report"] == {"total": 50.0}


def test_memory_assets_are_recorded_too() -> None:
    calls: Counter[str] = Counter()
    _, _, report = chain(calls, io_manager="memory")
    fs.materialize(report)
    fs.materialize(report)
    assert calls == {"raw": 1, "clean": 1, "report": 1}
    history = fs.history()
    assert list(history.asset) == ["report", "clean", "raw"]
    assert set(history.io_manager) == {"memory"}


def test_a_run_is_recorded_with_its_rows_and_a_run_that_reuses_everything_writes_nothing() -> None:
    calls: Counter[str] = Counter()
    chain(calls, io_manager="memory")
    catalog = get_store().catalog
    fs.materialize("report")
    (run,) = catalog.runs()
    assert run.status == "success"
    assert run.targets == ("report",)
    assert run.ended_at is not None
    rows = catalog.history()
    assert {row.run_id for row in rows} == {run.run_id}
    assert len({row.id for row in rows}) == 3
    assert all(row.id.startswith(run.run_id) for row in rows)
    fs.materialize("report")
    assert catalog.runs() == [run]
    assert catalog.history() == rows


def test_a_persisted_value_has_its_run_and_running_row_written_before_it_computes() -> None:
    seen: list[tuple[str, ...]] = []

    @fs.asset(io_manager="memory")
    def first() -> int:
        return 1

    @fs.asset
    def second(first: int) -> int:
        catalog = get_store().catalog
        seen.append(tuple(run.status for run in catalog.runs()))
        seen.append(tuple(row.status for row in catalog.history()))
        return first + 1

    assert fs.materialize(second) == 2
    # buffered rows (first's) go with the next write: second's running row
    assert seen == [("running",), ("running", "success")]
    assert [row.status for row in get_store().catalog.history()] == ["success", "success"]
    assert [run.status for run in get_store().catalog.runs()] == ["success"]


PIPELINE_V1 = """
from tests.resources.counting import calls
import flowstone_nb as fs

FACTOR = 2

def helper(x):
    return x * FACTOR

@fs.asset
def source():
    calls["source"] += 1
    return [1, 2, 3]

@fs.asset
def doubled(source):
    calls["doubled"] += 1
    return [helper(v) for v in source]

@fs.asset
def total(doubled):
    calls["total"] += 1
    return sum(doubled)

@fs.asset
def side(source):
    calls["side"] += 1
    return len(source)
"""


def run_version(tmp_path: Path, source: str) -> None:
    path = tmp_path / "pipeline_under_test.py"
    path.write_text(textwrap.dedent(source))
    load_module(path)


@pytest.fixture
def calls() -> Counter[str]:
    from tests.resources.counting import calls

    calls.clear()
    return calls


def test_comment_only_edit_computes_nothing(tmp_path: Path, calls: Counter[str]) -> None:
    run_version(tmp_path, PIPELINE_V1)
    assert fs.materialize(["total", "side"]) == {"total": 12, "side": 3}
    edited = PIPELINE_V1.replace("def doubled(source):", "def doubled(source):  # a comment\n\n")
    run_version(tmp_path, edited.replace("return sum(doubled)", "return sum( doubled )"))
    fs.materialize(["total", "side"])
    assert calls == {"source": 1, "doubled": 1, "total": 1, "side": 1}


def test_an_edit_recomputes_exactly_that_asset_and_its_downstream(
    tmp_path: Path, calls: Counter[str]
) -> None:
    run_version(tmp_path, PIPELINE_V1)
    fs.materialize(["total", "side"])
    run_version(tmp_path, PIPELINE_V1.replace("for v in source]", "for v in source if v > 1]"))
    assert fs.status()["doubled"] == "stale"
    assert fs.status()["total"] == "stale"
    assert fs.status()["side"] == "fresh"
    fs.materialize(["total", "side"])
    assert calls == {"source": 1, "doubled": 2, "total": 2, "side": 1}


def test_an_edit_that_keeps_the_data_stops_at_the_edited_asset(
    tmp_path: Path, calls: Counter[str]
) -> None:
    run_version(tmp_path, PIPELINE_V1)
    fs.materialize("total")
    run_version(tmp_path, PIPELINE_V1.replace("for v in source]", "for v in source if v]"))
    assert fs.status()["total"] == "stale"  # until doubled runs, nobody knows its new data
    fs.materialize("total")
    assert calls == {"source": 1, "doubled": 2, "total": 1}
    assert fs.status()["total"] == "fresh"


def test_a_helper_edit_changes_the_code_version(tmp_path: Path, calls: Counter[str]) -> None:
    run_version(tmp_path, PIPELINE_V1)
    fs.materialize("total")
    run_version(tmp_path, PIPELINE_V1.replace("FACTOR = 2", "FACTOR = 3"))
    assert fs.materialize("total") == 18
    assert calls["doubled"] == 2


def test_a_restart_recomputes_nothing(tmp_path: Path, home: Path) -> None:
    script = tmp_path / "restart.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(Path.cwd())!r})
            import flowstone_nb as fs
            from tests.resources.counting import calls, load_module
            fs.configure(home={str(home)!r})
            load_module(__import__("pathlib").Path({str(tmp_path / "pipeline_under_test.py")!r}))
            value = fs.materialize("total")
            print(value, sum(calls.values()))
            """
        )
    )
    (tmp_path / "pipeline_under_test.py").write_text(textwrap.dedent(PIPELINE_V1))
    first = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    )
    second = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    )
    assert first.stdout.split() == ["12", "3"]
    assert second.stdout.split() == ["12", "0"]


def test_failure_is_recorded_downstream_not_run_last_good_value_kept(calls: Counter[str]) -> None:
    state = {"fail": False}

    @fs.asset
    def numbers() -> list[int]:
        calls["numbers"] += 1
        if state["fail"]:
            raise ValueError("the source is down")
        return [1, 2]

    @fs.asset
    def summed(numbers: list[int]) -> int:
        calls["summed"] += 1
        return sum(numbers)

    fs.materialize(summed)
    state["fail"] = True
    with pytest.raises(
        fs.MaterializationError, match=r"Asset 'numbers' failed: ValueError: the source is down"
    ) as info:
        fs.materialize(numbers, force=True)
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.asset == "numbers"
    history = fs.history("numbers")
    assert list(history.status) == ["failed", "success"]
    assert "the source is down" in history.error_message.iloc[0]
    row = get_store().catalog.history("numbers", statuses=["failed"])[0]
    assert row.traceback is not None
    assert "ValueError: the source is down" in row.traceback
    assert fs.load(numbers) == [1, 2]
    assert fs.status()["numbers"] == "failed"


def test_downstream_of_a_failure_does_not_run(calls: Counter[str]) -> None:
    @fs.asset
    def broken() -> int:
        raise RuntimeError("boom")

    @fs.asset
    def after(broken: int) -> int:
        calls["after"] += 1
        return broken

    with pytest.raises(fs.MaterializationError, match="'broken'"):
        fs.materialize(after)
    assert calls["after"] == 0
    assert list(fs.history().asset) == ["broken"]
    assert fs.status()["after"] == "missing"


def test_keyboard_interrupt_leaves_the_catalog_consistent() -> None:
    @fs.asset
    def interrupted() -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fs.materialize(interrupted)
    rows = get_store().catalog.history("interrupted")
    assert [(r.status, r.error_type) for r in rows] == [("failed", "Interrupted")]


def test_a_missing_stored_file_is_recomputed(home: Path, calls: Counter[str]) -> None:
    @fs.asset
    def kept() -> pd.DataFrame:
        calls["kept"] += 1
        return pd.DataFrame({"a": [1]})

    fs.materialize(kept)
    row = get_store().catalog.latest_success("kept", "")
    assert row is not None
    for path in home.rglob("*.parquet"):
        path.unlink()
    assert fs.status()["kept"] == "stale"
    fs.materialize(kept)
    assert calls["kept"] == 2


def test_load_a_given_version_and_errors() -> None:
    values = iter([[1], [2]])

    @fs.asset
    def versions() -> list[int]:
        return next(values)

    fs.materialize(versions)
    first = fs.history("versions").data_version.iloc[0]
    fs.materialize(versions, force=True)
    assert fs.load(versions) == [2]
    assert fs.load("versions", version=first) == [1]
    with pytest.raises(fs.FlowstoneError, match="has no version 'nope'"):
        fs.load(versions, version="nope")

    @fs.asset
    def never() -> int:
        return 1

    with pytest.raises(fs.FlowstoneError, match="materialize it first"):
        fs.load(never)


def test_resources_are_checked_before_anything_runs(calls: Counter[str]) -> None:
    @fs.asset
    def first() -> int:
        calls["first"] += 1
        return 1

    @fs.asset(requires=["db"])
    def needs_db(context: Any, first: int) -> Any:
        assert set(context.resources) == {"db"}
        return context.resource("db") + first

    with pytest.raises(fs.FlowstoneError, match=r"requires resource\(s\) \['db'\]"):
        fs.materialize(needs_db)
    assert calls["first"] == 0
    assert fs.materialize(needs_db, resources={"db": 41, "other": 0}) == 42
    fs.configure(resources={"db": 1})
    assert fs.materialize(needs_db, force=True) == 2


def test_context_carries_asset_partition_run_and_metadata() -> None:
    seen: dict[str, Any] = {}

    @fs.asset
    def observed(context: Any) -> int:
        seen["context"] = context
        context.add_output_metadata({"note": "hi"}, rows=1)
        return 1

    fs.materialize(observed)
    context = seen["context"]
    assert context.asset_name == "observed"
    assert context.partition is None
    assert context.partition_key == ""
    assert len(context.run_id) == 32
    assert context.output_metadata == {"note": "hi", "rows": 1}
    assert "observed" in repr(context)
    with pytest.raises(fs.FlowstoneError, match="add it to requires"):
        context.resource("db")


def test_unknown_dependency_is_an_error_with_suggestions_at_materialize() -> None:
    @fs.asset
    def sales() -> int:
        return 1

    with pytest.warns(fs.FlowstoneWarning):

        @fs.asset
        def report(sale: int) -> int:
            return sale

    with pytest.raises(
        fs.AssetNotFoundError, match=r"'sale' \(a dependency of 'report'\)\. Did you mean 'sales'\?"
    ):
        fs.materialize(report)


def test_a_partition_for_an_unpartitioned_asset_is_refused() -> None:
    @fs.asset
    def plain() -> int:
        return 1

    with pytest.raises(fs.PartitionError, match="not partitioned"):
        fs.materialize(plain, "2024-01-01")


def test_a_corrupt_stored_file_is_recomputed(home: Path, calls: Counter[str]) -> None:
    @fs.asset
    def table() -> pd.DataFrame:
        calls["table"] += 1
        return pd.DataFrame({"a": [1, 2]})

    @fs.asset
    def rows(table: pd.DataFrame) -> int:
        calls["rows"] += 1
        return len(table)

    fs.materialize(rows)
    for path in home.rglob("*.parquet"):
        path.write_bytes(b"not parquet at all")
    fs.materialize(rows, force=True)  # its input is unreadable: recomputed, not an error
    assert calls == {"table": 2, "rows": 2}
    for path in home.rglob("*.parquet"):
        path.write_bytes(b"garbage again")
    assert len(fs.materialize(table)) == 2  # the target itself is unreadable: recomputed
    assert calls["table"] == 3
    assert fs.load(table).a.tolist() == [1, 2]  # the file was written again, readable
