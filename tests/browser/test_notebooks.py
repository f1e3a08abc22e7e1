"""Every example notebook, run in a real JupyterLab by a real headless Chromium, as a user would.

Each notebook is copied without outputs, opened in a reset workspace, run with Run > Run All
Cells on a fresh kernel and saved through File > Save Notebook. The tests then look at what the
page shows: no error output, the DAG as static SVG and as the interactive view with the expected
nodes in their status colours, widgets rendered live, a lineage row that re-centres the widget
when clicked, backfill progress at 100 %, the status grid and the history table. What a notebook
must show is stated in :mod:`tests.browser.expectations`; a check the notebook does not ask for
is skipped with the reason. Screenshots go to ``artifacts/screenshots/<notebook>/``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pytest

from flowstone_nb._core.states import PALETTE
from flowstone_nb._notebook.graph.dot_text import NODE_FILLS as GRAPH_COLOURS

from .conftest import NotebookRun, unavailable
from .expectations import EXPECTED, expected, notebooks

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(
        "The Python package `playwright` is missing: `pip install -e '.[browser]'` "
        "(do not run `playwright install`: the tests use the system chromium)."
    )

from .lab_page import (
    INTERACTIVE_GRAPH,
    INTERACTIVE_GRAPH_OUTPUT,
    OUTPUT,
    RENDER_TIMEOUT,
    STATIC_GRAPH,
    Drawing,
)

pytestmark = pytest.mark.browser

NOTEBOOKS = notebooks()
WIDTH_100 = re.compile(r"width:\s*100%")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
Test = TypeVar("Test", bound=Callable[..., Any])


#: Test name -> the aspect a notebook must show for it to run there.
ASPECTS: dict[str, str] = {}


def shows(aspect: str) -> Callable[[Test], Test]:
    """Run the decorated test only for notebooks whose expectations name ``aspect``."""

    def mark(test: Test) -> Test:
        ASPECTS[test.__name__] = aspect
        return test

    return mark


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``notebook_run`` over every notebook, with the same list for every test.

    The same list keeps one run per notebook for the whole module (pytest groups module-scoped
    parameters by position); a notebook that does not show a test's aspect is skipped there.
    """
    if "notebook_run" not in metafunc.fixturenames:
        return
    aspect = ASPECTS.get(metafunc.function.__name__)
    params = []
    for notebook in NOTEBOOKS:
        marks = []
        if aspect is not None and aspect not in expected(notebook).aspects():
            reason = f"{notebook.name} shows no {aspect.replace('_', ' ')}"
            marks.append(pytest.mark.skip(reason=reason))
        params.append(pytest.param(notebook, id=notebook.stem, marks=marks))
    metafunc.parametrize("notebook_run", params, indirect=True, scope="module")


# -- helpers --------------------------------------------------------------------------------------


