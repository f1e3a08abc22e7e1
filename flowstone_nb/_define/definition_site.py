"""Where a definition comes from: a notebook cell, or a module and qualified name.

The registry uses origins to tell a re-run of the same cell (replace silently) from a second cell
or module defining the same name (an error naming both places). Front ends such as JupyterLab
send a cell id with each execution; IPython hands it to the ``pre_run_cell`` event and ipykernel
keeps it in the request's metadata. Headless runners send none: then the origin is unknown.

Cells are *named* the way a person finds them: by the number shown beside the cell (``In [4]``,
the count of the execution that defined it) and the cell's first line, never by the front end's
cell id, which no interface shows. Definition mode (which runs cells without numbering them)
names them by their position in the notebook instead (:func:`cell_place`).

:func:`warn_in_user_code` issues a warning attributed to the first frame outside this package
and IPython: the user's line, or the notebook cell, that made the definition.

This module imports IPython only when IPython is already running.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowstone_nb._core.errors import FlowstoneWarning
from flowstone_nb._core.shell import running_shell

__all__ = [
    "CellRun",
    "Origin",
    "cell_place",
    "current_cell",
    "current_cell_id",
    "install_cell_tracking",
    "is_library_file",
    "origin_of_cell",
    "origin_of_function",
    "running_shell",
    "warn_in_user_code",
]

#: How many characters of a cell's first line a label quotes.
FIRST_LINE_WIDTH = 40

#: The package's folder, as code objects of its modules name it.
_PACKAGE_DIR = f"{Path(__file__).parent.parent}{os.sep}"


@dataclass(frozen=True)
class CellRun:
    """One execution of a notebook cell, as a person finds the cell again.

    Attributes
    ----------
    cell_id
        The front end's id of the cell, or ``None`` when it sent none.
    number
        The number shown beside the cell (``In [number]``), or ``None`` (not numbered).
    first_line
        The cell's first non-blank line.
    place
        How definition mode names the cell (``"cell 5"``), instead of its number.
    """

    cell_id: str | None
    number: int | None
    first_line: str
    place: str | None = None

    @property
    def label(self) -> str:
        """E.g. ``cell In [4] ("%%asset revenue")``."""
        where = self.place or (f"cell In [{self.number}]" if self.number is not None else "a cell")
        line = self.first_line
        if len(line) > FIRST_LINE_WIDTH:
            line = line[: FIRST_LINE_WIDTH - 1].rstrip() + "…"
        return f'{where} ("{line}")' if line else where


_state: dict[str, Any] = {"cell": None, "shell": None, "place": None, "line": None}


@dataclass(frozen=True)
class Origin:
    """The place a definition was made.

    Attributes
    ----------
    key
        A stable identity (``"cell:<id>"`` or ``"module:qualname"``), or ``None`` when the front end
        gave no cell identity.
    label
        How to name the place to a person, e.g. ``cell In [4] ("%%asset revenue")``.
    """

    key: str | None
    label: str


def _first_line(source: str) -> str:
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


def _on_pre_run_cell(info: Any) -> None:
    shell = _state["shell"]
    # IPython counts the execution before this event: the cell's own number is one less.
    count = getattr(shell, "execution_count", None)
    numbered = getattr(info, "store_history", False) and isinstance(count, int)
    cell_id = getattr(info, "cell_id", None)
    _state["cell"] = CellRun(
        cell_id=str(cell_id) if cell_id else None,
        number=count - 1 if numbered and isinstance(count, int) else None,
        first_line=_state["line"] or _first_line(getattr(info, "raw_cell", "") or ""),
        place=_state["place"],
    )


def install_cell_tracking(shell: Any) -> None:
    """Track the front end's cell id of every execution in ``shell`` (idempotent)."""
    if _state["shell"] is shell:
        return
    shell.events.register("pre_run_cell", _on_pre_run_cell)
    _state["shell"] = shell
    _state["cell"] = None


def current_cell() -> CellRun | None:
    """The cell running now in the IPython shell (``None`` without IPython)."""
    shell = running_shell()
    if shell is None:
        return None
    if _state["shell"] is not shell:
        install_cell_tracking(shell)
        _state["cell"] = _cell_from_kernel(shell)
    cell: CellRun | None = _state["cell"]
    return cell


def current_cell_id() -> str | None:
    """The front end's id of the cell running now, or ``None`` (no IPython, or no id sent)."""
    cell = current_cell()
    return cell.cell_id if cell is not None else None


def _cell_from_kernel(shell: Any) -> CellRun:
    """The cell running while tracking starts: the id from ipykernel's request, if any.

    The cell is already counted and its source is the newest in the shell's history.
    """
    count = getattr(shell, "execution_count", None)
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or [""]
    return CellRun(
        cell_id=_cell_id_from_kernel(shell),
        number=count - 1 if isinstance(count, int) and len(history) > 1 else None,
        first_line=_first_line(str(history[-1])),
        place=_state["place"],
    )


def _cell_id_from_kernel(shell: Any) -> str | None:
    """Read the cell id of the current request from ipykernel, when there is a kernel."""
    kernel = getattr(shell, "kernel", None)
    get_parent: Callable[..., Any] | None = getattr(kernel, "get_parent", None)
    if get_parent is None:
        return None
    metadata = (get_parent() or {}).get("metadata") or {}
    cell_id = metadata.get("cellId")
    return str(cell_id) if cell_id else None


@contextlib.contextmanager
def cell_place(place: str, first_line: str | None = None) -> Iterator[None]:
    """Name the cells run inside the block ``place`` (e.g. ``"cell 5 of sales.ipynb"``).

    Definition mode runs cells without numbering them, and runs some of them changed: their
    position names them instead, and ``first_line`` gives the line as the notebook has it.
    """
    before = _state["place"], _state["line"]
    _state["place"], _state["line"] = place, first_line
    try:
        yield
    finally:
        _state["place"], _state["line"] = before


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
    cell = current_cell() or CellRun(None, None, "")
    key = f"cell:{cell.cell_id}" if cell.cell_id else None
    return Origin(key=key, label=cell.label)


# -- warnings -------------------------------------------------------------------------------------


def _library_prefixes() -> tuple[str, ...]:
    """The folders of code that is not the user's: this package, and IPython when loaded."""
    prefixes = [_PACKAGE_DIR]
    ipython = getattr(sys.modules.get("IPython"), "__file__", None)
    if ipython:
        prefixes.append(f"{Path(ipython).parent}{os.sep}")
    return tuple(prefixes)


def is_library_file(filename: str) -> bool:
    """Whether code of ``filename`` is flowstone_nb's or IPython's, not the user's.

    Warnings are attributed to, and tracebacks keep, the frames of the other files.
    """
    return filename.startswith(_library_prefixes())


def warn_in_user_code(message: str, category: type[Warning] = FlowstoneWarning) -> None:
    """Warn, attributing the warning to the user's code that led here.

    The warning names the first calling frame outside flowstone_nb and IPython
    (:func:`is_library_file`): the line of a module with the ``@fs.asset`` decorator or the
    ``Pipeline`` class statement, or the notebook cell (an ``%%asset`` cell's first line is the
    magic's line).

    Parameters
    ----------
    message
        The warning's text.
    category
        Its class.
    """
    prefixes = _library_prefixes()
    frame = sys._getframe(1)
    level = 2  # (1 is this function)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(prefixes):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
