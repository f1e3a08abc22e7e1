"""Check results in the catalog: their table, written with their run, read newest first."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog import Catalog
from flowstone_nb._storage.catalog.reads import LATEST_CHECKS, check_results
from flowstone_nb._storage.catalog.rows import CheckRow
from flowstone_nb._storage.catalog.schema import CHECK_COLUMNS, MIGRATIONS
from tests.unit.storage.catalog.shorthands import raw, row


def result(
    mat_id: str,
    name: str = "positive",
    *,
    passed: bool = True,
    started_at: float = 1.0,
    run_id: str = "r1",
    asset: str = "a",
    partition: str = "",
) -> CheckRow:
    return CheckRow(
        materialization_id=mat_id,
        run_id=run_id,
        asset=asset,
        partition=partition,
        check_name=name,
        passed=passed,
        blocking=not passed,
        code_version="c1",
        message=None if passed else "3 negative amounts",
        metadata='{"negative": 3}',
        started_at=started_at,
        duration=0.01,
        traceback=None,
    )


def test_the_check_table_has_a_column_per_field_in_field_order(path: Path) -> None:
    Catalog(path).close()
    with raw(path) as conn:
        stored = [info[1] for info in conn.execute("PRAGMA table_info(check_results)")]
    assert CHECK_COLUMNS.split(", ") == stored


def test_a_catalog_of_the_previous_schema_gains_the_check_table_and_keeps_its_rows(
    path: Path,
) -> None:
    path.parent.mkdir(parents=True)
    with raw(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for migration in MIGRATIONS[:5]:  # (the check table came with the sixth)
            migration(conn)
        conn.execute("INSERT INTO schema_version VALUES (5)")
        conn.execute(
            "INSERT INTO materializations (id, run_id, asset, partition_key, status, started_at) "
            "VALUES ('old', 'r', 'a', '', 'success', 1.0)"
        )
    catalog = Catalog(path)
    assert catalog.get("old") is not None
    assert catalog.checks() == []
    catalog.record([row("m1")], checks=[result("m1")], start=catalog.new_run(kind="x", targets=[]))
    assert catalog.checks() == [result("m1")]
    catalog.close()


def test_check_rows_are_written_with_their_materialization_now_or_later(catalog: Catalog) -> None:
    run = catalog.new_run(kind="materialize", targets=["a"])
    catalog.record(
        [row("m1", run_id=run.run_id)], checks=[result("m1", run_id=run.run_id)], start=run
    )
    later = catalog.new_run(kind="materialize", targets=["a"])
    catalog.record_later(
        [row("m2", run_id=later.run_id, started_at=2.0)],
        checks=[result("m2", passed=False, run_id=later.run_id, started_at=2.0)],
        start=later,
        end=(later.run_id, "success"),
    )
    found = catalog.checks()  # waits for the writer thread
    assert [(r.materialization_id, r.passed, r.blocking) for r in found] == [
        ("m2", False, True),
        ("m1", True, False),
    ]
    assert found[0].message == "3 negative amounts"
    assert isinstance(found[0].passed, bool)


def test_a_batch_whose_check_row_cannot_be_written_writes_nothing(catalog: Catalog) -> None:
    broken = result("m1")._replace(check_name=None)  # NOT NULL
    with pytest.raises(StoreError):
        catalog.record([row("m1")], checks=[broken], start=catalog.new_run(kind="x", targets=[]))
    assert catalog.get("m1") is None
    assert catalog.runs() == []


def test_checks_of_an_asset_or_partition_come_newest_first_up_to_a_limit(catalog: Catalog) -> None:
    catalog.record(
        [row("m1"), row("m2", partition="p")],
        checks=[
            result("m1", "first", started_at=1.0),
            result("m1", "second", started_at=3.0),
            result("m2", "first", started_at=2.0, partition="p"),
            result("b1", "first", started_at=4.0, asset="b"),
        ],
    )
    names = [(r.asset, r.partition, r.check_name) for r in catalog.checks()]
    assert names == [
        ("b", "", "first"),
        ("a", "", "second"),
        ("a", "p", "first"),
        ("a", "", "first"),
    ]
    assert [r.check_name for r in catalog.checks("a", "")] == ["second", "first"]
    assert [r.partition for r in catalog.checks("a", "p")] == ["p"]
    assert len(catalog.checks(limit=2)) == 2
    with pytest.raises(StoreError, match=r"checks\(limit=-1\) is not allowed"):
        catalog.checks(limit=-1)


def test_latest_checks_give_the_newest_outcome_of_each_check_of_each_value(
    catalog: Catalog,
) -> None:
    catalog.record(
        [row("m1"), row("m2")],
        checks=[
            result("m1", "first", passed=False, started_at=1.0, run_id="r1"),
            result("m1", "first", passed=True, started_at=5.0, run_id="r2"),
            result("m1", "second", passed=False, started_at=1.0, run_id="r1"),
            result("m2", "first", passed=False, started_at=2.0, run_id="r1"),
            result("m3", "first", started_at=2.0, run_id="r1"),
        ],
    )
    found = catalog.latest_checks(["m1", "m2"])
    assert sorted((r.materialization_id, r.check_name, r.passed) for r in found) == [
        ("m1", "first", True),
        ("m1", "second", False),
        ("m2", "first", False),
    ]
    assert catalog.latest_checks([]) == []


def test_forgetting_an_asset_forgets_its_check_results(catalog: Catalog) -> None:
    catalog.record([row("m1"), row("b1", "b")], checks=[result("m1"), result("b1", asset="b")])
    catalog.forget("a")
    assert [r.asset for r in catalog.checks()] == ["b"]


def test_check_reads_search_indexes(catalog: Catalog, path: Path) -> None:
    catalog.record([row("m1")], checks=[result("m1")])
    queries = [
        (LATEST_CHECKS, ('["m1", "m2"]',), "ix_checks_value"),
    ]
    with raw(path) as conn:
        for sql, params, index in queries:
            plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            assert index in plan, plan
            assert "SCAN check_results" not in plan, plan
        assert check_results(conn, "a", "", None) == [result("m1")]
        plan = " | ".join(
            r[3]
            for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM check_results WHERE asset = ? AND "
                "partition_key = ? ORDER BY started_at DESC, rowid DESC",
                ("a", ""),
            )
        )
        assert "ix_checks_partition" in plan, plan
