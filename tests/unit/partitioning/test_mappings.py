"""Partition mappings: which upstream partitions a downstream partition consumes, and back."""

from __future__ import annotations

import dataclasses
import pickle
import re
import time
from datetime import UTC, date, datetime

import pytest

import flowstone_nb as fs
from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.days import DailyPartitions, MonthlyPartitions, WeeklyPartitions
from flowstone_nb._partitioning.function import FunctionPartitions
from flowstone_nb._partitioning.hours import HourlyPartitions
from flowstone_nb._partitioning.mappings import (
    AllPartitionsMapping,
    IdentityMapping,
    MultiToSingleDimension,
    PartitionMapping,
    PreviousPartition,
    TimeWindowMapping,
    TrailingWindow,
    infer_mapping,
    mapping_issues,
)
from flowstone_nb._partitioning.static_multi import MultiPartitions, StaticPartitions

NOW = datetime(2024, 3, 10, 12, tzinfo=UTC)
DAYS = DailyPartitions("2024-01-01", "2024-12-31")
MONTHS = MonthlyPartitions("2024-01", "2024-12")
REGIONS = StaticPartitions(["eu", "us", "apac"])
REGION_DAY = MultiPartitions({"region": REGIONS, "day": DAYS})


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(first: str, last: str) -> list[date]:
    return DailyPartitions(first, last).keys()


# -- identity and all ----------------------------------------------------------------------------
def test_identity_maps_a_key_to_itself() -> None:
    mapping = IdentityMapping()
    assert mapping.upstream_keys(DAYS, "2024-01-05", DAYS) == [d("2024-01-05")]
    assert mapping.downstream_keys(DAYS, d("2024-01-05"), DAYS) == [d("2024-01-05")]
    assert mapping.upstream_keys(REGIONS, "eu", StaticPartitions(["eu", "us"])) == ["eu"]
    assert mapping.downstream_keys(REGIONS, "apac", StaticPartitions(["eu", "us"])) == []


def test_identity_with_an_unpartitioned_upstream_consumes_the_single_value() -> None:
    mapping = IdentityMapping()
    assert mapping.upstream_keys(None, None, None) is None
    assert mapping.upstream_keys(DAYS, "2024-01-05", None) is None
    assert mapping.downstream_keys(None, None, None) is None
    assert mapping.downstream_keys(DAYS, "2024-01-05", None) is None
    assert mapping.downstream_keys(None, None, MONTHS) == MONTHS.keys()


def test_identity_missing_upstream_key_names_both_sides() -> None:
    with pytest.raises(PartitionError, match=r"IdentityMapping.*'2024-01-05'.*Nearest valid key"):
        IdentityMapping().upstream_keys(DAYS, "2024-01-05", DailyPartitions("2024-02-01"))
    with pytest.raises(PartitionError, match=r"unpartitioned.*AllPartitionsMapping"):
        IdentityMapping().upstream_keys(None, None, DAYS)


def test_all_partitions_gathers_every_upstream_key() -> None:
    mapping = AllPartitionsMapping()
    assert mapping.upstream_keys(None, None, REGIONS) == ["eu", "us", "apac"]
    assert mapping.upstream_keys(MONTHS, "2024-02", REGIONS) == ["eu", "us", "apac"]
    assert mapping.upstream_keys(None, None, None) is None
    assert mapping.downstream_keys(REGIONS, "eu", None) is None
    assert mapping.downstream_keys(REGIONS, "eu", MONTHS) == MONTHS.keys()
    open_days = DailyPartitions("2024-03-01")
    assert mapping.upstream_keys(None, None, open_days, now=NOW) == days("2024-03-01", "2024-03-10")


# -- time windows --------------------------------------------------------------------------------
def test_monthly_on_daily_receives_the_days_of_the_month() -> None:
    mapping = TimeWindowMapping()
    assert mapping.upstream_keys(MONTHS, "2024-02", DAYS) == days("2024-02-01", "2024-02-29")
    assert mapping.downstream_keys(DAYS, "2024-02-10", MONTHS) == [d("2024-02-01")]


