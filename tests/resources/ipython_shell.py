"""A fresh, real IPython shell (no kernel), for the tests of the magics and the views."""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


def fresh_shell(monkeypatch: pytest.MonkeyPatch, config: Config | None = None) -> InteractiveShell:
    """A new ``InteractiveShell`` singleton with an in-memory history; clear it when done."""
    # The shell installs its own __main__; monkeypatch puts pytest's back afterwards.
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    InteractiveShell.clear_instance()
    config = config or Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config)


def run_cell(shell: InteractiveShell, source: str, cell_id: str | None = None) -> Any:
    """Run ``source`` (dedented) as a cell and give its value; an error in it is raised."""
    result = shell.run_cell(textwrap.dedent(source), cell_id=cell_id)
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        raise error
    return result.result
