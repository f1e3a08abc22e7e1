"""Driving one notebook in JupyterLab through Playwright, the way a user does.

:class:`NotebookPage` opens a notebook in a reset workspace, runs all cells through the Run menu,
waits on the page's own state (prompts, kernel status, rendered elements; never on a sleep),
saves through the File menu, reads what the page shows (error outputs, graph nodes, widgets) and
takes screenshots. It asserts nothing: the tests do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .server import LabServer

#: Milliseconds Lab may take to load a notebook and start its kernel.
OPEN_TIMEOUT = 90_000
#: Milliseconds a notebook may run.
RUN_TIMEOUT = 180_000
#: Milliseconds a widget or graph may take to appear once its cell has run.
RENDER_TIMEOUT = 30_000

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
OUTPUT = f"{NOTEBOOK} .jp-OutputArea-output"
STDERR = f'{OUTPUT}[data-mime-type="application/vnd.jupyter.stderr"]'
#: Static graph outputs: an SVG image, or HTML holding a Graphviz SVG.
STATIC_GRAPH = (
    f'{OUTPUT}[data-mime-type="image/svg+xml"], '
    f'{OUTPUT}[data-mime-type="text/html"]:has(svg g.node)'
)
#: graphviz-anywidget's drawing, and the outputs holding one.
GRAPH_WIDGET = 'div[id^="graph-"]'
INTERACTIVE_GRAPH = f"{OUTPUT} {GRAPH_WIDGET}"
INTERACTIVE_GRAPH_OUTPUT = f"{OUTPUT}:has({GRAPH_WIDGET})"

# "idle" once the notebook's kernel runs and is idle (the status bar reads "<kernel> | Idle"),
# "dialog" if Lab asks something instead (e.g. which kernel to start).
_KERNEL_STATE = """() => {
  if (document.querySelector('.jp-Dialog')) return 'dialog';
  const bar = document.querySelector('#jp-main-statusbar');
  const text = bar ? bar.textContent : '';
  return /\\| Idle/.test(text) && !text.includes('No Kernel') ? 'idle' : null;
}"""

# What Run All has come to: "done" when the last code cell has an execution count, "stopped"
# when a cell failed and Lab dropped the rest of the queue, null while cells wait or run.
_RUN_STATE = """([notebook, stderr]) => {
  const prompts = [...document.querySelectorAll(notebook + ' .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  if (!prompts.length || prompts.some(p => p.includes('*'))) return null;
  if (/^\\[\\d+\\]:?$/.test(prompts[prompts.length - 1])) return 'done';
  return document.querySelector(stderr) ? 'stopped' : null;
}"""

_NO_LOADING = """(output) => ![...document.querySelectorAll(output)]
  .some(o => o.textContent.includes('Loading widget'))"""

# The nodes of the Graphviz drawing inside an output: name (first label line), classes, fill,
# outline and every label line.
_GRAPH_NODES = """async (el) => {
  let svg = el.querySelector('svg');
  let rendered;
  if (svg) {
    const box = svg.getBoundingClientRect();
    rendered = box.width > 0 && box.height > 0;
  } else {
    const img = el.querySelector('img');
    const text = await (await fetch(img.src)).text();
    svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
    rendered = img.complete && img.naturalWidth > 0;
  }
  const nodes = [...svg.querySelectorAll('g.node')].map(g => ({
    name: (g.querySelector('text') || {textContent: ''}).textContent,
    classes: (g.getAttribute('class') || '').split(/\\s+/).filter(Boolean),
    fill: [...g.querySelectorAll('path, polygon, ellipse')]
      .map(shape => shape.getAttribute('fill'))
      .find(fill => fill && fill !== 'none') || null,
    outline: [...g.querySelectorAll('path, polygon, ellipse')]
      .map(shape => shape.getAttribute('stroke'))
      .find(stroke => stroke && stroke !== 'none') || null,
    texts: [...g.querySelectorAll('text')].map(text => text.textContent),
  }));
  return {rendered, nodes};
}"""


@dataclass(frozen=True)
class GraphNode:
    """One drawn node: its name, status class, fill and outline colours, and label lines."""

    name: str
    classes: tuple[str, ...]
    fill: str | None
    outline: str | None = None
    texts: tuple[str, ...] = ()

    @property
    def status(self) -> str | None:
        """The ``fs-status-*`` class without its prefix, if any."""
        marked = [c.removeprefix("fs-status-") for c in self.classes if c.startswith("fs-status-")]
        return marked[0] if marked else None


@dataclass(frozen=True)
class Drawing:
    """A graph as the page shows it."""

    rendered: bool
    nodes: tuple[GraphNode, ...]

    def statuses(self) -> dict[str, str | None]:
        """Node name -> status class."""
        return {node.name: node.status for node in self.nodes}


class NotebookPage:
    """One notebook open in JupyterLab.

    Parameters
    ----------
    page
        A fresh Playwright page.
    server
        The running server.
    relative
        The notebook's path below the server root.
    shots
        Where screenshots go.
    """

    def __init__(self, page: Page, server: LabServer, relative: str, shots: Path) -> None:
        self.page = page
        self.server = server
        self.relative = relative
        self.shots = shots
        self.outside_requests: list[str] = []
        self.page_errors: list[str] = []
        local = (server.base_url + "/", "data:", "blob:")
        page.on(
            "request",
            lambda request: (
                None if request.url.startswith(local) else self.outside_requests.append(request.url)
            ),
        )
        page.on("pageerror", lambda error: self.page_errors.append(_described(error)))

    def open(self) -> None:
        """Load Lab on the notebook and wait until its kernel has started and is idle."""
        self.page.goto(self.server.notebook_url(self.relative), timeout=OPEN_TIMEOUT)
        self.wait_for_idle_kernel(OPEN_TIMEOUT)

    def wait_for_idle_kernel(self, timeout: float) -> None:
        """Wait until the kernel is idle; a dialog in the way is an error that quotes it."""
        state = self.page.wait_for_function(_KERNEL_STATE, timeout=timeout).json_value()
        if state == "dialog":
            text = self.page.locator(".jp-Dialog").first.inner_text()
            raise RuntimeError(f"JupyterLab shows a dialog instead of an idle kernel: {text!r}")

    def menu(self, menu: str, item: str) -> None:
        """Click ``menu`` in the menu bar, then ``item`` in it."""
        self.page.locator(f'.lm-MenuBar-itemLabel:text-is("{menu}")').click()
        self.page.locator(f'.lm-Menu-itemLabel:text-is("{item}")').click()

    def run_all(self) -> str:
        """Run All Cells from the Run menu; returns ``"done"`` or ``"stopped"`` (a cell failed)."""
        self.menu("Run", "Run All Cells")
        state = self.page.wait_for_function(
            _RUN_STATE, arg=[NOTEBOOK, STDERR], timeout=RUN_TIMEOUT
        ).json_value()
        self.wait_for_idle_kernel(RUN_TIMEOUT)
        return str(state)

    def save(self) -> dict[str, Any]:
        """Save through the File menu; returns the notebook as written to disk."""
        self.menu("File", "Save Notebook")
        self.page.wait_for_selector(
            ".lm-TabBar-tab.jp-mod-current.jp-mod-dirty", state="detached", timeout=RUN_TIMEOUT
        )
        saved: dict[str, Any] = json.loads(
            (self.server.root / self.relative).read_text(encoding="utf-8")
        )
        return saved

    def wait_for_widgets(self) -> bool:
        """Wait until no output says "Loading widget"; False if one still does."""
        try:
            self.page.wait_for_function(_NO_LOADING, arg=OUTPUT, timeout=RENDER_TIMEOUT)
        except PlaywrightTimeout:
            return False
        return True

    def error_texts(self) -> list[str]:
        """Texts of stderr outputs and of any rendered text holding a traceback."""
        texts: list[str] = self.page.locator(STDERR).all_inner_texts()
        texts += [
            text
            for text in self.page.locator(f"{OUTPUT} .jp-RenderedText").all_inner_texts()
            if "Traceback" in text and text not in texts
        ]
        return texts

    def drawings(self, selector: str) -> list[Drawing]:
        """Every graph the outputs matching ``selector`` show, in page order."""
        return [_drawing(element.evaluate(_GRAPH_NODES)) for element in self.locate(selector)]

    def wait_for_interactive_graphs(self, count: int) -> None:
        """Wait until ``count`` interactive graphs have drawn their nodes."""
        self.page.wait_for_function(
            """([selector, count]) => {
              const graphs = [...document.querySelectorAll(selector)];
              return graphs.length >= count && graphs.every(g => g.querySelector('g.node'));
            }""",
            arg=[INTERACTIVE_GRAPH, count],
            timeout=RENDER_TIMEOUT,
        )

    def locate(self, selector: str) -> list[Locator]:
        """Every element matching ``selector``, attached or not yet painted."""
        return self.page.locator(selector).all()

    def count(self, selector: str) -> int:
        """How many elements match ``selector``."""
        return self.page.locator(selector).count()

    def shot(self, name: str, target: Locator | None = None) -> Path:
        """Save a screenshot of ``target`` (default: the window) as ``<shots>/<name>.png``."""
        path = self.shots / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if target is None:
            self.page.screenshot(path=path)
            return path
        target.evaluate("element => element.scrollIntoView({block: 'start'})")
        box = target.bounding_box()
        viewport = self.page.viewport_size
        if box is None or viewport is None or box["height"] <= viewport["height"] - box["y"]:
            target.screenshot(path=path)
            return path
        # Taller than the window: its top part, as the user sees it after scrolling to it.
        height = viewport["height"] - box["y"]
        self.page.screenshot(
            path=path, clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": height}
        )
        return path


def _drawing(raw: dict[str, Any]) -> Drawing:
    nodes = tuple(
        GraphNode(
            str(n["name"]),
            tuple(str(c) for c in n["classes"]),
            n["fill"],
            n.get("outline"),
            tuple(str(t) for t in n.get("texts", ())),
        )
        for n in raw["nodes"]
    )
    return Drawing(bool(raw["rendered"]), nodes)


def _described(error: Any) -> str:
    """A script error with the first lines of its stack (which bundle and function raised it)."""
    stack = str(getattr(error, "stack", "") or "").splitlines()[1:4]
    return " | ".join([str(error), *(line.strip() for line in stack)])
