"""A fresh, real IPython shell (no kernel), for the tests of the magics and the views."""

from __future__ import annotations

import sys

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
