"""Materialization events for live views (progress bars, the live graph).

The executor reports each node's start and outcome here; views subscribe. Listeners run in the
executing thread and must be quick; an exception in a listener is logged, never raised into a run.
This module knows nothing about widgets or storage.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "emit", "has_listeners", "subscribe"]

_log = logging.getLogger("flowstone_nb.events")


@dataclass(frozen=True)
class Event:
    """One step of a run.

    Attributes
    ----------
    kind
        ``"started"``, ``"succeeded"``, ``"reused"``, ``"failed"``, ``"skipped"`` (an upstream
        failed) or ``"cancelled"`` (never started).
    asset
        The asset.
    partition
        The partition key as text (``""`` when unpartitioned).
    run_id
        The run.
    detail
        Extra facts: duration, error message, data version.
    """

    kind: str
    asset: str
    partition: str
    run_id: str
    detail: dict[str, Any]


Listener = Callable[[Event], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call ``listener`` for every event; returns a function that unsubscribes it."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def has_listeners() -> bool:
    """True when someone listens (so callers can skip building events)."""
    return bool(_listeners)


def emit(event: Event) -> None:
    """Send ``event`` to every listener."""
    for listener in _listeners:
        try:
            listener(event)
        except Exception:  # noqa: BLE001  # a broken view must never break a run
            _log.exception("A flowstone_nb event listener failed; the run goes on.")
