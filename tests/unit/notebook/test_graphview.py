"""The self-rendering graph view: SVG with dot, the widget without it, text as the last resort."""

from __future__ import annotations

import shutil
import stat
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._notebook.graph import render as _render
from flowstone_nb._notebook.graph.dot_text import NodeView, to_dot
from flowstone_nb._notebook.graph.render import GraphView, get_renderer, set_renderer

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed"
)

NODES = [
    NodeView("raw", "fresh", description="The <script>alert('raw')</script> input."),
    NodeView("<script>evil</script>", "stale", detail="a & b"),
]
EDGES = [("raw", "<script>evil</script>")]
TEXT = "raw (fresh)\n<script>evil</script> (stale) <- raw"


def view() -> GraphView:
    return GraphView(to_dot(NODES, EDGES), text=TEXT, nodes=NODES)


@pytest.fixture(autouse=True)
def renderer() -> Iterator[None]:
    """Every test starts on ``auto`` and leaves the switch as it found it."""
    previous = set_renderer("auto")
    try:
        yield
    finally:
        set_renderer(previous)


@pytest.fixture
def no_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without Graphviz: PATH holds only an empty directory."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.fixture
def no_widget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel without graphviz_anywidget: importing it fails."""
    monkeypatch.setitem(sys.modules, "graphviz_anywidget", None)


def assert_no_raw_script(html: str) -> None:
    assert "<script" not in html.lower()


def test_source_text_nodes_and_repr() -> None:
    graph = view()
    assert graph.source == to_dot(NODES, EDGES)
    assert graph.text == TEXT
    assert graph.nodes == tuple(NODES)
    assert repr(graph) == TEXT
    assert GraphView("digraph {}", text="").nodes == ()


@needs_dot
def test_svg_bundle_with_dot() -> None:
    graph = view()
    bundle = graph._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert bundle["text/plain"] == TEXT
    svg = bundle["image/svg+xml"]
    assert isinstance(svg, str)
    assert "<svg" in svg
    classes = {g.get("class") for g in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}g")}
    assert "node fs-node fs-status-stale" in classes
    assert_no_raw_script(svg)
    assert graph.svg() is svg  # rendered once, then kept


@needs_dot
def test_html_inlines_the_svg_without_the_xml_prologue() -> None:
    html = view()._repr_html_()
    assert html.startswith('<div class="fs-graph">')
    assert "<svg" in html
    assert "<?xml" not in html
    assert "<!DOCTYPE" not in html
    assert_no_raw_script(html)


@needs_dot
def test_include_and_exclude_filter_the_bundle() -> None:
    graph = view()
    assert set(graph._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert set(graph._repr_mimebundle_(exclude=["image/svg+xml"])) == {"text/plain"}


def test_without_dot_the_widget_is_shown(no_dot: None) -> None:
    graph = view()
    bundle = graph._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert bundle["text/plain"] == TEXT
    assert "image/svg+xml" not in bundle
    fallback = str(bundle["text/html"])  # what an exported copy shows: the graph as text
    assert "&lt;script&gt;evil&lt;/script&gt; (stale) &lt;- raw" in fallback
    assert "needs a running kernel" in fallback
    assert_no_raw_script(fallback)
    html = graph._repr_html_()
    assert "<pre" in html
    assert_no_raw_script(html)
    assert "&lt;script&gt;evil&lt;/script&gt;" in html


def test_without_dot_svg_says_how_to_install_graphviz(no_dot: None) -> None:
    with pytest.raises(FlowstoneError, match=r"apt-get install graphviz.*conda install graphviz"):
        view().svg()


def test_without_dot_and_widget_the_text_is_shown(no_dot: None, no_widget: None) -> None:
    graph = view()
    bundle = graph._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"] == TEXT
    html = bundle["text/html"]
    assert isinstance(html, str)
    assert_no_raw_script(html)
    assert "Graphviz" in html
    assert "&lt;script&gt;evil&lt;/script&gt; (stale) &lt;- raw" in html
    assert "digraph flowstone" in html
    with pytest.raises(FlowstoneError, match=r"graphviz-anywidget"):
        graph.widget()


def test_the_widget_gets_our_dot_and_is_kept() -> None:
    from graphviz_anywidget import GraphvizAnyWidget

    graph = view()
    widget = graph.widget()
    inner = [child for child in widget.widget.children if isinstance(child, GraphvizAnyWidget)]
    assert [w.dot_source for w in inner] == [graph.source]
    assert graph.widget() is widget


def controls(graph: GraphView) -> dict[str, object]:
    """Description -> control, of every described control of the interactive view."""
    found: dict[str, object] = {}

    def walk(tree: object) -> None:
        for child in getattr(tree, "children", ()):
            walk(child)
            if getattr(child, "description", None):
                found[child.description] = child

    walk(graph.widget().widget)
    return found


def test_the_interactive_view_shows_every_label_whole() -> None:
    labelled = {
        name: control.style.description_width
        for name, control in controls(view()).items()
        if hasattr(control.style, "description_width")
    }
    assert "Search Type:" in labelled
    assert set(labelled.values()) == {"initial"}


@needs_dot
def test_the_interactive_view_carries_the_svg_for_exported_copies() -> None:
    graph = view()
    bundle = graph.widget()._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert bundle["text/plain"] == TEXT
    assert bundle["text/html"].startswith('<div class="fs-graph"><svg')
    assert "children=" not in bundle["text/plain"]
    assert repr(graph.widget()) == TEXT


def test_the_interactive_view_without_dot_carries_the_text(no_dot: None) -> None:
    bundle = view().widget()._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert "<svg" not in bundle["text/html"]
    assert "needs a running kernel" in bundle["text/html"]
    assert "&lt;script&gt;evil&lt;/script&gt; (stale) &lt;- raw" in bundle["text/html"]
    assert_no_raw_script(bundle["text/html"])


def test_renderer_widget_forces_the_widget_even_with_dot() -> None:
    set_renderer("widget")
    bundle = view()._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert bundle["text/plain"] == TEXT
    assert "<pre" in view()._repr_html_()


def test_renderer_widget_without_the_package_falls_back_to_text(no_widget: None) -> None:
    set_renderer("widget")
    assert set(view()._repr_mimebundle_()) == {"text/plain", "text/html"}


def test_renderer_text_shows_text_only() -> None:
    set_renderer("text")
    graph = view()
    assert set(graph._repr_mimebundle_()) == {"text/plain", "text/html"}
    assert "<svg" not in graph._repr_html_()


@needs_dot
def test_renderer_svg_uses_dot() -> None:
    set_renderer("svg")
    assert "image/svg+xml" in view()._repr_mimebundle_()


def test_renderer_svg_without_dot_falls_back_to_text(no_dot: None) -> None:
    set_renderer("svg")
    bundle = view()._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert "apt-get install graphviz" in str(bundle["text/html"])


def test_set_renderer_checks_the_name_and_returns_the_previous_one() -> None:
    assert set_renderer("text") == "auto"
    assert get_renderer() == "text"
    with pytest.raises(
        FlowstoneError, match=r"Unknown graph renderer 'wdget'.*Did you mean 'widget'"
    ):
        set_renderer("wdget")
    assert get_renderer() == "text"


def test_the_dot_check_is_cached_per_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which("dot")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert not _render.dot_available()
    assert not _render.dot_available()
    if real is not None:
        monkeypatch.setenv("PATH", str(Path(real).parent))
        assert _render.dot_available()


def test_a_dot_that_cannot_start_counts_as_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `which` finds it, but the kernel cannot execute it (its interpreter does not exist).
    broken = tmp_path / "bin"
    broken.mkdir()
    dot = broken / "dot"
    dot.write_text("#!/nonexistent/interpreter\n")
    dot.chmod(dot.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(broken))
    assert _render.dot_available()
    graph = view()
    with pytest.raises(FlowstoneError, match=r"could not be run.*apt-get install graphviz"):
        graph.svg()
    assert WIDGET_VIEW in graph._repr_mimebundle_()


@needs_dot
def test_dot_rejecting_the_source_is_reported_and_shown_as_text() -> None:
    graph = GraphView('digraph { "unterminated }', text="broken")
    with pytest.raises(FlowstoneError, match=r"Graphviz could not draw the graph.*syntax error"):
        graph.svg()
    bundle = graph._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert "syntax error" in str(bundle["text/html"])


def test_without_the_graphviz_package_the_widget_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)
    graph = view()
    assert WIDGET_VIEW in graph._repr_mimebundle_()
    with pytest.raises(FlowstoneError, match=r"pip install graphviz"):
        graph.svg()
