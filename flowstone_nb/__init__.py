"""flowstone_nb: asset-first data orchestration inside Jupyter.

Define assets with ``@fs.asset``, a ``Pipeline`` class or the ``%%asset`` cell magic; materialize
them per partition into an embedded store that records lineage, code and data versions; see what is
fresh, stale or failed in the notebook. This module only re-exports the public names, importing each
implementation on first use so that ``import flowstone_nb`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import (
    AssetDefinitionError,
    AssetNotFoundError,
    CycleError,
    FlowstoneError,
    FlowstoneWarning,
    MaterializationError,
    PartitionError,
    StoreError,
)

if TYPE_CHECKING:
    from ._api import forget, history, impact, lineage, status
    from ._asset import Asset
    from ._backfill import BackfillResult, backfill
    from ._config import configure
    from ._context import AssetContext
    from ._decorator import asset
    from ._drawing import graph
    from ._engine import load, materialize
    from ._extension import load_ipython_extension, unload_ipython_extension
    from ._graph import DAG
    from ._graphview import GraphView
    from ._graphview import set_renderer as set_graph_renderer
    from ._io import FilesystemIOManager, IOManager, MemoryIOManager, ParquetIOManager, StoredValue
    from ._io_registry import register_io_manager
    from ._lineage import Lineage
    from ._live import LiveGraph
    from ._mappings import (
        AllPartitionsMapping,
        IdentityMapping,
        MultiToSingleDimension,
        PartitionMapping,
        PreviousPartition,
        TimeWindowMapping,
        TrailingWindow,
    )
    from ._partitions import (
        DailyPartitions,
        FunctionPartitions,
        HourlyPartitions,
        MonthlyPartitions,
        MultiPartitions,
        PartitionsDefinition,
        StaticPartitions,
        WeeklyPartitions,
    )
    from ._pipeline import Pipeline
    from ._registry import Registry, get_registry
    from ._status import StatusReport
    from ._validate import ValidationIssue, validate

_LAZY: dict[str, str] = {
    "AllPartitionsMapping": "._mappings",
    "Asset": "._asset",
    "AssetContext": "._context",
    "BackfillResult": "._backfill",
    "DAG": "._graph",
    "DailyPartitions": "._partitions",
    "HourlyPartitions": "._partitions",
    "FilesystemIOManager": "._io",
    "FunctionPartitions": "._partitions",
    "MultiToSingleDimension": "._mappings",
    "GraphView": "._graphview",
    "IOManager": "._io",
    "LiveGraph": "._live",
    "MemoryIOManager": "._io",
    "ParquetIOManager": "._io",
    "StoredValue": "._io",
    "set_graph_renderer": "._graphview:set_renderer",
    "IdentityMapping": "._mappings",
    "Lineage": "._lineage",
    "MonthlyPartitions": "._partitions",
    "MultiPartitions": "._partitions",
    "PartitionMapping": "._mappings",
    "PartitionsDefinition": "._partitions",
    "Pipeline": "._pipeline",
    "PreviousPartition": "._mappings",
    "Registry": "._registry",
    "StaticPartitions": "._partitions",
    "StatusReport": "._status",
    "TimeWindowMapping": "._mappings",
    "TrailingWindow": "._mappings",
    "ValidationIssue": "._validate",
    "WeeklyPartitions": "._partitions",
    "asset": "._decorator",
    "backfill": "._backfill",
    "configure": "._config",
    "forget": "._api",
    "get_registry": "._registry",
    "graph": "._drawing",
    "history": "._api",
    "impact": "._api",
    "lineage": "._api",
    "load": "._engine",
    "load_ipython_extension": "._extension",
    "materialize": "._engine",
    "register_io_manager": "._io_registry",
    "status": "._api",
    "unload_ipython_extension": "._extension",
    "validate": "._validate",
}


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
    "Registry",
    "StaticPartitions",
    "StatusReport",
    "StoreError",
    "StoredValue",
    "TimeWindowMapping",
    "TrailingWindow",
    "ValidationIssue",
    "WeeklyPartitions",
    "asset",
    "backfill",
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
    "register_io_manager",
    "set_graph_renderer",
    "status",
    "unload_ipython_extension",
    "validate",
]
