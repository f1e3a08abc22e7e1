"""The SQLite catalog: runs, materializations, lineage; threads, processes, recovery, migrations."""

from __future__ import annotations

import multiprocessing
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Catalog,
    LineageEdge,
    MaterializationRow,
    PartitionState,
    RunRow,
    forget_connections_after_fork,
)
from flowstone_nb._storage.catalog.catalog import finish_background_writes
from flowstone_nb._storage.catalog.connections import Connections
from flowstone_nb._storage.catalog.reads import (
    BOUNDED_WALK,
    CLOSURE,
    CURRENT,
    LATEST_SUCCESS,
    LATEST_SUCCESSES,
    LATEST_SUCCESSES_UNPARTITIONED,
)
from tests.resources.catalog_workers import hold_running_row, materialization, write_many


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "catalog.sqlite"


@pytest.fixture
def catalog(path: Path) -> Iterator[Catalog]:
    opened = Catalog(path)
    yield opened
    opened.close()


def row(mat_id: str, asset: str = "a", **values: object) -> MaterializationRow:
    return materialization(mat_id, asset, **values)  # type: ignore[arg-type]  # test shorthand


def edge(
    down: str, up: str, asset: str = "a", partition: str = "", version: str = "v"
) -> LineageEdge:
    return LineageEdge(down, up, asset, partition, version)


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection for looking at (or preparing) the file as another tool would."""
    return sqlite3.connect(path, isolation_level=None)


# --- opening --------------------------------------------------------------------------------------


def test_opening_creates_the_file_in_wal_mode_at_the_current_schema(path: Path) -> None:
    Catalog(path).close()
    assert path.is_file()
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "materializations", "lineage", "schema_version"} <= tables
    assert len(MIGRATIONS) == SCHEMA_VERSION


def test_every_connection_is_tuned_for_concurrent_use(catalog: Catalog) -> None:
    seen: list[tuple[object, ...]] = []

    def look() -> None:
        connection = catalog._connections.get()  # the connection this thread gets
        pragmas = ("journal_mode", "synchronous", "busy_timeout")
        seen.extend(connection.execute(f"PRAGMA {p}").fetchone() for p in pragmas)

    look()
    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    assert seen == [("wal",), (1,), (30000,)] * 2


def test_the_engines_statements_are_compiled_when_the_catalog_opens(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite calls the authorizer while it compiles a statement, never when a compiled one runs
    # again: so it tells which statements each connection compiles, and when.
    compiled: list[tuple[str, int, str | None]] = []
    connect = Connections.connect

    def watched(self: Connections) -> sqlite3.Connection:
        connection = connect(self)
        thread = threading.current_thread().name

        def authorize(action: int, table: str | None, *_: object) -> int:
            compiled.append((thread, action, table))
            return sqlite3.SQLITE_OK

        connection.set_authorizer(authorize)
        return connection

    monkeypatch.setattr(Connections, "connect", watched)
    catalog = Catalog(path)
    assert catalog._writer is not None
    catalog._writer.submit(lambda: None)  # its jobs run in order: once this one is done,
    catalog.wait_for_writes()  # the writer has prepared its connection
    writer = next(t for t, *_ in compiled if t.startswith("flowstone-catalog"))
    here = threading.current_thread().name
    inserts = {(t, table) for t, action, table in compiled if action == sqlite3.SQLITE_INSERT}
    assert {(writer, "runs"), (writer, "materializations"), (writer, "lineage")} <= inserts
    assert (here, sqlite3.SQLITE_READ, "lineage") in compiled  # the freshness query's join
    opened = len(compiled)

    run = catalog.new_run(kind="materialize", targets=["a"])
    rows = [tuple(row(f"m{i}", run_id=run.run_id)) for i in range(3)]
    catalog.record_later(rows, [tuple(edge("m1", "m0"))], start=run)
    catalog.record_later(end=(run.run_id, "success"))
    found = catalog.latest_successes([("a", ""), ("a", "p")])
    catalog.close()
    assert found[("a", "")].id == "m2"
    # every statement of the run was compiled already (but BEGIN and COMMIT, which cost nothing)
    assert [c for c in compiled[opened:] if c[1] != sqlite3.SQLITE_TRANSACTION] == []


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


# --- write / get ----------------------------------------------------------------------------------


def test_write_and_get_round_trip_every_field(catalog: Catalog) -> None:
    full = MaterializationRow(
        id="m1",
        run_id="r1",
        asset="sales",
        partition="2024-01-01",
        status="failed",
        started_at=100.5,
        ended_at=101.0,
        duration=0.5,
        code_version="c",
        data_version="d",
        io_manager="filesystem",
        location="data/sales/x",
        rows=3,
        schema="a:int64",
        error_type="ValueError",
        error_message="bad",
        traceback="Traceback ...",
    )
    catalog.write([full])
    assert catalog.get("m1") == full
    assert catalog.get("nope") is None


def test_rows_are_frozen() -> None:
    with pytest.raises(AttributeError):
        row("m1").status = "failed"  # type: ignore[misc]  # proving it is frozen


def test_an_empty_write_does_nothing(catalog: Catalog) -> None:
    catalog.write([])
    catalog.write([], [])
    assert catalog.history() == []


def test_write_replaces_by_id(catalog: Catalog) -> None:
    catalog.write([row("m1", status="running")])
    catalog.write([row("m1", status="success", data_version="d1")])
    assert [(r.id, r.status, r.data_version) for r in catalog.history()] == [
        ("m1", "success", "d1")
    ]


def test_an_unknown_status_writes_nothing(catalog: Catalog) -> None:
    with pytest.raises(StoreError, match=r"'sucess'.*'b'.*partition 'p'.*Did you mean 'success'"):
        catalog.write([row("m1"), row("m2", "b", status="sucess", partition="p")])
    assert catalog.history() == []


def test_a_batch_failing_half_way_writes_nothing(catalog: Catalog) -> None:
    bad = LineageEdge("m1", None, "a", "", "v")  # type: ignore[arg-type]  # a broken edge
    with pytest.raises(StoreError, match="could not write"):
        catalog.write([row("m1"), row("m2")], [edge("m2", "m1"), bad])
    assert catalog.history() == []
    assert catalog.inputs("m2") == []


def test_edges_are_recorded_once(catalog: Catalog) -> None:
    catalog.write([row("up1"), row("up2", "b"), row("m1", "c")])
    edges = [edge("m1", "up2", "b", "p2", "v2"), edge("m1", "up1", "a", "p1", "v1")]
    catalog.write([row("m1", "c")], edges)
    catalog.write([row("m1", "c")], edges)
    assert catalog.inputs("m1") == sorted(
        edges, key=lambda e: (e.upstream_asset, e.upstream_partition)
    )
    assert catalog.inputs("unknown") == []


# --- latest and current ---------------------------------------------------------------------------


def test_latest_success_is_the_newest_success(catalog: Catalog) -> None:
    catalog.write(
        [
            row("old", started_at=1.0),
            row("new", started_at=2.0),
            row("failed", status="failed", started_at=3.0),
            row("running", status="running", started_at=4.0),
            row("other", partition="p2", started_at=5.0),
        ]
    )
    latest = catalog.latest_success("a", "")
    assert latest is not None
    assert latest.id == "new"
    assert catalog.latest_success("a", "p3") is None
    assert catalog.latest_success("b", "") is None


def test_a_catalog_with_nothing_recorded_answers_the_freshness_query_without_running_it(
    path: Path,
) -> None:
    catalog = Catalog(path)
    statements: list[str] = []
    catalog._connections.get().set_trace_callback(statements.append)
    assert catalog.latest_successes([("a", "p")], assets=["a"]) == {}
    assert statements == ["PRAGMA data_version"]  # (nothing changed since the catalog opened)
    # A write through this very connection (whose data version it does not change) ...
    catalog.write([row("mine", "a")])
    assert set(catalog.latest_successes(assets=["a"])) == {("a", "")}
    assert any("json_each" in statement for statement in statements)
    catalog.close()
    # ... or through any other connection (another process) makes it run the query again.
    statements.clear()
    catalog = Catalog(path)
    catalog._connections.get().set_trace_callback(statements.append)
    assert set(catalog.latest_successes(assets=["a"])) == {("a", "")}  # not empty: queried
    assert any("json_each" in statement for statement in statements)
    catalog.close()
    fresh = Catalog(path.with_name("other.sqlite"))
    other = Catalog(path.with_name("other.sqlite"))
    assert fresh.latest_successes(assets=["b"]) == {}
    other.write([row("theirs", "b")])
    assert set(fresh.latest_successes(assets=["b"])) == {("b", "")}
    other.close()
    fresh.close()


def test_latest_successes_of_many_partitions_come_with_their_inputs(catalog: Catalog) -> None:
    catalog.write(
        [
            row("old", started_at=1.0),
            row("new", started_at=2.0),
            row("failed", status="failed", started_at=3.0),
            row("b1", "b", partition="p1", started_at=1.0),
            row("b2", "b", partition="p2", started_at=1.0, status="running"),
        ],
        [edge("new", "u1", "up", "x", "v1"), edge("new", "u2", "up", "y", None), edge("b1", "new")],
    )
    found = catalog.latest_successes([("a", ""), ("b", "p1"), ("b", "p2"), ("zz", "")])
    assert set(found) == {("a", ""), ("b", "p1")}
    for key, mat_id in (("a", ""), "new"), (("b", "p1"), "b1"):
        full = catalog.get(mat_id)
        assert full is not None
        fields = ("id", "asset", "partition", "code_version", "data_version", "io_manager")
        assert [getattr(found[key], f) for f in (*fields, "location")] == [
            getattr(full, f) for f in (*fields, "location")
        ]
    assert found["a", ""].inputs == frozenset({("up", "x", "v1"), ("up", "y", None)})
    assert found["b", "p1"].inputs == frozenset({("a", "", "v")})
    assert catalog.latest_successes([]) == {}
    # Unpartitioned assets may come as names alone: the same rows.
    assert catalog.latest_successes(assets=["a", "zz"]) == {("a", ""): found["a", ""]}
    both = catalog.latest_successes([("b", "p1")], assets=["a"])
    assert both == {key: found[key] for key in (("a", ""), ("b", "p1"))}


def test_a_run_its_rows_and_its_end_are_recorded_in_one_transaction(catalog: Catalog) -> None:
    run = catalog.new_run(kind="materialize", targets=["a"])
    assert catalog.get_run(run.run_id) is None  # not written until recorded
    assert (run.status, run.pid, run.kind, run.targets) == (
        "running",
        os.getpid(),
        "materialize",
        ("a",),
    )
    values = tuple(row("m1", run_id=run.run_id, data_version="v1"))
    catalog.record([values], [tuple(edge("m1", "m0"))], start=run, end=(run.run_id, "success"))
    recorded = catalog.get_run(run.run_id)
    assert recorded is not None
    assert (recorded.status, recorded.started_at) == ("success", run.started_at)
    assert recorded.ended_at is not None
    assert catalog.get("m1") == row(
        "m1", run_id=run.run_id, data_version="v1", started_at=values[5]
    )
    assert [e.upstream_id for e in catalog.inputs("m1")] == ["m0"]
    catalog.record(start=catalog.new_run(kind="backfill", targets=[]))
    assert [r.status for r in catalog.runs()] == ["running", "success"]


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


def test_at_exit_pending_writes_are_finished_and_a_failed_one_is_logged(
    catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    catalog.record_later([tuple(row("kept"))])
    catalog.record_later([tuple(row("lost"))], end=("nope", "success"))
    with caplog.at_level("WARNING", logger="flowstone_nb.catalog"):
        finish_background_writes()  # what the interpreter runs as it exits
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
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[3])
    with raw(path) as conn:
        assert conn.execute("SELECT count(*) FROM materializations").fetchone() == (200,)
        assert conn.execute("SELECT status FROM runs").fetchall() == [("success",)]


def test_recording_the_end_of_an_unknown_run_writes_nothing(catalog: Catalog) -> None:
    values = tuple(row("m1"))
    with pytest.raises(StoreError, match=r"run 'nope'.*start_run"):
        catalog.record([values], end=("nope", "success"))
    assert catalog.get("m1") is None


def test_equal_start_times_are_ordered_by_write(catalog: Catalog) -> None:
    catalog.write([row("first", started_at=1.0)])
    catalog.write([row("second", started_at=1.0)])
    latest = catalog.latest_success("a", "")
    assert latest is not None
    assert latest.id == "second"


def test_current_gives_latest_success_and_latest_attempt_per_partition(catalog: Catalog) -> None:
    catalog.write(
        [
            row("a1", started_at=1.0),
            row("a2", status="failed", started_at=2.0),
            row("a3", partition="p", started_at=1.0),
            row("b1", "b", status="running", started_at=1.0),
            row("c1", "c", started_at=1.0),
        ]
    )
    get = catalog.get
    assert catalog.current(["a", "b", "missing"]) == {
        ("a", ""): PartitionState(success=get("a1"), last=get("a2")),  # type: ignore[arg-type]
        ("a", "p"): PartitionState(success=get("a3"), last=get("a3")),  # type: ignore[arg-type]
        ("b", ""): PartitionState(success=None, last=get("b1")),  # type: ignore[arg-type]
    }
    assert set(catalog.current()) == {("a", ""), ("a", "p"), ("b", ""), ("c", "")}
    assert catalog.current([]) == {}


def test_current_accepts_thousands_of_assets(catalog: Catalog) -> None:
    names = [f"asset{i}" for i in range(5000)]
    catalog.write([row(f"m{i}", name) for i, name in enumerate(names)])
    assert len(catalog.current(names)) == 5000
    assert len(catalog.current(iter(names[:10]))) == 10


# --- history --------------------------------------------------------------------------------------


def test_history_is_newest_first_and_filters(catalog: Catalog) -> None:
    catalog.write(
        [
            row("a1", started_at=1.0),
            row("a2", status="failed", started_at=2.0),
            row("a3", partition="p", started_at=3.0),
            row("b1", "b", started_at=4.0),
        ]
    )
    ids = lambda rows: [r.id for r in rows]  # noqa: E731  # a local shorthand reads best here
    assert ids(catalog.history()) == ["b1", "a3", "a2", "a1"]
    assert ids(catalog.history("a")) == ["a3", "a2", "a1"]
    assert ids(catalog.history("a", "")) == ["a2", "a1"]
    assert ids(catalog.history(partition="p")) == ["a3"]
    assert ids(catalog.history(statuses=["success"])) == ["b1", "a3", "a1"]
    assert ids(catalog.history("a", statuses=["failed", "running"])) == ["a2"]
    assert ids(catalog.history(limit=2)) == ["b1", "a3"]
    assert catalog.history(statuses=[]) == []


def test_history_refuses_unknown_statuses_and_bad_limits(catalog: Catalog) -> None:
    with pytest.raises(StoreError, match=r"'faild'.*Did you mean 'failed'"):
        catalog.history(statuses=["faild"])
    with pytest.raises(StoreError, match=r"limit.*-1.*positive"):
        catalog.history(limit=-1)


# --- lineage --------------------------------------------------------------------------------------


def chain_catalog(catalog: Catalog) -> None:
    """raw <- clean <- report."""
    catalog.write(
        [row("raw", "raw"), row("clean", "clean"), row("report", "report")],
        [edge("clean", "raw", "raw"), edge("report", "clean", "clean")],
    )


def test_upstream_walks_the_chain_with_depths(catalog: Catalog) -> None:
    chain_catalog(catalog)
    assert catalog.upstream("report") == [
        (1, edge("report", "clean", "clean")),
        (2, edge("clean", "raw", "raw")),
    ]
    assert catalog.upstream("report", depth=1) == [(1, edge("report", "clean", "clean"))]
    assert catalog.upstream("raw") == []
    assert catalog.upstream("unknown") == []


def test_downstream_walks_the_chain_with_depths(catalog: Catalog) -> None:
    chain_catalog(catalog)
    assert catalog.downstream("raw") == [
        (1, edge("clean", "raw", "raw")),
        (2, edge("report", "clean", "clean")),
    ]
    assert catalog.downstream("raw", depth=1) == [(1, edge("clean", "raw", "raw"))]
    assert catalog.downstream("report") == []


def diamond_catalog(catalog: Catalog) -> None:
    """top <- left <- base, top <- right <- base, top <- base, left <- right."""
    catalog.write(
        [row(i, i) for i in ("top", "left", "right", "base")],
        [
            edge("top", "left", "left"),
            edge("top", "right", "right"),
            edge("top", "base", "base"),
            edge("left", "base", "base"),
            edge("right", "base", "base"),
            edge("left", "right", "right"),
        ],
    )


@pytest.mark.parametrize("depth", [None, 5])
def test_each_edge_appears_once_at_its_shortest_depth(catalog: Catalog, depth: int | None) -> None:
    diamond_catalog(catalog)
    up = catalog.upstream("top", depth)
    assert [(d, e.materialization_id, e.upstream_id) for d, e in up] == [
        (1, "top", "base"),
        (1, "top", "left"),
        (1, "top", "right"),
        (2, "left", "base"),
        (2, "left", "right"),
        (2, "right", "base"),
    ]
    down = catalog.downstream("base", depth)
    assert [(d, e.materialization_id, e.upstream_id) for d, e in down] == [
        (1, "left", "base"),
        (1, "right", "base"),
        (1, "top", "base"),
        (2, "left", "right"),
        (2, "top", "left"),
        (2, "top", "right"),
    ]


@pytest.mark.parametrize("depth", [None, 50])
def test_lineage_walks_are_cycle_safe(catalog: Catalog, depth: int | None) -> None:
    catalog.write([row("x"), row("y")], [edge("x", "y"), edge("y", "x")])
    assert [(d, e.upstream_id) for d, e in catalog.upstream("x", depth)] == [(1, "y"), (2, "x")]
    assert [(d, e.materialization_id) for d, e in catalog.downstream("x", depth)] == [
        (1, "y"),
        (2, "x"),
    ]


def test_lineage_depth_must_be_positive(catalog: Catalog) -> None:
    with pytest.raises(StoreError, match=r"depth.*0.*positive.*None"):
        catalog.upstream("x", 0)


def test_hot_paths_search_indexes_instead_of_scanning_or_sorting(
    catalog: Catalog, path: Path
) -> None:
    chain_catalog(catalog)
    upstream = {"near": "materialization_id", "far": "upstream_id"}
    downstream = {"near": "upstream_id", "far": "materialization_id"}
    queries = [
        (LATEST_SUCCESS, ("raw", ""), "ix_mat_success"),
        (CLOSURE.format(**upstream), ("report",), "PRIMARY KEY"),
        (CLOSURE.format(**downstream), ("raw",), "ix_lineage_upstream"),
        (BOUNDED_WALK.format(**upstream), ("report", 2), "PRIMARY KEY"),
        (BOUNDED_WALK.format(**downstream), ("raw", 2), "ix_lineage_upstream"),
        (CURRENT.format(where=""), {}, "ix_mat_success"),
        (LATEST_SUCCESSES, ('[["raw", "p"], ["report", "q"]]',), "ix_mat_success"),
        (LATEST_SUCCESSES_UNPARTITIONED, ('["raw", "report"]',), "ix_mat_success"),
    ]
    with raw(path) as conn:
        for sql, params, index in queries:
            plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            assert index in plan, plan
            assert "SCAN lineage" not in plan, plan
            assert "SCAN materializations" not in plan or "COVERING INDEX" in plan, plan
            assert "TEMP B-TREE FOR ORDER BY" not in plan, plan


# --- forget ---------------------------------------------------------------------------------------


def test_forget_deletes_an_assets_rows_and_its_input_edges(catalog: Catalog) -> None:
    chain_catalog(catalog)
    catalog.write([row("clean2", "clean", status="failed")])
    assert catalog.forget("clean") == 2
    assert catalog.get("clean") is None
    assert catalog.history("clean") == []
    assert catalog.inputs("clean") == []
    assert catalog.upstream("report") == [(1, edge("report", "clean", "clean"))]
    assert catalog.get("raw") is not None
    assert catalog.forget("clean") == 0


# --- runs -----------------------------------------------------------------------------------------


def test_runs_are_recorded_when_they_start_and_end(catalog: Catalog) -> None:
    before = time.time()
    run_id = catalog.start_run(kind="backfill", targets=["sales[2024-01-01]", "report"])
    started = catalog.get_run(run_id)
    assert started is not None
    assert started.status == "running"
    assert started.pid == os.getpid()
    assert started.host == socket.gethostname()
    assert started.kind == "backfill"
    assert started.targets == ("sales[2024-01-01]", "report")
    assert started.started_at >= before
    assert started.ended_at is None
    catalog.end_run(run_id, "success")
    ended = catalog.get_run(run_id)
    assert isinstance(ended, RunRow)
    assert ended.status == "success"
    assert ended.ended_at is not None
    assert ended.ended_at >= started.started_at
    assert catalog.get_run("nope") is None
    assert len(run_id) == 32


def test_ending_an_unknown_run_is_a_store_error(catalog: Catalog) -> None:
    with pytest.raises(StoreError, match=r"run 'nope'.*start_run"):
        catalog.end_run("nope", "success")


# --- recovery -------------------------------------------------------------------------------------


def spawn() -> multiprocessing.context.SpawnContext:
    return multiprocessing.get_context("spawn")


def test_rows_of_a_dead_process_become_interrupted_and_live_ones_stay(path: Path) -> None:
    Catalog(path).close()
    ctx = spawn()
    written, release = ctx.Event(), ctx.Event()
    process = ctx.Process(target=hold_running_row, args=(str(path), "held", written, release))
    process.start()
    try:
        assert written.wait(timeout=60)
        live = Catalog(path)
        assert live.recover_interrupted() == 0
        held = live.get("held")
        assert held is not None
        assert held.status == "running"
    finally:
        process.terminate()
        process.join()
    assert live.recover_interrupted() == 1
    recovered = live.get("held")
    assert recovered is not None
    assert recovered.status == "failed"
    assert recovered.error_type == "Interrupted"
    assert f"pid {process.pid}" in str(recovered.error_message)
    assert "recompute" in str(recovered.error_message)
    run = live.get_run(recovered.run_id)
    assert run is not None
    assert run.status == "interrupted"
    assert live.recover_interrupted() == 0
    live.close()


def test_opening_recovers_rows_of_a_process_that_died(path: Path) -> None:
    Catalog(path).close()
    ctx = spawn()
    written, release = ctx.Event(), ctx.Event()
    process = ctx.Process(target=hold_running_row, args=(str(path), "held", written, release))
    process.start()
    assert written.wait(timeout=60)
    process.kill()
    process.join()
    catalog = Catalog(path)
    recovered = catalog.get("held")
    assert recovered is not None
    assert recovered.status == "failed"
    catalog.close()


def test_rows_of_this_process_are_left_to_their_owner(catalog: Catalog) -> None:
    run_id = catalog.start_run(kind="materialize", targets=["a"])
    catalog.write(
        [
            row("mine", status="running", run_id=run_id),
            row("queued", status="pending", run_id=run_id),
        ]
    )
    assert catalog.recover_interrupted() == 0
    assert {r.status for r in catalog.history()} == {"running", "pending"}


def move_run(path: Path, run_id: str, *, host: str, started_at: float) -> None:
    with raw(path) as conn:
        conn.execute(
            "UPDATE runs SET host = ?, started_at = ? WHERE run_id = ?", (host, started_at, run_id)
        )


def test_stale_runs_of_other_hosts_are_interrupted_recent_ones_are_not(
    catalog: Catalog, path: Path
) -> None:
    old_run = catalog.start_run(kind="materialize", targets=["a"])
    new_run = catalog.start_run(kind="materialize", targets=["b"])
    move_run(path, old_run, host="elsewhere", started_at=time.time() - 3 * 86400)
    move_run(path, new_run, host="elsewhere", started_at=time.time())
    catalog.write(
        [
            row("old", status="running", run_id=old_run),
            row("new", "b", status="running", run_id=new_run),
        ]
    )
    assert catalog.recover_interrupted() == 1
    old = catalog.get("old")
    assert old is not None
    assert old.status == "failed"
    assert "elsewhere" in str(old.error_message)
    assert catalog.get("new").status == "running"  # type: ignore[union-attr]
    assert catalog.recover_interrupted(stale_after=0.0) == 1


def test_rows_without_a_run_are_interrupted_once_stale(catalog: Catalog) -> None:
    catalog.write(
        [
            row("ghost-old", status="running", run_id="ghost", started_at=time.time() - 3 * 86400),
            row("ghost-new", status="pending", run_id="ghost", started_at=time.time()),
        ]
    )
    assert catalog.recover_interrupted() == 1
    assert catalog.get("ghost-old").status == "failed"  # type: ignore[union-attr]
    assert catalog.get("ghost-new").status == "pending"  # type: ignore[union-attr]


def test_runs_of_dead_processes_without_rows_are_closed(path: Path) -> None:
    Catalog(path).close()
    ctx = spawn()
    written, release = ctx.Event(), ctx.Event()
    process = ctx.Process(target=hold_running_row, args=(str(path), "held", written, release))
    process.start()
    assert written.wait(timeout=60)
    process.kill()
    process.join()
    with raw(path) as conn:
        conn.execute("DELETE FROM materializations")
    catalog = Catalog(path)
    runs = catalog.runs()
    assert [r.status for r in runs] == ["interrupted"]
    catalog.close()


# --- concurrency ----------------------------------------------------------------------------------


def test_threads_writing_at_once_lose_nothing(catalog: Catalog) -> None:
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(50):
                catalog.write([row(f"t{worker}-{i}", f"asset{worker}", partition=str(i))])
                assert catalog.latest_success(f"asset{worker}", str(i)) is not None
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(catalog.history()) == 400


def test_processes_writing_at_once_lose_nothing(path: Path) -> None:
    Catalog(path).close()
    ctx = spawn()
    workers, count = 3, 60
    barrier = ctx.Barrier(workers)
    processes = [
        ctx.Process(target=write_many, args=(str(path), w, count, barrier)) for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert [p.exitcode for p in processes] == [0] * workers
    catalog = Catalog(path)
    rows = catalog.history()
    assert len(rows) == workers * count
    assert {r.status for r in rows} == {"success"}
    for w in range(workers):
        assert len(catalog.upstream(f"w{w}-{count - 1}")) == count - 1
    assert [r.status for r in catalog.runs()] == ["success"] * workers
    catalog.close()


def test_connections_of_finished_threads_are_closed(catalog: Catalog) -> None:
    def touch() -> None:
        catalog.get("x")

    for _ in range(10):
        thread = threading.Thread(target=touch)
        thread.start()
        thread.join()
    # Each new thread's connection replaces those of threads that have finished: left are
    # this thread's, the writer thread's and the last one's.
    assert len(catalog._connections) <= 3


def test_a_forked_child_opens_its_own_connection(catalog: Catalog) -> None:
    catalog.write([row("parent")])
    ctx = multiprocessing.get_context("fork")

    def child() -> None:
        catalog.write([row("child")])

    process = ctx.Process(target=child)
    process.start()
    process.join()
    assert process.exitcode == 0
    assert catalog.get("child") is not None
    catalog.write([row("parent-again")])
    assert len(catalog.history()) == 3


def test_forgetting_connections_after_fork_reopens_them(catalog: Catalog) -> None:
    catalog.write([row("before")])
    forget_connections_after_fork()
    assert catalog.get("before") is not None


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