def test_daily_on_monthly_receives_the_month_it_falls_in() -> None:
    mapping = TimeWindowMapping()
    assert mapping.upstream_keys(DAYS, "2024-02-10", MONTHS) == [d("2024-02-01")]
    assert mapping.downstream_keys(MONTHS, "2024-02", DAYS) == days("2024-02-01", "2024-02-29")


def test_daily_on_hourly_and_back() -> None:
    hours = HourlyPartitions("2024-01-01", "2024-12-31")
    mapping = TimeWindowMapping()
    upstream = mapping.upstream_keys(DAYS, "2024-01-02", hours)
    assert upstream is not None
    assert len(upstream) == 24
    assert upstream[0] == datetime(2024, 1, 2, tzinfo=UTC)
    assert mapping.upstream_keys(hours, "2024-01-02T05:00", DAYS) == [d("2024-01-02")]
    assert mapping.downstream_keys(hours, "2024-01-02T05:00", DAYS) == [d("2024-01-02")]


def test_weekly_on_daily() -> None:
    weeks = WeeklyPartitions("2024-01-01", "2024-12-30")
    assert TimeWindowMapping().upstream_keys(weeks, "2024-01-08", DAYS) == days(
        "2024-01-08", "2024-01-14"
    )
    assert TimeWindowMapping().upstream_keys(DAYS, "2024-01-10", weeks) == [d("2024-01-08")]


def test_time_windows_are_clipped_to_the_upstream_definition() -> None:
    late_start = DailyPartitions("2024-02-20")
    mapping = TimeWindowMapping()
    assert mapping.upstream_keys(MONTHS, "2024-02", late_start) == days("2024-02-20", "2024-02-29")
    assert mapping.upstream_keys(MONTHS, "2024-03", late_start, now=NOW) == days(
        "2024-03-01", "2024-03-10"
    )
    with pytest.raises(PartitionError, match=r"No partitions of the upstream.*'2024-01'"):
        mapping.upstream_keys(MONTHS, "2024-01", late_start)
    assert mapping.downstream_keys(DAYS, "2024-01-10", MonthlyPartitions("2024-06")) == []


def test_time_windows_take_what_the_upstream_has_of_a_period_by_default() -> None:
    from_15th = DailyPartitions("2024-01-15", "2024-12-31")
    mapping = TimeWindowMapping()
    assert mapping.upstream_keys(MONTHS, "2024-01", from_15th) == days("2024-01-15", "2024-01-31")
    assert mapping.missing_upstream(MONTHS, "2024-01", from_15th) == [
        f"2024-01-{day:02d}" for day in range(1, 15)
    ]
    assert mapping.missing_upstream(MONTHS, "2024-02", from_15th) == []
    assert "part of a period" in (TimeWindowMapping.__doc__ or "")


def test_whole_periods_only_make_an_incomplete_period_an_error_naming_what_is_missing() -> None:
    strict = TimeWindowMapping(allow_partial=False)
    from_15th = DailyPartitions("2024-01-15", "2024-12-31")
    assert strict.upstream_keys(MONTHS, "2024-02", from_15th) == days("2024-02-01", "2024-02-29")
    with pytest.raises(
        PartitionError,
        match=r"Partition '2024-01' of 'monthly'.* 'daily' .*'2024-01-01', '2024-01-02'.*14 keys",
    ):
        strict.upstream_keys(MONTHS, "2024-01", from_15th, downstream="monthly", upstream="daily")
    with pytest.raises(PartitionError, match=r"of the asset .*its upstream"):
        strict.upstream_keys(MONTHS, "2024-01", from_15th)
    up_to_now = DailyPartitions("2024-01-01")  # the current month is incomplete until it ends
    assert len(TimeWindowMapping().upstream_keys(MONTHS, "2024-03", up_to_now, now=NOW) or []) == 10
    with pytest.raises(PartitionError, match=r"missing '2024-03-11', '2024-03-12'"):
        strict.upstream_keys(MONTHS, "2024-03", up_to_now, now=NOW)
    with pytest.raises(PartitionError, match=r"missing '2025-01'"):  # a coarser upstream
        strict.upstream_keys(DailyPartitions("2025-01-01"), "2025-01-05", MONTHS)
    with pytest.raises(PartitionError, match=r"Partition '2024-01' of 'regional'.*'daily'"):
        MultiToSingleDimension("month", strict).upstream_keys(
            MultiPartitions({"region": REGIONS, "month": MONTHS}),
            ("eu", "2024-01"),
            from_15th,
            downstream="regional",
            upstream="daily",
        )


