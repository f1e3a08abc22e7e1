"""Origins on a real IPython shell: the cell id decides replace (same cell) or clash (another)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

import flowstone_nb as fs
from flowstone_nb._define import definition_site as _definition_site


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance()
    _definition_site.install_cell_tracking(
        ip
    )  # as %load_ext flowstone_nb (or ipykernel's request) does
    ip.run_cell("import flowstone_nb as fs")
    try:
        yield ip
    finally:
        InteractiveShell.clear_instance()
        _definition_site._state.update(cell=None, shell=None)


def run(shell: InteractiveShell, source: str, cell_id: str | None = None) -> Any:
    result = shell.run_cell(source, store_history=True, cell_id=cell_id)
    if result.error_before_exec is not None:
        raise result.error_before_exec
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


DEFINE = "@fs.asset\ndef sales():\n    return {value}\n"


def test_same_cell_rerun_replaces(shell: InteractiveShell, registry: fs.Registry) -> None:
    run(shell, DEFINE.format(value=1), cell_id="cell-1")
    run(shell, DEFINE.format(value=2), cell_id="cell-1")
    assert registry.get("sales")() == 2
    assert registry.origin("sales").key == "cell:cell-1"
    assert registry.origin("sales").label == 'cell In [2] ("@fs.asset")'


def test_other_cell_clashes_naming_both_as_the_notebook_shows_them(
    shell: InteractiveShell, registry: fs.Registry
) -> None:
    first = shell.run_cell("# first\n" + DEFINE.format(value=1), store_history=True, cell_id="a1")
    assert first.execution_count == 1
    with pytest.raises(fs.AssetDefinitionError) as caught:
        run(shell, "# second\n" + DEFINE.format(value=2), cell_id="b2")
    message = str(caught.value)
    assert 'already defined in cell In [1] ("# first"); cell In [2] ("# second") defines' in message
    assert "a1" not in message
    assert "b2" not in message  # ids appear nowhere in the notebook's interface
    assert registry.get("sales")() == 1


def test_a_long_first_line_is_cut_and_an_unnumbered_cell_has_no_number(
    shell: InteractiveShell, registry: fs.Registry
) -> None:
    long_line = "# " + "x" * 60
    shell.run_cell(long_line + "\n" + DEFINE.format(value=1), store_history=False, cell_id="c")
    label = registry.origin("sales").label
    assert label == f'a cell ("{long_line[:39]}…")'
    assert len(label) < 60


def test_a_cell_named_by_its_place(shell: InteractiveShell, registry: fs.Registry) -> None:
    with _definition_site.cell_place("cell 4 of sales.ipynb"):
        run(shell, DEFINE.format(value=1), cell_id="c")
    assert registry.origin("sales").label == 'cell 4 of sales.ipynb ("@fs.asset")'
    run(shell, DEFINE.format(value=2), cell_id="c")
    assert registry.origin("sales").label == 'cell In [2] ("@fs.asset")'


def test_without_cell_ids_replace_and_warn(shell: InteractiveShell, registry: fs.Registry) -> None:
    run(shell, DEFINE.format(value=1))
    with pytest.warns(fs.FlowstoneWarning, match=r'now replaced by cell In \[2\] \("@fs.asset"\)'):
        run(shell, DEFINE.format(value=2))
    assert registry.get("sales")() == 2


def test_pipeline_in_a_cell_gets_the_cell_origin(
    shell: InteractiveShell, registry: fs.Registry
) -> None:
    source = "class P(fs.Pipeline):\n    @fs.asset\n    def a():\n        return 1\n"
    run(shell, source, cell_id="pipe")
    run(shell, source, cell_id="pipe")
    assert registry.origin("a").key == "cell:pipe:P"
    assert registry.origin("a").label == 'pipeline P in cell In [2] ("class P(fs.Pipeline):")'


def test_pipeline_in_a_cell_without_id(shell: InteractiveShell, registry: fs.Registry) -> None:
    run(shell, "class Q(fs.Pipeline):\n    @fs.asset\n    def b():\n        return 1\n")
    assert registry.origin("b").key is None


def test_the_first_cell_reads_the_id_from_the_kernel_request(shell: InteractiveShell) -> None:
    class KernelRequest:
        """Stands in for ipykernel, which is not running in this process."""

        def get_parent(self) -> dict[str, Any]:
            return {"metadata": {"cellId": "from-kernel"}}

    _definition_site._state.update(shell=None)
    shell.kernel = KernelRequest()  # type: ignore[attr-defined]
    shell.run_cell("1", store_history=True)  # the cell importing flowstone_nb, say
    shell.history_manager.store_inputs(2, "x = 1\n# the cell now", "x = 1\n# the cell now")
    shell.execution_count = 3
    assert _definition_site.current_cell_id() == "from-kernel"
    assert _definition_site.origin_of_cell().label == 'cell In [2] ("x = 1")'
    del shell.kernel  # type: ignore[attr-defined]
    _definition_site._state.update(shell=None)
    assert _definition_site.current_cell_id() is None
    assert _definition_site.current_cell_id() is None  # tracking installed: no id sent


def test_tracking_is_installed_once(shell: InteractiveShell) -> None:
    _definition_site.install_cell_tracking(shell)
    before = len(shell.events.callbacks["pre_run_cell"])
    _definition_site.install_cell_tracking(shell)
    assert len(shell.events.callbacks["pre_run_cell"]) == before


def test_outside_ipython_there_is_no_cell() -> None:
    InteractiveShell.clear_instance()
    assert _definition_site.current_cell_id() is None
    origin = _definition_site.origin_of_cell()
    assert origin.key is None
    assert origin.label == "code with no source location"


def test_function_without_code_object_has_a_module_origin() -> None:
    origin = _definition_site.origin_of_function(len)
    assert origin.key == "builtins:len"


def test_without_ipython_loaded_there_is_no_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(__import__("sys").modules, "IPython")
    assert _definition_site.running_shell() is None
