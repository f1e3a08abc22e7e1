"""Issue 16, item 17: what live status lines cost a notebook, cell by cell.

A shell (IPython, no kernel) with the extension loaded runs a notebook of ``live_assets``
``%%asset`` cells, a chain in which every cell calls one helper, so every cell has a live line.
Then three kinds of cell are timed, round after round, as ``shell.run_cell`` calls:

* ``quiet``: a cell that changes nothing an asset depends on (``x = 1``): the check finds that
  nothing moved;
* ``edit``: a cell that edits the helper: every line turns stale, all of them are updated;
* ``run``: a cell that materializes the last asset again: every line says running, then fresh.

Ours has the live lines (a recording front end stands in for the kernel's display and renders
what it is given, as a kernel formats each update); the floor is the same shell and the same
cells without them. Ours minus the floor is what the lines cost; so is, measured directly and
with far less noise, the time spent in the board's hooks before and after the cell and in its
run-event listener during it (the ``*_lines`` metrics, ours only).
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from ._measure import timed
from ._sizes import Sizes

Samples = dict[str, list[float]]

_HELPERS = (
    "def scale(value):\n    return value * 2\n",
    "def scale(value):\n    return value * 3\n",
)


class _Shown:
    """A display the recording front end keeps: its latest text and HTML."""

    def __init__(self, obj: Any) -> None:
        self.update(obj)

    def update(self, obj: Any) -> None:
        self.text, self.html = repr(obj), obj._repr_html_()


def _front(obj: Any, **_: Any) -> _Shown:
    return _Shown(obj)


def _cells(count: int) -> list[str]:
    cells = ["import flowstone_nb as fs\n" + _HELPERS[0], "%%asset a0\n1"]
    cells += [f"%%asset a{i}\nscale(a{i - 1}) % 1000" for i in range(1, count)]
    return cells


@contextmanager
def _notebook(work: Path, sizes: Sizes, *, lines: bool) -> Iterator[Any]:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from flowstone_nb._notebook import live_status

    from .ours import fresh_shell, isolated

    with isolated(work), fresh_shell(work):
        shell: Any = InteractiveShell.instance()  # IPython leaves its methods untyped
        # Made outside the capture: the shell puts back, when it closes, the streams it found.
        with capture_output():  # (the terminal shell would print every Out[n] on the console)
            shell.run_line_magic("load_ext", "flowstone_nb")
            board = live_status.install(shell, show=_front) if lines else None
            try:
                with _timed_board(shell, board) if board else nullcontext():
                    for source in _cells(sizes.live_assets):
                        _run(shell, source)
                    yield shell
            finally:
                live_status.uninstall(shell)
                shell.run_line_magic("unload_ext", "flowstone_nb")


#: Seconds spent in the live lines' hooks and listener since the last cell began.
_spent = [0.0]


def _timed(hook: Callable[[Any], None]) -> Callable[[Any], None]:
    def call(argument: Any) -> None:
        start = time.perf_counter()
        try:
            hook(argument)
        finally:
            _spent[0] += time.perf_counter() - start

    return call


@contextmanager
def _timed_board(shell: Any, board: Any) -> Iterator[None]:
    """Route the board's hooks and listener through timers (the same calls, timed)."""
    hooks = {"pre_run_cell": board.before_cell, "post_run_cell": board.after_cell}
    timed_hooks = {event: _timed(hook) for event, hook in hooks.items()}
    for event, hook in hooks.items():
        shell.events.unregister(event, hook)
        shell.events.register(event, timed_hooks[event])
    board.on_event = _timed(board.on_event)  # what the board subscribes during a cell
    try:
        yield
    finally:
        for event, hook in hooks.items():
            shell.events.unregister(event, timed_hooks[event])
            shell.events.register(event, hook)


def _run(shell: Any, source: str) -> None:
    result = shell.run_cell(textwrap.dedent(source), store_history=True)
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        raise error


def samples(sizes: Sizes, work: Path, *, lines: bool) -> Samples:
    """``sizes.repeat`` rounds of the three cells, with or without live lines."""
    last = f"a{sizes.live_assets - 1}"
    cells = {"quiet": lambda _: "x = 1", "edit": lambda i: _HELPERS[(i + 1) % 2]}
    cells["run"] = lambda _: f"fs.materialize({last!r})"
    found: Samples = {}
    with _notebook(work, sizes, lines=lines) as shell:
        for index in range(sizes.repeat):
            for name, source in cells.items():
                _spent[0] = 0.0
                found.setdefault(name, []).append(timed(_run, shell, source(index)))
                if lines:  # of that cell's time, what its lines took
                    found.setdefault(f"{name}_lines", []).append(_spent[0])
    return found
