"""Bounded caches: how many results versioning keeps, and how the oldest go.

Every cache of the package's versioning (code digests, parsed cells, versions) is an ordinary
:class:`dict` filled through :func:`remember`, so reads stay C-level lookups. Entries hold the
objects whose ids key them, so an id in a cache is never reused by another object. This module
knows nothing of what is cached.
"""

from __future__ import annotations

import itertools
import threading
from typing import TypeVar

__all__ = ["MAX_CACHED", "remember"]

#: How many entries each cache keeps; the oldest go first.
MAX_CACHED = 4096

_K = TypeVar("_K")
_V = TypeVar("_V")
_LOCK = threading.Lock()


def remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
    """Put ``value`` in ``cache``; when it holds more than :data:`MAX_CACHED`, the oldest go.

    Parameters
    ----------
    cache
        The cache (insertion order is age).
    key, value
        The entry.
    """
    cache[key] = value  # one assignment: atomic, no lock needed
    if len(cache) > MAX_CACHED:
        with _LOCK:  # the oldest quarter goes at once: one scan, not one per entry
            excess = max(len(cache) - MAX_CACHED, 0)  # 0: another thread evicted meanwhile
            for old in list(itertools.islice(cache, excess + MAX_CACHED // 4)):
                cache.pop(old, None)
