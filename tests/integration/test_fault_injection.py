"""Fault injection: kill -9 mid-backfill, damaged catalogs and values, a full disk, a held lock.

Every trial ends the same way: no value is loaded as good that is not (each value is known in
advance, see :mod:`tests.resources.fault_backfill`), and every error is a FlowstoneError that
names the asset, the partition or the file.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._core.errors import FlowstoneError, StoreError
from flowstone_nb._partitioning.keys import decode_key
from flowstone_nb._storage.catalog import Catalog, MaterializationRow, connections
from flowstone_nb._storage.io import ChangedValueError, FilesystemIOManager, ValueStamp
from flowstone_nb._storage.store import catalog_path, get_store
from tests.resources import fault_backfill
from tests.resources.fault_backfill import DAYS, expected_events, expected_total

ROOT = Path(__file__).resolve().parents[2]
ALL_DAYS = [str(day) for day in DAYS.keys()]  # noqa: SIM118  # a definition, not a dict


def error_of(call: Callable[[], object]) -> Exception | None:
    """What ``call`` raised, or ``None``."""
    try:
        call()
    except Exception as error:  # looked at by the caller
        return error
    return None


def stamp_of(row: MaterializationRow) -> ValueStamp:
    return ValueStamp(row.data_version, row.size_bytes, row.modified_ns)


def temp_files(home: Path) -> list[Path]:
    return sorted((home / "data").rglob(".*.tmp")) if (home / "data").exists() else []


def assert_every_value_right(home: Path) -> int:
    """Every recorded success loads as exactly its known value (or says what is wrong)."""
    catalog = get_store(str(home)).catalog
    checked = 0
    for row in catalog.history(statuses=["success"]):
        manager = get_store(str(home)).io_manager(str(row.io_manager))
        day = str(decode_key(row.partition))
        value = manager.load_checked(str(row.location), stamp_of(row))
        if row.asset == "events":
            pd.testing.assert_frame_equal(value, expected_events(day))
        else:
            assert value == expected_total(day)
        checked += 1
    return checked


# --- kill -9 at a random moment of a backfill -----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_a_backfill_killed_at_a_random_moment_resumes_with_every_value_right(
    home: Path, registry: fs.Registry, seed: int
) -> None:
    rnd = random.Random(seed)
    started = rnd.randrange(1, len(ALL_DAYS))  # partitions announced before the kill
    with subprocess.Popen(
        [sys.executable, "-m", "tests.resources.fault_backfill", str(home)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        for _ in range(started):
            assert child.stdout.readline().startswith("computing ")
        for _ in range(rnd.randrange(300_000)):  # then a moment later, at random
            pass
        child.kill()
        child.wait()
    fault_backfill.define(registry)
    catalog = get_store().catalog  # opening recovers the rows and removes the temp files
    assert temp_files(home) == []
    assert catalog.history(statuses=["running", "pending"]) == []
    assert {run.status for run in catalog.runs()} <= {"interrupted", "success"}
    assert_every_value_right(home)
    result = fs.backfill("total", max_workers=2)
    assert result.ok, result
    assert set(fs.status("total")["total"].values()) == {"fresh"}  # type: ignore[union-attr]
    for day in ALL_DAYS:
        assert fs.load("total", day) == expected_total(day)
    assert assert_every_value_right(home) >= 2 * len(ALL_DAYS)
    assert temp_files(home) == []


# --- damaged catalogs, through the public functions -----------------------------------------------


def damaged_copy(data: bytes, seed: int) -> bytes:
    """``data`` garbled (random bytes, or a run of them) or truncated, the way ``seed`` says."""
    rnd = random.Random(seed)
    damaged = bytearray(data)
    kind = seed % 3
    if kind == 0:
        for _ in range(20):
            damaged[rnd.randrange(100, len(damaged))] = rnd.randrange(256)
    elif kind == 1:
        damaged = damaged[: rnd.randrange(len(damaged))]
    else:
        at = rnd.randrange(4096, len(damaged) - 100)
        damaged[at : at + 64] = bytes(rnd.randrange(256) for _ in range(64))
    return bytes(damaged)


@pytest.fixture(scope="module")
def filled_catalog(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a catalog with a few days of the fault backfill recorded (one file)."""
    home = tmp_path_factory.mktemp("filled")
    registry = fs.Registry()
    fault_backfill.define(registry)
    fs.backfill("total", ALL_DAYS[:4], registry=registry, home=str(home), progress=False)
    get_store(str(home)).close()
    return catalog_path(str(home)).read_bytes()


