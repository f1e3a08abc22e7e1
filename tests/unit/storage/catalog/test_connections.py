"""Connections: one per thread, tuned for concurrency, compiled ahead, forgotten on fork."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog import Catalog, forget_connections_after_fork
from flowstone_nb._storage.catalog.connections import Connections
from tests.resources.catalog_workers import write_many
from tests.unit.storage.catalog.shorthands import edge, row, spawn


def test_every_connection_is_tuned_for_concurrent_use(catalog: Catalog) -> None:
    seen: list[tuple[object, ...]] = []

    def look() -> None:
        connection = catalog._connections.get()  # the connection this thread gets
        pragmas = ("journal_mode", "synchronous", "busy_timeout", "cache_size")
        seen.extend(connection.execute(f"PRAGMA {p}").fetchone() for p in pragmas)

    look()
    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    # (a page cache of up to 64 MiB, not SQLite's 2 MiB: a status report of 10,000 partitions
    # reads one page or more per partition, and reads them again every time it is shown)
    assert seen == [("wal",), (1,), (30000,), (-65536,)] * 2


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
    assert found[("a", "")].id == "m2"
    # every statement of the run was compiled already (but BEGIN and COMMIT, which cost nothing)
    assert [c for c in compiled[opened:] if c[1] != sqlite3.SQLITE_TRANSACTION] == []
    catalog.close()  # (closing compiles the checkpoint that folds the log in: not the run's)


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
        assert len(catalog.walk(f"w{w}-{count - 1}")) == count - 1
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


def test_the_change_marker_moves_with_every_commit_and_only_then(path: Path) -> None:
    catalog = Catalog(path)
    before = catalog.change_marker()
    catalog.history()
    assert catalog.change_marker() == before  # reading changes nothing
    catalog.write([row("a", "a")])
    mine = catalog.change_marker()
    assert mine != before  # this thread's commit
    thread = threading.Thread(target=lambda: catalog.write([row("b", "b")]))
    thread.start()
    thread.join()
    other_thread = catalog.change_marker()
    assert other_thread != mine
    ctx = spawn()
    barrier = ctx.Barrier(1)
    process = ctx.Process(target=write_many, args=(str(path), 0, 1, barrier))
    process.start()
    process.join()
    assert process.exitcode == 0
    assert catalog.change_marker() != other_thread  # another process's commit
    assert catalog.change_marker() == catalog.change_marker()
    catalog.close()


def test_a_damaged_catalog_says_so_when_asked_for_its_marker(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> tuple[int, int]:
        raise sqlite3.DatabaseError("file is not a database")  # as a damaged file reads

    monkeypatch.setattr(catalog._connections, "changes", broken)
    with pytest.raises(StoreError, match=r"could not read its change marker"):
        catalog.change_marker()
