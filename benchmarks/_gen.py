"""Generated asset modules: the same trivial graphs written the idiomatic way of each contender.

Flavours: ``"flowstone"`` (``@fs.asset(io_manager="memory")``), ``"dagster"`` (``@asset``),
``"hamilton"`` and ``"plain"`` (bare functions: Hamilton reads parameter names, the floor calls
them in order). Every contender gets byte-identical function bodies, written to a real file (so
source-based code versions work), copied to a new file and compiled afresh outside the timings
for every sample; "defining" is executing that code object into a fresh module, which is what
importing a module with a warm bytecode cache costs, and nothing the library caches per code
object or per file survives from one sample to the next.
Standard library only.
"""

from __future__ import annotations

import itertools
import sys
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_HEADERS = {
    "flowstone": "import flowstone_nb as fs\n\n",
    "dagster": "from dagster import asset\n\n",
    "hamilton": "",
    "plain": "",
}
_DECORATORS = {
    "flowstone": '@fs.asset(io_manager="memory")\n',
    "dagster": "@asset\n",
    "hamilton": "",
    "plain": "",
}


_copies = itertools.count()


def chain_name(index: int) -> str:
    """The name of the ``index``-th asset of the chain."""
    return f"a{index:05d}"


def chain_parents(n: int) -> dict[str, list[str]]:
    """``{asset: [parent]}`` of a linear chain of ``n`` assets."""
    return {chain_name(i): [chain_name(i - 1)] if i else [] for i in range(n)}


def wide_name(layer: int, index: int) -> str:
    """The name of asset ``index`` of ``layer`` in the wide DAG."""
    return f"w{layer:03d}_{index:04d}"


def wide_parents(layers: int, width: int) -> dict[str, list[str]]:
    """``{asset: parents}`` of ``layers`` layers of ``width`` assets, two parents each."""
    parents: dict[str, list[str]] = {}
    for layer in range(layers):
        for index in range(width):
            name = wide_name(layer, index)
            if layer == 0:
                parents[name] = []
            else:
                second = (index + 1) % width
                parents[name] = sorted({wide_name(layer - 1, index), wide_name(layer - 1, second)})
    return parents


def _function(name: str, parents: Sequence[str], flavour: str, root_value: int) -> str:
    params = ", ".join(f"{p}: int" for p in parents)
    body = " + ".join(parents) + " + 1" if parents else str(root_value)
    return f"{_DECORATORS[flavour]}def {name}({params}) -> int:\n    return {body}\n\n\n"


def module_source(parents: Mapping[str, Sequence[str]], flavour: str) -> str:
    """Python source defining one trivial function per asset, in ``flavour``."""
    parts = [_HEADERS[flavour]]
    for index, (name, ups) in enumerate(parents.items()):
        parts.append(_function(name, ups, flavour, index % 7))
    return "".join(parts).rstrip() + "\n"


def leaves(parents: Mapping[str, Sequence[str]]) -> list[str]:
    """The assets nothing depends on (the targets of a run)."""
    used = {p for ups in parents.values() for p in ups}
    return [name for name in parents if name not in used]


@dataclass(frozen=True)
class GeneratedModule:
    """A generated module on disk; :meth:`compiled` (untimed) then :meth:`load` (timed)."""

    name: str
    path: Path
    source: str

    @classmethod
    def write(cls, folder: Path, name: str, source: str) -> GeneratedModule:
        """Write ``source`` to ``folder/name.py`` (untimed setup)."""
        path = folder / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        return cls(name, path, source)

    def compiled(self) -> types.CodeType:
        """A new code object from a new copy of the file (untimed), so nothing cached per code
        object, per file or per compiled text carries over from one sample to the next."""
        copy = self.path.with_name(f"{self.path.stem}__{next(_copies)}.py")
        copy.write_text(self.source, encoding="utf-8")
        return compile(self.source, str(copy), "exec")

    def load(self, code: types.CodeType | None = None) -> types.ModuleType:
        """A fresh module object holding the definitions (registered in ``sys.modules``)."""
        code = code or self.compiled()
        module = types.ModuleType(self.name)
        module.__file__ = code.co_filename
        sys.modules[self.name] = module
        exec(code, module.__dict__)
        return module

    def unload(self) -> None:
        """Forget the module (so the next :meth:`load` starts from nothing)."""
        sys.modules.pop(self.name, None)
