"""Every view, executed by a real kernel and exported: the page shows the view, never a repr.

A notebook is run by nbclient (as ``make quickstart`` does) and converted to HTML by nbconvert,
without and with the saved widget state. Each widget output carries its static fallback, so the
export shows graphs, grids and tables where the live widgets were, and no ``VBox(children=…``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
nbconvert = pytest.importorskip("nbconvert")

pytestmark = pytest.mark.slow

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: How ipywidgets spell a widget in text: ``VBox(children=(…``, ``Button(description=…``.
WIDGET_REPR = re.compile(r"\b[A-Z]\w*\((children|description|layout|value|options)=")

CELLS = [
    """%load_ext flowstone_nb
import pandas as pd
import flowstone_nb as fs
fs.configure(home="store")""",
    """@fs.asset
def orders():
    return pd.DataFrame({"amount": [1.0, 2.0]})

@fs.asset(partitioned_by=fs.StaticPartitions(["a", "b", "c"]))
def parts(context, orders):
    if context.partition_key == "b":
        raise ValueError("b is broken")
    return orders.assign(part=context.partition_key)

@fs.asset(partitioned_by=fs.StaticPartitions(["a", "b", "c"]))
def summary(parts):
    return float(parts.amount.sum())""",
    "fs.backfill('summary', progress=True)",
    "later = fs.backfill('summary', progress=True)",
    "fs.materialize('orders')\nfs.graph()",
    "fs.graph().widget()",
    "fs.status()",
    "fs.lineage('orders')",
    "%flowstone history parts",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("exported")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return notebook


def exported(notebook: Any, *, keep_widget_state: bool) -> str:
    copy = nbformat.from_dict(notebook)
    if not keep_widget_state:
        copy.metadata.pop("widgets", None)
    body, _ = nbconvert.HTMLExporter().from_notebook_node(copy)
    return str(body)


def outputs(notebook: Any, cell: int) -> list[Any]:
    return list(notebook.cells[cell].outputs)


def test_every_widget_output_carries_html_and_short_text(executed: Any) -> None:
    widgets = [
        output
        for cell in executed.cells
        for output in cell.outputs
        if WIDGET_VIEW in output.get("data", {})
    ]
    assert len(widgets) >= 5  # progress, graph widget, status grid, lineage, history
    for output in widgets:
        data = output["data"]
        assert 'class="fs-' in data["text/html"], data["text/plain"][:80]
        assert not WIDGET_REPR.search(data["text/plain"]), data["text/plain"][:80]


@pytest.mark.parametrize("keep_widget_state", [False, True], ids=["fallbacks", "widget-state"])
def test_the_exported_page_shows_views_not_reprs(executed: Any, keep_widget_state: bool) -> None:
    page = exported(executed, keep_widget_state=keep_widget_state)
    assert "VBox(children" not in page
    assert not WIDGET_REPR.search(page), WIDGET_REPR.search(page)
    assert "Settings(" not in page  # fs.configure(...) says where the store is, briefly


def test_the_fallbacks_show_the_graph_the_grid_the_lineage_and_the_history(executed: Any) -> None:
    page = exported(executed, keep_widget_state=False)
    assert page.count("fs-status-grid") >= 1
    assert "fs-lineage" in page
    assert "fs-history" in page
    assert re.search(r'<div class="fs-graph">\s*<svg', page)  # the interactive graph's copy
    assert "upstream parts[b] raised ValueError: b is broken" in page


def test_a_shown_backfill_result_replaces_its_progress(executed: Any) -> None:
    progress, result = outputs(executed, 2)
    assert progress.output_type == "display_data"
    assert progress.data == {"text/plain": "", "text/html": ""}  # blanked once the cell ran
    assert "Backfill of summary" in result.data["text/plain"]
    assert "1 failed" not in result.data["text/plain"]  # parts failed, summary was skipped
    assert "2 computed, 1 skipped" in result.data["text/plain"]
    [kept] = outputs(executed, 3)  # the result not shown: the finished progress stays
    assert WIDGET_VIEW in kept.data
    assert "summary: 3/3 done (2 reused, 1 skipped)" in kept.data["text/plain"]
    assert "Cancel" not in kept.data["text/html"]


def test_the_history_reads_with_human_headers(executed: Any) -> None:
    [history] = outputs(executed, 8)
    header = history.data["text/plain"].splitlines()[0]
    assert header.split()[:5] == ["asset", "partition", "status", "finished", "duration"]
    assert "duration_s" not in history.data["text/html"]
