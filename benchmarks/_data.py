"""The partitioned workload's data: seeded random frames and their group-by.

Shared by the floor, ours and the peers so that every contender does exactly the same work.
Imports numpy and pandas (the benchmark needs them anyway).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

START = dt.date(2024, 1, 1)
#: Tag the hand-written skip compares to decide a partition is fresh.
CODE_TAG = "summarise-v1"


def days(count: int) -> list[str]:
    """``count`` consecutive ISO days from :data:`START`."""
    return [(START + dt.timedelta(days=i)).isoformat() for i in range(count)]


def partition_frame(day: str, rows: int) -> pd.DataFrame:
    """Asset A of one day: ``rows`` rows x 5 columns of random data seeded by the day."""
    rng = np.random.default_rng(int(day.replace("-", "")))
    return pd.DataFrame(
        {
            "key": rng.integers(0, 1_000, rows),
            "a": rng.random(rows),
            "b": rng.normal(size=rows),
            "c": rng.random(rows) * 100.0,
            "d": rng.integers(0, 1_000_000, rows),
        }
    )


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Asset B: a group-by of A."""
    return frame.groupby("key", as_index=False).agg(
        a=("a", "sum"), b=("b", "mean"), c=("c", "max"), d=("d", "count")
    )