def test_materialize_refuses_a_month_its_daily_upstream_covers_in_part() -> None:
    @fs.asset(partitioned_by=DailyPartitions("2024-01-15", "2024-12-31"), io_manager="memory")
    def daily(context: fs.AssetContext) -> int:
        return 1

    @fs.asset(
        partitioned_by=MONTHS,
        io_manager="memory",
        partition_mappings={"daily": TimeWindowMapping(allow_partial=False)},
    )
    def monthly(daily: dict[date, int]) -> int:
        return sum(daily.values())

    with pytest.raises(PartitionError, match=r"Partition '2024-01' of .*missing '2024-01-01'"):
        fs.materialize("monthly", "2024-01")
    assert fs.materialize("monthly", "2024-02") == 29


def test_whole_periods_of_upstreams_that_are_not_time_partitions() -> None:
    listed = FunctionPartitions("date", lambda: ["2024-01-01", "2024-01-02", "2024-01-04"])
    week = WeeklyPartitions("2024-01-01", "2024-01-07")
    assert TimeWindowMapping(allow_partial=False).missing_upstream(week, "2024-01-01", listed) == [
        "2024-01-03T00:00:00+00:00 to 2024-01-04T00:00:00+00:00",
        "2024-01-05T00:00:00+00:00 to 2024-01-08T00:00:00+00:00",
    ]
    complete = FunctionPartitions("date", lambda: [f"2024-01-0{day}" for day in range(1, 8)])
    assert TimeWindowMapping().missing_upstream(week, "2024-01-01", complete) == []


def test_whole_periods_is_a_flag_of_the_mapping_value() -> None:
    strict = TimeWindowMapping(allow_partial=False)
    assert repr(strict) == "TimeWindowMapping(allow_partial=False)"
    assert repr(TimeWindowMapping()) == "TimeWindowMapping()"
    assert strict != TimeWindowMapping()
    assert strict == TimeWindowMapping(allow_partial=False)
    assert strict.describe() == "the upstream partitions in the same period, all of them"
    with pytest.raises(PartitionError, match=r"allow_partial takes True or False, got str 'no'"):
        TimeWindowMapping(allow_partial="no")  # type: ignore[arg-type]  # a wrong type on purpose


def test_time_windows_with_open_and_function_definitions() -> None:
    listed = FunctionPartitions("date", lambda: ["2024-02-01", "2024-02-15", "2024-03-01"])
    mapping = TimeWindowMapping()
    assert mapping.upstream_keys(MONTHS, "2024-02", listed) == [d("2024-02-01"), d("2024-02-15")]
    assert mapping.downstream_keys(listed, "2024-02-15", MONTHS) == [d("2024-02-01")]
    assert mapping.upstream_keys(MONTHS, "2024-02", DailyPartitions(None))[-1] == d("2024-02-29")  # type: ignore[index]  # not None here


def test_time_windows_across_time_zones_overlap_by_instant() -> None:
    paris_days = DailyPartitions("2024-01-01", "2024-01-31", timezone="Europe/Paris")
    # A Paris day runs 23:00 UTC the day before to 23:00 UTC: it overlaps two UTC days.
    assert TimeWindowMapping().upstream_keys(paris_days, "2024-01-10", DAYS) == days(
        "2024-01-09", "2024-01-10"
    )


