"""Reads: latest successes, current states and history, each on an index."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog import Catalog, PartitionState
from flowstone_nb._storage.catalog.reads import (
    CURRENT,
    LATEST_SUCCESS,
    LATEST_SUCCESSES,
    LATEST_SUCCESSES_UNPARTITIONED,
)
from tests.unit.storage.catalog.shorthands import chain_catalog, edge, raw, row

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
    # pages: the offset newest skipped
    assert ids(catalog.history(limit=2, offset=1)) == ["a3", "a2"]
    assert ids(catalog.history(offset=3)) == ["a1"]
    assert ids(catalog.history("a", limit=5, offset=2)) == ["a1"]
    assert catalog.history(limit=2, offset=9) == []


def test_history_refuses_unknown_statuses_and_bad_limits(catalog: Catalog) -> None:
    with pytest.raises(StoreError, match=r"'faild'.*Did you mean 'failed'"):
        catalog.history(statuses=["faild"])
    with pytest.raises(StoreError, match=r"limit.*-1.*positive"):
        catalog.history(limit=-1)
    with pytest.raises(StoreError, match=r"offset=-2.*0 or more"):
        catalog.history(limit=5, offset=-2)


def test_hot_paths_search_indexes_instead_of_scanning_or_sorting(
    catalog: Catalog, path: Path
) -> None:
    chain_catalog(catalog)
    queries = [
        (LATEST_SUCCESS, ("raw", ""), "ix_mat_success"),
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
