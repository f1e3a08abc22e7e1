"""Impact: what would become stale if one asset partition changed.

:func:`compute_impact` walks the *definitions* (the DAG and the partition mappings) from an asset
partition to every downstream partition whose inputs include it. An asset that is not defined
(after a restart, before its cell ran) is answered from the catalog instead: what consumed its
latest value, transitively. The result renders itself as text and HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowstone_nb._core.html import html_table, subject
from flowstone_nb._define.registry import Registry
from flowstone_nb._partitioning.mappings import infer_mapping
from flowstone_nb._query.lineage import compute_lineage
from flowstone_nb._run.plan import Node, make_node, target_node
from flowstone_nb._storage.store import Store

__all__ = ["Impact", "compute_impact"]


@dataclass(frozen=True)
class Impact:
    """What would become stale if one asset partition changed."""

    asset: str
    partition: str
    affected: tuple[tuple[str, str], ...]

    def __iter__(self) -> Any:
        return iter(self.affected)

    def __len__(self) -> int:
        return len(self.affected)

    def __repr__(self) -> str:
        start = subject(self.asset, self.partition)
        if not self.affected:
            return f"Impact of {start}: nothing downstream"
        listed = "\n".join(f"  {subject(a, p)}" for a, p in self.affected)
        return f"Impact of {start}: {len(self.affected)} partition(s)\n{listed}"

    def _repr_html_(self) -> str:
        rows = [[a, p or "—"] for a, p in self.affected]
        return html_table(["asset", "partition"], rows, css_class="fs-impact")


def compute_impact(
    registry: Registry, asset: str, partition: Any = None, *, store: Store | None = None
) -> Impact:
    """Every downstream asset partition whose inputs include ``asset[partition]``.

    Without the asset's definition (and given the ``store``), what consumed its latest
    value, transitively, as the catalog recorded it.
    """
    if asset not in registry and store is not None:
        return _recorded_impact(registry, store, asset, partition)
    start = target_node(registry.get(asset), partition)
    dag = registry.dag()
    affected: dict[Node, None] = {}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        up_def = registry.get(node.asset).partitions
        itself = node.asset in registry.get(node.asset).depends_on  # its next partition
        for child_name in [*dag.children(node.asset), *([node.asset] if itself else [])]:
            child = registry.get(child_name)
            down_def = child.partitions
            if down_def is None:
                children = [make_node(child_name, None, None)]
            else:
                mapping = child.partition_mappings.get(node.asset) or infer_mapping(
                    down_def, up_def
                )
                keys = mapping.downstream_keys(up_def, node.key, down_def) if up_def else None
                keys = down_def.keys() if keys is None else keys
                children = [make_node(child_name, down_def, k) for k in keys]
            for child_node in children:
                if child_node not in affected:
                    affected[child_node] = None
                    frontier.append(child_node)
    rank = {n: i for i, n in enumerate(dag.topological_order())}
    ordered = sorted(affected, key=lambda n: (rank[n.asset], n.encoded))
    return Impact(start.asset, start.text, tuple((n.asset, n.text) for n in ordered))


def _recorded_impact(registry: Registry, store: Store, asset: str, partition: Any) -> Impact:
    """What consumed the latest value of ``asset[partition]``, transitively (from the catalog)."""
    lineage = compute_lineage(registry, store, asset, partition, direction="downstream")
    affected: dict[tuple[str, str], None] = {}
    for entry in sorted(lineage.downstream, key=lambda e: e.depth):
        affected.setdefault((entry.asset, entry.partition), None)
    return Impact(lineage.asset, lineage.partition, tuple(affected))
