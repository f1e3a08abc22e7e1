"""A backfill the fault-injection tests kill, damage and resume: each value is known in advance.

Run as ``python -m tests.resources.fault_backfill HOME`` it backfills :data:`DAYS` into ``HOME``,
printing ``computing <day>`` as each partition starts, so that the test can kill it at a moment
it picks. Values are large enough (about 400 kB of Parquet) to be written through temp files.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd

import flowstone_nb as fs

DAYS = fs.DailyPartitions("2024-03-01", "2024-03-08")
ROWS = 50_000


def expected_events(day: str) -> pd.DataFrame:
    """The value of ``events`` for ``day``: a function of the day alone."""
    seed = int(day.replace("-", ""))
    values = np.random.default_rng(seed).integers(0, 1_000, ROWS)
    return pd.DataFrame({"day": day, "value": values})


def expected_total(day: str) -> int:
    """The value of ``total`` for ``day``."""
    return int(expected_events(day)["value"].sum())


def define(registry: fs.Registry) -> None:
    """Register ``events`` (a large frame per day) and ``total`` (its sum) in ``registry``."""

    @fs.asset(partitioned_by=DAYS, registry=registry)
    def events(context: Any) -> pd.DataFrame:
        day = context.partition_key
        sys.stdout.write(f"computing {day}\n")  # one write: two threads never mix their lines
        sys.stdout.flush()
        return expected_events(day)

    @fs.asset(partitioned_by=DAYS, registry=registry)
    def total(events: pd.DataFrame) -> int:
        return int(events["value"].sum())


def main(home: str) -> None:
    """Backfill every day of ``total`` into ``home`` (killed half-way by the tests)."""
    registry = fs.Registry()
    define(registry)
    fs.configure(home=home, progress=False)
    fs.backfill("total", registry=registry, max_workers=2)


if __name__ == "__main__":
    main(sys.argv[1])
