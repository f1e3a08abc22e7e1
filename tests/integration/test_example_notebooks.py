"""The example notebooks clean up after themselves: each keeps its store beside it, git-ignored.

A run of ``make quickstart`` or ``make notebooks`` must leave nothing in the temporary folder:
every notebook configures a ``.flowstone-*`` home in its own folder (ignored by git) and empties
it in a cell tagged ``flowstone-skip`` before configuring it, so it starts from scratch while
the command line, loading the notebook in definition mode, never deletes the store.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
HOME = re.compile(r"""fs\.configure\(home=["']([^"']+)["']""")


def code_cells(path: Path) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [cell for cell in cells if cell["cell_type"] == "code"]


def source(cell: dict[str, Any]) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_notebook_keeps_its_store_beside_it_and_starts_it_afresh(path: Path) -> None:
    cells = code_cells(path)
    text = "\n".join(source(cell) for cell in cells)
    assert "tempfile" not in text
    assert "mkdtemp" not in text
    homes = [(i, home) for i, cell in enumerate(cells) for home in HOME.findall(source(cell))]
    assert len(homes) == 1, homes
    [(configured_at, home)] = homes
    assert home.startswith(".flowstone-"), home
    assert ".flowstone-*/" in (REPO / ".gitignore").read_text().splitlines()
    emptied = [
        i
        for i, cell in enumerate(cells)
        if f'shutil.rmtree("{home}", ignore_errors=True)' in source(cell)
    ]
    assert emptied, f"{path.name} does not empty {home} before using it"
    [at] = emptied
    assert at < configured_at
    assert "flowstone-skip" in cells[at]["metadata"].get("tags", [])


def test_the_examples_are_found() -> None:
    assert len(NOTEBOOKS) >= 4
