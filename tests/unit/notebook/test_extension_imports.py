"""``%load_ext flowstone_nb`` imports only what parsing a magic line needs.

pydantic (definitions), ipywidgets (views), pandas, numpy and pyarrow (values) are imported when a
cell first uses them: loading the extension in a fresh kernel stays quick. Each check runs in a
new interpreter, since this one has imported everything long ago.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("pydantic", "ipywidgets", "pandas", "numpy", "pyarrow", "sqlite3", "graphviz")

_SCRIPT = """
import json, sys
from traitlets.config import Config
from IPython.core.interactiveshell import InteractiveShell
config = Config()
config.HistoryManager.enabled = False
shell = InteractiveShell.instance(config=config)
if {kernel!r}:
    shell.kernel = object()  # (what a Jupyter kernel's shell has: the live status board installs)
before = set(sys.modules)
shell.run_line_magic("load_ext", "flowstone_nb")
loaded = sorted(set(sys.modules) - before)
assert "FlowstoneMagics" in shell.magics_manager.registry
{after}
print(json.dumps(loaded))
"""


def loaded_by_load_ext(tmp_path: Path, *, kernel: bool, after: str = "") -> list[str]:
    """The modules ``%load_ext flowstone_nb`` imported in a fresh IPython shell."""
    script = _SCRIPT.format(kernel=kernel, after=after)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            "PYTHONPATH": str(ROOT),
            "IPYTHONDIR": str(tmp_path / "ipython"),
            "HOME": str(tmp_path),
        },
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY]


@pytest.mark.parametrize("kernel", [False, True], ids=["terminal", "kernel"])
def test_loading_the_extension_imports_no_definitions_widgets_or_frames(
    tmp_path: Path, kernel: bool
) -> None:
    loaded = loaded_by_load_ext(tmp_path, kernel=kernel)
    assert "flowstone_nb._notebook.magics" in loaded
    assert heavy(loaded) == []
    assert not [m for m in loaded if m.startswith("flowstone_nb._define.asset")]
    assert not [m for m in loaded if m.startswith("flowstone_nb._partitioning.mappings")]


def test_a_cell_then_imports_what_it_uses(tmp_path: Path) -> None:
    # (the magics work as before: a %%asset cell imports the definitions it needs)
    after = (
        "shell.run_cell('import flowstone_nb as fs; fs.configure(home=\\'store\\')')\n"
        "shell.run_cell_magic('asset', 'answer --io memory', '6 * 7')\n"
        "assert shell.user_ns['answer'] == 42\n"
        "loaded = sorted(set(sys.modules) - before)"
    )
    loaded = loaded_by_load_ext(tmp_path, kernel=False, after=after)
    assert "pydantic" in loaded
