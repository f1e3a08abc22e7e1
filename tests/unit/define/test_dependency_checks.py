"""Partition mappings are checked against the upstream's partitions, never found out while running.

When the upstream is known, a mapping that cannot work fails the definition; when the upstream is
defined (or changed) later, fs.validate reports it and materialize and backfill refuse before
anything runs. Every message names the asset, the upstream and the mapping, and the fix.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._core.errors import PartitionMappingError

DAYS = fs.DailyPartitions("2024-01-01", "2024-01-10")
REGIONS = fs.StaticPartitions(["eu", "us"])


def define_raw(*, replace: bool = False) -> fs.Asset:
    @fs.asset(replace=replace)
    def raw() -> pd.DataFrame:
        return pd.DataFrame({"amount": [1.0]})

    return raw


def define_daily(name: str = "sales", partitions: Any = DAYS) -> fs.Asset:
    def sales(context: Any) -> int:
        return 1

    return fs.asset(name=name, partitioned_by=partitions)(sales)


# -- the three cases, when the upstream is defined first -------------------------------------------
def test_a_trailing_window_from_an_unpartitioned_upstream_fails_when_defined(
    registry: fs.Registry,
) -> None:
    define_raw()
    with pytest.raises(PartitionMappingError) as caught:

        @fs.asset(partitioned_by=DAYS, partition_mappings={"raw": fs.TrailingWindow(7)})
        def rolling(raw: dict[Any, pd.DataFrame]) -> int:
            return len(raw)

    message = str(caught.value)
    assert message.startswith("Invalid asset 'rolling' (")
    assert "partition_mappings: 'rolling' (DailyPartitions('2024-01-01', '2024-01-10'))" in message
    assert "takes 'raw' (unpartitioned) through TrailingWindow(7), which cannot work" in message
    assert "leave the mapping out" in message
    assert caught.value.asset == "rolling"
    assert [issue.field for issue in caught.value.issues] == ["partition_mappings"]
    assert "rolling" not in registry


def test_previous_partition_on_another_asset_fails_when_defined(registry: fs.Registry) -> None:
    define_daily()
    with pytest.raises(fs.AssetDefinitionError) as caught:

        @fs.asset(partitioned_by=DAYS, partition_mappings={"sales": fs.PreviousPartition()})
        def growth(sales: int) -> int:
            return sales

    message = str(caught.value)
    assert "'growth' (DailyPartitions('2024-01-01', '2024-01-10')) takes 'sales'" in message
    assert "through PreviousPartition(), which cannot work" in message
    assert "its own previous partition" in message
    assert "fs.TrailingWindow(2)" in message
    assert "growth" not in registry


def test_identity_between_daily_and_static_keys_fails_when_defined(registry: fs.Registry) -> None:
    define_daily("regional", REGIONS)
    with pytest.raises(fs.PartitionError) as caught:

        @fs.asset(partitioned_by=DAYS, partition_mappings={"regional": fs.IdentityMapping()})
        def per_day(regional: int) -> int:
            return regional

    message = str(caught.value)
    assert "'per_day' (DailyPartitions('2024-01-01', '2024-01-10')) takes 'regional' " in message
    assert "(StaticPartitions(['eu', 'us'])) through IdentityMapping()" in message
    assert "different kinds of keys: use fs.AllPartitionsMapping() (every upstream" in message
    assert isinstance(caught.value, fs.AssetDefinitionError)


def test_partitionings_without_a_mapping_that_cannot_be_inferred_fail_when_defined() -> None:
    define_daily()
    with pytest.raises(PartitionMappingError, match="cannot be mapped") as caught:

        @fs.asset(partitioned_by=REGIONS)
        def regional(sales: int) -> int:
            return sales

    assert "partition_mappings={'sales': fs.AllPartitionsMapping()}" in str(caught.value)


def test_previous_partition_of_an_unpartitioned_asset_fails_when_defined() -> None:
    with pytest.raises(PartitionMappingError, match=r"PreviousPartition\(\) reads the previous"):

        @fs.asset(partition_mappings={"total": fs.PreviousPartition()})
        def total(total: int | None) -> int:
            return (total or 0) + 1


def test_a_self_dependency_without_previous_partition_is_reported_once() -> None:
    running = fs.Asset(
        name="running",
        depends_on=["running"],
        partitioned_by=DAYS,
        partition_mappings={"running": fs.TrailingWindow(2)},
        execute_fn=lambda context, deps: 1,
    )
    issues = fs.validate(running)
    assert [issue.field for issue in issues] == ["depends_on"]
    assert "fs.PreviousPartition()" in issues[0].message


# -- mappings that work ---------------------------------------------------------------------------
def test_mappings_that_fit_their_upstreams_are_accepted(registry: fs.Registry) -> None:
    define_raw()
    define_daily()
    define_daily("regional", fs.MultiPartitions({"region": REGIONS, "day": DAYS}))

    @fs.asset(
        partitioned_by=DAYS,
        partition_mappings={
            "sales": fs.TrailingWindow(7),
            "balance": fs.PreviousPartition(),
            "regional": fs.MultiToSingleDimension("day"),
            "raw": fs.IdentityMapping(),
        },
    )
    def balance(
        sales: dict[Any, int], balance: int | None, regional: dict[Any, int], raw: pd.DataFrame
    ) -> int:
        return (balance or 0) + sum(sales.values()) + sum(regional.values()) + len(raw)

    @fs.asset(partition_mappings={"sales": fs.AllPartitionsMapping()})
    def everything(sales: dict[Any, int]) -> int:
        return len(sales)

    assert fs.validate(balance) == fs.validate(everything) == []
    # each day: the day before, its days so far (up to 7), its 2 regions and the 1 raw row
    assert fs.materialize(balance, "2024-01-03") == (((1 + 2 + 1) + 2 + 2 + 1) + 3 + 2 + 1)
    assert fs.materialize(everything) == 10


# -- upstreams defined, or changed, after their downstream -----------------------------------------
def define_rolling_first() -> fs.Asset:
    with pytest.warns(fs.FlowstoneWarning, match="'raw'"):

        @fs.asset(partitioned_by=DAYS, partition_mappings={"raw": fs.TrailingWindow(7)})
        def rolling(raw: dict[Any, pd.DataFrame]) -> int:
            return len(raw)

    define_raw()  # an upstream that fits nothing is still a valid definition of its own
    return rolling


def test_fs_validate_reports_a_mapping_whose_upstream_came_later() -> None:
    rolling = define_rolling_first()
    issues = fs.validate(rolling)
    assert [issue.field for issue in issues] == ["partition_mappings"]
    pattern = r"'rolling' \(.*\) takes 'raw' \(unpartitioned\) through TrailingWindow\(7\)"
    assert re.search(pattern, issues[0].message)
    assert fs.validate("rolling") == issues
    assert fs.validate("raw") == []


def test_materialize_and_backfill_refuse_before_anything_runs() -> None:
    rolling = define_rolling_first()
    with pytest.raises(PartitionMappingError) as caught:
        fs.materialize(rolling, "2024-01-05")
    message = str(caught.value)
    assert message.startswith("Invalid asset 'rolling' (")
    assert "takes 'raw' (unpartitioned) through TrailingWindow(7)" in message
    assert "Nothing was run" in message
    with pytest.raises(fs.AssetDefinitionError, match=r"TrailingWindow\(7\)"):
        fs.backfill(rolling, "2024-01-01..2024-01-10")
    assert fs.history().empty
    assert fs.materialize("raw").amount.tolist() == [1.0]  # what does not need it still runs


def test_an_upstream_redefined_under_a_downstream_is_caught_before_running() -> None:
    define_daily("raw")

    @fs.asset(partitioned_by=DAYS, partition_mappings={"raw": fs.TrailingWindow(3)})
    def rolling(raw: dict[Any, int]) -> int:
        return len(raw)

    assert fs.materialize(rolling, "2024-01-05") == 3
    define_raw(replace=True)  # redefining the upstream, now unpartitioned, is no error
    assert "TrailingWindow(3)" in fs.validate(rolling)[0].message
    with pytest.raises(PartitionMappingError, match=r"takes 'raw' \(unpartitioned\)"):
        fs.materialize(rolling, "2024-01-05")


def test_an_unpartitioned_plan_checks_its_explicit_mappings_too() -> None:
    with pytest.warns(fs.FlowstoneWarning):

        @fs.asset(partition_mappings={"raw": fs.TrailingWindow(2)})
        def both_plain(raw: pd.DataFrame) -> int:
            return len(raw)

    define_raw()
    with pytest.raises(PartitionMappingError, match=r"'both_plain' \(unpartitioned\) takes 'raw'"):
        fs.materialize(both_plain)


# -- pipelines ------------------------------------------------------------------------------------
def test_a_pipeline_with_a_mapping_that_cannot_work_fails_in_its_class_statement(
    registry: fs.Registry,
) -> None:
    with pytest.raises(PartitionMappingError, match=r"'rolling' .* takes 'raw' \(unpartitioned\)"):

        class Sales(fs.Pipeline):
            @fs.asset
            def raw() -> int:
                return 1

            @fs.asset(partitioned_by=DAYS, partition_mappings={"raw": fs.TrailingWindow(7)})
            def rolling(raw: dict[Any, int]) -> int:
                return len(raw)

    assert len(registry) == 0
