"""The writer thread: its writes are read back, reported when they fail, and finished at exit."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog import Catalog
from flowstone_nb._storage.catalog.catalog import close_every_catalog
from tests.unit.storage.catalog.shorthands import raw, row


def test_writes_handed_to_the_writer_thread_are_seen_by_every_later_call(
    catalog: Catalog, path: Path
) -> None:
    run = catalog.new_run(kind="materialize", targets=["a"])
    rows = [tuple(row(f"m{i}", run_id=run.run_id)) for i in range(50)]
    catalog.record_later(rows, start=run, end=(run.run_id, "success"))
    assert len(catalog.history()) == 50  # this process always reads its own writes
    assert catalog.get_run(run.run_id) is not None
    later = catalog.new_run(kind="materialize", targets=["b"])
    catalog.record_later([tuple(row("n1", "b", run_id=later.run_id))], start=later)
    catalog.close()  # waits for the writer
    with raw(path) as conn:
        assert conn.execute("SELECT count(*) FROM materializations").fetchone() == (51,)


def test_a_failed_background_write_is_raised_by_the_next_call_and_loses_nothing_else(
    catalog: Catalog,
) -> None:
    catalog.record_later([tuple(row("lost"))], end=("nope", "success"))
    with pytest.raises(StoreError, match=r"run 'nope'.*in the background.*recompute"):
        catalog.history()
    assert catalog.history() == []  # the failed batch wrote nothing; the catalog works on
    catalog.record_later([tuple(row("kept"))])
    assert [r.id for r in catalog.history()] == ["kept"]


def test_a_failed_background_write_speaks_of_values_kept_in_memory_only_when_it_had_some(
    catalog: Catalog,
) -> None:
    catalog.record_later(end=("nope", "success"))  # the end of a run, no row
    with pytest.raises(StoreError, match=r"run 'nope'") as info:
        catalog.history()
    assert "in memory" not in str(info.value)
    assert "its end was not recorded" in str(info.value)
    catalog.record_later([tuple(row("a")), tuple(row("b"))], end=("nope", "success"))
    with pytest.raises(StoreError, match=r"its 2 value\(s\) kept in memory now count as missing"):
        catalog.history()


def test_at_exit_pending_writes_are_finished_and_a_failed_one_is_logged(
    catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    catalog.record_later([tuple(row("kept"))])
    catalog.record_later([tuple(row("lost"))], end=("nope", "success"))
    with caplog.at_level("WARNING", logger="flowstone_nb.catalog"):
        close_every_catalog()  # what the interpreter runs as it exits
    assert "run 'nope'" in caplog.text
    assert [r.id for r in catalog.history()] == ["kept"]


def test_pending_background_writes_are_written_when_the_interpreter_exits(path: Path) -> None:
    script = f"""
from flowstone_nb._storage.catalog import Catalog
from tests.resources.catalog_workers import materialization
catalog = Catalog({str(path)!r})
run = catalog.new_run(kind="materialize", targets=["a"])
rows = [tuple(materialization(f"m{{i}}", "a", run_id=run.run_id)) for i in range(200)]
catalog.record_later(rows, start=run, end=(run.run_id, "success"))
"""
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[4])
    with raw(path) as conn:
        assert conn.execute("SELECT count(*) FROM materializations").fetchone() == (200,)
        assert conn.execute("SELECT status FROM runs").fetchall() == [("success",)]


def test_the_writer_thread_is_ready_when_the_catalog_opens(path: Path) -> None:
    catalog = Catalog(path)
    try:
        writer = catalog._writer
        assert writer is not None
        catalog.wait_for_writes()
        names = {thread.name for thread in threading.enumerate()}
        assert any(name.startswith("flowstone-catalog") for name in names)
    finally:
        catalog.close()
    assert catalog._writer is None
    catalog.record_later([tuple(row("after"))])  # a closed catalog reopens
    assert [r.id for r in catalog.history()] == ["after"]
    catalog.close()
