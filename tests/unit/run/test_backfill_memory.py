"""A backfill holds only the frames its workers are computing and writing.

Results hold keys and locations, never values: once a partition's value is stored and nothing
downstream in the same run still needs it, nothing keeps it alive. Each asset here notes a weak
reference to every frame it returns and, as each partition starts, how many of the frames
returned before are still alive (a frame kept by a result, the recorder or a reference cycle
would be).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from typing import Any

import pandas as pd

import flowstone_nb as fs

DAYS = fs.DailyPartitions("2024-01-01", "2024-01-12")


class Frames:
    """Weak references to the frames an asset returned, and how many lived at each start."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[pd.DataFrame]] = []
        self.alive_at_start: list[int] = []
        self._lock = threading.Lock()

    def alive(self) -> int:
        return sum(ref() is not None for ref in self.refs)

    def start(self) -> None:
        with self._lock:
            self.alive_at_start.append(self.alive())

    def made(self, frame: pd.DataFrame) -> pd.DataFrame:
        with self._lock:
            self.refs.append(weakref.ref(frame))
        return frame


def frame_of(day: dt.date) -> pd.DataFrame:
    return pd.DataFrame({"day": [day.isoformat()] * 1_000, "amount": range(1_000)})


def raw_assets(frames: Frames) -> fs.Asset:
    @fs.asset(partitioned_by=DAYS)
    def raw(context: Any) -> pd.DataFrame:
        frames.start()
        return frames.made(frame_of(context.partition))

    return raw


def test_one_worker_holds_no_frame_of_a_partition_it_has_written() -> None:
    frames = Frames()
    raw_assets(frames)

    @fs.asset(partitioned_by=DAYS)
    def total(raw: pd.DataFrame) -> pd.DataFrame:
        return raw.groupby("day", as_index=False).amount.sum()

    result = fs.backfill(total, max_workers=1)
    assert result.ok
    assert len(frames.refs) == 12
    # raw[d] is consumed by total[d], then written: raw[d + 1] starts with none alive
    assert frames.alive_at_start == [0] * 12
    assert frames.alive() == 0  # the result holds keys and locations only


def test_each_worker_holds_at_most_the_frame_it_computes() -> None:
    frames = Frames()
    raw_assets(frames)
    result = fs.backfill("raw", max_workers=3)
    assert result.ok
    assert max(frames.alive_at_start) <= 2  # the other two workers' frames
    assert frames.alive() == 0


def test_a_frame_lives_while_a_downstream_partition_of_the_run_needs_it() -> None:
    frames = Frames()
    raw_assets(frames)

    @fs.asset(partitioned_by=DAYS, partition_mappings={"raw": fs.TrailingWindow(2)})
    def pair(raw: dict[dt.date, pd.DataFrame]) -> int:
        return sum(len(frame) for frame in raw.values())

    result = fs.backfill(pair, max_workers=1)
    assert result.ok
    assert fs.materialize(pair, "2024-01-05") == 2_000
    # raw[d - 1] waits for pair[d]; nothing older does
    assert frames.alive_at_start == [0] + [1] * 11
    assert frames.alive() == 0


def test_values_kept_in_memory_are_the_store_and_stay() -> None:
    # (the memory IO manager keeps every value: that is what it is for)
    frames = Frames()

    @fs.asset(partitioned_by=DAYS, io_manager="memory")
    def kept(context: Any) -> pd.DataFrame:
        frames.start()
        return frames.made(frame_of(context.partition))

    assert fs.backfill(kept, max_workers=1).ok
    assert frames.alive() == 12
