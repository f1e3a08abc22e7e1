"""DOT text for the asset graph: colours, clusters, escaping, order, collapsing; real ``dot``."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import FrozenInstanceError
from typing import NamedTuple

import pytest

from flowstone_nb._core.errors import AssetNotFoundError, FlowstoneError
from flowstone_nb._notebook.graph.dot_text import COLLAPSE_ABOVE, NODE_FILLS, NodeView, to_dot

DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="Graphviz's dot program is not installed")
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def node_line(dot: str, node_id: str) -> str:
    """The statement that declares node ``node_id`` (a plain name)."""
    lines = [line for line in dot.splitlines() if line.strip().startswith(f'"{node_id}" [')]
    assert len(lines) == 1, dot
    return lines[0]


def attribute(line: str, name: str) -> str:
    match = re.search(rf'\b{name}="((?:[^"\\]|\\.)*)"', line)
    assert match, line
    return match.group(1)


def render(dot: str) -> ET.Element:
    assert DOT is not None
    svg = subprocess.run([DOT, "-Tsvg"], input=dot, capture_output=True, text=True, check=True)
    assert svg.stderr == "", svg.stderr
    return ET.fromstring(svg.stdout)


class SvgNode(NamedTuple):
    classes: list[str]
    texts: list[str]
    tooltip: str | None


def svg_nodes(root: ET.Element) -> dict[str, SvgNode]:
    """Per SVG node group: its classes, the texts drawn and the tooltip, keyed by first text."""
    found: dict[str, SvgNode] = {}
    for group in root.iter(f"{SVG}g"):
        classes = (group.get("class") or "").split()
        if "node" not in classes:
            continue
        texts = [t.text or "" for t in group.iter(f"{SVG}text")]
        links = [a.get(f"{XLINK}title") for a in group.iter(f"{SVG}a")]
        found[texts[0]] = SvgNode(classes, texts, links[0] if links else None)
    return found


STATUSES = ("missing", "fresh", "stale", "failed", "running", "unknown")


def test_every_status_has_its_own_fill_colour_and_class() -> None:
    assert set(STATUSES) <= set(NODE_FILLS)
    assert len({NODE_FILLS[s] for s in STATUSES}) == len(STATUSES)
    dot = to_dot([NodeView(f"n_{s}", s) for s in STATUSES], [])
    for status in STATUSES:
        line = node_line(dot, f"n_{status}")
        assert attribute(line, "fillcolor") == NODE_FILLS[status]
        assert f"fs-status-{status}" in attribute(line, "class").split()
        assert "fs-node" in attribute(line, "class").split()


def test_an_unknown_status_is_drawn_as_unknown_with_a_safe_class() -> None:
    line = node_line(to_dot([NodeView("a", 'we ird"<x>')], []), "a")
    assert attribute(line, "fillcolor") == NODE_FILLS["unknown"]
    assert attribute(line, "class") == "fs-node fs-status-we-ird--x-"


def test_labels_and_tooltips() -> None:
    dot = to_dot(
        [
            NodeView("daily", "fresh", detail="28/31 fresh", description="Daily sales."),
            NodeView("plain", "stale"),
        ],
        [("daily", "plain")],
    )
    assert attribute(node_line(dot, "daily"), "label") == r"daily\n28/31 fresh"
    assert attribute(node_line(dot, "daily"), "tooltip") == "Daily sales."
    assert attribute(node_line(dot, "plain"), "label") == "plain"
    assert attribute(node_line(dot, "plain"), "tooltip") == "plain (stale)"
    assert '"daily" -> "plain";' in dot


def test_value_objects_are_frozen() -> None:
    node = NodeView("a", "fresh")
    with pytest.raises(FrozenInstanceError):
        node.name = "b"  # type: ignore[misc]  # the point of the test: assignment must fail


def cluster_members(dot: str) -> dict[str, list[str]]:
    """Cluster label -> the node ids declared inside it."""
    clusters: dict[str, list[str]] = {}
    current: str | None = None
    for line in dot.splitlines():
        stripped = line.strip()
        if stripped.startswith("subgraph "):
            current = ""
            continue
        if current is not None and stripped.startswith("label="):
            current = attribute(stripped, "label")
            clusters[current] = []
        elif current is not None and stripped == "}":
            current = None
        elif current and stripped.startswith('"'):
            clusters[current].append(stripped.split('"')[1])
    return clusters


def test_clusters_by_group_defaulting_to_the_first_tag() -> None:
    nodes = [
        NodeView("orders", "fresh", tags=("sales", "daily")),
        NodeView("refunds", "fresh", tags=("sales",)),
        NodeView("stock", "fresh", tags=("sales",), group="warehouse"),
        NodeView("report", "fresh", tags=("finance",), group=""),
        NodeView("loose", "fresh"),
    ]
    dot = to_dot(nodes, [("orders", "report")])
    assert cluster_members(dot) == {"sales": ["orders", "refunds"], "warehouse": ["stock"]}
    assert "subgraph" not in to_dot(nodes, [], cluster=False)
    for name in ("report", "loose"):
        node_line(dot, name)


def test_highlight_draws_a_thicker_border_on_the_focus() -> None:
    nodes = [NodeView("raw", "fresh"), NodeView("clean", "stale")]
    dot = to_dot(nodes, [("raw", "clean")], highlight="clean")
    assert "penwidth=3" in node_line(dot, "clean")
    assert "fs-focus" in attribute(node_line(dot, "clean"), "class")
    assert "penwidth=3" not in node_line(dot, "raw")
    with pytest.raises(AssetNotFoundError, match=r"Unknown asset 'clen'.*Did you mean 'clean'"):
        to_dot(nodes, [], highlight="clen")


def test_external_nodes_are_dashed_and_implicit_edge_ends_become_external() -> None:
    dot = to_dot(
        [NodeView("b", "fresh"), NodeView("ghost", "missing", external=True)],
        [
            ("ghost", "b"),
            ("phantom", "b"),
        ],
    )
    for name in ("ghost", "phantom"):
        line = node_line(dot, name)
        assert "dashed" in attribute(line, "style")
        assert "fs-external" in attribute(line, "class")
        assert attribute(line, "label") == rf"{name}\nnot defined"
    assert "dashed" not in attribute(node_line(dot, "b"), "style")


def test_a_node_given_twice_is_an_error() -> None:
    with pytest.raises(FlowstoneError, match=r"Node 'a' is given twice"):
        to_dot([NodeView("a", "fresh"), NodeView("a", "stale")], [])


def test_rankdir_and_title() -> None:
    dot = to_dot([NodeView("a", "fresh")], [], title='Sales "Q1" \\ <b>', rankdir="tb")
    assert "rankdir=TB" in dot
    assert r'label="Sales \"Q1\" \\ &lt;b&gt;"' in dot
    with pytest.raises(FlowstoneError, match=r"rankdir 'LF' is not a Graphviz direction.*'LR'"):
        to_dot([], [], rankdir="LF")


def test_output_is_deterministic_whatever_the_input_order() -> None:
    nodes = [NodeView(f"n{i}", STATUSES[i % 6], tags=(f"t{i % 3}",)) for i in range(30)]
    edges = [(f"n{i}", f"n{i + 1}") for i in range(29)] + [("n0", "n1")]
    first = to_dot(nodes, edges)
    shuffled_nodes, shuffled_edges = nodes[:], edges[:]
    generator = random.Random(7)
    generator.shuffle(shuffled_nodes)
    generator.shuffle(shuffled_edges)
    assert to_dot(shuffled_nodes, shuffled_edges) == first
    assert first.count('"n0" -> "n1";') == 1


def test_an_empty_graph() -> None:
    dot = to_dot([], [])
    assert dot.startswith("digraph flowstone {")
    assert dot.rstrip().endswith("}")


HOSTILE = [
    'quote"d',
    "back\\slash",
    "ends with \\",
    "<script>alert(1)</script>",
    "{braces}|pipe",
    "&lt;entity&gt; & amp",
    "multi\nline",
    "tab\tand\x01control",
]


def test_hostile_strings_are_escaped_in_the_dot_text() -> None:
    nodes = [NodeView(name, "fresh", description=name, detail=name) for name in HOSTILE]
    dot = to_dot(nodes, [(HOSTILE[0], HOSTILE[1])], title=HOSTILE[3])
    assert "<script>" not in dot
    assert "\x01" not in dot
    # every quoted string is closed: quotes outside escapes pair up on each line
    for line in dot.splitlines():
        assert len(re.findall(r'(?<!\\)(?:\\\\)*"', line)) % 2 == 0, line


@needs_dot
def test_hostile_strings_reach_the_picture_unchanged() -> None:
    nodes = [NodeView(name, "fresh", description=f"about {name}", detail="d") for name in HOSTILE]
    edges = [(HOSTILE[i], HOSTILE[i + 1]) for i in range(len(HOSTILE) - 1)]
    root = render(to_dot(nodes, edges, title="<b>title</b>"))
    drawn = svg_nodes(root)
    expected = {name.replace("\t", " ").replace("\x01", " ") for name in HOSTILE}
    single_lines = {name.split("\n")[0] for name in expected}
    assert set(drawn) == single_lines
    for name in HOSTILE:
        shown = name.replace("\t", " ").replace("\x01", " ")
        node = drawn[shown.split("\n")[0]]
        assert node.texts == [*shown.split("\n"), "d"]
        assert node.tooltip == f"about {shown}"
    edges_drawn = [g for g in root.iter(f"{SVG}g") if "edge" in (g.get("class") or "").split()]
    assert len(edges_drawn) == len(edges)


@needs_dot
def test_status_classes_reach_the_svg() -> None:
    root = render(to_dot([NodeView(f"n_{s}", s) for s in STATUSES], [], highlight="n_stale"))
    drawn = svg_nodes(root)
    for status in STATUSES:
        assert f"fs-status-{status}" in drawn[f"n_{status}"].classes
    assert "fs-focus" in drawn["n_stale"].classes


def big_graph(
    groups: int = 4, per_group: int = 45, loose: int = 10
) -> tuple[list[NodeView], list[tuple[str, str]]]:
    nodes = []
    for g in range(groups):
        for i in range(per_group):
            status = "stale" if i % 15 == 0 else "fresh"
            nodes.append(NodeView(f"g{g}_n{i}", status, tags=(f"group{g}",)))
    nodes += [NodeView(f"loose{i}", "missing") for i in range(loose)]
    edges = [(f"g{g}_n{i}", f"g{g}_n{i + 1}") for g in range(groups) for i in range(per_group - 1)]
    edges += [(f"g{g}_n0", f"g{g + 1}_n5") for g in range(groups - 1)]
    edges += [(f"g{g}_n1", f"g{g + 1}_n7") for g in range(groups - 1)]
    edges += [("loose0", "g0_n0"), ("g3_n44", "loose1")]
    return nodes, edges


def test_large_graphs_collapse_each_group_into_one_node_with_counts() -> None:
    nodes, edges = big_graph()
    assert len(nodes) > COLLAPSE_ABOVE
    dot = to_dot(nodes, edges)
    assert "subgraph" not in dot
    assert not [line for line in dot.splitlines() if line.strip().startswith('"g0_n1"')]
    group_lines = [line for line in dot.splitlines() if "fs-group" in line]
    assert len(group_lines) == 4
    label = attribute(group_lines[0], "label")
    assert label == r"group0\n45 assets: 42 fresh, 3 stale"
    assert "fs-status-stale" in attribute(group_lines[0], "class")
    assert attribute(group_lines[0], "fillcolor") == NODE_FILLS["stale"]
    # group-to-group edges are merged, and loose nodes keep theirs
    assert dot.count("->") == 3 + 2
    node_line(dot, "loose0")


def test_collapsing_keeps_the_focus_group_open_and_can_be_turned_off() -> None:
    nodes, edges = big_graph()
    focused = to_dot(nodes, edges, highlight="g1_n3")
    assert cluster_members(focused) == {"group1": [f"g1_n{i}" for i in sorted(range(45), key=str)]}
    assert len([line for line in focused.splitlines() if "fs-group" in line]) == 3
    flat = to_dot(nodes, edges, cluster=False)
    assert "fs-group" not in flat
    assert "subgraph" not in flat
    small = to_dot(nodes[:COLLAPSE_ABOVE], edges[:10])
    assert "fs-group" not in small


def test_a_collapsed_group_tooltip_lists_members_and_is_bounded() -> None:
    nodes, edges = big_graph()
    line = next(line for line in to_dot(nodes, edges).splitlines() if "fs-group" in line)
    tooltip = attribute(line, "tooltip")
    assert tooltip.startswith("group0: g0_n0, g0_n1, ")
    assert tooltip.endswith("and 15 more")


def test_group_ids_never_clash_with_asset_names() -> None:
    nodes, edges = big_graph()
    nodes = [*nodes, NodeView("group0", "fresh"), NodeView('we"ird', "fresh", tags=('we"ird',))]
    nodes += [NodeView(f'we"ird{i}', "fresh", tags=('we"ird',)) for i in range(3)]
    dot = to_dot(nodes, [*edges, ("group0", "g0_n3")])
    node_line(dot, "group0")
    assert dot.count("fs-group") == 5


@needs_dot
def test_dot_accepts_a_collapsed_and_a_flat_large_graph() -> None:
    nodes, edges = big_graph(groups=5, per_group=40, loose=20)
    for dot in (
        to_dot(nodes, edges),
        to_dot(nodes, edges, cluster=False),
        to_dot(nodes[:100], edges),
    ):
        root = render(dot)
        assert root.tag == f"{SVG}svg"


def test_the_module_imports_nothing_heavy() -> None:
    script = (
        "import sys, flowstone_nb._notebook.graph.dot_text\n"
        "heavy = {'graphviz', 'IPython', 'ipywidgets', 'pandas'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_outlines_take_the_strong_status_colour_of_the_tables_and_widgets() -> None:
    from flowstone_nb._core import states as _states
    from flowstone_nb._notebook.graph import dot_text as _dot_text

    assert set(_dot_text.NODE_OUTLINES) == set(_dot_text.NODE_FILLS)
    for status, outline in _dot_text.NODE_OUTLINES.items():
        assert outline == _states.strong_colour(status), status
    assert _states.strong_colour("no-such-status") == _states.PALETTE[_states.UNKNOWN].strong
    assert _dot_text.NODE_OUTLINES["unknown"] == _states.PALETTE[_states.UNKNOWN].strong
