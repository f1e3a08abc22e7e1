"""Asking a mapping for the upstream keys of many partitions at once answers as one by one."""

from __future__ import annotations

from typing import Any

import pytest

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.days import DailyPartitions, MonthlyPartitions
from flowstone_nb._partitioning.mappings import (
    AllPartitionsMapping,
    IdentityMapping,
    PartitionMapping,
    PreviousPartition,
    TimeWindowMapping,
    TrailingWindow,
)
from flowstone_nb._partitioning.static_multi import StaticPartitions

DAYS = DailyPartitions("2024-01-01", "2024-03-31")
REGIONS = StaticPartitions(["eu", "us", "apac"])

CASES: list[tuple[PartitionMapping, PartitionsDefinition | None, PartitionsDefinition | None]] = [
    (IdentityMapping(), DAYS, DAYS),
    (IdentityMapping(), DAYS, DailyPartitions("2023-12-01", "2024-06-30")),
    (IdentityMapping(), REGIONS, REGIONS),
    (IdentityMapping(), DAYS, None),
    (IdentityMapping(), None, None),
    (AllPartitionsMapping(), None, REGIONS),
    (AllPartitionsMapping(), DAYS, REGIONS),
    (PreviousPartition(), DAYS, DAYS),
    (TimeWindowMapping(), MonthlyPartitions("2024-01", "2024-03"), DAYS),
    (TrailingWindow(3), DAYS, DAYS),
]


def one_by_one(
    mapping: PartitionMapping,
    down: PartitionsDefinition | None,
    keys: list[Any],
    up: PartitionsDefinition | None,
) -> list[list[Any] | None]:
    return [mapping.upstream_keys(down, key, up) for key in keys]


@pytest.mark.parametrize(("mapping", "down", "up"), CASES)
def test_many_keys_map_as_each_alone(
    mapping: PartitionMapping, down: PartitionsDefinition | None, up: PartitionsDefinition | None
) -> None:
    keys: list[Any] = [None] if down is None else list(down.keys())
    assert mapping.upstream_keys_many(down, keys, up) == one_by_one(mapping, down, keys, up)
    assert mapping.upstream_keys_many(down, [], up) == []


def test_a_key_the_upstream_lacks_is_refused_at_once_as_alone() -> None:
    down, up = DAYS, DailyPartitions("2024-02-01", "2024-03-31")
    with pytest.raises(PartitionError, match="which the upstream does not have") as alone:
        IdentityMapping().upstream_keys(down, "2024-01-01", up)  # (the first key)
    with pytest.raises(PartitionError) as many:
        IdentityMapping().upstream_keys_many(down, down.keys(), up)
    assert str(many.value) == str(alone.value)