def test_time_window_needs_time_partitions() -> None:
    with pytest.raises(PartitionError, match=r"TimeWindowMapping.*StaticPartitions.*time"):
        TimeWindowMapping().upstream_keys(REGIONS, "eu", DAYS)
    with pytest.raises(PartitionError, match=r"TimeWindowMapping.*StaticPartitions.*time"):
        TimeWindowMapping().downstream_keys(DAYS, "2024-01-01", REGIONS)


def test_time_window_between_a_multi_and_a_single_definition() -> None:
    mapping = TimeWindowMapping()
    assert mapping.upstream_keys(REGION_DAY, ("eu", "2024-02-10"), MONTHS) == [d("2024-02-01")]
    assert mapping.upstream_keys(DAYS, "2024-02-10", REGION_DAY) == [
        ("eu", d("2024-02-10")),
        ("us", d("2024-02-10")),
        ("apac", d("2024-02-10")),
    ]


# -- trailing windows and the previous partition -------------------------------------------------
def test_trailing_window_takes_the_last_n_partitions_clipped_at_the_start() -> None:
    week = TrailingWindow(7)
    assert week.upstream_keys(DAYS, "2024-01-10", DAYS) == days("2024-01-04", "2024-01-10")
    assert week.upstream_keys(DAYS, "2024-01-03", DAYS) == days("2024-01-01", "2024-01-03")
    assert week.downstream_keys(DAYS, "2024-01-10", DAYS) == days("2024-01-10", "2024-01-16")
    assert week.downstream_keys(DAYS, "2024-12-30", DAYS) == days("2024-12-30", "2024-12-31")
    assert week.upstream_keys(DAYS, "2024-01-10", None) is None


def test_trailing_window_on_a_finer_upstream_ends_at_the_last_matching_partition() -> None:
    hours = HourlyPartitions("2024-01-01", "2024-01-31")
    upstream = TrailingWindow(3).upstream_keys(DAYS, "2024-01-02", hours)
    assert upstream == [datetime(2024, 1, 2, h, tzinfo=UTC) for h in (21, 22, 23)]
    assert TrailingWindow(2).upstream_keys(MONTHS, "2024-03", DAYS) == days(
        "2024-03-30", "2024-03-31"
    )
    # April's window ends on April 30, so only March reads March 31.
    assert TrailingWindow(2).downstream_keys(DAYS, "2024-03-31", MONTHS) == [d("2024-03-01")]
    assert TrailingWindow(2).downstream_keys(DAYS, "2024-02-29", MONTHS) == [d("2024-02-01")]


def test_trailing_window_over_static_keys_uses_their_order() -> None:
    assert TrailingWindow(2).upstream_keys(REGIONS, "apac", REGIONS) == ["us", "apac"]
    assert TrailingWindow(2).upstream_keys(REGIONS, "eu", REGIONS) == ["eu"]
    assert TrailingWindow(2).downstream_keys(REGIONS, "eu", REGIONS) == ["eu", "us"]


def test_trailing_window_before_the_upstream_starts_is_an_error() -> None:
    with pytest.raises(PartitionError, match=r"TrailingWindow\(7\).*'2024-01-10'"):
        TrailingWindow(7).upstream_keys(DAYS, "2024-01-10", DailyPartitions("2024-02-01"))


def test_trailing_window_impact_skips_partitions_past_the_upstream_end() -> None:
    weeks = WeeklyPartitions("2024-12-30", "2025-01-06")
    # The week of 2024-12-30 ends on 2025-01-05, which the daily upstream does not have.
    assert TrailingWindow(1).downstream_keys(DAYS, "2024-12-31", weeks) == []
    assert TrailingWindow(7).downstream_keys(DAYS, "2024-12-31", weeks) == [d("2024-12-30")]


