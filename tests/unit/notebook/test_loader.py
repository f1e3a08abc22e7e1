"""Definition mode, rule by rule: which cells and statements run when a notebook is loaded."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

import flowstone_nb as fs
from flowstone_nb._notebook.loader import (
    Action,
    NotebookCell,
    SourceError,
    load_definitions,
    plan_cells,
    read_notebook,
)


@pytest.fixture(autouse=True)
def no_shell_left() -> Iterator[None]:
    """Loading a notebook starts the process's IPython shell: each test gets its own."""
    InteractiveShell.clear_instance()
    yield
    InteractiveShell.clear_instance()


FS = "import flowstone_nb as fs"


def transform(text: str) -> str:
    return InteractiveShell.instance().transform_cell(text)


def plans(*sources: str, tags: dict[int, set[str]] | None = None) -> list[tuple[Action, str]]:
    tags = tags or {}
    cells = [
        NotebookCell(index=i, kind="code", source=s, tags=frozenset(tags.get(i, ())))
        for i, s in enumerate(sources, start=1)
    ]
    return [(p.action, p.code) for p in plan_cells(cells, transform)]


def write_notebook(path: Path, *sources: str, tags: dict[int, list[str]] | None = None) -> Path:
    cells = [
        {
            "cell_type": "code",
            "id": f"cell-{i}",
            "metadata": {"tags": (tags or {}).get(i, [])},
            "source": source,
            "outputs": [],
            "execution_count": None,
        }
        for i, source in enumerate(sources, start=1)
    ]
    cells.insert(0, {"cell_type": "markdown", "id": "md", "metadata": {}, "source": "# notes"})
    document = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_definitions_imports_and_setup_run_unchanged() -> None:
    source = (
        "import pandas as pd\nimport flowstone_nb as fs\nRATE = 2\n\ndef helper(x):\n    return x"
    )
    assert plans(source) == [(Action.RUN, source)]
    assert plans("fs.configure(home='store')")[0][0] is Action.RUN
    assert plans("%load_ext flowstone_nb")[0][0] is Action.RUN
    assert plans("%config FlowstoneMagics.home = 'x'")[0][0] is Action.RUN


def test_an_asset_cell_defines_without_running() -> None:
    [(action, code)] = plans("%%asset revenue --depends-on orders\norders.sum()")
    assert action is Action.DEFINE
    assert code == "%%asset revenue --depends-on orders --no-run\norders.sum()"
    assert plans("%%asset x --no-run\n1")[0][1] == "%%asset x --no-run\n1"


@pytest.mark.parametrize(
    "source",
    [
        "df",
        "df.shape",
        "orders.head()\n",
        "display(1)",
        "print('x')",
        "fs.materialize('revenue')",
        "fs.status()",
        "result = fs.backfill('daily')",
        "flowstone_nb.graph()",
        "fs.status().to_frame()",
        "%flowstone status",
        "%matplotlib inline",
        "!ls",
        "files = !ls",
        "%%time\nx = 1",
        "%%bash\necho hi",
    ],
)
def test_cells_that_only_look_or_run_are_skipped(source: str) -> None:
    # "orders.head()" reads the value of an %%asset cell, which definition mode never binds.
    [*_, (action, code)] = plans("import flowstone_nb as fs", "%%asset orders\n1", source)
    assert (action, code) == (Action.SKIP, "")


def test_only_the_looking_statements_of_a_cell_are_left_out_and_lines_keep_their_numbers() -> None:
    [_, (action, code)] = plans(FS, "x = 1\nfs.materialize('a')\ny = x + 1\ny")
    assert action is Action.RUN
    assert code.split("\n") == ["x = 1", "", "y = x + 1", ""]


def test_a_statement_reading_what_only_skipped_code_bound_is_skipped_too() -> None:
    cells = plans(
        FS, "value = fs.load('orders')", "total = value.sum()\nother = 2", "z = total + other"
    )
    assert cells[1] == (Action.SKIP, "")
    assert cells[2][0] is Action.RUN
    assert cells[2][1].splitlines() == ["", "other = 2"]
    assert cells[3] == (Action.SKIP, "")


