"""Notebook files written for a test, and exported modules imported from their files."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType


def notebook(path: Path, *sources: str) -> Path:
    """Write a notebook of code cells (ids ``c0``, ``c1``, …) with ``sources`` at ``path``."""
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s, "outputs": []}
        for i, s in enumerate(sources)
    ]
    document = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def imported(path: Path) -> ModuleType:
    """The module in the file ``path``, imported as ``exported_<stem>``."""
    spec = importlib.util.spec_from_file_location(f"exported_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
