"""The AssetContext handed to user code: which asset, which partition, which run, what resources.

User functions receive it as a first parameter called ``context`` (decorator style) or as the first
of ``(context, deps)`` (seed style). It only carries data and collects output metadata; it never
runs or stores anything.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError

if TYPE_CHECKING:
    from flowstone_nb._define.asset import Asset

__all__ = ["AssetContext"]


@dataclass
class AssetContext:
    """What a running asset may know about its materialization.

    Attributes
    ----------
    asset
        The definition being materialized.
    partition
        The partition's natural value: a ``date`` for daily partitions, an aware ``datetime`` for
        hourly ones, the key for static ones, ``None`` when unpartitioned.
    partition_key
        The partition key as text (``""`` when unpartitioned).
    run_id
        The run this materialization belongs to.
    resources
        Only the resources the asset lists in ``requires``.
    log
        A logger named after the asset.
    """

    asset: Asset
    partition: Any
    partition_key: str
    run_id: str
    resources: Mapping[str, Any] = field(default_factory=dict)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("flowstone_nb.asset"))
    output_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def asset_name(self) -> str:
        """The name of the asset being materialized."""
        return str(self.asset.name)

    def add_output_metadata(self, metadata: Mapping[str, Any] | None = None, **values: Any) -> None:
        """Attach metadata (row counts, notes, URLs …) to this materialization's record."""
        self.output_metadata.update(metadata or {}, **values)

    def resource(self, name: str) -> Any:
        """Return the required resource ``name``; resources not in ``requires`` are refused."""
        try:
            return self.resources[name]
        except KeyError:
            raise FlowstoneError(
                f"Asset {self.asset_name!r} asked for resource {name!r} but does not list it in "
                f"requires={list(self.asset.requires)}: add it to requires."
            ) from None

    def __repr__(self) -> str:
        where = f", partition={self.partition_key!r}" if self.partition_key else ""
        return f"AssetContext(asset={self.asset_name!r}{where}, run_id={self.run_id!r})"