def test_rebinding_a_skipped_name_makes_it_usable_again() -> None:
    cells = plans(FS, "value = fs.load('x')", "value = 3", "double = value * 2")
    assert [a for a, _ in cells] == [Action.RUN, Action.SKIP, Action.RUN, Action.RUN]


def test_functions_imported_from_the_package_are_recognised() -> None:
    cells = plans("from flowstone_nb import materialize as run, asset", "run('a')", "asset")
    assert [a for a, _ in cells] == [Action.RUN, Action.SKIP, Action.SKIP]


def test_function_bodies_may_read_anything_they_run_later() -> None:
    cells = plans(FS, "value = fs.load('x')", "def f():\n    return value", "class C:\n    v = 1")
    assert [a for a, _ in cells] == [Action.RUN, Action.SKIP, Action.RUN, Action.RUN]
    cells = plans(FS, "value = fs.load('x')", "def f(v=value):\n    return v")
    assert [a for a, _ in cells] == [Action.RUN, Action.SKIP, Action.SKIP]


def test_tags_decide_first() -> None:
    cells = plans(
        "x = 1", "fs.materialize('a')", tags={1: {"flowstone-skip"}, 2: {"flowstone-keep"}}
    )
    assert cells == [(Action.SKIP, ""), (Action.RUN, "fs.materialize('a')")]


def test_statements_sharing_a_line_are_rewritten() -> None:
    [_, (action, code)] = plans(FS, "x = 1; fs.materialize('a'); y = 2")
    assert action is Action.RUN
    assert code == "x = 1\ny = 2"


def test_a_cell_that_does_not_parse_runs_so_the_shell_reports_it() -> None:
    [(action, code)] = plans("def broken(:\n    pass")
    assert (action, code) == (Action.RUN, "def broken(:\n    pass")


def test_reading_a_notebook_file(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "n.ipynb", "x = 1", tags={1: ["flowstone-keep"]})
    cells = read_notebook(path)
    assert [(c.index, c.kind, c.cell_id) for c in cells] == [
        (1, "markdown", "md"),
        (2, "code", "cell-1"),
    ]
    assert cells[1].tags == {"flowstone-keep"}
    assert cells[0].first_line == "# notes"
    with pytest.raises(SourceError, match=r"Cannot read notebook .*bad\.ipynb"):
        read_notebook(tmp_path / "bad.ipynb")


def test_loading_a_notebook_defines_its_assets_in_a_fresh_registry(
    tmp_path: Path, registry: fs.Registry
) -> None:
    (tmp_path / "data.csv").write_text("amount\n1\n2\n", encoding="utf-8")
    path = write_notebook(
        tmp_path / "n.ipynb",
        "%load_ext flowstone_nb\nimport pandas as pd\nimport flowstone_nb as fs",
        "raw = pd.read_csv('data.csv')  # relative to the notebook's folder",
        "%%asset orders\nraw.assign(amount=raw.amount * 2)",
        "orders.head()",
        "@fs.asset\ndef total(orders):\n    return float(orders.amount.sum())",
        "fs.materialize(total)",
    )
    loaded = load_definitions(path)
    assert loaded.registry is fs.get_registry()
    assert loaded.registry is not registry
    assert sorted(loaded.registry.names()) == ["orders", "total"]
    assert loaded.folder == tmp_path
    assert loaded.configured_home is None
    assert [p.action for p in loaded.cells] == [
        Action.RUN,
        Action.RUN,
        Action.DEFINE,
        Action.SKIP,
        Action.RUN,
        Action.SKIP,
    ]
    assert fs.history().empty  # nothing was materialized
    assert fs.materialize("total") == 6.0


