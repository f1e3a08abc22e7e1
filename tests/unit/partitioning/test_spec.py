"""The Asset partition fields and spec strings: resolve_partitions, issues, parse_partition_spec."""

from __future__ import annotations

import re

import pytest

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.days import DailyPartitions, MonthlyPartitions, WeeklyPartitions
from flowstone_nb._partitioning.function import FunctionPartitions
from flowstone_nb._partitioning.hours import HourlyPartitions
from flowstone_nb._partitioning.spec import (
    parse_partition_spec,
    partition_spec_issues,
    resolve_partitions,
)
from flowstone_nb._partitioning.static_multi import StaticPartitions
from tests.unit.partitioning.samples import listed


# -- seed forms: resolve_partitions and partition_spec_issues ----------------------------------
def test_resolve_partitions_maps_the_asset_fields() -> None:
    daily = DailyPartitions("2024-01-01")
    assert resolve_partitions(None, None) is None
    assert resolve_partitions(daily, None) is daily
    assert resolve_partitions("date", None) == DailyPartitions(None)
    assert resolve_partitions("datetime", None) == HourlyPartitions(None)
    assert resolve_partitions("date", listed) == FunctionPartitions("date", listed)
    assert resolve_partitions("datetime", listed) == FunctionPartitions("datetime", listed)
    assert resolve_partitions("custom", listed) == FunctionPartitions("custom", listed)
    assert resolve_partitions("daily:2024-01-01", None) == daily
    assert resolve_partitions("static:a,b", None) == StaticPartitions(["a", "b"])


@pytest.mark.parametrize(
    ("partitioned_by", "partition_fn", "pattern"),
    [
        ("custom", None, r"partition_fn"),
        (None, listed, r"partition_fn is set but partitioned_by is not"),
        ("date", 5, r"partition_fn must be callable.*int"),
        (DailyPartitions("2024-01-01"), listed, r"partition_fn is only used"),
        ("daily:2024-01-01", listed, r"partition_fn is only used"),
        ("dialy", None, r"Did you mean 'daily'"),
        (5, None, r"partitioned_by must be.*int"),
    ],
)
def test_inconsistent_fields_are_issues_and_resolve_errors(
    partitioned_by: object, partition_fn: object, pattern: str
) -> None:
    issues = partition_spec_issues(partitioned_by, partition_fn)
    assert len(issues) == 1
    assert re.search(pattern, issues[0]), issues
    with pytest.raises(PartitionError, match=pattern):
        resolve_partitions(partitioned_by, partition_fn)


def test_spec_issues_are_empty_when_fine_and_never_call_the_function() -> None:
    def explode() -> list[str]:
        raise AssertionError("must not be called")

    assert partition_spec_issues(None, None) == []
    assert partition_spec_issues("custom", explode) == []
    assert partition_spec_issues("date", None) == []
    assert partition_spec_issues(DailyPartitions("2024-01-01"), None) == []
    assert partition_spec_issues("monthly:2024-01", None) == []


# -- spec strings (%%asset --partitioned-by) ----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily:2024-01-01:2024-03-31", DailyPartitions("2024-01-01", "2024-03-31")),
        ("daily:2024-01-01..2024-03-31", DailyPartitions("2024-01-01", "2024-03-31")),
        ("daily:2024-01-01", DailyPartitions("2024-01-01")),
        ("Daily : 2024-01-01", DailyPartitions("2024-01-01")),
        ("daily", DailyPartitions(None)),
        ("date", DailyPartitions(None)),
        ("datetime", HourlyPartitions(None)),
        ("hourly:2024-01-01T00:2024-01-02T23", HourlyPartitions("2024-01-01T00", "2024-01-02T23")),
        ("hourly:2024-01-01T00:00:2024-01-02T23:00", HourlyPartitions("2024-01-01", "2024-01-02")),
        ("hourly:2024-01-01T00:00", HourlyPartitions("2024-01-01")),
        ("weekly:2024-01-01:2024-12-30", WeeklyPartitions("2024-01-01", "2024-12-30")),
        ("monthly:2024-01:2024-12", MonthlyPartitions("2024-01", "2024-12")),
        ("static:eu,us,apac", StaticPartitions(["eu", "us", "apac"])),
        ("static: eu , us ", StaticPartitions(["eu", "us"])),
    ],
)
def test_parse_partition_spec(text: str, expected: PartitionsDefinition) -> None:
    assert parse_partition_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("dialy:2024-01-01", r"'dialy:2024-01-01'.*Did you mean 'daily'.*static:eu,us,apac"),
        ("daily:yesterday", r"'daily:yesterday'.*monthly:2024-01"),
        ("daily:2024-01-01:2024-02-01:2024-03-01", r"daily:2024-01-01"),
        ("daily:2024-03-01:2024-01-01", r"after"),
        ("static:", r"at least one key"),
        ("custom", r"partition_fn"),
        ("", r"empty"),
    ],
)
def test_bad_partition_specs_list_the_forms(text: str, pattern: str) -> None:
    with pytest.raises(PartitionError, match=pattern):
        parse_partition_spec(text)


def test_spec_with_two_range_separators() -> None:
    with pytest.raises(PartitionError, match=r"more than one '\.\.'"):
        parse_partition_spec("daily:2024-01-01..2024-02-01..2024-03-01")
