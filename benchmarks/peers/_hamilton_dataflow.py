"""The partitioned workload as a Hamilton dataflow: A and B per day, each saved to Parquet.

Hamilton has no partitions: the idiomatic loop passes the day as an input and saves through
``@save_to.parquet``. Imported only in the peers' interpreter.
"""

from __future__ import annotations

import pandas as pd
from hamilton.function_modifiers import save_to, source

from benchmarks import _data


@save_to.parquet(path=source("a_path"), output_name_="save_a")
def part_a(day: str, rows: int) -> pd.DataFrame:
    """A: a seeded random frame for ``day``."""
    return _data.partition_frame(day, rows)


@save_to.parquet(path=source("b_path"), output_name_="save_b")
def part_b(part_a: pd.DataFrame) -> pd.DataFrame:
    """B: the group-by of A."""
    return _data.summarise(part_a)