def hex_to_rgb(colour: str) -> str:
    """``#2e7d32`` as the browser reports computed colours: ``rgb(46, 125, 50)``."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def saved_outputs(run: NotebookRun) -> list[dict[str, Any]]:
    """Every output of the saved notebook."""
    return [
        output
        for cell in run.saved["cells"]
        if cell["cell_type"] == "code"
        for output in cell["outputs"]
    ]


def check_drawings(drawings: list[Drawing], graphs: tuple[Mapping[str, str], ...]) -> None:
    """Each drawing rendered, with exactly the expected nodes in their status classes and fills."""
    assert len(drawings) == len(graphs), (
        f"expected {len(graphs)} graph(s), the page shows {len(drawings)}"
    )
    for index, (drawing, graph) in enumerate(zip(drawings, graphs, strict=True)):
        assert drawing.rendered, f"graph {index} is in the page but was not painted"
        assert drawing.statuses() == dict(graph), f"graph {index}: nodes and statuses differ"
        for node in drawing.nodes:
            assert node.fill == GRAPH_COLOURS[graph[node.name]], (
                f"graph {index}: node {node.name!r} ({graph[node.name]}) is filled with "
                f"{node.fill}, not {GRAPH_COLOURS[graph[node.name]]}"
            )


# -- what every notebook gets ---------------------------------------------------------------------


def test_every_notebook_states_what_it_shows() -> None:
    assert NOTEBOOKS, "no notebooks found in notebooks/ or tests/browser/notebooks/"
    unknown = [path.name for path in NOTEBOOKS if path.name not in EXPECTED]
    assert not unknown, (
        f"{unknown}: say what these notebooks must show in tests/browser/expectations.py "
        "(EXPECTED), so their graphs and widgets are checked"
    )


def test_all_cells_run_without_error_output(notebook_run: NotebookRun) -> None:
    lab = notebook_run.lab
    errors = lab.error_texts()
    if errors:
        lab.shot("error-output", lab.page.locator(OUTPUT).filter(has_text=errors[0][:40]).first)
    assert not errors, "error output in the page:\n" + "\n---\n".join(errors)
    assert notebook_run.state == "done", "Run All stopped before the last cell"
    saved = saved_outputs(notebook_run)
    failures = [f"{o['ename']}: {o['evalue']}" for o in saved if o["output_type"] == "error"]
    assert not failures, f"error outputs in the saved notebook: {failures}"
    warnings = [
        o["text"]
        for o in saved
        if o["output_type"] == "stream"
        and o["name"] == "stderr"
        and "Warning" in "".join(o["text"])
    ]
    assert not warnings, f"warnings printed by the notebook: {warnings}"


def test_widgets_render_live(notebook_run: NotebookRun) -> None:
    lab = notebook_run.lab
    assert lab.wait_for_widgets(), "an output still says 'Loading widget…'"
    assert lab.count(".jupyter-widgets-disconnected") == 0, "a widget shows as disconnected"
    assert lab.count(f"{OUTPUT}:has-text('Error displaying widget')") == 0
    views = sum(WIDGET_VIEW in o.get("data", {}) for o in saved_outputs(notebook_run))
    rendered = lab.count(f"{OUTPUT}:has(> .jupyter-widgets)")
    assert rendered == views, f"{views} widget output(s) saved, {rendered} rendered in the page"


def test_nothing_is_fetched_from_outside_the_machine(notebook_run: NotebookRun) -> None:
    assert notebook_run.lab.outside_requests == []


def test_the_page_raises_no_script_errors(notebook_run: NotebookRun) -> None:
    assert notebook_run.lab.page_errors == []


# -- what particular notebooks show ---------------------------------------------------------------


@shows("graph")
def test_static_graph_shows_the_nodes_in_their_status_colours(notebook_run: NotebookRun) -> None:
    lab = notebook_run.lab
    for index, output in enumerate(lab.locate(STATIC_GRAPH)):
        lab.shot(f"graph-svg-{index}", output)
    check_drawings(lab.drawings(STATIC_GRAPH), notebook_run.expected.graphs)


@shows("interactive_graph")
def test_interactive_graph_shows_the_nodes_in_their_status_colours(
    notebook_run: NotebookRun,
) -> None:
    lab = notebook_run.lab
    graphs = notebook_run.expected.interactive_graphs
    lab.wait_for_interactive_graphs(len(graphs))
    for index, output in enumerate(lab.locate(INTERACTIVE_GRAPH_OUTPUT)):
        lab.shot(f"graph-interactive-{index}", output)
    check_drawings(lab.drawings(INTERACTIVE_GRAPH), graphs)


@shows("lineage")
def test_clicking_a_lineage_row_recentres_the_widget(notebook_run: NotebookRun) -> None:
    lab = notebook_run.lab
    label = notebook_run.expected.lineage_click
    assert label is not None
    widget = lab.page.locator(".jupyter-widgets.fs-lineage").first
    title = widget.locator(".fs-lineage-title")
    back = widget.locator(".fs-lineage-back")
    before = title.inner_text()
    row = widget.locator("button.fs-lineage-row", has_text=label).first
    expect(row).to_be_enabled()
    expect(back).to_be_disabled()
    lab.shot("lineage-before-click", widget)

    row.click()
    expect(title).to_contain_text(f"Lineage of {label} @", timeout=RENDER_TIMEOUT)
    expect(back).to_be_enabled()
    expect(widget.locator(".fs-lineage-breadcrumb")).to_contain_text(
        before.removeprefix("Lineage of ")
    )
    expect(widget.locator(".fs-lineage-message")).to_have_text("")
    expect(widget.locator("button.fs-lineage-row:enabled").first).to_be_visible()
    lab.shot("lineage-after-click", widget)

    back.click()
    expect(title).to_have_text(before, timeout=RENDER_TIMEOUT)
    expect(back).to_be_disabled()


@shows("backfill")
def test_backfill_progress_reaches_100_percent(notebook_run: NotebookRun) -> None:
    lab = notebook_run.lab
    widgets = lab.locate(".jupyter-widgets.fs-backfill")
    totals = notebook_run.expected.backfills
    assert len(widgets) == len(totals), (
        f"expected {len(totals)} backfill progress widget(s), found {len(widgets)}"
    )
    for index, (widget, total) in enumerate(zip(widgets, totals, strict=True)):
        lab.shot(f"backfill-{index}", widget)
        bar = widget.locator(".widget-hprogress")
        expect(bar.locator(".widget-label")).to_have_text(f"{total}/{total}")
        expect(bar.locator(".progress-bar")).to_have_attribute(
            "style", WIDTH_100, timeout=RENDER_TIMEOUT
        )


@shows("status_grid")
def test_status_grids_colour_each_cell_by_status(notebook_run: NotebookRun) -> None:
    lab = notebook_run.lab
    grids = lab.locate(".jupyter-widgets.fs-status-grid")
    expected_grids = notebook_run.expected.status_grids
    assert len(grids) == len(expected_grids), (
        f"expected {len(expected_grids)} status grid(s), found {len(grids)}"
    )
    for index, (grid, assets) in enumerate(zip(grids, expected_grids, strict=True)):
        lab.shot(f"status-grid-{index}", grid)
        shown = grid.evaluate(_STATUS_CELLS)
        assert set(shown) == set(assets), f"grid {index}: assets differ"
        for asset, want in assets.items():
            cells = shown[asset]
            counts = Counter(status for status, _ in cells)
            wanted = Counter({want: len(cells)} if isinstance(want, str) else want)
            assert counts == wanted, f"grid {index}, {asset}: cells show {dict(counts)}"
            for status, colour in cells:
                assert colour == hex_to_rgb(PALETTE[status].strong), (
                    f"grid {index}, {asset}: a {status} cell is painted {colour}"
                )


# Per asset row of a status grid: (status, computed background) of each cell or square.
_STATUS_CELLS = """(grid) => Object.fromEntries([...grid.querySelectorAll('tbody tr')].map(row => [
  row.querySelector('th').textContent,
  [...row.querySelectorAll('td.fs-cell, span.fs-square')].map(cell => [
    [...cell.classList].pop().split('-').pop(),
    getComputedStyle(cell).backgroundColor,
  ]),
]))"""


@shows("history")
def test_history_lists_the_materializations(notebook_run: NotebookRun) -> None:
    lab = notebook_run.lab
    widget = lab.page.locator(".jupyter-widgets.fs-history").first
    lab.shot("history", widget)
    assets = set(widget.locator("table.fs-history tbody tr td:first-child").all_inner_texts())
    missing = notebook_run.expected.history_assets - assets
    assert not missing, f"no history rows for {sorted(missing)}; rows show {sorted(assets)}"
