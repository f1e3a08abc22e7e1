"""Progress of a backfill: a widget in notebooks, quiet in scripts.

:func:`progress_for` shows the notebook layer's ``BackfillProgress`` widget while a backfill runs
and feeds it the run's events; its Cancel button sets the backfill's cancel event. Outside a
kernel it does nothing unless asked to, and then prints one summary line per finished partition
to standard error.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from flowstone_nb._core.events import Event, subscribe

__all__ = ["in_notebook", "progress_for"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where widgets can render)."""
    module = sys.modules.get("IPython")
    shell = module.get_ipython() if module is not None else None
    return getattr(shell, "kernel", None) is not None


def _text_listener(total: int, asset: str) -> Any:
    done = [0]
    lock = threading.Lock()

    def listener(event: Event) -> None:
        if event.asset != asset or event.kind not in ("succeeded", "reused", "failed"):
            return
        with lock:
            done[0] += 1
            count = done[0]
        where = f"[{event.partition}]" if event.partition else ""
        print(f"{asset}{where}: {event.kind} ({count}/{total})", file=sys.stderr)

    return listener


@contextmanager
def progress_for(
    total: int,
    asset: str,
    *,
    cancel: threading.Event,
    enabled: bool | None,
    partitions: Sequence[str] = (),
) -> Iterator[None]:
    """Show progress of a backfill of ``total`` partitions of ``asset`` while the block runs."""
    from flowstone_nb._storage.config import settings

    wanted = enabled if enabled is not None else settings().progress
    notebook = in_notebook()
    if wanted is None:
        wanted = notebook
    if not wanted:
        yield
        return
    if notebook:
        from IPython.display import display

        from flowstone_nb._notebook.views import BackfillProgress

        widget = BackfillProgress(total, on_cancel=cancel.set, partitions=partitions, title=asset)
        handle = display(widget, display_id=True)
        listener: Any = _filtered(asset, widget.update)
    else:
        handle, listener = None, _text_listener(total, asset)
    unsubscribe = subscribe(listener)
    try:
        yield
    finally:
        unsubscribe()
        if handle is not None:
            # Refresh the output's static fallback (HTML copies, GitHub) with the final counts.
            handle.update(widget)


def _filtered(asset: str, update: Any) -> Any:
    def listener(event: Event) -> None:
        if event.asset == asset:
            update(event)

    return listener