def test_a_failing_cell_names_itself_and_registers_nothing(
    tmp_path: Path, registry: fs.Registry
) -> None:
    path = write_notebook(
        tmp_path / "n.ipynb",
        "import flowstone_nb as fs\n@fs.asset\ndef a():\n    return 1",
        "x = 1 / 0",
    )
    with pytest.raises(
        SourceError, match=r"n\.ipynb: cell 3 \('x = 1 / 0'\) failed .*ZeroDivisionError"
    ):
        load_definitions(path)
    assert fs.get_registry() is registry
    assert len(registry) == 0


def test_a_home_the_notebook_configures_is_reported(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "n.ipynb", "import flowstone_nb as fs\nfs.configure(home='st')"
    )
    assert load_definitions(path).configured_home == str(tmp_path / "st")


def test_python_files_and_modules_are_sources_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "fs_loader_case.py"
    module.write_text(
        "import flowstone_nb as fs\n\n@fs.asset\ndef one():\n    return 1\n", encoding="utf-8"
    )
    assert load_definitions(module).registry.names() == ["one"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = load_definitions("fs_loader_case")
    assert loaded.registry.names() == ["one"]
    assert loaded.folder == tmp_path


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.ipynb", r"No such file: 'missing\.ipynb'"),
        ("missing.py", r"No such file: 'missing\.py'"),
        ("no_such_module_here", r"Cannot find module 'no_such_module_here'"),
        ("not a name", r"neither a notebook \(\.ipynb\), a Python file \(\.py\) nor a module"),
    ],
)
def test_sources_that_cannot_be_found_say_so(source: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        load_definitions(source)


def test_a_module_that_fails_to_import_names_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fs_broken_case.py").write_text("import no_such_dependency\n", encoding="utf-8")
    (tmp_path / "fs_raising_case.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SourceError, match=r"Loading 'fs_broken_case' failed: ModuleNotFoundError"):
        load_definitions("fs_broken_case")
    with pytest.raises(SourceError, match=r"Loading 'fs_raising_case' failed: RuntimeError: boom"):
        load_definitions("fs_raising_case")


def test_calls_of_other_shapes_run() -> None:
    cells = plans(
        FS,
        "handlers = [print]\nhandlers[0]('x')",
        "make = dict\nmake().keys()",
        "get_ipython().run_cell('x = 1')",
        "name = 'time'\nget_ipython().run_line_magic(name, 'x')",
    )
    assert [a for a, _ in cells] == [Action.RUN] * 5


def test_lambda_defaults_read_when_defined() -> None:
    cells = plans(FS, "value = fs.load('x')", "f = lambda v=value: v", "g = lambda: value")
    assert [a for a, _ in cells] == [Action.RUN, Action.SKIP, Action.SKIP, Action.RUN]


def test_an_asset_cell_without_a_name_is_left_for_the_magic_to_refuse() -> None:
    assert plans("%%asset\n1") == [(Action.DEFINE, "%%asset --no-run\n1")]


def test_a_file_loads_twice_and_a_module_is_found_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "fs_twice_case.py"
    module.write_text("import flowstone_nb as fs\n\n@fs.asset\ndef one():\n    return 1\n")
    assert load_definitions(module).registry.names() == ["one"]
    assert load_definitions(module).registry.names() == ["one"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert load_definitions("fs_twice_case").registry.names() == ["one"]


def test_a_module_with_a_bad_definition_raises_the_definition_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fs_bad_case.py").write_text(
        "import flowstone_nb as fs\n\n@fs.asset(depends_on=['x'], io_manager='nope')\n"
        "def bad(x):\n    return x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(fs.AssetDefinitionError, match="io_manager"):
        load_definitions("fs_bad_case")


def test_a_clash_between_two_cells_names_both_by_their_place(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "n.ipynb", FS, "%%asset raw\n[1]", "x = 1", "%%asset raw\n[2]")
    with pytest.raises(SourceError) as caught:
        load_definitions(path)
    message = str(caught.value)
    assert 'already defined in cell 3 of n.ipynb ("%%asset raw")' in message
    assert 'cell 5 of n.ipynb ("%%asset raw") defines it again' in message
    assert "--replace). Fix the cell" in message
