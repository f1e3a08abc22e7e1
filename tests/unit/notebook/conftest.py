"""Fixtures of the notebook layer's tests."""

from __future__ import annotations

from types import SimpleNamespace

import IPython
import pytest


@pytest.fixture
def in_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend a Jupyter kernel runs this process (the kernel itself cannot run in a test)."""
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(kernel=object()))
