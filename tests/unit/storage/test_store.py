"""Opening the store of a home: a catalog that lost its history is never silently replaced."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog import Catalog
from flowstone_nb._storage.io import FilesystemIOManager
from flowstone_nb._storage.store import Store, catalog_path


def with_a_value(home: Path) -> None:
    """A home that holds one stored value."""
    FilesystemIOManager(home).store("sales", "__all__", [1, 2, 3])


def test_a_zero_length_catalog_beside_stored_values_is_refused_and_kept(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with_a_value(home)
    path = catalog_path(str(home))
    path.touch()
    store = Store(str(home))
    with pytest.raises(StoreError, match=r"catalog\.sqlite is empty.*holds stored values") as info:
        _ = store.catalog
    message = str(info.value)
    assert str(path) in message
    assert "restore it from a backup, or move it away" in message
    assert path.stat().st_size == 0  # never overwritten with an empty catalog
    with pytest.raises(StoreError, match="is empty"):  # and it says so again, every time
        _ = store.catalog
    assert path.stat().st_size == 0


def test_an_unreadable_catalog_beside_stored_values_is_refused_and_kept(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with_a_value(home)
    path = catalog_path(str(home))
    path.write_bytes(b"not a catalog" * 500)
    with pytest.raises(StoreError, match=r"catalog\.sqlite is damaged.*move it away"):
        _ = Store(str(home)).catalog
    assert path.read_bytes() == b"not a catalog" * 500


def test_a_zero_length_catalog_in_a_home_without_values_becomes_a_catalog(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "data" / "sales").mkdir(parents=True)  # folders, but no value
    path = catalog_path(str(home))
    path.touch()
    store = Store(str(home))
    assert store.catalog.history() == []
    store.close()
    assert path.stat().st_size > 0


def test_a_missing_catalog_beside_stored_values_is_created(tmp_path: Path) -> None:
    # What "move it away" leads to: a new catalog, the values left where they are.
    home = tmp_path / "home"
    with_a_value(home)
    store = Store(str(home))
    assert store.catalog.history() == []
    store.close()
    assert catalog_path(str(home)).stat().st_size > 0


def test_a_zero_length_catalog_whose_log_is_not_empty_is_refused_and_kept(tmp_path: Path) -> None:
    # The main file was lost but not its write-ahead log: SQLite would ignore the log and
    # start afresh, so the history the log holds would be lost too.
    home = tmp_path / "home"
    path = catalog_path(str(home))
    catalog = Catalog(path)
    keep_log = sqlite3.connect(path)  # a connection left open keeps the log from being folded in
    keep_log.execute("SELECT count(*) FROM runs").fetchall()
    catalog.start_run(kind="materialize", targets=["sales"])
    catalog.close()
    log = path.with_name(f"{path.name}-wal")
    saved = log.read_bytes()
    keep_log.close()
    path.write_bytes(b"")
    log.write_bytes(saved)
    with pytest.raises(StoreError, match=r"catalog\.sqlite is empty.*catalog\.sqlite-wal"):
        _ = Store(str(home)).catalog
    assert path.stat().st_size == 0
    assert log.read_bytes() == saved


# --- a home removed or replaced while the store is open -------------------------------------------


def test_a_home_removed_under_an_open_store_starts_again_cleanly(home: Path) -> None:
    import flowstone_nb as fs

    calls: list[int] = []

    @fs.asset
    def answer() -> int:
        calls.append(1)
        return 100

    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-03"))
    def days(context: fs.AssetContext) -> int:
        return 1

    fs.materialize("answer")
    fs.backfill("days")
    assert fs.status()["answer"] == "fresh"
    shutil.rmtree(home)  # as `rm -rf .flowstone` in a terminal
    fs.configure(home=str(home))
    assert fs.status()["answer"] == "missing"
    assert fs.materialize("answer") == 100
    assert len(calls) == 2  # computed again: the old catalog is gone
    assert fs.backfill("days").counts() == {"computed": 3}
    assert catalog_path(str(home)).exists()
    fresh = Catalog(catalog_path(str(home)))  # what another process sees: the new catalog
    assert {row.asset for row in fresh.history()} == {"answer", "days"}
    fresh.close()


def test_a_catalog_replaced_by_another_file_is_noticed_without_configure(
    home: Path, tmp_path: Path
) -> None:
    import flowstone_nb as fs

    @fs.asset
    def answer() -> int:
        return 100

    fs.materialize("answer")
    other = Catalog(tmp_path / "other" / "catalog.sqlite")  # an empty catalog, elsewhere
    other.close()
    path = catalog_path(str(home))
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    (tmp_path / "other" / "catalog.sqlite").replace(path)  # as a restore from a backup would
    assert fs.status()["answer"] == "missing"  # the store reads the file that is there now
