"""What a notebook cell shows when something is off: warnings at the user's line, short errors.

Each test runs cells on a real IPython shell with the extension loaded (numbered cells, as a
kernel runs them) and looks at what the user sees: the file and line a warning names, and the
text of a traceback.
"""

from __future__ import annotations

import re
import sys
import textwrap
import traceback
import warnings
from pathlib import Path

import pytest
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

import flowstone_nb as fs
from flowstone_nb._notebook.extension import load_ipython_extension
from flowstone_nb._notebook.tracebacks import show_materialization_error

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


# --- a failing materialization -------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")
ENGINE = ("runner.py", "api.py", "scheduler.py", "execute_plan", "_run_step", "_compute")


def shown(shell: InteractiveShell, source: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    result = cell(shell, source)
    assert isinstance(result.error_in_exec, fs.MaterializationError)
    return ANSI.sub("", capsys.readouterr().out)


def test_a_failing_materialize_shows_the_users_frames_and_the_error(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell(shell, "import flowstone_nb as fs\n@fs.asset\ndef boom():\n    x = 1\n    return x / 0\n")
    text = shown(shell, "y = 2\nfs.materialize('boom')\n", capsys)
    assert "----> 5 return x / 0" in text  # the user's function, where it raised
    assert "ZeroDivisionError: division by zero" in text
    assert "----> 2 fs.materialize('boom')" in text  # the cell line that ran it
    assert "MaterializationError: Asset 'boom' failed" in text
    assert not [name for name in ENGINE if name in text], text
    assert PACKAGE not in text


def test_the_whole_traceback_stays_for_tb_and_debug(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell(shell, "import flowstone_nb as fs\n@fs.asset\ndef boom():\n    return 1 / 0\n")
    shown(shell, "fs.materialize('boom')", capsys)
    error = sys.last_value
    assert isinstance(error, fs.MaterializationError)
    files = [frame.filename for frame in traceback.extract_tb(sys.last_traceback)]
    assert any(name.endswith("runner.py") for name in files)
    cause = error.__cause__
    assert cause is not None
    assert any(f.filename.endswith("runner.py") for f in traceback.extract_tb(cause.__traceback__))
    shell.run_line_magic("tb", "")
    assert "runner.py" in ANSI.sub("", capsys.readouterr().out)


def test_an_asset_cell_failure_shows_the_cell_body_line(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    text = shown(shell, "%%asset boom\nvalues = [1, 2]\nvalues[0] / 0\n", capsys)
    assert "----> 3 values[0] / 0" in text
    assert "MaterializationError: Asset 'boom' failed" in text
    assert "magics.py" not in text
    assert PACKAGE not in text


def test_an_error_raised_by_the_library_itself_keeps_its_frames() -> None:
    try:
        fs.get_registry().get("nope")
    except KeyError as missing:
        cause = missing
    assert cause.__traceback__ is not None
    library_only = cause.__traceback__.tb_next  # the registry's frames: no user code
    cause.__traceback__ = library_only
    error = fs.MaterializationError("the store broke", asset="a")
    error.__cause__ = cause
    seen: list[object] = []

    class Shell:
        def showtraceback(self, exc: tuple[object, ...], tb_offset: int) -> None:
            seen.append(cause.__traceback__)
            seen.append(exc[2])

    show_materialization_error(Shell(), type(error), error, None)
    assert seen == [library_only, None]


def test_another_extensions_handler_is_left_in_place(shell: InteractiveShell) -> None:
    def theirs(*args: object, **kwargs: object) -> None:
        return None

    shell.set_custom_exc((KeyError,), theirs)
    load_ipython_extension(shell)
    assert shell.custom_exceptions == (KeyError,)


def test_an_error_without_a_cause_shows_its_own_frames(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "import flowstone_nb as fs\nraise fs.MaterializationError('no value', asset='a')"
    text = shown(shell, source, capsys)
    assert "----> 2 raise fs.MaterializationError" in text
    assert "MaterializationError: no value" in text


def test_without_ipython_only_this_package_is_library_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import IPython

    from flowstone_nb._define.definition_site import is_library_file

    assert is_library_file(IPython.__file__)
    monkeypatch.delitem(sys.modules, "IPython")
    assert not is_library_file(IPython.__file__)
    assert is_library_file(fs.__file__)
