"""Writes: runs, materializations and edges, each batch in one transaction, and forgetting."""

from __future__ import annotations

import os
import socket
import time

import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._core.states import RecordStatus
from flowstone_nb._storage.catalog import Catalog, LineageEdge, MaterializationRow, RunRow
from tests.unit.storage.catalog.shorthands import chain_catalog, edge, row


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


def test_recording_the_end_of_an_unknown_run_writes_nothing(catalog: Catalog) -> None:
    values = tuple(row("m1"))
    with pytest.raises(StoreError, match=r"run 'nope'.*start_run"):
        catalog.record([values], end=("nope", "success"))
    assert catalog.get("m1") is None


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


def test_forget_deletes_an_assets_rows_and_its_input_edges(catalog: Catalog) -> None:
    chain_catalog(catalog)
    catalog.write([row("clean2", "clean", status="failed")])
    assert catalog.forget("clean") == 2
    assert catalog.get("clean") is None
    assert catalog.history("clean") == []
    assert catalog.inputs("clean") == []
    (kept,) = catalog.walk("report")  # the downstream's record of what it consumed stays
    assert (kept.id, kept.asset, kept.data_version, kept.status) == ("clean", "clean", "v", None)
    assert catalog.get("raw") is not None
    assert catalog.forget("clean") == 0


def test_rows_and_edges_built_by_field_name_are_recorded_now_or_later(catalog: Catalog) -> None:
    run = catalog.new_run(kind="materialize", targets=["a"])
    now = MaterializationRow(
        id="m1",
        run_id=run.run_id,
        asset="a",
        partition="",
        status=RecordStatus.SUCCESS,
        started_at=1.0,
        ended_at=2.0,
        duration=1.0,
        code_version="c1",
        data_version="v1",
        io_manager="memory",
        location="memory:a/_/v1",
        rows=None,
        schema="int",
        error_type=None,
        error_message=None,
        traceback=None,
    )
    consumed = LineageEdge(
        materialization_id="m1",
        upstream_id="m0",
        upstream_asset="up",
        upstream_partition="",
        upstream_data_version="v0",
    )
    catalog.record([now], [consumed], start=run)
    later = now._replace(id="m2", started_at=3.0, data_version="v2")
    catalog.record_later(
        (row for row in [later]),
        (edge for edge in [consumed._replace(materialization_id="m2")]),
        end=(run.run_id, RecordStatus.SUCCESS),
    )
    assert catalog.get("m1") == now
    assert catalog.get("m2") == later
    assert catalog.inputs("m2") == [consumed._replace(materialization_id="m2")]
    recorded = catalog.get_run(run.run_id)
    assert recorded is not None
    assert recorded.status == "success"


def test_a_values_size_and_modification_time_are_recorded_with_it(catalog: Catalog) -> None:
    stamped = row("m1", size_bytes=1234, modified_ns=1_700_000_000_123_456_789)
    catalog.write([stamped])
    assert catalog.get("m1") == stamped
    [candidate] = catalog.latest_successes(assets=["a"]).values()
    assert (candidate.size_bytes, candidate.modified_ns) == (1234, 1_700_000_000_123_456_789)
    assert catalog.history()[0].modified_ns == 1_700_000_000_123_456_789


def test_rows_given_without_their_stamp_record_it_as_unknown(catalog: Catalog) -> None:
    # Rows as tuples of the fields before the stamp (as callers that do not know it give them).
    run = catalog.new_run(kind="materialize", targets=["a"])
    short = tuple(row("m1", run_id=run.run_id))[: MaterializationRow._fields.index("size_bytes")]
    catalog.record([short], start=run)
    catalog.record_later([("m2", *short[1:])], end=(run.run_id, "success"))
    for mat_id in ("m1", "m2"):
        recorded = catalog.get(mat_id)
        assert recorded is not None
        assert (recorded.size_bytes, recorded.modified_ns) == (None, None)
