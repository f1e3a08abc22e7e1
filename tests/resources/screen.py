"""A stand-in for the front end's display, for live views (the live graph, backfill progress).

Live views take a ``display`` function that shows an object and returns a handle to update it in
place; :class:`Screen` is one that remembers everything, so tests read each state it was given.
"""

from __future__ import annotations

from typing import Any


class Handle:
    """Stands in for the front end's display: remembers every object it was given."""

    def __init__(self) -> None:
        self.shown: list[Any] = []

    def update(self, obj: Any) -> None:
        self.shown.append(obj)


class Screen:
    """A display function returning a :class:`Handle` (or ``None``, as outside a kernel).

    Parameters
    ----------
    handle
        Whether showing gives a handle to update.
    """

    def __init__(self, *, handle: bool = True) -> None:
        self.handle = Handle()
        self.gives_handle = handle
        self.kwargs: dict[str, Any] = {}

    def __call__(self, obj: Any, **kwargs: Any) -> Handle | None:
        self.kwargs = kwargs
        self.handle.shown.append(obj)
        return self.handle if self.gives_handle else None

    @property
    def sources(self) -> list[str]:
        """The DOT text of every graph shown so far."""
        return [view.source for view in self.handle.shown]
