"""Timing: repeated samples of a callable and their summary statistics.

Standard library only, so the peers' interpreter can import it too. A sample is the wall time
(``time.perf_counter``) of one call; setup passed separately is never timed. The garbage
collector is run before each sample so that one sample does not pay for another's garbage.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Stat:
    """Summary of repeated samples, in seconds."""

    median: float
    low: float
    high: float
    q1: float
    q3: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stat:
        """Summarise ``samples`` (at least one)."""
        ordered = sorted(samples)
        if len(ordered) >= 2:
            q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        else:
            q1 = q3 = ordered[0]
        return cls(statistics.median(ordered), ordered[0], ordered[-1], q1, q3, len(ordered))

    def scaled(self, factor: float) -> Stat:
        """The same statistics multiplied by ``factor`` (e.g. per asset)."""
        return Stat(
            self.median * factor,
            self.low * factor,
            self.high * factor,
            self.q1 * factor,
            self.q3 * factor,
            self.n,
        )


def measure(call: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[float, T]:
    """Seconds one call ``call(*args, **kwargs)`` takes (after a garbage collection), and its
    result."""
    gc.collect()
    start = time.perf_counter()
    result = call(*args, **kwargs)
    return time.perf_counter() - start, result


def timed(call: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """Seconds one call ``call(*args, **kwargs)`` takes (after a garbage collection)."""
    return measure(call, *args, **kwargs)[0]


def time_queries(queries: Mapping[str, Callable[[], Any]], repeat: int) -> dict[str, list[float]]:
    """``repeat`` timings of each query, after one untimed call that warms caches (SQLite's
    page cache after a catalog opens)."""
    samples: dict[str, list[float]] = {}
    for name, query in queries.items():
        query()
        samples[name] = [timed(query) for _ in range(repeat)]
    return samples


def sample(
    call: Callable[[], Any],
    repeat: int,
    *,
    setup: Callable[[], Any] | None = None,
    warmup: int = 0,
) -> list[float]:
    """Time ``call`` ``repeat`` times; ``setup`` (untimed) runs before every call.

    When ``setup`` is given, ``call`` receives nothing and should read what setup prepared from
    its own closure; ``warmup`` calls are made first and thrown away.
    """
    samples = []
    for index in range(warmup + repeat):
        if setup is not None:
            setup()
        seconds = timed(call)
        if index >= warmup:
            samples.append(seconds)
    return samples
