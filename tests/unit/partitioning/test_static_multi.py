"""Static and multi-dimensional partitions: declared keys, products, per-dimension selection."""

from __future__ import annotations

import pickle

import pytest

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.days import DailyPartitions
from flowstone_nb._partitioning.static_multi import (
    MultiPartitionKey,
    MultiPartitions,
    StaticPartitions,
)
from tests.unit.partitioning.samples import d, utc


# -- static -------------------------------------------------------------------------------------
def test_static_keys_keep_their_declared_order() -> None:
    regions = StaticPartitions(["eu", "us", "apac"])
    assert regions.keys() == ["eu", "us", "apac"]
    assert regions.kind == "static"
    assert "us" in regions
    assert "mars" not in regions
    assert 3 not in regions
    assert regions.time_window("eu") is None
    assert regions.context_value("eu") == "eu"
    assert regions.key_str("apac") == "apac"
    assert regions.latest() == "apac"
    assert regions.count() == 3
    assert repr(regions) == "StaticPartitions(['eu', 'us', 'apac'])"
    assert regions.describe() == "3 static partitions: eu, us, apac"
    assert regions == StaticPartitions(("eu", "us", "apac"))
    assert regions != StaticPartitions(["us", "eu", "apac"])


def test_static_unknown_key_suggests_close_keys() -> None:
    regions = StaticPartitions(["europe", "us", "apac"])
    with pytest.raises(PartitionError, match=r"'eurpe'.*Did you mean 'europe'\?"):
        regions.parse_key("eurpe")
    with pytest.raises(PartitionError, match=r"Valid keys: 'europe', 'us', 'apac'"):
        regions.parse_key("mars")
    with pytest.raises(PartitionError, match="expected one of the string keys"):
        regions.parse_key(1)


def test_static_bad_keys_fail_clearly() -> None:
    with pytest.raises(PartitionError, match="at least one key"):
        StaticPartitions([])
    with pytest.raises(PartitionError, match=r"'us'.*twice"):
        StaticPartitions(["us", "eu", "us"])
    with pytest.raises(PartitionError, match=r"empty"):
        StaticPartitions(["eu", ""])
    with pytest.raises(PartitionError, match=r"strings.*int 3"):
        StaticPartitions(["eu", 3])  # type: ignore[list-item]  # a wrong type on purpose
    with pytest.raises(PartitionError, match=r"a list of keys.*StaticPartitions\(\['eu', 'us'\]\)"):
        StaticPartitions("eu,us")


def test_static_repr_of_many_keys_is_short() -> None:
    many = StaticPartitions([f"k{i}" for i in range(30)])
    assert repr(many) == "StaticPartitions(['k0', 'k1', 'k2', 'k3', 'k4', ... 25 more])"
    assert many.describe().startswith("30 static partitions: k0, k1")
    assert many.describe().endswith("...")


# -- multi --------------------------------------------------------------------------------------
def region_by_day() -> MultiPartitions:
    return MultiPartitions(
        {
            "region": StaticPartitions(["eu", "us"]),
            "day": DailyPartitions("2024-01-01", "2024-01-03"),
        }
    )


def test_multi_keys_are_tuples_in_dimension_order() -> None:
    multi = region_by_day()
    keys = multi.keys()
    assert len(keys) == 6 == multi.count()
    assert keys[0] == ("eu", d("2024-01-01"))
    assert keys[3] == ("us", d("2024-01-01"))
    assert multi.kind == "multi"
    assert list(multi.dimensions) == ["region", "day"]
    assert multi.dimensions["region"] == StaticPartitions(["eu", "us"])
    assert ("us", "2024-01-02") in multi
    assert ("mars", "2024-01-02") not in multi
    assert multi.latest() == ("us", d("2024-01-03"))


def test_multi_parse_key_accepts_tuples_strings_and_mappings() -> None:
    multi = region_by_day()
    key = ("eu", d("2024-01-02"))
    assert multi.parse_key(("eu", "2024-01-02")) == key
    assert multi.parse_key(["eu", "2024-01-02"]) == key
    assert multi.parse_key("eu|2024-01-02") == key
    assert multi.parse_key({"day": "2024-01-02", "region": "eu"}) == key
    assert multi.key_str(key) == "eu|2024-01-02"
    assert multi.parse_key(multi.key_str(key)) == key
    with pytest.raises(PartitionError, match=r"dimension 'region'.*Did you mean 'eu'"):
        multi.parse_key(("euu", "2024-01-02"))
    with pytest.raises(PartitionError, match=r"2 parts.*'region', 'day'.*'eu\|2024-01-31'"):
        multi.parse_key("eu")
    with pytest.raises(PartitionError, match=r"missing dimension\(s\) 'day'"):
        multi.parse_key({"region": "eu"})
    with pytest.raises(PartitionError, match=r"unknown dimension\(s\) 'dya'.*Did you mean 'day'"):
        multi.parse_key({"region": "eu", "day": "2024-01-01", "dya": "x"})
    with pytest.raises(PartitionError, match=r"got int"):
        multi.parse_key(5)


