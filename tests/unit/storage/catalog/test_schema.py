"""Opening a catalog: its file, its schema and migrations, and what it refuses to open."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog import MIGRATIONS, SCHEMA_VERSION, Catalog, MaterializationRow
from flowstone_nb._storage.catalog.schema import (
    EDGE_COLUMNS,
    LATEST_COLUMNS,
    ROW_COLUMNS,
    RUN_COLUMNS,
    columns,
)
from tests.unit.storage.catalog.shorthands import raw, row


def test_opening_creates_the_file_in_wal_mode_at_the_current_schema(path: Path) -> None:
    Catalog(path).close()
    assert path.is_file()
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "materializations", "lineage", "schema_version"} <= tables
    assert len(MIGRATIONS) == SCHEMA_VERSION


def test_an_empty_file_is_a_version_zero_catalog_and_gets_upgraded(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.touch()
    catalog = Catalog(path)
    catalog.write([row("m1")])
    catalog.close()
    with raw(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_a_version_one_catalog_is_upgraded_and_keeps_its_rows(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with raw(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        MIGRATIONS[0](conn)
        conn.execute("INSERT INTO schema_version VALUES (1)")
        conn.execute(
            "INSERT INTO materializations (id, run_id, asset, partition_key, status, started_at) "
            "VALUES ('old', 'r', 'sales', '', 'success', 1.0)"
        )
        before = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    catalog = Catalog(path)
    assert catalog.latest_success("sales", "") == MaterializationRow(
        id="old", run_id="r", asset="sales", partition="", status="success", started_at=1.0
    )
    catalog.close()
    with raw(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        after = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert after > before


def test_a_catalog_from_a_newer_version_is_refused(path: Path) -> None:
    Catalog(path).close()
    with raw(path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match=rf"{path.name}.*version {SCHEMA_VERSION + 1}.*upgrade"):
        Catalog(path)


def test_a_file_that_is_not_a_database_is_refused(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=rf"{path.name}.*not a readable SQLite.*move it away"):
        Catalog(path)


def test_a_catalog_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match=r"cannot create the catalog.*file.*another home"):
        Catalog(tmp_path / "file" / "catalog.sqlite")


def test_a_catalog_path_that_is_a_folder_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "catalog.sqlite").mkdir()
    with pytest.raises(StoreError, match=r"catalog\.sqlite could not open.*another home"):
        Catalog(tmp_path / "catalog.sqlite")


def test_close_then_use_again_reopens(catalog: Catalog) -> None:
    catalog.write([row("m1")])
    catalog.close()
    catalog.close()
    assert catalog.get("m1") is not None
    assert "catalog.sqlite" in repr(catalog)


def test_every_row_field_has_its_column_in_field_order(path: Path) -> None:
    Catalog(path).close()
    expected = {
        "materializations": ROW_COLUMNS,
        "lineage": EDGE_COLUMNS,
        "runs": RUN_COLUMNS,
        "partition_latest": f"asset, {LATEST_COLUMNS}",
    }
    with raw(path) as conn:
        for table, selected in expected.items():
            stored = [info[1] for info in conn.execute(f"PRAGMA table_info({table})")]
            assert selected.split(", ") == stored
    assert columns(["id", "partition", "rows", "schema"], "m") == (
        "m.id, m.partition_key, m.row_count, m.schema_summary"
    )


def test_a_catalog_from_before_stamps_and_marks_is_upgraded_and_keeps_its_rows(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with raw(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        MIGRATIONS[0](conn)
        MIGRATIONS[1](conn)
        conn.execute("INSERT INTO schema_version VALUES (2)")
        conn.execute(
            "INSERT INTO materializations (id, run_id, asset, partition_key, status, started_at) "
            "VALUES ('old', 'r', 'sales', '', 'success', 1.0)"
        )
        conn.execute(
            "INSERT INTO runs VALUES ('r', 1.0, 2.0, 'success', 1, 'host', 'materialize', '[]')"
        )
    catalog = Catalog(path)
    old = catalog.get("old")
    assert old is not None
    assert (old.size_bytes, old.modified_ns) == (None, None)
    [run] = catalog.runs()
    assert run.process_mark is None
    catalog.close()
