"""``%%check`` and failing checks in a notebook executed by a real kernel (nbclient), then exported.

The cell registers its check and judges the stored values at once; the status grid widget, the
graph's SVG and the backfill result then show the partition it fails on, in the outputs a
kernel sends and in the HTML page nbconvert makes of them.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
nbconvert = pytest.importorskip("nbconvert")

pytestmark = pytest.mark.slow

CELLS = [
    """%load_ext flowstone_nb
import pandas as pd
import flowstone_nb as fs
fs.configure(home="store")""",
    """%%asset sales --partitioned-by static:north,south,west --no-run
sign = -1.0 if context.partition == "south" else 1.0
pd.DataFrame({"amount": [sign, 2 * sign]})""",
    "fs.backfill('sales')",
    """%%check sales --name positive
negative = int((sales.amount < 0).sum())
fs.CheckResult(negative == 0, f"{negative} negative amounts")""",
    "fs.status()",
    "fs.graph()",
    "later = fs.backfill('sales', force=True)\nlater",
    "%%check sale\nTrue",  # tagged raises-exception
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder: Path = tmp_path_factory.mktemp("checks")
    cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    cells[-1].metadata["tags"] = ["raises-exception"]
    notebook = nbformat.v4.new_notebook(cells=cells)
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return notebook


def data(notebook: Any, cell: int) -> dict[str, Any]:
    """The execute result of ``cell`` (its last output with data)."""
    return dict([o for o in notebook.cells[cell].outputs if "data" in o][-1].data)


def test_the_check_cell_judges_every_stored_partition_at_once(executed: Any) -> None:
    shown = data(executed, 3)
    assert shown["text/plain"].splitlines()[0] == (
        "Check 'positive' of sales: failing on 1 of 3 partitions"
    )
    assert "south      failing  2 negative amounts" in shown["text/plain"]
    assert "fs-check-outcomes" in shown["text/html"]
    errors = [o for o in executed.cells[3].outputs if o.output_type in ("error", "stream")]
    assert errors == []


def test_the_grid_and_the_graph_mark_the_partition_it_fails_on(executed: Any) -> None:
    grid = data(executed, 4)
    assert "application/vnd.jupyter.widget-view+json" in grid
    assert grid["text/html"].count('class="fs-cell fs-checks-failing fs-cell-fresh"') == 1
    tooltip = "sales[south]: fresh — ⚑ 1 check failing: positive: 2 negative amounts"
    assert tooltip in grid["text/html"]
    svg = html.unescape(data(executed, 5)["image/svg+xml"])
    assert "⚑ 1 check failing" in svg
    assert "fs-checks-failing" in svg


def test_the_check_runs_with_every_later_materialization(executed: Any) -> None:
    result = data(executed, 6)
    assert result["text/plain"].splitlines()[0].endswith("; 1 partition with failing checks")
    assert "south  ⚑ positive: 2 negative amounts" in result["text/plain"]


def test_an_unknown_asset_is_a_one_line_error_naming_the_fix(executed: Any) -> None:
    [error] = executed.cells[7].outputs  # IPython shows a usage error as one line, no traceback
    text = error.get("text") or " ".join(error.get("traceback", []))
    assert "UsageError" in text
    assert "Unknown asset 'sale'. Did you mean 'sales'?" in text
    assert "run the cell that defines 'sale' first" in text
    assert "Traceback" not in text


def test_the_exported_page_shows_the_marks(executed: Any) -> None:
    copy = nbformat.from_dict(executed)
    copy.metadata.pop("widgets", None)
    body, _ = nbconvert.HTMLExporter().from_notebook_node(copy)
    assert body.count("fs-cell fs-checks-failing fs-cell-fresh") == 1
    assert "1 check failing" in html.unescape(body)
    assert "of sales: failing on 1 of 3 partitions" in body