def test_multi_context_value_has_dimension_names() -> None:
    multi = region_by_day()
    value = multi.context_value(("eu", "2024-01-02"))
    assert isinstance(value, MultiPartitionKey)
    assert value == ("eu", d("2024-01-02"))
    assert value.region == "eu"
    assert value.day == d("2024-01-02")
    assert value.dimensions == {"region": "eu", "day": d("2024-01-02")}
    assert repr(value) == "MultiPartitionKey(region='eu', day=datetime.date(2024, 1, 2))"
    assert pickle.loads(pickle.dumps(value)).day == d("2024-01-02")
    with pytest.raises(AttributeError, match=r"'dy'.*region, day"):
        _ = value.dy
    assert hash(value) == hash(("eu", d("2024-01-02")))


def test_multi_time_window_comes_from_its_time_dimension() -> None:
    multi = region_by_day()
    assert multi.time_window(("eu", "2024-01-02")) == (utc(2024, 1, 2), utc(2024, 1, 3))
    plain = MultiPartitions({"a": StaticPartitions(["x"]), "b": StaticPartitions(["y"])})
    assert plain.time_window(("x", "y")) is None


def test_multi_select_per_dimension_and_by_range() -> None:
    multi = region_by_day()
    assert multi.select({"region": "us", "day": "2024-01-02.."}) == [
        ("us", d("2024-01-02")),
        ("us", d("2024-01-03")),
    ]
    assert multi.select({"day": "2024-01-01"}) == [("eu", d("2024-01-01")), ("us", d("2024-01-01"))]
    assert multi.select(("eu", "2024-01-02")) == [("eu", d("2024-01-02"))]
    assert multi.select((("eu", "2024-01-02"), ("eu", "2024-01-03"))) == [
        ("eu", d("2024-01-02")),
        ("eu", d("2024-01-03")),
    ]
    assert multi.select("eu|2024-01-03..us|2024-01-01") == [
        ("eu", d("2024-01-03")),
        ("us", d("2024-01-01")),
    ]
    assert multi.select([("us", "2024-01-01"), "eu|2024-01-01"]) == [
        ("eu", d("2024-01-01")),
        ("us", d("2024-01-01")),
    ]
    with pytest.raises(PartitionError, match=r"unknown dimension\(s\) 'region2'"):
        multi.select({"region2": "eu"})


def test_multi_definition_errors() -> None:
    with pytest.raises(PartitionError, match="at least one dimension"):
        MultiPartitions({})
    with pytest.raises(PartitionError, match=r"non-empty strings, got int 1"):
        MultiPartitions({1: StaticPartitions(["a"])})  # type: ignore[dict-item]  # on purpose
    with pytest.raises(PartitionError, match=r"'region'.*partitions definition.*list"):
        MultiPartitions({"region": ["eu"]})  # type: ignore[dict-item]  # on purpose
    with pytest.raises(PartitionError, match=r"nest"):
        MultiPartitions({"a": region_by_day()})
    with pytest.raises(PartitionError, match=r"'a\|b'.*'\|'"):
        MultiPartitions({"a": StaticPartitions(["a|b"]), "d": DailyPartitions("2024-01-01")})


def test_multi_repr_and_describe() -> None:
    multi = region_by_day()
    assert repr(multi) == (
        "MultiPartitions({'region': StaticPartitions(['eu', 'us']), "
        "'day': DailyPartitions('2024-01-01', '2024-01-03')})"
    )
    assert multi.describe() == (
        "multi partitions region x day: region (2 static partitions: eu, us) x "
        "day (daily partitions from 2024-01-01 to 2024-01-03 (3 keys))"
    )


def test_static_partitions_need_an_iterable() -> None:
    with pytest.raises(PartitionError, match=r"a list of keys, got int 5"):
        StaticPartitions(5)  # type: ignore[arg-type]  # a wrong type on purpose
