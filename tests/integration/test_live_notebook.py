"""A notebook executed by a real kernel (nbclient): live status lines and short errors.

nbclient applies display updates to the outputs of earlier cells, as JupyterLab does: the line
under an asset cell must read, once the notebook has run, what later cells made of its asset.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

ANSI = re.compile(r"\x1b\[[0-9;]*m")

CELLS = (
    (  # In [1]
        "%load_ext flowstone_nb\nimport flowstone_nb as fs\nfs.configure(home='store')\n\n"
        "def scale(values):\n    return [v * 2 for v in values]"
    ),
    "%%asset raw\n[1, 2, 3]",  # In [2]
    "%%asset doubled\nscale(raw)",  # In [3]
    "%%asset kept --no-run\nlen(raw)",  # In [4]
    "def scale(values):\n    return [v * 3 for v in values]",  # In [5]: the helper edited
    "fs.materialize('kept')",  # In [6]
    "@fs.asset\ndef boom(raw):\n    return raw[10]",  # In [7]
    "fs.materialize('boom')",  # In [8], tagged raises-exception
)


def execute(tmp_path: Path) -> Any:
    cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    cells[-1].metadata["tags"] = ["raises-exception"]
    notebook = nbformat.v4.new_notebook(cells=cells)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    return notebook


def line_of(cell: Any) -> str:
    (live,) = [o for o in cell.outputs if "fs-live" in o.get("data", {}).get("text/html", "")]
    return str(live.data["text/plain"])


@pytest.mark.slow
def test_earlier_lines_are_updated_in_place_and_errors_are_short(tmp_path: Path) -> None:
    notebook = execute(tmp_path)
    cells = notebook.cells
    assert line_of(cells[1]) == "raw: computed"  # nothing changed it since
    assert line_of(cells[2]) == (
        "doubled: stale (code changed) · as of In [5] · depends on raw (inferred)"
    )
    value, _ = cells[2].outputs
    assert value.output_type == "execute_result"
    assert value.data["text/plain"] == "[2, 4, 6]"  # the value alone: its status is the line
    assert line_of(cells[3]) == "kept: fresh · as of In [6] · depends on raw (inferred)"
    assert line_of(cells[6]) == (
        "boom: failed (IndexError: list index out of range) · as of In [8] · depends on raw"
    )
    (error,) = [o for o in cells[7].outputs if o.output_type == "error"]
    assert error.ename == "MaterializationError"
    shown = ANSI.sub("", "\n".join(error.traceback))
    assert "return raw[10]" in shown  # the user's line
    assert "fs.materialize('boom')" in shown  # the cell's line
    for engine in ("runner.py", "api.py", "execute_plan", "_run_step"):
        assert engine not in shown