def test_trailing_window_needs_a_positive_count() -> None:
    with pytest.raises(PartitionError, match=r"TrailingWindow\(0\).*at least 1"):
        TrailingWindow(0)
    with pytest.raises(PartitionError, match=r"whole number"):
        TrailingWindow(True)
    with pytest.raises(PartitionError, match=r"whole number"):
        TrailingWindow(2.5)  # type: ignore[arg-type]  # a wrong type on purpose


def test_previous_partition() -> None:
    previous = PreviousPartition()
    assert previous.upstream_keys(DAYS, "2024-01-10", DAYS) == [d("2024-01-09")]
    assert previous.upstream_keys(DAYS, "2024-01-01", DAYS) == []
    assert previous.downstream_keys(DAYS, "2024-01-09", DAYS) == [d("2024-01-10")]
    assert previous.downstream_keys(DAYS, "2024-12-31", DAYS) == []
    assert previous.upstream_keys(REGIONS, "us", REGIONS) == ["eu"]
    assert previous.upstream_keys(REGIONS, "eu", REGIONS) == []
    assert previous.downstream_keys(REGIONS, "us", REGIONS) == ["apac"]
    assert previous.downstream_keys(REGIONS, "apac", REGIONS) == []
    open_days = DailyPartitions(None)
    assert previous.upstream_keys(open_days, "1999-01-01", open_days) == [d("1998-12-31")]
    assert previous.downstream_keys(open_days, "1999-01-01", open_days) == [d("1999-01-02")]
    running = DailyPartitions("2024-01-01")
    assert previous.downstream_keys(running, "2024-03-10", running, now=NOW) == []


def test_previous_partition_needs_a_partitioned_asset() -> None:
    with pytest.raises(PartitionError, match=r"PreviousPartition\(\).*unpartitioned"):
        PreviousPartition().upstream_keys(None, None, None)
    with pytest.raises(PartitionError, match=r"PreviousPartition\(\).*unpartitioned"):
        PreviousPartition().downstream_keys(None, None, None)


# -- multi-dimensional ---------------------------------------------------------------------------
def test_multi_to_single_dimension_consumes_the_matching_day() -> None:
    mapping = MultiToSingleDimension("day")
    assert mapping.upstream_keys(REGION_DAY, ("eu", "2024-01-05"), DAYS) == [d("2024-01-05")]
    assert mapping.downstream_keys(DAYS, "2024-01-05", REGION_DAY) == [
        ("eu", d("2024-01-05")),
        ("us", d("2024-01-05")),
        ("apac", d("2024-01-05")),
    ]


def test_single_on_multi_gathers_every_other_dimension() -> None:
    mapping = MultiToSingleDimension("day")
    assert mapping.upstream_keys(DAYS, "2024-01-05", REGION_DAY) == [
        ("eu", d("2024-01-05")),
        ("us", d("2024-01-05")),
        ("apac", d("2024-01-05")),
    ]
    assert mapping.downstream_keys(REGION_DAY, ("us", "2024-01-05"), DAYS) == [d("2024-01-05")]


def test_multi_dimension_with_an_inner_time_window() -> None:
    mapping = MultiToSingleDimension("day", TimeWindowMapping())
    assert mapping.upstream_keys(REGION_DAY, ("eu", "2024-02-05"), MONTHS) == [d("2024-02-01")]
    downstream = mapping.downstream_keys(MONTHS, "2024-02", REGION_DAY)
    assert downstream is not None
    assert len(downstream) == 3 * 29
    assert downstream[0] == ("eu", d("2024-02-01"))
    inferred = MultiToSingleDimension("day")
    assert inferred.upstream_keys(REGION_DAY, ("eu", "2024-02-05"), MONTHS) == [d("2024-02-01")]


