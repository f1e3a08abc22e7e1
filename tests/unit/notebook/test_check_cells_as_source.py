"""A notebook's ``%%check`` cells in definition mode and in an exported module.

Definition mode registers each cell's check without judging anything (as ``--no-run``); an
export writes it as an ``@fs.check`` function of the same code, so the check's code version is
the one the kernel gave it and the outcomes the notebook recorded stay current.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import flowstone_nb as fs
from flowstone_nb._define.data_checks import check_code_version
from flowstone_nb._notebook.export import ExportError, module_text
from flowstone_nb._notebook.loader import Action, NotebookCell, load_definitions, plan_cells
from tests.resources.notebook_files import imported, notebook

pytestmark = pytest.mark.usefixtures("no_shell_left")


SOURCES = (
    "%load_ext flowstone_nb\nimport flowstone_nb as fs",
    "%%asset sales --partitioned-by static:north,south\n[1, -1 if context.partition < 's' else 1]",
    "%%check sales --name positive\n# no negative amounts\nfs.CheckResult(min(sales) >= 0, 'no')",
    "%%check sales --blocking\nlen(sales) == 2 and context.partition != 'west'",
)


def test_definition_mode_registers_a_check_cell_without_judging() -> None:
    cells = [NotebookCell(i, "code", s) for i, s in enumerate(SOURCES, start=1)]
    plans = plan_cells(cells)
    assert [p.action for p in plans][2:] == [Action.CHECK, Action.CHECK]
    assert plans[2].code.startswith("%%check sales --name positive --no-run\n")
    assert plan_cells([NotebookCell(1, "code", "%%check a --no-run\nTrue")])[0].code == (
        "%%check a --no-run\nTrue"
    )


def test_a_loaded_notebook_has_its_checks_and_judged_nothing(tmp_path: Path) -> None:
    source = notebook(tmp_path / "n.ipynb", *SOURCES)
    loaded = load_definitions(source).registry
    positive, default = loaded.checks_of("sales")
    assert (positive.name, positive.blocking) == ("positive", False)
    assert (default.name, default.blocking, default.takes_context) == ("sales_check", True, True)
    assert fs.checks().empty


def test_an_export_writes_each_check_cell_with_the_kernels_code_version(tmp_path: Path) -> None:
    source = notebook(tmp_path / "n.ipynb", *SOURCES)
    text = module_text(source)
    assert (
        "@fs.check('sales', name='positive')\ndef positive(sales):\n    # no negative amounts\n"
        "    return fs.CheckResult(min(sales) >= 0, 'no')\n" in text
    )
    assert "@fs.check('sales', blocking=True)\ndef sales_check(context, sales):\n" in text
    kernel = {
        c.name: check_code_version(c) for c in load_definitions(source).registry.checks_of("sales")
    }
    module_file = tmp_path / "pipeline.py"
    module_file.write_text(text, encoding="utf-8")
    fs.get_registry().clear()
    imported(module_file)
    exported = {c.name: check_code_version(c) for c in fs.get_registry().checks_of("sales")}
    assert exported == kernel


def test_a_check_cell_that_cannot_be_written_names_itself(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"Cell 1 \('%%check sales --bogus'\).*--bogus"):
        module_text(notebook(tmp_path / "n.ipynb", "%%check sales --bogus\nTrue"))
