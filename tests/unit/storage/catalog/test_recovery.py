"""Recovery: rows and runs of processes that are gone become interrupted; live ones stay."""

from __future__ import annotations

import os
import time
from pathlib import Path

import flowstone_nb as fs
from flowstone_nb._storage.catalog import Catalog
from flowstone_nb._storage.store import catalog_path, get_store
from tests.resources.catalog_workers import hold_running_row
from tests.resources.processes import ended_pid
from tests.unit.storage.catalog.shorthands import raw, row, spawn


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


def test_a_run_whose_pid_now_belongs_to_another_process_is_interrupted(
    catalog: Catalog, path: Path
) -> None:
    # A restarted container gives the new kernel the pid of the one that died: the pid is alive,
    # but the process that recorded the run is not.
    reused = catalog.start_run(kind="materialize", targets=["a"])
    mine = catalog.start_run(kind="materialize", targets=["b"])
    catalog.write(
        [
            row("theirs", status="running", run_id=reused),
            row("mine", "b", status="running", run_id=mine),
        ]
    )
    with raw(path) as conn:  # what the dead process recorded: this pid, its own start
        conn.execute("UPDATE runs SET process_mark = '00000000' WHERE run_id = ?", (reused,))
    assert catalog.recover_interrupted() == 1
    recovered = catalog.get("theirs")
    assert recovered is not None
    assert recovered.status == "failed"
    assert f"pid {os.getpid()}" in str(recovered.error_message)
    assert catalog.get_run(reused).status == "interrupted"  # type: ignore[union-attr]
    assert catalog.get("mine").status == "running"  # type: ignore[union-attr]
    assert catalog.get_run(mine).status == "running"  # type: ignore[union-attr]


def test_runs_recorded_without_a_mark_are_told_by_their_pid(catalog: Catalog, path: Path) -> None:
    # Catalogs written before marks were recorded: a live pid still counts as the writer.
    run_id = catalog.start_run(kind="materialize", targets=["a"])
    catalog.write([row("old", status="running", run_id=run_id)])
    with raw(path) as conn:
        conn.execute("UPDATE runs SET process_mark = NULL")
    assert catalog.recover_interrupted() == 0
    with raw(path) as conn:
        conn.execute("UPDATE runs SET pid = ?", (ended_pid(),))
    assert catalog.recover_interrupted() == 1


def test_the_status_of_a_killed_writers_partition_says_interrupted_once(home: Path) -> None:
    @fs.asset
    def held() -> int:
        return 1

    path = catalog_path(str(home))
    get_store().catalog.close()
    ctx = spawn()
    written, release = ctx.Event(), ctx.Event()
    process = ctx.Process(target=hold_running_row, args=(str(path), "held", written, release))
    process.start()
    assert written.wait(timeout=60)
    process.kill()
    process.join()
    assert get_store().catalog.recover_interrupted() == 1
    (status,) = fs.status(held).rows
    assert status.status == "failed"
    assert status.reason.startswith(f"Interrupted: the process that ran it (pid {process.pid} ")
    assert status.reason.count("Interrupted") == 1
    recovered = get_store().catalog.get("held")
    assert recovered is not None
    assert (recovered.error_type, recovered.error_message) == ("Interrupted", status.reason[13:])