def test_multi_dimension_errors_name_the_dimensions() -> None:
    with pytest.raises(PartitionError, match=r"'dya'.*Did you mean 'day'"):
        MultiToSingleDimension("dya").upstream_keys(REGION_DAY, ("eu", "2024-01-05"), DAYS)
    with pytest.raises(PartitionError, match=r"MultiPartitions with a dimension 'day'"):
        MultiToSingleDimension("day").upstream_keys(DAYS, "2024-01-05", MONTHS)
    with pytest.raises(PartitionError, match=r"MultiPartitions with a dimension 'day'"):
        MultiToSingleDimension("day").downstream_keys(DAYS, "2024-01-05", MONTHS)


# -- inference -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("down", "up", "expected"),
    [
        (None, None, IdentityMapping()),
        (DAYS, DailyPartitions("2024-01-01", "2024-12-31"), IdentityMapping()),
        (None, DAYS, AllPartitionsMapping()),
        (DAYS, None, IdentityMapping()),
        (MONTHS, DAYS, TimeWindowMapping()),
        (DAYS, MONTHS, TimeWindowMapping()),
        (DAYS, DailyPartitions("2023-01-01"), TimeWindowMapping()),
        (REGION_DAY, DAYS, MultiToSingleDimension("day")),
        (DAYS, REGION_DAY, MultiToSingleDimension("day")),
        (REGION_DAY, REGIONS, MultiToSingleDimension("region")),
        (REGION_DAY, MONTHS, MultiToSingleDimension("day", TimeWindowMapping())),
        (StaticPartitions(["eu"]), REGIONS, IdentityMapping()),
        (
            REGION_DAY,
            MultiPartitions({"region": REGIONS, "day": DailyPartitions("2023-01-01")}),
            IdentityMapping(),
        ),
        (REGIONS, FunctionPartitions("custom", list), IdentityMapping()),
        (
            HourlyPartitions("2024-01-01"),
            FunctionPartitions("datetime", list),
            IdentityMapping(),
        ),
    ],
)
def test_infer_mapping(down: object, up: object, expected: PartitionMapping) -> None:
    assert infer_mapping(down, up) == expected  # type: ignore[arg-type]  # parametrized defs


def test_infer_mapping_refuses_unrelated_partitionings_and_says_what_to_do() -> None:
    with pytest.raises(PartitionError) as info:
        infer_mapping(REGIONS, DAYS, downstream="report", upstream="sales")
    message = str(info.value)
    assert "'report'" in message
    assert "'sales'" in message
    assert "partition_mappings={'sales': fs." in message
    with pytest.raises(PartitionError, match=r"'apac'.*not.*upstream"):
        infer_mapping(REGIONS, StaticPartitions(["eu", "us"]))
    with pytest.raises(PartitionError, match="cannot be mapped"):
        infer_mapping(
            MultiPartitions({"a": StaticPartitions(["x"]), "b": StaticPartitions(["y"])}), DAYS
        )


# -- definition-time issues ----------------------------------------------------------------------
def test_mapping_issues_for_sensible_combinations_are_empty() -> None:
    assert mapping_issues(DAYS, DAYS, PreviousPartition()) == []
    assert mapping_issues(DAYS, DAYS, TrailingWindow(7)) == []
    assert mapping_issues(MONTHS, DAYS, TimeWindowMapping()) == []
    assert mapping_issues(None, DAYS, AllPartitionsMapping()) == []
    assert mapping_issues(DAYS, None, IdentityMapping()) == []
    assert mapping_issues(REGION_DAY, DAYS, MultiToSingleDimension("day")) == []
    assert mapping_issues(DAYS, REGION_DAY, MultiToSingleDimension("day")) == []


