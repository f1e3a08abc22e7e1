"""What a notebook cell shows when something is off: warnings at the user's line, short errors.

Each test runs cells on a real IPython shell with the extension loaded (numbered cells, as a
kernel runs them) and looks at what the user sees: the file and line a warning names, and the
text of a traceback.
"""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

import flowstone_nb as fs

PACKAGE = str(Path(fs.__file__).parent)


def cell(shell: InteractiveShell, source: str, cell_id: str | None = None) -> ExecutionResult:
    return shell.run_cell(textwrap.dedent(source), store_history=True, cell_id=cell_id)


def warned(shell: InteractiveShell, source: str) -> tuple[ExecutionResult, warnings.WarningMessage]:
    """Run a cell and return its result and the one FlowstoneWarning it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cell(shell, source)
    ours = [w for w in caught if issubclass(w.category, fs.FlowstoneWarning)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    return result, ours[0]


def cell_file(result: ExecutionResult) -> str:
    return f"<ipython-input-{result.execution_count}-"


# --- warnings ------------------------------------------------------------------------------------


def test_an_asset_cell_warning_names_the_cell_and_its_magic_line(shell: InteractiveShell) -> None:
    result, warning = warned(shell, "%%asset clean --depends-on rwa --no-run\nrwa\n")
    assert "'rwa'" in str(warning.message)
    assert warning.filename.startswith(cell_file(result))
    assert warning.lineno == 1


def test_a_decorator_warning_names_the_decorated_line_of_the_cell(
    shell: InteractiveShell,
) -> None:
    source = """\
    import flowstone_nb as fs
    x = 1

    @fs.asset
    def clean(rwa):
        return rwa
    """
    result, warning = warned(shell, source)
    assert warning.filename.startswith(cell_file(result))
    assert warning.lineno in (4, 5)  # the decorator's line, or the def's (by Python version)


def test_a_redefinition_warning_names_the_second_cell(shell: InteractiveShell) -> None:
    cell(shell, "%%asset raw\n[1]\n")
    result, warning = warned(shell, "%%asset raw\n[2]\n")
    assert warning.filename.startswith(cell_file(result))
    assert 'defined before in cell In [1] ("%%asset raw")' in str(warning.message)
    assert 'replaced by cell In [2] ("%%asset raw")' in str(warning.message)


def test_a_pipeline_warning_names_the_class_statement(shell: InteractiveShell) -> None:
    cell(shell, "import flowstone_nb as fs\n@fs.asset\ndef a():\n    return 1\n")
    source = """\
    class P(fs.Pipeline):
        @fs.asset
        def a():
            return 2
    """
    result, warning = warned(shell, source)
    assert warning.filename.startswith(cell_file(result))
    assert warning.lineno == 1
    assert not warning.filename.startswith(PACKAGE)
