"""``fs.graph``: the asset DAG as a status-coloured, self-rendering view.

Builds plain node views from the registry's DAG and the status report, turns them into DOT text
(:mod:`.dot_text`) and wraps that in a :class:`~.render.GraphView`, which renders as SVG (Graphviz),
as an in-browser widget, or as text. A node counts the data checks failing on its partitions
(its badge), from the same report: drawing asks the catalog nothing more. It consumes the pure
graph and never drives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flowstone_nb._core.html import CHECK_FLAG, checks_failing
from flowstone_nb._core.states import UNKNOWN, Freshness
from flowstone_nb._define.asset import Asset, name_of
from flowstone_nb._define.registry import Registry, resolve_registry
from flowstone_nb._notebook.graph.dot_text import NodeView, to_dot
from flowstone_nb._query.status import StatusReport, compute_status
from flowstone_nb._storage.store import get_store

if TYPE_CHECKING:
    from flowstone_nb._notebook.graph.render import GraphView
    from flowstone_nb._query.status import PartitionStatus

__all__ = ["draw", "failing_checks", "graph", "graph_nodes", "graph_text", "select_assets"]

#: Partition keys a node's tooltip names per failing check; the rest are counted.
KEYS_NAMED = 5


def select_assets(
    registry: Registry, focus: str | None, upstream: int | None, downstream: int | None
) -> list[str]:
    """The assets to draw: all of them, or ``focus`` and its neighbours up to the given levels."""
    dag = registry.dag()
    if focus is None:
        return dag.nodes
    registry.get(focus)
    chosen = {focus} | dag.upstream(focus, upstream) | dag.downstream(focus, downstream)
    return sorted(chosen)


def failing_checks(rows: Sequence[PartitionStatus]) -> tuple[int, str]:
    """How many data checks fail on an asset's partitions, and which on which (its tooltip).

    An unpartitioned asset says what its checks found; a partitioned one names, per check, the
    partitions it fails on (the first :data:`KEYS_NAMED`, the rest counted): the grid has the
    messages of each.
    """
    failing: dict[str, list[str]] = {}
    for row in rows:
        for name in row.checks_failing:
            failing.setdefault(name, []).append(row.partition)
    if not failing:
        return 0, ""
    if len(rows) == 1 and not rows[0].partition:
        return len(failing), rows[0].check_message
    phrases = []
    for name, keys in sorted(failing.items()):
        named = ", ".join(keys[:KEYS_NAMED])
        more = f", … and {len(keys) - KEYS_NAMED} more" if len(keys) > KEYS_NAMED else ""
        count = f"{len(keys):,} partition{'' if len(keys) == 1 else 's'}"
        phrases.append(f"{name} fails on {count} ({named}{more})")
    return len(failing), "; ".join(phrases)


def graph_nodes(
    registry: Registry, names: Sequence[str], report: StatusReport | None
) -> tuple[list[NodeView], list[tuple[str, str]]]:
    """Node views and edges for ``names``; unknown dependencies become dashed external nodes."""
    dag = registry.dag()
    selected = set(names)
    nodes: list[NodeView] = []
    edges: list[tuple[str, str]] = []
    external: set[str] = set()
    for name in names:
        asset: Asset = registry.get(name)
        status = report.overall(name) if report is not None else UNKNOWN
        detail = report.summary(name) if report is not None and asset.partitions else ""
        tags = tuple(str(t) for t in asset.tags)
        failing, checks = failing_checks(report.for_asset(name)) if report else (0, "")
        nodes.append(
            NodeView(
                name=name,
                status=status,
                detail=detail,
                tags=tags,
                description=asset.description or "",
                group=tags[0] if tags else None,
                checks_failing=failing,
                checks_detail=checks,
            )
        )
        edges.extend((dep, name) for dep in dag.parents[name] if dep in selected)
        for dep in dag.missing().get(name, ()):
            external.add(dep)
            edges.append((dep, name))
    nodes.extend(NodeView(n, Freshness.MISSING, external=True) for n in sorted(external))
    return nodes, sorted(edges)


def graph_text(nodes: Sequence[NodeView], edges: Sequence[tuple[str, str]]) -> str:
    """The plain listing: one line per node with its status and inputs."""
    parents: dict[str, list[str]] = {}
    for up, down in edges:
        parents.setdefault(down, []).append(up)
    lines = []
    for node in nodes:
        detail = f", {node.detail}" if node.detail else ""
        kind = "not defined" if node.external else node.status
        inputs = f" <- {', '.join(parents[node.name])}" if node.name in parents else ""
        flag = (
            f", {CHECK_FLAG} {checks_failing(node.checks_failing)}" if node.checks_failing else ""
        )
        lines.append(f"{node.name} ({kind}{detail}{flag}){inputs}")
    return "\n".join(lines) if lines else "(no assets)"


def graph(
    asset: Asset | str | None = None,
    *,
    upstream: int | None = None,
    downstream: int | None = None,
    status: bool = True,
    cluster: bool = True,
    registry: Registry | None = None,
    home: str | None = None,
) -> GraphView:
    """Draw the asset graph, coloured by status, inline in the notebook.

    Parameters
    ----------
    asset
        Focus on this asset's neighbourhood (default: the whole graph).
    upstream, downstream
        With a focus: how many levels to show each way (default: all).
    status
        Colour nodes by status (reads the catalog); ``False`` draws definitions only.
    cluster
        Group assets by their first tag.
    registry
        Where assets are defined (default: the kernel registry).
    home
        The store home (default: the configured one).

    Returns
    -------
    GraphView
        Renders as SVG (Graphviz), an interactive widget without ``dot``, or text;
        ``.source`` is the DOT text.
    """
    registry = resolve_registry(registry)
    focus = None if asset is None else name_of(asset)
    names = select_assets(registry, focus, upstream, downstream)
    report = compute_status(registry, get_store(home), names) if status and names else None
    return draw(registry, names, report, cluster=cluster, focus=focus)


def draw(
    registry: Registry,
    names: Sequence[str],
    report: StatusReport | None,
    *,
    cluster: bool,
    focus: str | None,
) -> GraphView:
    """The view of ``names`` coloured by ``report`` (``None``: status unknown).

    Parameters
    ----------
    registry
        Where the assets are defined.
    names
        The assets to draw (see :func:`select_assets`).
    report
        Their status, or ``None`` to draw definitions only.
    cluster
        Group assets by their first tag.
    focus
        The asset drawn with a thick border, if any.
    """
    from flowstone_nb._notebook.graph.render import GraphView

    nodes, edges = graph_nodes(registry, names, report)
    source = to_dot(nodes, edges, cluster=cluster, highlight=focus)
    return GraphView(source, text=graph_text(nodes, edges), nodes=nodes)
