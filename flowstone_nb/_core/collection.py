"""Building many rows at once without the cyclic garbage collector scanning the whole heap.

A read that builds tens of thousands of tuples (a lineage walk, a history, a status of every
partition) makes CPython's cyclic collector run over and over while it allocates, a full
collection of every object of the kernel among them (tens of milliseconds in a notebook that has
pandas loaded). Those tuples hold strings and numbers only: they cannot form cycles, and
reference counting frees them when they are dropped. :func:`collection_paused` pauses automatic
collection around such a build and restores it after; a program that disabled the collector
itself keeps it disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collection_paused"]


class _Pauses:
    """How many builds (of any thread) are in progress with collection paused by this module."""

    lock = threading.Lock()
    count = 0


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause automatic cyclic garbage collection while the block builds acyclic rows.

    Nested and concurrent blocks are counted: collection resumes when the last one ends, and
    only if it was enabled when the first one began.
    """
    with _Pauses.lock:
        paused_here = _Pauses.count > 0 or gc.isenabled()
        if paused_here:
            _Pauses.count += 1
            gc.disable()
    try:
        yield
    finally:
        if paused_here:
            with _Pauses.lock:
                _Pauses.count -= 1
                if not _Pauses.count:
                    gc.enable()
