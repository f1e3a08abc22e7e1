"""Showing an object in the notebook with a handle that updates it in place.

:func:`show` is IPython's ``display`` named with the type it is documented to have; live views
(the live graph, the backfill progress) take a :data:`Display` so tests can pass their own.
:data:`BLANK` is what a live display is updated to when it is no longer needed (the front end
and an exported copy then show nothing there). This module imports IPython only when something
is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["BLANK", "Blank", "Display", "DisplayHandle", "show"]


class DisplayHandle(Protocol):
    """What ``IPython.display.display(..., display_id=True)`` returns: something to update."""

    def update(self, obj: Any) -> None:
        """Replace the displayed object."""


#: Shows an object; with ``display_id=True`` returns a handle (``None`` outside a kernel).
Display = Callable[..., DisplayHandle | None]


class Blank:
    """An output that shows nothing, in every front end and in exported copies."""

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        return {"text/plain": "", "text/html": ""}

    def __repr__(self) -> str:
        return ""


#: The one blank output.
BLANK = Blank()


def show(obj: Any, **kwargs: Any) -> DisplayHandle | None:
    """Show ``obj`` with IPython's ``display`` (same keywords), returning its handle if any."""
    from IPython import display as ipython_display

    # IPython's display() carries no annotations; name the type it is documented to have.
    shown: Display = ipython_display.display
    return shown(obj, **kwargs)
