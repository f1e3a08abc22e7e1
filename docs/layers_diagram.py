"""Draw the package's layers (the import-linter contract in pyproject.toml) as a Mermaid chart.

``python docs/layers_diagram.py`` prints the chart; ``--write`` puts it into docs/architecture.md
between its ``layers:start`` and ``layers:end`` markers. A test checks that the page shows the
contract as it stands.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "architecture.md"
START, END = "<!-- layers:start -->", "<!-- layers:end -->"


def contract_layers(pyproject: Path = ROOT / "pyproject.toml") -> list[list[str]]:
    """The layers of the ``layers`` contract, top first, each a list of sibling packages."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [[part.strip() for part in layer.split("|")] for layer in contract["layers"]]


def mermaid(layers: list[list[str]]) -> str:
    """A top-down chart: one row per layer, an arrow from each layer to the one it builds on."""
    lines = ["```mermaid", "flowchart TB"]
    for depth, layer in enumerate(layers):
        label = " | ".join(name.rsplit(".", 1)[-1] for name in layer)
        lines.append(f'    L{depth}["{label}"]')
    lines.extend(f"    L{depth} --> L{depth + 1}" for depth in range(len(layers) - 1))
    lines.append("```")
    return "\n".join(lines)


def block(layers: list[list[str]]) -> str:
    """The chart between the page's markers."""
    return f"{START}\n{mermaid(layers)}\n{END}"


def main(argv: list[str]) -> int:
    """Print the chart, or write it into the page with ``--write``."""
    text = block(contract_layers())
    if "--write" not in argv:
        print(text)
        return 0
    page = PAGE.read_text(encoding="utf-8")
    head, _, rest = page.partition(START)
    _, _, tail = rest.partition(END)
    PAGE.write_text(head + text + tail, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
