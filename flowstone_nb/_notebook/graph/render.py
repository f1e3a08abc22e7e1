"""The graph view that ``fs.graph`` returns: DOT text that draws itself wherever it is shown.

This module owns choosing how a graph renders and the module-level switch
(:func:`set_renderer`): as SVG when Graphviz's ``dot`` program works, else as the interactive
in-browser widget from ``graphviz_anywidget`` (it lays the graph out in the browser, no ``dot``
needed), else as text (a plain listing, and the DOT text in an HTML ``<pre>``). The interactive
view (:class:`InteractiveGraph`) always carries a static copy beside the widget (the SVG, else the
text), so an exported notebook, GitHub or a closed kernel shows the graph, never a widget's repr.
Every user string that reaches HTML is escaped; the SVG itself is written (and escaped) by
``dot``.

It is imported lazily (only when a graph is drawn) and imports the ``graphviz`` and
``graphviz_anywidget`` packages inside functions only. It must not build DOT text (that is
:mod:`flowstone_nb._notebook.graph.dot_text`) nor read the registry or the store.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Collection, Sequence
from typing import Any

from flowstone_nb._core.errors import FlowstoneError, did_you_mean
from flowstone_nb._core.html import esc
from flowstone_nb._notebook.graph.dot_text import NodeView
from flowstone_nb._notebook.widgets.base import WidgetView

__all__ = [
    "RENDERERS",
    "GraphView",
    "InteractiveGraph",
    "dot_available",
    "get_renderer",
    "set_renderer",
]

#: The ways a graph can render: ``auto`` picks SVG, then the widget, then text.
RENDERERS = ("auto", "svg", "widget", "text")

_INSTALL_GRAPHVIZ = (
    "Install Graphviz (`apt-get install graphviz`, `conda install graphviz` or "
    "`brew install graphviz`), or use `.widget()` for the in-browser view or `.source` for the "
    "DOT text."
)
_INSTALL_WIDGET = (
    "The interactive graph view needs the graphviz-anywidget package: "
    '`pip install "flowstone-nb[widgets]"` (or `pip install graphviz-anywidget`), then restart '
    "the kernel."
)
_KERNEL_NOTE = "The interactive graph needs a running kernel; here it is as text."
_renderer = "auto"
_dot_found: dict[str, bool] = {}


def set_renderer(name: str) -> str:
    """Choose how graphs render from now on in this kernel.

    Parameters
    ----------
    name
        ``"auto"`` (SVG if Graphviz's ``dot`` works, else the interactive widget, else text),
        ``"svg"``, ``"widget"`` or ``"text"``. A forced choice that cannot work shows text.

    Returns
    -------
    str
        The previous choice, so it can be restored.
    """
    global _renderer  # the switch is per kernel by design, like matplotlib's backend
    if name not in RENDERERS:
        raise FlowstoneError(
            f"Unknown graph renderer {name!r}: use one of {', '.join(map(repr, RENDERERS))}."
            f"{did_you_mean(name, RENDERERS)}"
        )
    previous, _renderer = _renderer, name
    return previous


def get_renderer() -> str:
    """The current renderer choice (see :func:`set_renderer`)."""
    return _renderer


def dot_available(*, refresh: bool = False) -> bool:
    """Whether a ``dot`` program is on ``PATH`` (cached per ``PATH`` value).

    Parameters
    ----------
    refresh
        Look again instead of trusting the cache (e.g. after installing Graphviz).
    """
    path = os.environ.get("PATH", os.defpath)
    found = None if refresh else _dot_found.get(path)
    if found is None:
        found = _dot_found[path] = shutil.which("dot", path=path) is not None
    return found


def _render_svg(source: str, *, refresh: bool) -> str:
    """Run ``dot``; every way it can fail becomes a :class:`FlowstoneError` that says what to do."""
    try:
        import graphviz  # optional and slow to import: only when drawing
    except ImportError:
        raise FlowstoneError(
            "Cannot draw the graph as SVG: the graphviz Python package is not installed: "
            f"`pip install graphviz`. {_INSTALL_GRAPHVIZ}"
        ) from None
    if not dot_available(refresh=refresh):
        raise FlowstoneError(
            f"Cannot draw the graph as SVG: Graphviz's `dot` program is not on PATH. "
            f"{_INSTALL_GRAPHVIZ}"
        )
    try:
        svg: str = graphviz.Source(source).pipe(format="svg", encoding="utf-8", quiet=True)
    except graphviz.ExecutableNotFound as error:
        raise FlowstoneError(
            f"Cannot draw the graph as SVG: Graphviz's `dot` is on PATH but could not be run "
            f"({error}). {_INSTALL_GRAPHVIZ}"
        ) from error
    except graphviz.CalledProcessError as error:
        raise FlowstoneError(
            # With encoding= given, graphviz hands over stderr as text.
            f"Graphviz could not draw the graph: {str(error.stderr or 'no message').strip()}. "
            "The DOT text is in `.source`."
        ) from error
    return svg


def _rejected_by_dot(problem: FlowstoneError | None) -> bool:
    """Whether ``dot`` ran and refused the DOT text: then no other renderer will do better."""
    return problem is not None and isinstance(problem.__cause__, subprocess.CalledProcessError)


def _inline(svg: str) -> str:
    # Drop the XML prologue and doctype: inside HTML only the <svg> element belongs.
    _, tag, rest = svg.partition("<svg")
    return tag + rest


def _filtered(
    bundle: dict[str, object], include: Collection[str] | None, exclude: Collection[str] | None
) -> dict[str, object]:
    return {
        key: value
        for key, value in bundle.items()
        if (include is None or key in include) and (exclude is None or key not in exclude)
    }


class GraphView:
    """An asset graph that renders itself: SVG, an interactive widget, or text.

    Parameters
    ----------
    source
        The DOT text.
    text
        A readable plain listing, used as the plain-text view.
    nodes
        The node views the graph was drawn from.
    """

    __slots__ = ("_nodes", "_problem", "_source", "_svg", "_text", "_widget")

    def __init__(self, source: str, *, text: str, nodes: Sequence[NodeView] = ()) -> None:
        self._source = source
        self._text = text
        self._nodes = tuple(nodes)
        self._svg: str | None = None
        self._widget: Any = None
        self._problem: FlowstoneError | None = None

    @property
    def source(self) -> str:
        """The DOT text."""
        return self._source

    @property
    def text(self) -> str:
        """The plain-text listing."""
        return self._text

    @property
    def nodes(self) -> tuple[NodeView, ...]:
        """The node views the graph was drawn from."""
        return self._nodes

    def __repr__(self) -> str:
        return self._text

    def svg(self) -> str:
        """The graph drawn as SVG by Graphviz's ``dot`` (drawn once, then kept).

        Raises
        ------
        FlowstoneError
            When ``dot`` is missing or cannot run (the message says how to install Graphviz), or
            rejects the DOT text.
        """
        return self._drawn(refresh=True)

    def _drawn(self, *, refresh: bool) -> str:
        if self._svg is None:
            self._svg = _render_svg(self._source, refresh=refresh)
        return self._svg

    def widget(self) -> InteractiveGraph:
        """The interactive in-browser view (zoom, search, follow edges); needs no ``dot``.

        Its ``.widget`` is the ipywidgets tree (to place in a layout of your own); shown as it
        is, it carries the static graph as its fallback.

        Raises
        ------
        FlowstoneError
            When the graphviz-anywidget package is not installed.
        """
        if self._widget is None:
            try:
                from graphviz_anywidget import graphviz_widget  # optional
            except ImportError:
                raise FlowstoneError(_INSTALL_WIDGET) from None
            self._widget = InteractiveGraph(self, _readable(graphviz_widget(self._source)))
        widget: InteractiveGraph = self._widget
        return widget

    def _try_svg(self) -> str | None:
        try:
            return self._drawn(refresh=False)
        except FlowstoneError as problem:
            self._problem = problem
            return None

    def _try_widget(self) -> dict[str, object] | None:
        if _rejected_by_dot(self._problem):
            return None
        try:
            widget = self.widget()
        except FlowstoneError as problem:
            self._problem = self._problem or problem
            return None
        bundle: dict[str, object] = widget._repr_mimebundle_()
        return bundle

    def _text_html(self, note: str | None = None) -> str:
        """The listing and the DOT source as HTML, under ``note`` (default: why it is text)."""
        if note is not None:
            pass
        elif self._problem is not None:
            note = str(self._problem)
        elif _renderer == "text":
            note = "Drawn as text (renderer 'text'): choose 'auto' to draw a picture."
        else:
            note = _KERNEL_NOTE
        return (
            '<div class="fs-graph fs-graph-text">'
            f'<p class="fs-graph-note">{esc(note)}</p>'
            f"<pre>{esc(self._text)}</pre>"
            f"<details><summary>DOT source</summary><pre>{esc(self._source)}</pre></details>"
            "</div>"
        )

    def _bundle(self) -> dict[str, object]:
        self._problem = None
        if _renderer in ("auto", "svg"):
            svg = self._try_svg()
            if svg is not None:
                return {"image/svg+xml": svg, "text/plain": self._text}
        if _renderer in ("auto", "widget"):
            widget = self._try_widget()
            if widget is not None:
                return widget
        return {"text/plain": self._text, "text/html": self._text_html()}

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, object]:
        """What Jupyter displays: SVG, else the widget, else text (see :func:`set_renderer`)."""
        return _filtered(self._bundle(), include, exclude)

    def _repr_html_(self) -> str:
        """The SVG inline in HTML when ``dot`` works, else the escaped text and DOT source."""
        self._problem = None
        if _renderer in ("auto", "svg"):
            svg = self._try_svg()
            if svg is not None:
                return f'<div class="fs-graph">{_inline(svg)}</div>'
        return self._text_html()


class InteractiveGraph(WidgetView):
    """The in-browser graph (graphviz-anywidget) with the static graph as its fallback.

    Parameters
    ----------
    graph
        The graph it shows.
    widget
        The ipywidgets tree of the interactive view.

    Attributes
    ----------
    widget
        The ipywidgets tree.
    """

    def __init__(self, graph: GraphView, widget: Any) -> None:
        self.graph = graph
        self.widget = widget

    def to_html(self) -> str:
        """The graph drawn as SVG when ``dot`` works, else its text (outside a kernel)."""
        try:
            svg = self.graph._drawn(refresh=False)
        except FlowstoneError:
            return self.graph._text_html(_KERNEL_NOTE)
        return f'<div class="fs-graph">{_inline(svg)}</div>'

    def to_text(self) -> str:
        """The graph's plain listing."""
        return self.graph.text


def _readable(tree: Any) -> Any:
    """``tree`` with every control's label shown whole ("Search Type:", not "Search Ty…")."""
    for child in getattr(tree, "children", ()):
        _readable(child)
        style: Any = getattr(child, "style", None)
        if getattr(child, "description", None) and hasattr(style, "description_width"):
            style.description_width = "initial"
    return tree
