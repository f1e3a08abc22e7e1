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

from flowstone_nb._core.states import PALETTE, CheckState
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
    NOTEBOOK,
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
        cut = output.evaluate(_CUT_LABELS)
        assert cut == [], f"interactive graph {index}: labels cut short: {cut}"
    check_drawings(lab.drawings(INTERACTIVE_GRAPH), graphs)


# The controls' labels that do not fit their box ("Search Ty…").
_CUT_LABELS = """(el) => [...el.querySelectorAll('.widget-label')]
  .filter(label => label.textContent && label.scrollWidth > label.clientWidth + 1)
  .map(label => label.textContent)"""


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
def test_each_backfill_ends_complete_in_one_colour_per_state(notebook_run: NotebookRun) -> None:
    lab = notebook_run.lab
    shown = lab.locate(f"{OUTPUT} .fs-backfill")
    totals = notebook_run.expected.backfills
    assert len(shown) == len(totals), f"expected {len(totals)} backfill(s), found {len(shown)}"
    for index, (backfill, total) in enumerate(zip(shown, totals, strict=True)):
        lab.shot(f"backfill-{index}", backfill)
        expect(backfill.locator(".fs-bar-label").first).to_have_text(f"{total}/{total}")
        segments = backfill.evaluate(_BAR_SEGMENTS)
        assert sum(count for _, count, _ in segments) == total, segments
        for state, _, colour in segments:
            assert state not in ("running", "pending"), f"backfill {index} ended {state}"
            assert colour == hex_to_rgb(PALETTE[state].strong), (
                f"backfill {index}: {state} is painted {colour}"
            )
        # The legend and the squares paint each state as the bar does.
        for state, colour in backfill.evaluate(_LEGEND_AND_SQUARES):
            assert colour == hex_to_rgb(PALETTE[state].strong), (state, colour)
    assert lab.count(f"{OUTPUT} .fs-backfill button:has-text('Cancel')") == 0
    text = " ".join(backfill.inner_text() for backfill in shown)
    for wanted in notebook_run.expected.backfill_texts:
        assert wanted in text, f"the backfill outputs do not say {wanted!r}"


# Per segment of a backfill's bar: (state, partitions, computed background).
_BAR_SEGMENTS = """(el) => [...el.querySelector('.fs-bar').querySelectorAll('.fs-bar-segment')]
  .map(s => [[...s.classList].pop().replace('fs-bar-', ''), Number(s.dataset.count),
             getComputedStyle(s).backgroundColor])"""
# (state, colour) of each legend mark and each square.
_LEGEND_AND_SQUARES = """(el) => [
  ...[...el.querySelectorAll('.fs-count')].map(c => [
    [...c.classList].pop().replace('fs-count-', ''),
    getComputedStyle(c.querySelector('span')).color]),
  ...[...el.querySelectorAll('.fs-square')].map(q => [
    [...q.classList].pop().replace('fs-square-', ''), getComputedStyle(q).backgroundColor]),
]"""


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
            counts: Counter[str] = Counter()
            for status, _, count in cells:
                counts[status] += count
            wanted = Counter({want: counts.total()} if isinstance(want, str) else want)
            assert counts == wanted, f"grid {index}, {asset}: cells show {dict(counts)}"
            for status, colour, _ in cells:
                assert colour == hex_to_rgb(PALETTE[status].strong), (
                    f"grid {index}, {asset}: a {status} cell is painted {colour}"
                )
        # Cells carry no text (the status column says it once) and none spans other columns.
        assert grid.evaluate(_CELL_TEXT) == [], f"grid {index}: text in a cell"
        assert grid.evaluate(_OVERFLOWING) == [], f"grid {index}: text overflows its cell"


# Per asset row of a status grid: (status, computed background, partitions) of each cell,
# square, or run of partitions.
_STATUS_CELLS = """(grid) => Object.fromEntries([...grid.querySelectorAll('tbody tr')].map(row => [
  row.querySelector('th').textContent,
  [...row.querySelectorAll('td.fs-cell, span.fs-square, span.fs-run')].map(cell => [
    [...cell.classList].pop().split('-').pop(),
    getComputedStyle(cell).backgroundColor,
    Number(cell.dataset.count || 1),
  ]),
]))"""
_CELL_TEXT = """(grid) => [...grid.querySelectorAll('td.fs-cell')]
  .filter(cell => cell.textContent.trim() !== '' || cell.colSpan > 1).map(cell => cell.title)"""
_OVERFLOWING = """(grid) => [...grid.querySelectorAll('td, th')]
  .filter(cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.textContent)"""


@shows("history")
def test_history_lists_the_materializations(notebook_run: NotebookRun) -> None:
    lab = notebook_run.lab
    widget = lab.page.locator(".jupyter-widgets.fs-history").first
    lab.shot("history", widget)
    assets = set(widget.locator("table.fs-history tbody tr td:first-child").all_inner_texts())
    missing = notebook_run.expected.history_assets - assets
    assert not missing, f"no history rows for {sorted(missing)}; rows show {sorted(assets)}"
    chosen = widget.locator(".widget-dropdown select").first
    shown = chosen.evaluate("s => s.options[s.selectedIndex].textContent")
    # ipywidgets writes an option's spaces as no-break spaces.
    assert shown.replace("\xa0", " ") == notebook_run.expected.history_filter
    headers = widget.evaluate(_HISTORY_HEADERS)
    assert [name for name, _ in headers][:6] == [
        "asset",
        "partition",
        "status",
        "finished",
        "duration",
        "rows",
    ]
    for name, align in headers:
        assert align == ("right" if name in ("duration", "rows") else "left"), (name, align)
    durations = widget.locator("table.fs-history tbody tr td:nth-child(5)").all_inner_texts()
    assert any(durations), "no durations shown"
    assert all(re.fullmatch(r"\d+\.\d\d s", d) for d in durations if d), durations[:3]


