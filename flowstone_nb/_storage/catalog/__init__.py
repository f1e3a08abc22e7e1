"""The catalog: runs, materializations, lineage and check results of one store, in a SQLite file.

The package owns the catalog's rows (:mod:`.rows`), tables and migrations (:mod:`.schema`),
per-thread connections (:mod:`.connections`), background writer thread (:mod:`.writer`), read
queries (:mod:`.reads`), lineage walks (:mod:`.lineage_reads`), recovery of interrupted runs
(:mod:`.recovery`), write statements (:mod:`.writes`) and the :class:`Catalog` that ties them
together (:mod:`.catalog`). It must not touch stored values or asset definitions: it records
what the engine tells it.
"""

from __future__ import annotations

from flowstone_nb._storage.catalog.catalog import Catalog, forget_connections_after_fork
from flowstone_nb._storage.catalog.rows import (
    Candidate,
    CheckRow,
    LineageEdge,
    MaterializationRow,
    PartitionState,
    Reached,
    RunRow,
)
from flowstone_nb._storage.catalog.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Candidate",
    "Catalog",
    "CheckRow",
    "LineageEdge",
    "MaterializationRow",
    "PartitionState",
    "Reached",
    "RunRow",
    "forget_connections_after_fork",
]