def public_calls() -> dict[str, Callable[[], object]]:
    day = ALL_DAYS[0]
    return {
        "status": fs.status,
        "history": lambda: fs.history("total"),
        "lineage": lambda: fs.lineage("total", day),
        "load": lambda: fs.load("total", day),
        "materialize": lambda: fs.materialize("total", day),
    }


@pytest.mark.parametrize("seed", range(15))
def test_a_damaged_catalog_reaches_the_user_as_a_store_error_naming_it(
    home: Path, registry: fs.Registry, filled_catalog: bytes, seed: int
) -> None:
    fault_backfill.define(registry)
    path = catalog_path(str(home))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(damaged_copy(filled_catalog, seed))
    for name, call in public_calls().items():
        error = error_of(call)
        if error is None:
            continue
        assert isinstance(error, FlowstoneError), f"{name} raised {error!r}"
        # It names the file, or the asset; a partition key the damage made unreadable is
        # reported as a key the catalog holds (by the query that decodes it).
        assert any(part in str(error) for part in (str(path), "'total'", "the catalog")), error
        if "catalog" in str(error) and "partition key" not in str(error):
            assert isinstance(error, StoreError), (name, error)
    # Closing finishes the writes left in the background: a failed one names the file too.
    error = error_of(get_store().close)
    assert error is None or (isinstance(error, StoreError) and str(path) in str(error)), error


# --- damaged values -------------------------------------------------------------------------------


def flip(data: bytes, rnd: random.Random) -> bytes:
    at = rnd.randrange(len(data))
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


DAMAGES: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "flip a byte": flip,
    "truncate": lambda data, rnd: data[: rnd.randrange(len(data))],
    "append": lambda data, rnd: data + b"\0" * rnd.randrange(1, 100),
    "reverse": lambda data, rnd: data[::-1],
}
LONG_AGO = 1_600_000_000 * 10**9  # a value stored a while ago (file times move in clock ticks)


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("seed", range(3))
def test_a_damaged_value_is_never_loaded_as_good(tmp_path: Path, damage: str, seed: int) -> None:
    rnd = random.Random(seed)
    manager = FilesystemIOManager(tmp_path)
    values: list[object] = [expected_events("2024-03-01"), 100, [1, 2, 3], {"a": [1.5]}]
    for index, value in enumerate(values):
        stored = manager.store(f"asset{index}", "2024-03-01", value)
        path = tmp_path / stored.location
        stamp = ValueStamp(stored.data_version, stored.size_bytes, LONG_AGO)
        os.utime(path, ns=(LONG_AGO, LONG_AGO))
        damaged = DAMAGES[damage](path.read_bytes(), rnd)
        path.write_bytes(damaged)
        error = error_of(
            lambda: manager.load_checked(stored.location, stamp, partition="2024-03-01")  # noqa: B023
        )
        if (
            error is None
        ):  # only when the damage left the bytes as they were (a reversed palindrome)
            assert manager.check(stored.location, stamp, rehash=True) is None
            continue
        assert isinstance(error, ChangedValueError), repr(error)
        assert (error.asset, error.partition, error.path) == (
            f"asset{index}",
            "2024-03-01",
            str(path),
        )


def test_fs_load_refuses_a_value_edited_on_disk(home: Path, registry: fs.Registry) -> None:
    @fs.asset(registry=registry)
    def answer() -> int:
        return 100

    fs.materialize("answer")
    row = get_store().catalog.latest_success("answer", "")
    assert row is not None
    (home / str(row.location)).write_text("999")
    with pytest.raises(ChangedValueError, match="answer"):
        fs.load("answer")


# --- a full disk ----------------------------------------------------------------------------------