# (text, computed alignment) of each history header.
_HISTORY_HEADERS = """(el) => [...el.querySelectorAll('table.fs-history thead th')]
  .map(th => [th.textContent, getComputedStyle(th).textAlign])"""


@shows("check_marks")
def test_failing_checks_are_marked_on_the_grid_and_the_graph(notebook_run: NotebookRun) -> None:
    lab = notebook_run.lab
    failing = PALETTE[CheckState.FAILING].strong
    grids = lab.locate(".jupyter-widgets.fs-status-grid")
    wanted_cells = notebook_run.expected.flagged_cells
    assert len(grids) == len(wanted_cells), f"{len(grids)} status grid(s) on the page"
    for index, (grid, wanted) in enumerate(zip(grids, wanted_cells, strict=True)):
        lab.shot(f"checks-grid-{index}", grid)
        marked: dict[str, list[str]] = {}
        for asset, title, ring in grid.evaluate(_FLAGGED_CELLS):
            subject = title.split(":", 1)[0]  # "orders[2024-03-04]"
            marked.setdefault(asset, []).append(subject.removeprefix(f"{asset}[").rstrip("]"))
            assert "check failing" in title, f"grid {index}: {title!r} names no failing check"
            assert hex_to_rgb(failing) in ring, f"grid {index}: {subject} is ringed {ring!r}"
        assert {a: tuple(keys) for a, keys in marked.items()} == dict(wanted), f"grid {index}"
        legend = grid.locator(".fs-legend-checks")
        expect(legend).to_have_count(1 if wanted else 0)
    drawings = lab.drawings(STATIC_GRAPH)
    badges = notebook_run.expected.graph_badges
    assert len(drawings) == len(badges), f"{len(drawings)} static graph(s) on the page"
    for index, (drawing, wanted_badges) in enumerate(zip(drawings, badges, strict=True)):
        shown = {
            node.name: node.texts[-1]
            for node in drawing.nodes
            if "fs-checks-failing" in node.classes
        }
        assert shown == dict(wanted_badges), f"graph {index}: badges {shown}"
        for node in drawing.nodes:
            if node.name in shown:
                assert node.outline == failing, (
                    f"graph {index}: {node.name} outlined {node.outline}"
                )
                assert node.fill == GRAPH_COLOURS[node.status or ""], node  # its status fill stays
    for index, output in enumerate(lab.locate(STATIC_GRAPH)):
        lab.shot(f"checks-graph-{index}", output)


# Per cell of a status grid marked for failing checks: (asset, tooltip, computed box-shadow).
_FLAGGED_CELLS = """(grid) => [...grid.querySelectorAll('tbody tr')].flatMap(row =>
  [...row.querySelectorAll('td.fs-cell.fs-checks-failing')].map(cell => [
    row.querySelector('th').textContent, cell.title, getComputedStyle(cell).boxShadow]))"""


@shows("large_grid")
def test_a_grid_of_ten_thousand_partitions_paints_within_a_second_and_history_pages(
    notebook_run: NotebookRun,
) -> None:
    lab = notebook_run.lab
    source = f"fs.status({notebook_run.expected.large_grid})"
    cell = lab.page.locator(f"{NOTEBOOK} .jp-CodeCell").filter(has_text=source).first
    cell.locator(".jp-InputArea-editor").click()
    # From the keystroke that runs the cell again to the first frame painted with its new grid:
    # computing the report, the widget's messages and the rendering, as the user waits for it.
    started = cell.evaluate(_WATCH_NEW_GRID)
    lab.page.keyboard.press("Control+Enter")
    painted = lab.page.wait_for_function(
        "() => window.__fsGridPainted", timeout=RENDER_TIMEOUT
    ).json_value()
    lab.shot("large-grid", cell)
    print(f"the grid of {source} painted {painted - started:.0f} ms after the keystroke")
    assert painted - started <= 1_000, f"the grid took {painted - started:.0f} ms to paint"
    runs = cell.locator(".fs-status-grid span.fs-run")
    assert runs.count() == 2  # two runs of keys, not 10,000 cells
    # The history comes a page at a time: "older" asks for the next one.
    history = lab.page.locator(".jupyter-widgets.fs-history").first
    expect(history).to_contain_text("rows 1-100, older ones follow")
    history.locator("button", has_text="older").click()
    expect(history).to_contain_text("rows 101-200, older ones follow", timeout=RENDER_TIMEOUT)
    lab.shot("history-page-2", history)


# Notes (as window.__fsGridPainted) when a new status grid is painted in this cell's output;
# returns the time now, on the same clock.
_WATCH_NEW_GRID = """(cell) => {
  window.__fsGridPainted = null;
  const old = cell.querySelector('.fs-status-grid');
  const observer = new MutationObserver(() => {
    const grid = cell.querySelector('.fs-status-grid .fs-runs');
    if (grid && !(old && old.contains(grid))) {
      observer.disconnect();
      requestAnimationFrame(() => { window.__fsGridPainted = performance.now(); });
    }
  });
  observer.observe(cell, {childList: true, subtree: true});
  return performance.now();
}"""
