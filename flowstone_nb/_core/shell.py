"""Where this process runs: the IPython shell, if any, and whether it is a Jupyter kernel.

Both answers are read without importing IPython: when IPython is not loaded, no shell runs. This
module imports nothing outside the standard library and nothing of flowstone_nb.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["in_notebook", "running_shell"]


def running_shell() -> Any:
    """The running IPython shell, or ``None`` (IPython not loaded, or no shell started)."""
    module = sys.modules.get("IPython")
    if module is None:
        return None
    return module.get_ipython()


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where widgets can render), not in a terminal IPython."""
    return getattr(running_shell(), "kernel", None) is not None