# A child whose files may not grow past a limit (as on a full disk: writes fail half-way).
FULL_DISK = textwrap.dedent(
    """
    import json, resource, signal, sys
    from flowstone_nb._storage.catalog import Catalog
    from flowstone_nb._storage.io import FilesystemIOManager
    from tests.resources.catalog_workers import materialization
    from tests.resources.fault_backfill import expected_events

    home, limit = sys.argv[1], int(sys.argv[2])
    catalog = Catalog(home + "/catalog.sqlite")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    errors = {}
    try:
        FilesystemIOManager(home).store("events", "2024-03-01", expected_events("2024-03-01"))
    except Exception as error:
        errors["store"] = [type(error).__name__, str(error)]
    rows = [materialization(f"m{i}", "events", partition=str(i)) for i in range(5000)]
    try:
        catalog.write(rows)
    except Exception as error:
        errors["write"] = [type(error).__name__, str(error)]
    print(json.dumps(errors))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="limits file sizes with RLIMIT_FSIZE")
def test_a_full_disk_is_a_store_error_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(home), str(64 * 1024)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    errors = json.loads(done.stdout)
    assert errors["store"][0] == "StoreError"
    assert "'events' partition '2024-03-01'" in errors["store"][1]
    assert "free space" in errors["store"][1]
    assert errors["write"][0] == "StoreError"
    assert str(home / "catalog.sqlite") in errors["write"][1]
    assert "disk is full" in errors["write"][1]
    assert temp_files(home) == []
    assert not (home / "data").exists() or not any((home / "data").rglob("*.parquet"))
    catalog = Catalog(home / "catalog.sqlite")
    assert catalog.history() == []  # the batch was written whole or not at all
    catalog.close()


# --- a held lock ----------------------------------------------------------------------------------


def test_a_lock_held_past_the_timeout_is_a_store_error_and_poisons_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections, "_BUSY_TIMEOUT", 0.05)
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog(path)
    holder = connections.Connections(path).connect()  # another writer, as another process
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match=rf"{path.name} could not write.*locked.*finish"):
            catalog.write([fault_row("blocked")])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert catalog.history() == []
    catalog.write([fault_row("after")])  # the lock is gone: the next call works
    assert [row.id for row in catalog.history()] == ["after"]
    catalog.close()


def fault_row(mat_id: str) -> MaterializationRow:
    return MaterializationRow(mat_id, "run", "events", "", "success", 1.0)


def test_a_materialize_blocked_by_a_held_lock_fails_once_and_poisons_no_later_call(
    home: Path, registry: fs.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    @fs.asset(registry=registry)
    def answer() -> int:
        return 100

    @fs.asset(registry=registry, io_manager="memory")
    def scratch() -> int:
        return 1

    monkeypatch.setattr(connections, "_BUSY_TIMEOUT", 0.05)  # (before the catalog opens)
    catalog = get_store().catalog
    holder = connections.Connections(catalog.path).connect()  # another process, as it were
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match=r"locked"):
            fs.materialize("answer")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # The cause is gone: the next calls, related or not, work and see a whole catalog.
    assert fs.status()["answer"] in ("missing", "failed")
    assert fs.materialize("scratch") == 1
    assert fs.materialize("answer") == 100
    assert fs.status()["answer"] == "fresh"
    runs = {run.run_id for run in catalog.runs()}
    assert all(row.run_id in runs for row in catalog.history())  # no row without its run


def test_a_memory_run_whose_last_write_fails_says_so_in_that_call(
    home: Path, registry: fs.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    @fs.asset(registry=registry, io_manager="memory")
    def scratch() -> int:
        return 1

    monkeypatch.setattr(connections, "_BUSY_TIMEOUT", 0.05)  # (before the catalog opens)
    catalog = get_store().catalog
    assert fs.materialize("scratch") == 1
    catalog.wait_for_writes()  # (its rows are written in the background)
    holder = connections.Connections(catalog.path).connect()
    holder.execute("BEGIN EXCLUSIVE")
    try:
        error = error_of(lambda: fs.materialize("scratch", force=True))
        error = error or error_of(catalog.wait_for_writes)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert isinstance(error, StoreError)
    assert "locked" in str(error)
    assert fs.status()["scratch"] in ("fresh", "stale")  # the next call is not poisoned
    assert fs.materialize("scratch") == 1
