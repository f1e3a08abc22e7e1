"""Materialization events for live views (progress bars, the live graph).

Runs report here and views subscribe. Two sorts of event pass through (their kinds are
:class:`~flowstone_nb._core.states.EventKind`): each node's start and outcome, which the executor
builds only while someone listens to every event (:func:`has_listeners`), and the rare
announcements of a whole run (a backfill's start and end), which are always sent. A view that only
needs announcements subscribes to those kinds alone, so it never makes a run build node events.

Listeners run in the emitting thread and must be quick; an exception in a listener is logged,
never raised into a run. A listener may subscribe or unsubscribe listeners while it runs (they
take effect from the next event). This module knows nothing about widgets or storage.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "Listener", "emit", "has_listeners", "subscribe"]

_log = logging.getLogger("flowstone_nb.events")


@dataclass(frozen=True)
class Event:
    """One step of a run.

    Attributes
    ----------
    kind
        A node's step: ``"started"``, ``"succeeded"``, ``"reused"``, ``"failed"``, ``"skipped"``
        (an upstream failed) or ``"cancelled"`` (never started); or a run's announcement:
        ``"backfill_started"``, ``"backfill_finished"``.
    asset
        The asset.
    partition
        The partition key as text (``""`` when unpartitioned, and in announcements).
    run_id
        The run (``""`` in announcements, sent before the run has an id).
    detail
        Extra facts: duration, error message, data version; in a backfill's announcements, the
        :class:`~flowstone_nb._core.progress.BackfillAnnouncement` under ``"backfill"``.
    """

    kind: str
    asset: str
    partition: str
    run_id: str
    detail: dict[str, Any]


#: What :func:`subscribe` takes: called with each event.
Listener = Callable[[Event], None]
#: Listeners of every event (runs check it, through :func:`has_listeners`, before building one).
_listeners: list[Listener] = []
#: Listeners of some kinds only, by kind.
_by_kind: dict[str, list[Listener]] = {}
_lock = threading.Lock()


def subscribe(listener: Listener, *, kinds: Iterable[str] | None = None) -> Callable[[], None]:
    """Call ``listener`` for every event, or for events of ``kinds`` only.

    Parameters
    ----------
    listener
        Called with each event, in the emitting thread.
    kinds
        Only events of these kinds (default: every event). A listener of some kinds does not
        count for :func:`has_listeners` without a kind.

    Returns
    -------
    Callable[[], None]
        Unsubscribes the listener (calling it twice is harmless).
    """
    wanted = None if kinds is None else set(kinds)
    with _lock:
        lists = [_listeners] if wanted is None else [_by_kind.setdefault(k, []) for k in wanted]
        for chosen in lists:
            chosen.append(listener)

    def unsubscribe() -> None:
        with _lock:
            for chosen in lists:
                if listener in chosen:
                    chosen.remove(listener)

    return unsubscribe


def has_listeners(kind: str | None = None) -> bool:
    """True when someone listens to every event, or (given ``kind``) would hear that kind.

    Runs ask before building a node's event, so that nobody listening costs nothing.
    """
    return bool(_listeners) or (kind is not None and bool(_by_kind.get(kind)))


def emit(event: Event) -> None:
    """Send ``event`` to every listener of its kind."""
    for listener in (*_listeners, *_by_kind.get(event.kind, ())):
        try:
            listener(event)
        except Exception:  # noqa: BLE001  # a broken view must never break a run
            _log.exception("A flowstone_nb event listener failed; the run goes on.")
