"""flowstone_nb: asset-first data orchestration inside Jupyter.

Define assets with ``@fs.asset``, a ``Pipeline`` class or the ``%%asset`` cell magic; materialize
them per partition into an embedded store that records lineage, code and data versions; see what is
fresh, stale or failed in the notebook. This module only re-exports the public names, importing each
implementation on first use so that ``import flowstone_nb`` stays fast. Imported inside a running
Jupyter kernel, it also installs the notebook's views (results and backfills shown as widgets), as
``%load_ext flowstone_nb`` does; elsewhere it imports nothing more.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flowstone_nb._core import shell as _shell
from flowstone_nb._core.errors import (
    AssetDefinitionError,
    AssetNotFoundError,
    CycleError,
    FlowstoneError,
    FlowstoneWarning,
    MaterializationError,
    MaterializationTimeoutError,
    PartitionError,
    StoreError,
    WorkerDiedError,
)

if TYPE_CHECKING:
    from flowstone_nb._core.io_managers import register_io_manager
    from flowstone_nb._define.asset import Asset
    from flowstone_nb._define.checks import ValidationIssue
    from flowstone_nb._define.context import AssetContext
    from flowstone_nb._define.data_checks import CheckResult
    from flowstone_nb._define.decorator import asset, check
    from flowstone_nb._define.pipeline import Pipeline
    from flowstone_nb._define.registry import Registry, get_registry
    from flowstone_nb._define.validate import validate
    from flowstone_nb._graph.dag import DAG
    from flowstone_nb._notebook.extension import load_ipython_extension, unload_ipython_extension
    from flowstone_nb._notebook.graph.build import graph
    from flowstone_nb._notebook.graph.live import LiveGraph
    from flowstone_nb._notebook.graph.render import GraphView
    from flowstone_nb._notebook.graph.render import set_renderer as set_graph_renderer
    from flowstone_nb._partitioning.base import PartitionsDefinition
    from flowstone_nb._partitioning.days import DailyPartitions, MonthlyPartitions, WeeklyPartitions
    from flowstone_nb._partitioning.function import FunctionPartitions
    from flowstone_nb._partitioning.hours import HourlyPartitions
    from flowstone_nb._partitioning.mappings import (
        AllPartitionsMapping,
        IdentityMapping,
        MultiToSingleDimension,
        PartitionMapping,
        PreviousPartition,
        TimeWindowMapping,
        TrailingWindow,
    )
    from flowstone_nb._partitioning.static_multi import MultiPartitions, StaticPartitions
    from flowstone_nb._query.api import forget, history, impact, lineage, status
    from flowstone_nb._query.checks import check_all, checks
    from flowstone_nb._query.lineage import Lineage
    from flowstone_nb._query.status import StatusReport
    from flowstone_nb._query.upkeep import PruneReport, VerifyReport, prune, verify
    from flowstone_nb._run.api import load, materialize
    from flowstone_nb._run.backfill import BackfillResult, backfill
    from flowstone_nb._storage.config import configure
    from flowstone_nb._storage.io import (
        FilesystemIOManager,
        IOManager,
        MemoryIOManager,
        ParquetIOManager,
        StoredValue,
    )

_LAZY: dict[str, str] = {
    "AllPartitionsMapping": "._partitioning.mappings",
    "Asset": "._define.asset",
    "AssetContext": "._define.context",
    "BackfillResult": "._run.backfill",
    "CheckResult": "._define.data_checks",
    "DAG": "._graph.dag",
    "DailyPartitions": "._partitioning.days",
    "HourlyPartitions": "._partitioning.hours",
    "FilesystemIOManager": "._storage.io",
    "FunctionPartitions": "._partitioning.function",
    "MultiToSingleDimension": "._partitioning.mappings",
    "GraphView": "._notebook.graph.render",
    "IOManager": "._storage.io",
    "LiveGraph": "._notebook.graph.live",
    "MemoryIOManager": "._storage.io",
    "ParquetIOManager": "._storage.io",
    "StoredValue": "._storage.io",
    "set_graph_renderer": "._notebook.graph.render:set_renderer",
    "IdentityMapping": "._partitioning.mappings",
    "Lineage": "._query.lineage",
    "MonthlyPartitions": "._partitioning.days",
    "MultiPartitions": "._partitioning.static_multi",
    "PartitionMapping": "._partitioning.mappings",
    "PartitionsDefinition": "._partitioning.base",
    "Pipeline": "._define.pipeline",
    "PreviousPartition": "._partitioning.mappings",
    "PruneReport": "._query.upkeep",
    "Registry": "._define.registry",
    "StaticPartitions": "._partitioning.static_multi",
    "StatusReport": "._query.status",
    "TimeWindowMapping": "._partitioning.mappings",
    "TrailingWindow": "._partitioning.mappings",
    "ValidationIssue": "._define.checks",
    "VerifyReport": "._query.upkeep",
    "WeeklyPartitions": "._partitioning.days",
    "asset": "._define.decorator",
    "backfill": "._run.backfill",
    "check": "._define.decorator",
    "check_all": "._query.checks",
    "checks": "._query.checks",
    "configure": "._storage.config",
    "forget": "._query.api",
    "get_registry": "._define.registry",
    "graph": "._notebook.graph.build",
    "history": "._query.api",
    "impact": "._query.api",
    "lineage": "._query.api",
    "load": "._run.api",
    "load_ipython_extension": "._notebook.extension",
    "materialize": "._run.api",
    "prune": "._query.upkeep",
    "register_io_manager": "._core.io_managers",
    "status": "._query.api",
    "unload_ipython_extension": "._notebook.extension",
    "validate": "._define.validate",
    "verify": "._query.upkeep",
}


def _install_views_in_a_running_kernel() -> None:
    """Inside a Jupyter kernel, show results and backfills as widgets from the first import on."""
    if _shell.in_notebook():
        from flowstone_nb._notebook.extension import install_views

        install_views(_shell.running_shell())


_install_views_in_a_running_kernel()


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'flowstone_nb' has no attribute {name!r}")
    module, _, attribute = target.partition(":")
    value = getattr(importlib.import_module(module, __name__), attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DAG",
    "AllPartitionsMapping",
    "Asset",
    "AssetContext",
    "AssetDefinitionError",
    "AssetNotFoundError",
    "BackfillResult",
    "CheckResult",
    "CycleError",
    "DailyPartitions",
    "FilesystemIOManager",
    "FlowstoneError",
    "FlowstoneWarning",
    "FunctionPartitions",
    "GraphView",
    "HourlyPartitions",
    "IOManager",
    "IdentityMapping",
    "Lineage",
    "LiveGraph",
    "MaterializationError",
    "MaterializationTimeoutError",
    "MemoryIOManager",
    "MonthlyPartitions",
    "MultiPartitions",
    "MultiToSingleDimension",
    "ParquetIOManager",
    "PartitionError",
    "PartitionMapping",
    "PartitionsDefinition",
    "Pipeline",
    "PreviousPartition",
    "PruneReport",
    "Registry",
    "StaticPartitions",
    "StatusReport",
    "StoreError",
    "StoredValue",
    "TimeWindowMapping",
    "TrailingWindow",
    "ValidationIssue",
    "VerifyReport",
    "WeeklyPartitions",
    "WorkerDiedError",
    "asset",
    "backfill",
    "check",
    "check_all",
    "checks",
    "configure",
    "forget",
    "get_registry",
    "graph",
    "history",
    "impact",
    "lineage",
    "load",
    "load_ipython_extension",
    "materialize",
    "prune",
    "register_io_manager",
    "set_graph_renderer",
    "status",
    "unload_ipython_extension",
    "validate",
    "verify",
]
