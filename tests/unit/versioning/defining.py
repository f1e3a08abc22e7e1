"""How the versioning tests define code: imported from a real file, or exec'd from a string."""

from __future__ import annotations

import importlib.util
import itertools
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

from flowstone_nb._versioning.code_versions import code_version

_counter = itertools.count()


def load(tmp_path: Path, source: str, name: str | None = None) -> ModuleType:
    """Import ``source`` from a real file, as a module of its own (not kept in sys.modules)."""
    name = name or f"fs_versioning_case_{next(_counter)}"
    path = tmp_path / f"{name}_{next(_counter)}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def version_of(tmp_path: Path, source: str, attribute: str = "target") -> str:
    return code_version(getattr(load(tmp_path, source), attribute))


def exec_function(
    source: str, name: str = "target", namespace: dict[str, Any] | None = None
) -> Any:
    """Define a function from a string that no file or linecache backs (the fallback path)."""
    namespace = {"__name__": "generated"} if namespace is None else namespace
    exec(compile(textwrap.dedent(source), "<generated>", "exec"), namespace)
    return namespace[name]
