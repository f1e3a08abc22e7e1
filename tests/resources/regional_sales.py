"""Regional sales whose southern regions sell negative amounts, and a check that minds it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

import flowstone_nb as fs


def define_sales(regions: Sequence[str]) -> None:
    """``sales`` per region (a region whose name starts with "s" sells negative amounts) and
    their ``total``."""

    @fs.asset(partitioned_by=fs.StaticPartitions(list(regions)))
    def sales(context: fs.AssetContext) -> pd.DataFrame:
        sign = -1.0 if str(context.partition).startswith("s") else 1.0
        return pd.DataFrame({"amount": [sign, 2 * sign]})

    @fs.asset
    def total(sales: dict[str, pd.DataFrame]) -> float:
        return float(sum(frame.amount.sum() for frame in sales.values()))


def positive_check(noun: str = "amounts") -> Callable[[pd.DataFrame], fs.CheckResult]:
    """The check ``positive``: it fails on negative amounts, saying ``"<n> negative <noun>"``."""

    def positive(sales: pd.DataFrame) -> fs.CheckResult:
        negative = int((sales.amount < 0).sum())
        return fs.CheckResult(negative == 0, f"{negative} negative {noun}")

    return positive
