"""Where a definition comes from: a notebook cell, or a module and qualified name.

The registry uses origins to tell a re-run of the same cell (replace silently) from a second cell
or module defining the same name (an error naming both places). Front ends such as JupyterLab
send a cell id with each execution; IPython hands it to the ``pre_run_cell`` event and ipykernel
keeps it in the request's metadata. Headless runners send none: then the origin is unknown.

This module imports IPython only when IPython is already running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowstone_nb._core.shell import running_shell

__all__ = [
    "Origin",
    "current_cell_id",
    "install_cell_tracking",
    "origin_of_cell",
    "origin_of_function",
    "running_shell",
]

_state: dict[str, Any] = {"cell_id": None, "shell": None}


@dataclass(frozen=True)
class Origin:
    """The place a definition was made.

    Attributes
    ----------
    key
        A stable identity (``"cell:<id>"`` or ``"module:qualname"``), or ``None`` when the front end
        gave no cell identity.
    label
        How to name the place to a person, e.g. ``"cell 3f2a… (In [4])"``.
    """

    key: str | None
    label: str


def _on_pre_run_cell(info: Any) -> None:
    _state["cell_id"] = getattr(info, "cell_id", None)


def install_cell_tracking(shell: Any) -> None:
    """Track the front end's cell id of every execution in ``shell`` (idempotent)."""
    if _state["shell"] is shell:
        return
    shell.events.register("pre_run_cell", _on_pre_run_cell)
    _state["shell"] = shell
    _state["cell_id"] = None


def current_cell_id() -> str | None:
    """The front end's id of the cell running now, or ``None`` (no IPython, or no id sent)."""
    shell = running_shell()
    if shell is None:
        return None
    if _state["shell"] is not shell:
        install_cell_tracking(shell)
        return _cell_id_from_kernel(shell)
    cell_id = _state["cell_id"]
    return str(cell_id) if cell_id else None


def _cell_id_from_kernel(shell: Any) -> str | None:
    """Read the cell id of the current request from ipykernel, when there is a kernel."""
    kernel = getattr(shell, "kernel", None)
    get_parent: Callable[..., Any] | None = getattr(kernel, "get_parent", None)
    if get_parent is None:
        return None
    metadata = (get_parent() or {}).get("metadata") or {}
    cell_id = metadata.get("cellId")
    return str(cell_id) if cell_id else None


def _cell_label(shell: Any, cell_id: str | None) -> str:
    count = getattr(shell, "execution_count", None)
    run = f"In [{count}]" if count is not None else "a cell"
    return f"cell {cell_id[:8]}… ({run})" if cell_id else f"a notebook cell ({run})"


def origin_of_function(fn: Callable[..., Any]) -> Origin:
    """The origin of a function defined in a notebook cell or in a module."""
    module = getattr(fn, "__module__", None) or "__main__"
    if module == "__main__":
        shell = running_shell()
        if shell is not None:
            return origin_of_cell(shell)
    qualname = getattr(fn, "__qualname__", getattr(fn, "__name__", "<function>"))
    code = getattr(fn, "__code__", None)
    key = f"{module}:{qualname}"
    if code is None:
        return Origin(key=key, label=key)
    return Origin(key=key, label=f"{key} ({code.co_filename}:{code.co_firstlineno})")


def origin_of_cell(shell: Any = None) -> Origin:
    """The origin of the notebook cell executing now."""
    shell = shell if shell is not None else running_shell()
    if shell is None:
        return Origin(key=None, label="code with no source location")
    cell_id = current_cell_id()
    key = f"cell:{cell_id}" if cell_id else None
    return Origin(key=key, label=_cell_label(shell, cell_id))
