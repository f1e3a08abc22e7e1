"""A closed catalog is one file: its log is folded in on close and when the process exits."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from flowstone_nb._storage.catalog import Catalog
from tests.unit.storage.catalog.shorthands import raw, row

ROOT = Path(__file__).resolve().parents[4]


def log_of(path: Path) -> Path:
    return path.with_name(f"{path.name}-wal")


def assert_one_file(path: Path, tmp_path: Path, count: int) -> None:
    """The log is empty or gone, and the catalog file alone, copied elsewhere, holds the rows."""
    log = log_of(path)
    assert not log.exists() or log.stat().st_size == 0
    copy = tmp_path / "copy" / "catalog.sqlite"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(path, copy)  # the file alone, as a user copies it
    with raw(copy) as conn:
        assert conn.execute("SELECT count(*) FROM materializations").fetchone() == (count,)


def test_a_process_that_exits_without_closing_leaves_one_file(path: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from flowstone_nb._storage.catalog import Catalog
        from tests.resources.catalog_workers import materialization

        catalog = Catalog({str(path)!r})
        run = catalog.new_run(kind="materialize", targets=["a"])
        rows = [materialization(f"m{{i}}", "a", partition=str(i)) for i in range(500)]
        catalog.record(rows, start=run)
        catalog.record_later([materialization("late", "b")], end=(run.run_id, "success"))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert_one_file(path, tmp_path, 501)


def test_closing_folds_the_log_in_while_another_connection_is_open(
    path: Path, tmp_path: Path
) -> None:
    catalog = Catalog(path)
    other = raw(path)  # another reader (another process, a viewer): the log stays in use
    other.execute("SELECT count(*) FROM runs").fetchall()
    catalog.write([row(f"m{i}", partition=str(i)) for i in range(200)])
    catalog.close()
    try:
        copy = tmp_path / "copy" / "catalog.sqlite"
        copy.parent.mkdir(parents=True)
        shutil.copyfile(path, copy)
        with raw(copy) as conn:
            assert conn.execute("SELECT count(*) FROM materializations").fetchone() == (200,)
    finally:
        other.close()
    assert_one_file(path, tmp_path / "after", 200)