@pytest.mark.parametrize(
    ("down", "up", "mapping", "pattern"),
    [
        (None, None, PreviousPartition(), r"PreviousPartition\(\).*unpartitioned"),
        (DAYS, MONTHS, PreviousPartition(), r"PreviousPartition\(\).*same partitions"),
        (DAYS, None, TrailingWindow(7), r"TrailingWindow\(7\).*upstream is unpartitioned"),
        (REGIONS, DAYS, TimeWindowMapping(), r"TimeWindowMapping\(\).*StaticPartitions"),
        (None, DAYS, TimeWindowMapping(), r"unpartitioned.*AllPartitionsMapping"),
        (None, DAYS, IdentityMapping(), r"unpartitioned.*AllPartitionsMapping"),
        (REGIONS, DAYS, IdentityMapping(), r"IdentityMapping\(\).*different kinds of keys"),
        (
            HourlyPartitions("2024-01-01", "2024-01-02"),
            DAYS,
            IdentityMapping(),
            r"kinds of keys: use fs.TimeWindowMapping\(\)",
        ),
        (None, DAYS, TrailingWindow(7), r"the asset is unpartitioned: use fs.AllPartitionsMapping"),
        (REGION_DAY, DAYS, MultiToSingleDimension("dya"), r"'dya'.*Did you mean 'day'"),
        (DAYS, MONTHS, MultiToSingleDimension("day"), r"MultiPartitions with a dimension"),
        (REGION_DAY, None, MultiToSingleDimension("day"), r"unpartitioned"),
        (
            REGION_DAY,
            REGIONS,
            MultiToSingleDimension("day", TimeWindowMapping()),
            r"TimeWindowMapping",
        ),
        (DAYS, DAYS, "weekly", r"fs.TrailingWindow\(7\).*str"),
    ],
)
def test_mapping_issues(down: object, up: object, mapping: object, pattern: str) -> None:
    issues = mapping_issues(down, up, mapping)  # type: ignore[arg-type]  # parametrized defs
    assert len(issues) == 1, issues
    assert re.search(pattern, issues[0]), issues


# -- value objects and speed ---------------------------------------------------------------------
def test_mappings_are_frozen_hashable_values_with_a_repr() -> None:
    assert TrailingWindow(7) == TrailingWindow(7)
    assert len({TrailingWindow(7), TrailingWindow(7), PreviousPartition()}) == 2
    assert repr(TrailingWindow(7)) == "TrailingWindow(7)"
    assert repr(PreviousPartition()) == "PreviousPartition()"
    assert repr(MultiToSingleDimension("day")) == "MultiToSingleDimension('day')"
    assert repr(MultiToSingleDimension("day", TimeWindowMapping())) == (
        "MultiToSingleDimension('day', TimeWindowMapping())"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrailingWindow(7).n = 3  # type: ignore[misc]  # immutability on purpose
    assert TrailingWindow(7).describe() == "the last 7 upstream partitions up to the matching one"
    for mapping in (
        IdentityMapping(),
        AllPartitionsMapping(),
        TimeWindowMapping(),
        PreviousPartition(),
        MultiToSingleDimension("day"),
    ):
        assert mapping.describe()


def test_mappings_of_this_package_live_in_it_and_depend_on_the_definitions_alone() -> None:
    class Mine(IdentityMapping):
        """A mapping defined elsewhere, which may consult anything."""

    for mapping in (
        IdentityMapping(),
        AllPartitionsMapping(),
        TimeWindowMapping(),
        TrailingWindow(3),
        PreviousPartition(),
        MultiToSingleDimension("day"),
        MultiToSingleDimension("day", TimeWindowMapping()),
    ):
        assert mapping.depends_only_on_definitions, mapping
        assert pickle.loads(pickle.dumps(mapping)) == mapping
    assert not Mine().depends_only_on_definitions
    assert not MultiToSingleDimension("day", Mine()).depends_only_on_definitions


def test_a_year_of_monthly_on_daily_maps_quickly() -> None:
    mapping = TimeWindowMapping()
    started = time.perf_counter()
    months = MONTHS.keys()
    total = sum(len(mapping.upstream_keys(MONTHS, key, DAYS) or []) for key in months)
    assert total == 366
    started_daily = time.perf_counter()
    all_days = DAYS.keys()
    for key in all_days:
        mapping.upstream_keys(DAYS, key, MONTHS)
    assert time.perf_counter() - started < 0.5
    assert time.perf_counter() - started_daily < 0.5
