"""Each partition's newest attempt and newest success, kept in ``partition_latest`` by every write.

The table is derived from the materializations: after any write through the catalog it must hold,
for every partition recorded, what a walk of that partition's rows finds. These tests compare it
with such a walk, done here in plain Python over the rows of the file.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from flowstone_nb._storage.catalog import MIGRATIONS, Catalog
from flowstone_nb._storage.catalog.status_reads import PartitionLatest
from tests.unit.storage.catalog.shorthands import raw, row

_STATUSES = ("success", "success", "failed", "running", "pending")
# Of a success: its id, then what the verdict reads (PartitionLatest.id .. ended_at).
_SUCCESS = ("id", "code_version", "data_version", "io_manager", "location", "size_bytes")
_SUCCESS += ("modified_ns", "value_problem", "ended_at")


def walked(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """What ``partition_latest`` should hold, found by walking every row of every partition."""
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT rowid, * FROM materializations").fetchall()
    conn.row_factory = None
    by_partition: dict[tuple[str, str], list[sqlite3.Row]] = {}
    for found in rows:
        by_partition.setdefault((found["asset"], found["partition_key"]), []).append(found)
    expected = []
    for (asset, partition), history in sorted(by_partition.items()):
        history.sort(key=lambda r: (r["started_at"], r["rowid"]))
        attempt = history[-1]
        successes = [r for r in history if r["status"] == "success"]
        success = successes[-1] if successes else None
        if attempt["status"] == "success":
            own: tuple[Any, ...] = (None, None, None, None)
        else:
            own = (attempt["status"], attempt["error_type"], attempt["error_message"])
            own += (attempt["id"],)
        kept = tuple(None if success is None else success[c] for c in _SUCCESS)
        expected.append((asset, partition, *own, *kept))
    return expected


def kept(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """What ``partition_latest`` holds, in its field order."""
    fields = ", ".join(
        "partition_key" if f == "partition" else f for f in PartitionLatest._fields[:-1]
    )
    return conn.execute(
        f"SELECT asset, {fields} FROM partition_latest ORDER BY asset, partition_key"
    ).fetchall()


def random_rows(chance: random.Random, ids: Sequence[str], count: int) -> list[Any]:
    """``count`` rows of two assets and four partitions; some rewrite an earlier id."""
    made = []
    for _ in range(count):
        status = chance.choice(_STATUSES)
        values: dict[str, Any] = {
            "partition": chance.choice(["p1", "p2", "p3", ""]),
            "status": status,
            "started_at": float(chance.randint(1, 6)),  # (equal start times are common)
            "data_version": f"d{chance.randint(1, 99)}",
            "location": f"data/x/{chance.randint(1, 99)}",
            "size_bytes": chance.randint(1, 9),
            "modified_ns": chance.randint(1, 9),
            "ended_at": float(chance.randint(7, 9)),
        }
        if status == "failed":
            values |= {"error_type": "ValueError", "error_message": f"bad {chance.random()}"}
        asset = chance.choice(["a", "b"])
        if ids and chance.random() < 0.3:  # the same attempt written again (running, then done)
            mat_id = chance.choice(ids)
            asset, values["partition"] = mat_id.split("/")[:2]
        else:
            mat_id = f"{asset}/{values['partition']}/{chance.random()}"
        made.append(row(mat_id, asset, **values))
    return made


@pytest.mark.parametrize("seed", range(6))
def test_every_write_keeps_each_partitions_newest_attempt_and_success(
    catalog: Catalog, path: Path, seed: int
) -> None:
    chance = random.Random(seed)
    ids: list[str] = []
    for step in range(40):
        action = chance.random()
        if action < 0.7 or not ids:
            made = random_rows(chance, ids, chance.randint(1, 4))
            catalog.write(made)
            ids.extend(r.id for r in made if r.id not in ids)
        elif action < 0.9:
            problems = {mat_id: chance.choice([None, "was pruned"]) for mat_id in ids[:3]}
            catalog.mark_value_problems(problems)
        else:
            catalog.forget(chance.choice(["a", "b"]))
            ids = [mat_id for mat_id in ids if catalog.get(mat_id) is not None]
        with raw(path) as conn:
            assert kept(conn) == walked(conn), f"seed {seed}, step {step}"


def test_rows_written_on_the_writer_thread_keep_it_too(catalog: Catalog, path: Path) -> None:
    run = catalog.new_run(kind="materialize", targets=["a"])
    made = [row("one", partition="p1", status="running", started_at=1.0, run_id=run.run_id)]
    catalog.record_later(iter(made), iter(()), start=run)
    done = row("one", partition="p1", started_at=1.0, run_id=run.run_id)
    catalog.record_later(iter([done]), iter(()), end=(run.run_id, "success"))
    catalog.wait_for_writes()
    with raw(path) as conn:
        assert kept(conn) == walked(conn)
        assert [r[:7] for r in kept(conn)] == [("a", "p1", None, None, None, None, "one")]


def test_a_catalog_from_before_gets_the_table_filled_when_opened(path: Path) -> None:
    path.parent.mkdir(parents=True)
    versions = len(MIGRATIONS) - 1  # (the last migration made the table)
    with raw(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for migration in MIGRATIONS[:versions]:
            migration(conn)
        conn.execute("INSERT INTO schema_version VALUES (?)", (versions,))
        insert = (
            "INSERT INTO materializations (id, run_id, asset, partition_key, status, started_at, "
            "error_type, data_version) VALUES (?, 'r', ?, ?, ?, ?, ?, ?)"
        )
        conn.executemany(
            insert,
            [
                ("old", "sales", "p1", "success", 1.0, None, "d1"),
                ("new", "sales", "p1", "failed", 2.0, "E", None),
                ("tie-1", "sales", "p2", "success", 3.0, None, "d2"),
                ("tie-2", "sales", "p2", "success", 3.0, None, "d3"),
                ("only", "costs", "", "running", 1.0, None, None),
            ],
        )
    Catalog(path).close()
    with raw(path) as conn:
        assert kept(conn) == walked(conn)
        assert len(kept(conn)) == 3


def test_recovery_marks_the_newest_attempt_failed_in_it_too(catalog: Catalog, path: Path) -> None:
    # A run of another host, started long ago, that never ended: recovery marks its row.
    catalog.write([row("held", partition="p1", status="running", run_id="gone", started_at=1.0)])
    assert catalog.recover_interrupted(stale_after=0.0) == 1
    latest = catalog.newest({"a": None})["a"]["p1"]
    assert (latest.last_status, latest.last_error_type) == ("failed", "Interrupted")
    with raw(path) as conn:
        assert kept(conn) == walked(conn)
