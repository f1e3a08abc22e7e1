"""Helpers that count how often asset code runs, to prove what was (not) recomputed."""

from __future__ import annotations

import collections
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

calls: collections.Counter[str] = collections.Counter()


def load_module(path: Path, name: str = "pipeline_under_test") -> ModuleType:
    """Import ``path`` as module ``name`` (re-importing replaces the previous one)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
