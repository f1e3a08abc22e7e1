"""Function partitions (the seed form): keys listed by a function each time they are needed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.function import FunctionPartitions
from tests.unit.partitioning.samples import PARIS, d, listed, utc


# -- function partitions (seed form) ------------------------------------------------------------
def test_function_partitions_call_the_function_each_time() -> None:
    keys = ["2024-01-02", "2024-01-01"]
    parts = FunctionPartitions("date", lambda: list(keys))
    assert parts.kind == "date"
    assert parts.keys() == [d("2024-01-01"), d("2024-01-02")]
    keys.append("2024-01-03")
    assert parts.keys()[-1] == d("2024-01-03")
    assert "2024-01-03" in parts
    assert "2024-01-04" not in parts
    assert parts.latest() == d("2024-01-03")
    assert parts.time_window("2024-01-01") == (utc(2024, 1, 1), utc(2024, 1, 2))
    assert parts.key_str(d("2024-01-01")) == "2024-01-01"


def test_function_date_keys_accept_dates_datetimes_and_strings_and_dedupe() -> None:
    parts = FunctionPartitions(
        "date", lambda: [d("2024-01-02"), datetime(2024, 1, 1), "2024-01-02", "2024-01-03"]
    )
    assert parts.keys() == [d("2024-01-01"), d("2024-01-02"), d("2024-01-03")]
    with pytest.raises(PartitionError, match=r"Nearest valid key: '2024-01-03'"):
        parts.parse_key("2024-01-09")
    with pytest.raises(PartitionError, match=r"2024-01-01 05:00:00.*a date"):
        FunctionPartitions("date", lambda: [datetime(2024, 1, 1, 5)]).keys()


def test_function_datetime_keys_are_aware() -> None:
    paris = datetime(2024, 1, 1, 6, tzinfo=PARIS)
    parts = FunctionPartitions("datetime", lambda: ["2024-01-01T05:00", paris, utc(2024, 1, 1, 7)])
    keys = parts.keys()
    assert keys == [utc(2024, 1, 1, 5), utc(2024, 1, 1, 7)]
    assert parts.parse_key("2024-01-01T05:00:00+00:00") == utc(2024, 1, 1, 5)
    assert parts.key_str(keys[0]) == "2024-01-01T05:00"
    assert (
        parts.key_str(datetime(2024, 1, 1, 6, 0, 30, tzinfo=PARIS)) == "2024-01-01T06:00:30+01:00"
    )
    assert parts.key_str(utc(2024, 1, 1, 5).replace(microsecond=5)) == "2024-01-01T05:00:00.000005"
    assert parts.time_window(keys[0]) is None
    with pytest.raises(
        PartitionError, match=r"Nearest valid keys: '2024-01-01T05:00', '2024-01-01T07:00'"
    ):
        parts.parse_key("2024-01-01T06:00")
    with pytest.raises(PartitionError, match=r"a datetime"):
        FunctionPartitions("datetime", lambda: [d("2024-01-01")]).keys()


def test_function_custom_keys_keep_their_order() -> None:
    parts = FunctionPartitions("custom", lambda: iter(["b", "a", "b", "c"]))
    assert parts.keys() == ["b", "a", "c"]
    assert parts.select("a..c") == ["a", "c"]
    assert parts.time_window("a") is None
    assert parts.context_value("a") == "a"
    with pytest.raises(PartitionError, match=r"'d'.*Valid keys: 'b', 'a', 'c'"):
        parts.parse_key("d")
    with pytest.raises(PartitionError, match=r"'bb'.*Did you mean 'b'"):
        parts.parse_key("bb")
    with pytest.raises(PartitionError, match=r"custom partition keys are strings.*3"):
        FunctionPartitions("custom", lambda: ["a", 3]).keys()


def test_function_partitions_report_a_failing_or_odd_function() -> None:
    def broken() -> list[str]:
        raise RuntimeError("database down")

    with pytest.raises(
        PartitionError, match=r"partition_fn .*broken.* raised RuntimeError: database down"
    ) as info:
        FunctionPartitions("custom", broken).keys()
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(PartitionError, match=r"must return an iterable of keys.*int"):
        FunctionPartitions("custom", lambda: 5).keys()
    with pytest.raises(PartitionError, match=r"must return an iterable of keys.*str"):
        FunctionPartitions("custom", lambda: "abc").keys()
    with pytest.raises(PartitionError, match=r"Unknown partition kind 'dat'.*Did you mean 'date'"):
        FunctionPartitions("dat", listed)
    with pytest.raises(PartitionError, match=r"callable.*int"):
        FunctionPartitions("custom", 5)  # type: ignore[arg-type]  # on purpose


def test_function_partitions_repr_equality_describe() -> None:
    parts = FunctionPartitions("custom", listed)
    assert repr(parts) == f"FunctionPartitions('custom', {listed.__module__}.listed)"
    assert parts == FunctionPartitions("custom", listed)
    assert parts != FunctionPartitions("date", listed)
    assert parts.describe() == f"custom partitions listed by {listed.__module__}.listed()"
    assert FunctionPartitions("custom", listed).key_str("a") == "a"


def test_function_empty_keys() -> None:
    parts = FunctionPartitions("custom", list)
    assert parts.keys() == []
    assert parts.latest() is None
    with pytest.raises(PartitionError, match="no keys"):
        parts.parse_key("a")


# -- edges ----------------------------------------------------------------------------------------
class Stamp(datetime):
    """A datetime subclass, like a pandas Timestamp."""


def test_function_keys_accept_datetime_subclasses_and_count() -> None:
    parts = FunctionPartitions("datetime", lambda: [Stamp(2024, 1, 1, 5, tzinfo=UTC)])
    keys = parts.keys()
    assert type(keys[0]) is datetime
    assert keys == [utc(2024, 1, 1, 5)]
    assert parts.count() == 1


def test_function_date_keys_refuse_impossible_dates_and_other_types() -> None:
    with pytest.raises(PartitionError, match=r"not a date key.*'2024-13-45'"):
        FunctionPartitions("date", lambda: ["2024-13-45"]).keys()
    with pytest.raises(PartitionError, match=r"not a date key.*got int 5"):
        FunctionPartitions("date", lambda: [5]).keys()
    with pytest.raises(PartitionError, match=r"Cannot read partition key 5.*got int"):
        FunctionPartitions("custom", listed).parse_key(5)


def test_function_range_errors_show_an_example_of_the_kind() -> None:
    for kind, example in (("date", "'2024-01-31'"), ("datetime", "'2024-01-31T05:00'")):
        with pytest.raises(PartitionError, match=re.escape(example)):
            FunctionPartitions(kind, list).select("a..b..c")
    with pytest.raises(PartitionError, match="keys like 'key'"):
        FunctionPartitions("custom", list).select("a..b..c")
