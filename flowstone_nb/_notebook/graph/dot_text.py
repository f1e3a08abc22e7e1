r"""DOT text for the asset graph: status colours, clusters, escaping, and collapsing big graphs.

This module owns turning plain node views and edges into Graphviz DOT text. It is pure: no graphviz
package, no IPython, no IO; :mod:`flowstone_nb._notebook.graph.render` renders what it writes.

Decisions:

* Output is deterministic: nodes, clusters and edges are sorted; duplicate edges are dropped.
* Every user string goes into a quoted DOT string, never into an HTML-like label. In labels and
  tooltips (Graphviz "escString"s) backslashes and quotes are escaped, newlines become ``\n``,
  other control characters become spaces, and ``& < > { } |`` become character entities, which
  Graphviz draws literally (it would otherwise read ``&lt;`` as an entity). Node ids are the
  names themselves when they consist of letters, digits and ``_ . - : /`` only; any other name
  gets a synthetic id starting with a backslash, which no verbatim id contains, so ids never
  clash and no user text reaches the DOT text unescaped.
* Status is both the fill colour and an SVG class (``fs-node fs-status-<status>``, plus
  ``fs-external``, ``fs-focus``, ``fs-group``), so tests and stylesheets can find it.
* A node with failing data checks keeps its status fill and gets a badge: a last label line
  ("⚑ 2 checks failing"), an outline in the failing colour and the class ``fs-checks-failing``;
  its tooltip names the checks. A collapsed group adds up its members' badges.
* An edge end that is not among the nodes is drawn as an external (dashed) node of its own.
* Big graphs: with clustering on and more than :data:`COLLAPSE_ABOVE` nodes, each group of two or
  more assets is drawn as one node, labelled with its counts ("42 assets: 40 fresh, 2 stale") and
  coloured by its worst status; edges between groups are merged. The group of the highlighted
  node stays open as a cluster. ``cluster=False`` draws every node.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from flowstone_nb._core.errors import AssetNotFoundError, FlowstoneError, did_you_mean
from flowstone_nb._core.html import CHECK_FLAG, checks_failing
from flowstone_nb._core.states import UNKNOWN, CheckState, Freshness, strong_colour, tint_colour

__all__ = [
    "CHECKS_OUTLINE",
    "COLLAPSE_ABOVE",
    "NODE_FILLS",
    "NODE_OUTLINES",
    "NODE_STATES",
    "TEXT_COLOUR",
    "NodeView",
    "escape",
    "to_dot",
]

#: The states the graph draws: an asset's freshness, or unknown when it has none.
NODE_STATES = (*Freshness, UNKNOWN)
#: Fill colour per state: light tints, so the dark text stays readable on light and dark pages.
NODE_FILLS: Mapping[str, str] = MappingProxyType({s: tint_colour(s) for s in NODE_STATES})
#: Outline colour per state: its strong colour, as tables and widgets show it.
NODE_OUTLINES: Mapping[str, str] = MappingProxyType({s: strong_colour(s) for s in NODE_STATES})
#: Text colour on every fill.
TEXT_COLOUR = "#1b1b1b"
#: The outline of a node some data check fails on (its fill stays its status's).
CHECKS_OUTLINE = strong_colour(CheckState.FAILING)
#: With clustering on, graphs with more nodes than this draw each group as one node.
COLLAPSE_ABOVE = 150

_RANKDIRS = ("LR", "TB", "RL", "BT")
_COUNT_ORDER = (
    Freshness.FRESH,
    Freshness.STALE,
    Freshness.RUNNING,
    Freshness.FAILED,
    Freshness.MISSING,
    UNKNOWN,
)
_WORST_FIRST = (
    Freshness.FAILED,
    Freshness.RUNNING,
    Freshness.STALE,
    Freshness.MISSING,
    UNKNOWN,
    Freshness.FRESH,
)
_TOOLTIP_MEMBERS = 30
_FONT = "Helvetica,Arial,sans-serif"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "{": "&#123;", "}": "&#125;", "|": "&#124;"}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r\n": "\\n", "\r": "\\n", **_ENTITIES}
_SPECIAL = re.compile(r'\r\n|[\\"\n&<>{}|]|[\x00-\x1f\x7f]')
_VERBATIM_ID = re.compile(r"[\w.:/-]+")


@dataclass(frozen=True)
class NodeView:
    """What the graph shows for one asset.

    Parameters
    ----------
    name
        The asset name.
    status
        ``"missing"``, ``"fresh"``, ``"stale"``, ``"failed"``, ``"running"`` or ``"unknown"``.
    detail
        A second label line, e.g. ``"28/31 fresh"`` or ``"3 rows"``.
    tags
        The asset's tags.
    description
        The tooltip.
    group
        The cluster label; ``None`` means the first tag, ``""`` means no cluster.
    external
        A dependency that is not defined: drawn dashed.
    checks_failing
        How many of its data checks fail (on any of its partitions): its badge.
    checks_detail
        Which, on which partitions (added to the tooltip).
    """

    name: str
    status: str
    detail: str = ""
    tags: tuple[str, ...] = ()
    description: str = ""
    group: str | None = None
    external: bool = False
    checks_failing: int = 0
    checks_detail: str = ""

    @property
    def cluster(self) -> str | None:
        """The group this node is clustered in, or ``None``."""
        group = self.group if self.group is not None else (self.tags[0] if self.tags else None)
        return group or None


def escape(text: str) -> str:
    """Escape ``text`` for a quoted DOT label or tooltip, so Graphviz draws it verbatim."""
    return _SPECIAL.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    return _ESCAPES.get(match.group(), " ")


def _quoted(text: str) -> str:
    return f'"{escape(text)}"'


def _status_key(status: str) -> str:
    return status if status in NODE_FILLS else UNKNOWN


def _css_class(status: str) -> str:
    return "fs-status-" + re.sub(r"[^a-z0-9_-]", "-", status.lower())


def _node_id(name: str, kind: str = "node") -> str:
    if kind == "node" and _VERBATIM_ID.fullmatch(name):
        return f'"{name}"'
    digest = hashlib.blake2b(name.encode("utf-8", "backslashreplace"), digest_size=8).hexdigest()
    readable = name if _VERBATIM_ID.fullmatch(name) else digest
    return f'"\\#{kind}:{readable}"'


@dataclass(frozen=True)
class _Box:
    """One drawn node: an asset, or a collapsed group of assets."""

    ident: str
    label: str
    status: str
    tooltip: str
    classes: tuple[str, ...]
    dashed: bool = False
    focus: bool = False
    checks_failing: int = 0

    def statement(self) -> str:
        key = _status_key(self.status)
        style = "rounded,filled,dashed" if self.dashed else "rounded,filled"
        flagged = self.checks_failing > 0
        label = f"{self.label}\n{_badge(self.checks_failing)}" if flagged else self.label
        classes = (*self.classes, *(["fs-checks-failing"] * flagged), _css_class(self.status))
        attributes = [
            f"label={_quoted(label)}",
            f"tooltip={_quoted(self.tooltip)}",
            f'class="{" ".join(classes)}"',
            f'style="{style}"',
            f'fillcolor="{NODE_FILLS[key]}"',
            f'color="{CHECKS_OUTLINE if flagged else NODE_OUTLINES[key]}"',
        ]
        if self.focus:
            attributes.append("penwidth=3")
        elif flagged:
            attributes.append("penwidth=2.5")
        return f"{self.ident} [{', '.join(attributes)}];"


def _badge(count: int) -> str:
    """The label line of a node some data checks fail on: ``⚑ 2 checks failing``."""
    return f"{CHECK_FLAG} {checks_failing(count)}"


def _asset_box(node: NodeView, focus: bool) -> _Box:
    detail = node.detail or ("not defined" if node.external else "")
    classes = ("fs-node", *(["fs-external"] * node.external), *(["fs-focus"] * focus))
    tooltip = node.description or f"{node.name} ({node.status})"
    if node.checks_failing:
        tooltip = f"{tooltip}\n{_badge(node.checks_failing)}: {node.checks_detail}"
    return _Box(
        ident=_node_id(node.name),
        label=f"{node.name}\n{detail}" if detail else node.name,
        status=node.status,
        tooltip=tooltip,
        classes=classes,
        dashed=node.external,
        focus=focus,
        checks_failing=node.checks_failing,
    )


def _group_box(group: str, members: Sequence[NodeView]) -> _Box:
    counts = Counter(_status_key(m.status) for m in members)
    summary = ", ".join(f"{counts[s]} {s}" for s in _COUNT_ORDER if counts[s])
    worst = next(s for s in _WORST_FIRST if counts[s])
    names = sorted(m.name for m in members)
    listed = ", ".join(names[:_TOOLTIP_MEMBERS])
    more = f", and {len(names) - _TOOLTIP_MEMBERS} more" if len(names) > _TOOLTIP_MEMBERS else ""
    return _Box(
        ident=_node_id(group, "group"),
        label=f"{group}\n{len(members)} assets: {summary}",
        status=worst,
        tooltip=f"{group}: {listed}{more}",
        classes=("fs-group",),
        checks_failing=sum(m.checks_failing for m in members),
    )


def _checked(
    nodes: Sequence[NodeView], edges: Iterable[tuple[str, str]], rankdir: str, highlight: str | None
) -> tuple[list[NodeView], str]:
    """The nodes (plus implicit external ones), sorted, and the normalised rankdir."""
    direction = rankdir.upper()
    if direction not in _RANKDIRS:
        raise FlowstoneError(
            f"rankdir {rankdir!r} is not a Graphviz direction: use one of "
            f"{', '.join(map(repr, _RANKDIRS))} (LR draws left to right)."
            f"{did_you_mean(direction, _RANKDIRS)}"
        )
    by_name: dict[str, NodeView] = {}
    for node in nodes:
        if node.name in by_name:
            raise FlowstoneError(
                f"Node {node.name!r} is given twice to to_dot: pass each node once."
            )
        by_name[node.name] = node
    for end in sorted({end for edge in edges for end in edge} - by_name.keys()):
        by_name[end] = NodeView(end, UNKNOWN, external=True)
    if highlight is not None and highlight not in by_name:
        raise AssetNotFoundError(highlight, by_name, context="to highlight in the graph")
    return sorted(by_name.values(), key=lambda n: n.name), direction


def _collapsed(nodes: Sequence[NodeView], highlight: str | None) -> dict[str, list[NodeView]]:
    """The groups to draw as one node each."""
    groups: dict[str, list[NodeView]] = {}
    for node in nodes:
        if node.cluster is not None:
            groups.setdefault(node.cluster, []).append(node)
    kept_open = next((n.cluster for n in nodes if n.name == highlight), None)
    return {g: members for g, members in groups.items() if len(members) > 1 and g != kept_open}


def _cluster_lines(index: int, group: str, boxes: Sequence[_Box]) -> list[str]:
    return [
        f'  subgraph "cluster_{index}" {{',
        f"    label={_quoted(group)};",
        '    style="rounded,dashed"; color="#bdbdbd"; fontcolor="#616161";',
        *(f"    {box.statement()}" for box in boxes),
        "  }",
    ]


def _header(title: str | None, rankdir: str) -> list[str]:
    lines = [
        "digraph flowstone {",
        (
            f"  graph [rankdir={rankdir}, ranksep=0.35, nodesep=0.15, newrank=true, "
            f'bgcolor="transparent", fontname="{_FONT}", fontsize=11];'
        ),
        (
            f'  node [shape=box, fontname="{_FONT}", fontsize=10, height=0.3, '
            f'margin="0.1,0.04", penwidth=1.2, fontcolor="{TEXT_COLOUR}"];'
        ),
        '  edge [color="#9e9e9e", arrowsize=0.6];',
    ]
    if title:
        lines.append(f"  label={_quoted(title)}; labelloc=t;")
    return lines


def to_dot(
    nodes: Sequence[NodeView],
    edges: Sequence[tuple[str, str]],
    *,
    title: str | None = None,
    rankdir: str = "LR",
    cluster: bool = True,
    highlight: str | None = None,
) -> str:
    """The DOT text of an asset graph.

    Parameters
    ----------
    nodes
        One view per asset (and per undefined dependency).
    edges
        ``(upstream, downstream)`` name pairs.
    title
        A label drawn above the graph.
    rankdir
        ``"LR"`` (left to right), ``"TB"``, ``"RL"`` or ``"BT"``.
    cluster
        Draw groups (see :attr:`NodeView.cluster`) as clusters, collapsing big graphs.
    highlight
        The name of the node in focus: drawn with a thicker border.

    Returns
    -------
    str
        Deterministic DOT text.

    Raises
    ------
    FlowstoneError
        For an unknown ``rankdir`` or a node given twice.
    AssetNotFoundError
        When ``highlight`` is not one of the nodes.
    """
    ordered, direction = _checked(nodes, edges, rankdir, highlight)
    collapsed = _collapsed(ordered, highlight) if cluster and len(ordered) > COLLAPSE_ABOVE else {}
    ident = {n.name: _node_id(n.name) for n in ordered}
    ident.update(
        {m.name: _node_id(g, "group") for g, members in collapsed.items() for m in members}
    )
    clusters: dict[str, list[_Box]] = {}
    loose = [_group_box(g, members) for g, members in sorted(collapsed.items())]
    for node in ordered:
        if node.cluster in collapsed:
            continue
        box = _asset_box(node, node.name == highlight)
        if cluster and node.cluster is not None:
            clusters.setdefault(node.cluster, []).append(box)
        else:
            loose.append(box)
    lines = _header(title, direction)
    for index, group in enumerate(sorted(clusters)):
        lines += _cluster_lines(index, group, clusters[group])
    lines += [f"  {box.statement()}" for box in sorted(loose, key=lambda b: b.ident)]
    pairs = {(ident[up], ident[down]) for up, down in edges if ident[up] != ident[down]}
    lines += [f"  {up} -> {down};" for up, down in sorted(pairs)]
    lines.append("}")
    return "\n".join(lines) + "\n"
