"""Execute the example notebooks on fresh kernels and write HTML copies (the headless main job).

Usage: ``python .ci/run_notebooks.py notebooks --html artifacts/html``. Exits non-zero when a cell
fails (cells tagged ``raises-exception`` may fail on purpose).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter


def run(notebook: Path, html_dir: Path) -> bool:
    """Execute ``notebook`` in its own folder and write ``<name>.html``; True when it ran clean."""
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    started = time.perf_counter()
    ok = True
    try:
        client.execute()
    except CellExecutionError as error:
        ok = False
        print(f"{notebook}: a cell failed:\n{error}", file=sys.stderr)
    # Without saved widget state nbconvert shows each widget's static HTML fallback, which reads
    # offline; with it, the page would fetch the widget manager from a CDN to draw them.
    nb.metadata.pop("widgets", None)
    body, _ = HTMLExporter().from_notebook_node(nb)
    html_dir.mkdir(parents=True, exist_ok=True)
    target = html_dir / f"{notebook.stem}.html"
    target.write_text(body, encoding="utf-8")
    elapsed = time.perf_counter() - started
    print(f"{notebook.name}: {'ok' if ok else 'FAILED'} in {elapsed:.1f} s -> {target}")
    return ok


def main() -> int:
    """Run every notebook in the folder given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--html", type=Path, default=Path("artifacts/html"))
    args = parser.parse_args()
    results = [run(path, args.html) for path in sorted(args.folder.glob("*.ipynb"))]
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
