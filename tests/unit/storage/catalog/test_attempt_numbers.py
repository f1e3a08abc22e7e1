"""Attempt numbers: each row says which attempt of its partition in its run it was."""

from __future__ import annotations

from pathlib import Path

from flowstone_nb._storage.catalog import MIGRATIONS, Catalog
from tests.unit.storage.catalog.shorthands import raw, row


def test_a_row_keeps_its_attempt_number(catalog: Catalog) -> None:
    run = catalog.new_run(kind="backfill", targets=["a"])
    catalog.record(
        [
            row("m1", run_id=run.run_id, status="failed", error_type="OSError", started_at=1.0),
            row("m2", run_id=run.run_id, status="failed", attempt=2, started_at=2.0),
            row("m3", run_id=run.run_id, attempt=3, started_at=3.0),
        ],
        start=run,
    )
    assert [(r.id, r.status, r.attempt) for r in catalog.history("a")] == [
        ("m3", "success", 3),
        ("m2", "failed", 2),
        ("m1", "failed", 1),
    ]
    latest = catalog.latest_success("a", "")
    assert latest == row("m3", run_id=run.run_id, attempt=3, started_at=3.0)


def test_a_row_given_without_its_last_fields_is_a_first_attempt(catalog: Catalog) -> None:
    full = row("m1")
    assert full.attempt == 1
    catalog.record([full[: full._fields.index("size_bytes")]])
    found = catalog.get("m1")
    assert found is not None
    assert found.attempt == 1
    assert found.size_bytes is None


def test_a_catalog_of_the_previous_schema_counts_its_rows_as_first_attempts(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with raw(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for migration in MIGRATIONS[:6]:
            migration(conn)
        conn.execute("INSERT INTO schema_version VALUES (6)")
        conn.execute(
            "INSERT INTO materializations (id, run_id, asset, partition_key, status, started_at) "
            "VALUES ('old', 'r', 'a', '', 'success', 1.0)"
        )
    catalog = Catalog(path)
    old = catalog.get("old")
    assert old is not None
    assert old.attempt == 1
    catalog.close()
