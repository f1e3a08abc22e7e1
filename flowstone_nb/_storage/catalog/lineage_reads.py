"""Lineage walks: the materializations upstream or downstream of one, each with its row's fields.

This module owns the recursive walks over the ``lineage`` table. A walk and the rows it reaches
come from one statement (the row of each reached materialization is joined in SQL, so a root
consumed by tens of thousands of partitions costs one query, not one per entry); distances are
shortest distances, each edge once, and a cycle (which a healthy catalog never has) cannot make
a walk loop. A test reads the plans: every step seeks an index.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Sequence
from typing import Any

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog.rows import LineageEdge, Reached
from flowstone_nb._storage.catalog.schema import EDGE_COLUMNS
from flowstone_nb._storage.tuples import from_values

__all__ = ["BOUNDED_WALK", "CLOSURE", "INPUTS", "inputs", "walk"]

# Each walk follows edges from one side (``near``) to the other (``far``) and reads the far end
# as a Reached (but its distance): ``{reached}`` is what is known of it, from the edge when it is
# the input (a forgotten input still has its asset, key and version there), from its row when it
# is the consumer (a forgotten consumer reads as asset "?").
_REACHED = "m.ended_at, m.row_count, m.status"
_UPSTREAM_END = "l.upstream_asset, l.upstream_partition, l.upstream_data_version, " + _REACHED
_DOWNSTREAM_END = (
    "coalesce(m.asset, '?'), coalesce(m.partition_key, ''), m.data_version, " + _REACHED
)
#: Every edge reachable from ``?``, with its far end (distances are found by the caller).
CLOSURE = (
    "WITH RECURSIVE reach(id) AS (VALUES (?) UNION SELECT l.{far} FROM lineage AS l "
    "JOIN reach AS r ON l.{near} = r.id) "
    "SELECT l.{far}, l.{near}, {reached} FROM reach JOIN lineage AS l ON l.{near} = reach.id "
    "LEFT JOIN materializations AS m ON m.id = l.{far}"
)
#: Every edge within ``?`` steps of ``?``, at its shortest distance, with its far end.
BOUNDED_WALK = (
    "WITH RECURSIVE walk(depth, near, far) AS ("
    "SELECT 1, {near}, {far} FROM lineage WHERE {near} = ? UNION "
    "SELECT w.depth + 1, l.{near}, l.{far} FROM walk AS w JOIN lineage AS l "
    "ON l.{near} = w.far WHERE w.depth < ?), "
    "shortest AS (SELECT min(depth) AS depth, near, far FROM walk GROUP BY near, far) "
    "SELECT s.depth, s.far, s.near, {reached} FROM shortest AS s "
    "JOIN lineage AS l ON l.{near} = s.near AND l.{far} = s.far "
    "LEFT JOIN materializations AS m ON m.id = s.far"
)
INPUTS = (
    f"SELECT {EDGE_COLUMNS} FROM lineage WHERE materialization_id = ? "
    "ORDER BY upstream_asset, upstream_partition, upstream_id"
)
# (near, far, what the far end reads as) when walking upstream, and downstream.
_UPSTREAM = {"near": "materialization_id", "far": "upstream_id", "reached": _UPSTREAM_END}
_DOWNSTREAM = {"near": "upstream_id", "far": "materialization_id", "reached": _DOWNSTREAM_END}
# Reached materializations read in this order: asset, key, distance, id (all text but distance).
_ORDER = operator.itemgetter(3, 4, 0, 1)


def inputs(connection: sqlite3.Connection, materialization_id: str) -> list[LineageEdge]:
    """The upstream materializations that ``materialization_id`` consumed."""
    found = connection.execute(INPUTS, (materialization_id,))
    return [from_values(LineageEdge, values) for values in found]


def walk(
    connection: sqlite3.Connection, start: str, depth: int | None, *, upstream: bool
) -> list[Reached]:
    """Every materialization on one side of ``start``, sorted by asset, key, distance and id.

    ``upstream`` walks to inputs, else to consumers; ``depth`` limits the distance. One entry
    per edge, at its shortest distance (a materialization reached by two edges comes twice,
    each with its ``via``). A consumer whose row was forgotten reads as asset ``"?"``.
    """
    ends = _UPSTREAM if upstream else _DOWNSTREAM
    found: list[Reached]
    if depth is None:
        edges = connection.execute(CLOSURE.format(**ends), (start,)).fetchall()
        found = _at_shortest_distance(start, edges)
    else:
        if depth < 1:
            raise StoreError(
                f"Lineage depth {depth} is not allowed: pass a positive number of levels, "
                "or None for all of them."
            )
        rows = connection.execute(BOUNDED_WALK.format(**ends), (start, depth))
        found = [from_values(Reached, values) for values in rows]
    found.sort(key=_ORDER)
    return found


def _at_shortest_distance(start: str, edges: Sequence[Sequence[Any]]) -> list[Reached]:
    """Breadth-first from ``start`` over ``edges`` (Reached values but the distance)."""
    by_near: dict[str, list[Sequence[Any]]] = {}
    for edge in edges:
        by_near.setdefault(edge[1], []).append(edge)
    found: list[Reached] = []
    seen = {start}
    frontier = [start]
    level = 0
    while frontier:
        level += 1
        following: list[str] = []
        for node in frontier:
            for edge in by_near.get(node, ()):
                found.append(from_values(Reached, (level, *edge)))
                target = edge[0]
                if target not in seen:
                    seen.add(target)
                    following.append(target)
        frontier = following
    return found
