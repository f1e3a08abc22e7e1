"""Fixtures of the notebook layer's tests."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import IPython
import pytest
from IPython.core.interactiveshell import InteractiveShell

from flowstone_nb._notebook.extension import load_ipython_extension, unload_ipython_extension
from tests.resources.ipython_shell import fresh_shell


@pytest.fixture
def in_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend a Jupyter kernel runs this process (the kernel itself cannot run in a test)."""
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(kernel=object()))


@pytest.fixture
def no_shell_left() -> Iterator[None]:
    """No IPython shell instance before the test, and none left after it."""
    InteractiveShell.clear_instance()
    yield
    InteractiveShell.clear_instance()


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """A fresh IPython shell with the extension loaded and an empty user namespace."""
    instance = fresh_shell(monkeypatch)
    load_ipython_extension(instance)
    try:
        yield instance
    finally:
        unload_ipython_extension(instance)
        InteractiveShell.clear_instance()
