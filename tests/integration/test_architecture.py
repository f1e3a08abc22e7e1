"""The package's shape, as docs/architecture.md promises it.

The import rules themselves are checked by ``lint-imports`` (``make lint``); these tests check
what that tool does not: every subpackage has a place in the layers, no module grows past the
size a reader can hold, and the page's drawing is the contract as it stands.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "flowstone_nb"
MAX_LINES = 600


def _diagram() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layers_diagram", ROOT / "docs/layers_diagram.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_subpackage_has_a_layer() -> None:
    layers = _diagram().contract_layers()
    placed = {name for layer in layers for name in layer}
    subpackages = {
        f"flowstone_nb.{path.parent.name}"
        for path in PACKAGE.glob("*/__init__.py")
        if path.parent.name != "__pycache__"
    }
    assert subpackages == placed


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_architecture_page_draws_the_contract_as_it_stands() -> None:
    diagram = _diagram()
    page = (ROOT / "docs/architecture.md").read_text(encoding="utf-8")
    assert diagram.block(diagram.contract_layers()) in page, (
        "docs/architecture.md is out of date: run python docs/layers_diagram.py --write"
    )
