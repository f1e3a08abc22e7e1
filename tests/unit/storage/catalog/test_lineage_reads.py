"""Lineage walks: each reached materialization with its row, at its shortest distance, sorted."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog import Catalog, Reached
from flowstone_nb._storage.catalog.lineage_reads import (
    _DOWNSTREAM,
    _UPSTREAM,
    BOUNDED_WALK,
    CLOSURE,
    INPUTS,
)
from tests.unit.storage.catalog.shorthands import chain_catalog, edge, raw, row


def ends(reached: list[Reached]) -> list[tuple[int, str, str]]:
    return [(r.depth, r.via, r.id) for r in reached]


def test_upstream_walks_the_chain_with_depths(catalog: Catalog) -> None:
    chain_catalog(catalog)
    assert ends(catalog.walk("report")) == [(1, "report", "clean"), (2, "clean", "raw")]
    assert ends(catalog.walk("report", depth=1)) == [(1, "report", "clean")]
    assert catalog.walk("raw") == []
    assert catalog.walk("unknown") == []


def test_downstream_walks_the_chain_with_depths(catalog: Catalog) -> None:
    chain_catalog(catalog)
    down = catalog.walk("raw", upstream=False)
    assert ends(down) == [(1, "raw", "clean"), (2, "clean", "report")]
    assert ends(catalog.walk("raw", 1, upstream=False)) == [(1, "raw", "clean")]
    assert catalog.walk("report", upstream=False) == []


@pytest.mark.parametrize("depth", [None, 3])
def test_each_reached_row_carries_what_a_view_shows(catalog: Catalog, depth: int | None) -> None:
    catalog.write(
        [
            row(
                "up", "prices", partition="d:2024-01-02", data_version="v-up", rows=7, ended_at=5.0
            ),
            row("down", "report", partition="s:eu", data_version="v-down", status="failed"),
        ],
        [edge("down", "up", "prices", "d:2024-01-02", "v-edge")],
    )
    (up,) = catalog.walk("down", depth)
    assert up == Reached(1, "up", "down", "prices", "d:2024-01-02", "v-edge", 5.0, 7, "success")
    (down,) = catalog.walk("up", depth, upstream=False)
    assert (down.asset, down.partition, down.data_version, down.status) == (
        "report",
        "s:eu",
        "v-down",
        "failed",
    )


@pytest.mark.parametrize("depth", [None, 3])
def test_a_forgotten_row_still_reads_from_its_edge_or_as_unknown(
    catalog: Catalog, depth: int | None
) -> None:
    # "gone" was consumed by "mid" and consumed "mid2": its row is not in the catalog.
    catalog.write(
        [row("mid", "mid"), row("mid2", "mid2")],
        [edge("mid", "gone", "old", "s:x", "v-old"), edge("gone", "mid2", "mid2")],
    )
    further, input_ = catalog.walk("mid", depth)  # (sorted by asset: mid2, then old)
    assert (further.depth, further.id, further.status) == (2, "mid2", "success")
    assert (input_.asset, input_.partition, input_.data_version) == ("old", "s:x", "v-old")
    assert (input_.status, input_.finished_at, input_.rows) == (None, None, None)
    consumer, mid = catalog.walk("mid2", depth, upstream=False)
    assert (mid.depth, mid.id, mid.asset) == (2, "mid", "mid")
    assert (consumer.id, consumer.asset, consumer.partition, consumer.status) == (
        "gone",
        "?",
        "",
        None,
    )


def test_reached_rows_are_sorted_by_asset_key_distance_and_id(catalog: Catalog) -> None:
    keys = ["d:2024-01-15", "d:2024-01-01", "d:2024-01-11", "d:2024-01-02"]
    rows = [row("root", "root")]
    edges = []
    for number, key in enumerate(keys):
        for asset in ("b", "a"):
            rows.append(row(f"{asset}{number}", asset, partition=key))
            edges.append(edge(f"{asset}{number}", "root", "root"))
    catalog.write(rows, edges)
    for depth in (None, 1):
        down = catalog.walk("root", depth, upstream=False)
        assert [(r.asset, r.partition) for r in down] == sorted(
            (asset, key) for asset in "ab" for key in keys
        )


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
    up = catalog.walk("top", depth)
    assert sorted(ends(up)) == [
        (1, "top", "base"),
        (1, "top", "left"),
        (1, "top", "right"),
        (2, "left", "base"),
        (2, "left", "right"),
        (2, "right", "base"),
    ]
    down = catalog.walk("base", depth, upstream=False)
    assert sorted(ends(down)) == [
        (1, "base", "left"),
        (1, "base", "right"),
        (1, "base", "top"),
        (2, "left", "top"),
        (2, "right", "left"),
        (2, "right", "top"),
    ]


@pytest.mark.parametrize("depth", [None, 50])
def test_lineage_walks_are_cycle_safe(catalog: Catalog, depth: int | None) -> None:
    catalog.write([row("x", "x"), row("y", "y")], [edge("x", "y", "y"), edge("y", "x", "x")])
    assert ends(catalog.walk("x", depth)) == [(2, "y", "x"), (1, "x", "y")]
    assert ends(catalog.walk("x", depth, upstream=False)) == [(2, "y", "x"), (1, "x", "y")]


def test_lineage_depth_must_be_positive(catalog: Catalog) -> None:
    with pytest.raises(StoreError, match=r"depth.*0.*positive.*None"):
        catalog.walk("x", 0)


def test_inputs_are_the_direct_upstream_edges_sorted(catalog: Catalog) -> None:
    chain_catalog(catalog)
    assert catalog.inputs("report") == [edge("report", "clean", "clean")]
    assert catalog.inputs("raw") == []


def test_walks_search_indexes_instead_of_scanning(catalog: Catalog, path: Path) -> None:
    chain_catalog(catalog)
    queries = [
        (CLOSURE.format(**_UPSTREAM), ("report",), "PRIMARY KEY"),
        (CLOSURE.format(**_DOWNSTREAM), ("raw",), "ix_lineage_upstream"),
        (BOUNDED_WALK.format(**_UPSTREAM), ("report", 2), "PRIMARY KEY"),
        (BOUNDED_WALK.format(**_DOWNSTREAM), ("raw", 2), "ix_lineage_upstream"),
        (INPUTS, ("report",), "PRIMARY KEY"),
    ]
    with raw(path) as conn:
        for sql, params, index in queries:
            plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            assert index in plan, plan
            assert "SCAN lineage" not in plan, plan
            assert "SCAN materializations" not in plan, plan
