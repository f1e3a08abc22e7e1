"""How a backfill reports its progress: announcements for live views, plain text for scripts.

:func:`reporting_backfill` brackets a backfill with two events,
:attr:`~flowstone_nb._core.states.EventKind.BACKFILL_STARTED` and ``BACKFILL_FINISHED``, which
carry one :class:`BackfillAnnouncement` (the asset, its partition keys as the user writes them, the
backfill's cancel event, and whether progress is wanted). Views that show progress listen for those
two kinds: inside a Jupyter kernel the notebook layer shows its widget. Outside a kernel, when
progress is wanted, this module prints one line per finished partition to standard error.

The default (progress neither asked for nor configured) is: shown in a notebook, quiet in a
script. This module imports no widget and no IPython.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from flowstone_nb._core.events import Event, Listener, emit, subscribe
from flowstone_nb._core.html import subject
from flowstone_nb._core.shell import in_notebook
from flowstone_nb._core.states import EventKind

__all__ = ["ANNOUNCEMENTS", "BackfillAnnouncement", "reporting_backfill"]

#: The kinds of a backfill's announcements, for :func:`~flowstone_nb._core.events.subscribe`.
ANNOUNCEMENTS = (EventKind.BACKFILL_STARTED, EventKind.BACKFILL_FINISHED)
#: The outcomes the text progress counts as a finished partition.
_FINISHED = frozenset({EventKind.SUCCEEDED, EventKind.REUSED, EventKind.FAILED})
_DETAIL_KEY = "backfill"


@dataclass(frozen=True, eq=False)
class BackfillAnnouncement:
    """What a backfill tells live views: the same object in its start and its end event.

    Compared by identity, so a view can key what it shows for one backfill by it.

    Attributes
    ----------
    asset
        The asset backfilled.
    partitions
        The requested partition keys, as the user writes them, in order.
    cancel
        Setting it stops new partitions from starting (what a Cancel button does).
    show
        Whether the caller wants to see the progress.
    """

    asset: str
    partitions: tuple[str, ...]
    cancel: threading.Event
    show: bool

    @property
    def total(self) -> int:
        """How many partitions the backfill runs."""
        return len(self.partitions)

    def event(self, kind: EventKind) -> Event:
        """The announcement as an event of ``kind`` (a backfill's start or end)."""
        return Event(kind, self.asset, "", "", {_DETAIL_KEY: self})

    @classmethod
    def of(cls, event: Event) -> BackfillAnnouncement:
        """The announcement that a backfill's start or end event carries."""
        announcement = event.detail[_DETAIL_KEY]
        assert isinstance(announcement, cls), f"{event.kind} events carry a {cls.__name__}"
        return announcement


def _text_progress(asset: str, total: int) -> Listener:
    """A listener printing ``asset[partition]: outcome (done/total)`` per finished partition."""
    done = [0]
    lock = threading.Lock()

    def listener(event: Event) -> None:
        if event.asset != asset or event.kind not in _FINISHED:
            return
        with lock:
            done[0] += 1
            count = done[0]
        print(f"{subject(asset, event.partition)}: {event.kind} ({count}/{total})", file=sys.stderr)

    return listener


def _nothing() -> None:
    """Unsubscribe what was never subscribed."""


@contextmanager
def reporting_backfill(
    asset: str, partitions: Sequence[str], *, cancel: threading.Event, show: bool | None
) -> Iterator[BackfillAnnouncement]:
    """Announce a backfill's start and end around the block, and print progress in scripts.

    Parameters
    ----------
    asset
        The asset backfilled.
    partitions
        Its requested partition keys, as the user writes them.
    cancel
        The backfill's cancel event.
    show
        Whether to show progress; ``None``: in a notebook yes, in a script no.

    Yields
    ------
    BackfillAnnouncement
        What both events carry.
    """
    notebook = in_notebook()
    wanted = notebook if show is None else show
    announcement = BackfillAnnouncement(asset, tuple(partitions), cancel, wanted)
    printing = wanted and not notebook
    unsubscribe = subscribe(_text_progress(asset, announcement.total)) if printing else _nothing
    emit(announcement.event(EventKind.BACKFILL_STARTED))
    try:
        yield announcement
    finally:
        unsubscribe()
        emit(announcement.event(EventKind.BACKFILL_FINISHED))
