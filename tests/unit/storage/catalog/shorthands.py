"""Short ways for the catalog tests to make rows and edges, and to look at a catalog file."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from flowstone_nb._storage.catalog import Catalog, LineageEdge, MaterializationRow
from tests.resources.catalog_workers import materialization


def row(mat_id: str, asset: str = "a", **values: object) -> MaterializationRow:
    """A row of ``asset`` with sensible defaults; ``values`` sets any other field."""
    return materialization(mat_id, asset, **values)  # type: ignore[arg-type]  # test shorthand


def edge(
    down: str, up: str, asset: str = "a", partition: str = "", version: str = "v"
) -> LineageEdge:
    """Materialization ``down`` consumed ``up`` (of ``asset``)."""
    return LineageEdge(down, up, asset, partition, version)


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection for looking at (or preparing) the file as another tool would."""
    return sqlite3.connect(path, isolation_level=None)


def spawn() -> multiprocessing.context.SpawnContext:
    """Child processes that start fresh (nothing of this process is inherited)."""
    return multiprocessing.get_context("spawn")


def chain_catalog(catalog: Catalog) -> None:
    """raw <- clean <- report."""
    catalog.write(
        [row("raw", "raw"), row("clean", "clean"), row("report", "report")],
        [edge("clean", "raw", "raw"), edge("report", "clean", "clean")],
    )
