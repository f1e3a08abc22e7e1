"""Partition key encoding for the catalog and path slugs for the file store."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.days import DailyPartitions
from flowstone_nb._partitioning.hours import HourlyPartitions
from flowstone_nb._partitioning.keys import decode_key, encode_key, encode_keys, key_slug
from flowstone_nb._partitioning.static_multi import MultiPartitions

PARIS = ZoneInfo("Europe/Paris")

# -- strategies -----------------------------------------------------------------------------------
texts = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]),  # lone surrogates cannot be stored
    max_size=40,
)
awkward_texts = st.sampled_from(
    [
        "",
        "|",
        ":",
        "..",
        ".",
        "/",
        "\\",
        "\x00",
        "a/b",
        "a|b",
        "s:x",
        "d:2024-01-01",
        "__all__",
        "2024-01-01",
        "2024-01-01t0500z",
        "CON",
        "con",
        "Eu",
        "eu",
        "EU",
        "~",
        "~x",
        " ",
        "ünïcödé",
        "日本",
        "x" * 300,
    ]
)
# Definitions hand out aware keys with UTC or fixed-offset zones (see _partitions); a ZoneInfo
# datetime at an ambiguous local time does not equal its own instant (PEP 495), tested below.
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)
aware = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=zones,
)
naive = st.datetimes()
scalars = st.one_of(
    st.none(),
    texts,
    awkward_texts,
    st.integers(),
    st.dates(),
    aware,
    naive,
)
keys = st.recursive(scalars, lambda inner: st.tuples(inner, inner) | st.tuples(inner), max_leaves=6)


# -- round trips ----------------------------------------------------------------------------------
@given(keys)
@settings(max_examples=400)
def test_every_key_reads_back_equal(key: Any) -> None:
    decoded = decode_key(encode_key(key))
    assert decoded == key
    assert type(decoded) is type(key) or isinstance(key, tuple)


@given(st.lists(keys, max_size=8) | st.lists(st.dates(), max_size=8))
def test_a_list_of_keys_encodes_as_each_key_does(batch: list[Any]) -> None:
    # (a list of days takes a named fast path: the same texts)
    assert encode_keys(batch) == [encode_key(key) for key in batch]


@given(keys, keys)
@settings(max_examples=400)
def test_encoding_is_canonical_and_unique(first: Any, second: Any) -> None:
    assert (encode_key(first) == encode_key(second)) == (first == second)


@given(st.lists(keys, max_size=8))
def test_slugs_are_unique_even_ignoring_case(batch: list[Any]) -> None:
    distinct = list({encode_key(k): k for k in batch}.values())
    slugs = {key_slug(k).casefold() for k in distinct}
    assert len(slugs) == len(distinct)


@given(keys)
@settings(max_examples=400)
def test_slugs_are_safe_path_segments(key: Any) -> None:
    slug = key_slug(key)
    assert 0 < len(slug) <= 100
    assert not slug.startswith(".")
    assert not slug.endswith((".", " "))
    assert ".." not in slug
    assert re.fullmatch(r"[a-z0-9_.=+~-]+", slug), slug
    assert key_slug(key) == slug


@given(aware, aware)
def test_aware_datetimes_sort_chronologically(first: datetime, second: datetime) -> None:
    if first < second:
        assert encode_key(first) < encode_key(second)


@given(st.dates(), st.dates())
def test_dates_sort_chronologically(first: date, second: date) -> None:
    if first < second:
        assert encode_key(first) < encode_key(second)


# -- readable forms -------------------------------------------------------------------------------
def test_encoded_forms_are_readable() -> None:
    assert encode_key(None) == ""
    assert encode_key("eu") == "s:eu"
    assert encode_key("") == "s:"
    assert encode_key(7) == "i:7"
    assert encode_key(date(2024, 1, 31)) == "d:2024-01-31"
    assert encode_key(datetime(2024, 1, 31, 6, tzinfo=PARIS)) == "t:2024-01-31T05:00:00+00:00"
    assert encode_key(datetime(2024, 1, 31, 5)) == "n:2024-01-31T05:00:00"
    assert encode_key(("eu", date(2024, 1, 31))) == 'm:["s:eu","d:2024-01-31"]'


def test_zoneinfo_datetimes_are_encoded_by_instant() -> None:
    new_york = ZoneInfo("America/New_York")
    first = datetime(2024, 11, 3, 1, 30, tzinfo=new_york)
    second = first.replace(fold=1)
    assert encode_key(first) == "t:2024-11-03T05:30:00+00:00"
    assert encode_key(second) == "t:2024-11-03T06:30:00+00:00"
    assert key_slug(first) != key_slug(second)
    plain = datetime(2024, 7, 1, 12, tzinfo=new_york)
    assert decode_key(encode_key(plain)) == plain


def test_instants_beyond_the_utc_calendar_are_refused() -> None:
    with pytest.raises(PartitionError, match="outside the years 1-9999"):
        encode_key(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))


def test_impossible_dates_in_text_keys_stay_readable_slugs() -> None:
    assert key_slug("2024-13-45") == "2024-13-45"
    assert key_slug("2024-01-31t9900z") == "2024-01-31t9900z"


def test_keys_from_definitions_round_trip_through_their_definition() -> None:
    hours = HourlyPartitions("2024-10-27", "2024-10-27", timezone="Europe/Paris")
    hour_keys = hours.keys()
    for key in hour_keys:
        decoded = decode_key(encode_key(key))
        assert decoded == key
        restored = hours.parse_key(decoded)
        assert restored.utcoffset() == key.utcoffset()
        assert hours.key_str(restored) == hours.key_str(key)
    multi = MultiPartitions({"day": DailyPartitions("2024-01-01", "2024-01-02")})
    multi_keys = multi.keys()
    for key in multi_keys:
        assert decode_key(encode_key(key)) == key


def test_readable_slugs() -> None:
    assert key_slug(None) == "__all__"
    assert key_slug("eu") == "eu"
    assert key_slug("sales_2024.v1") == "sales_2024.v1"
    assert key_slug(date(2024, 1, 31)) == "2024-01-31"
    assert key_slug(datetime(2024, 1, 31, 6, tzinfo=PARIS)) == "2024-01-31t0500z"
    assert key_slug(datetime(2024, 1, 31, 5, 0, 7, tzinfo=UTC)) == "2024-01-31t050007z"
    assert key_slug(datetime(2024, 1, 31, 5, 0, 7, 8, tzinfo=UTC)) == "2024-01-31t050007.000008z"


def test_escaped_slugs_keep_a_readable_prefix_and_a_hash() -> None:
    assert re.fullmatch(r"eu_2024-01-31~[0-9a-f]{16}", key_slug(("eu", date(2024, 1, 31))))
    assert re.fullmatch(r"a_b~[0-9a-f]{16}", key_slug("a/b"))
    assert re.fullmatch(r"eu~[0-9a-f]{16}", key_slug("EU"))
    assert re.fullmatch(r"key~[0-9a-f]{16}", key_slug(""))
    assert re.fullmatch(r"key~[0-9a-f]{16}", key_slug(".."))
    assert re.fullmatch(r"con~[0-9a-f]{16}", key_slug("con"))
    assert re.fullmatch(r"2024-01-31~[0-9a-f]{16}", key_slug("2024-01-31"))
    assert re.fullmatch(r"__all__~[0-9a-f]{16}", key_slug("__all__"))
    assert re.fullmatch(r"7~[0-9a-f]{16}", key_slug(7))
    assert re.fullmatch(r"2024-01-31t05_00_00~[0-9a-f]{16}", key_slug(datetime(2024, 1, 31, 5)))
    long_slug = key_slug("x" * 300)
    assert len(long_slug) <= 100
    assert long_slug.startswith("x" * 80 + "~")


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        (True, r"bool.*True"),
        (1.5, r"float.*1.5"),
        (["eu"], r"list.*tuple"),
        ("\ud800", r"cannot be stored"),
        (object(), r"object"),
    ],
)
def test_unsupported_keys_are_refused_by_name(key: object, pattern: str) -> None:
    with pytest.raises(PartitionError, match=pattern):
        encode_key(key)
    with pytest.raises(PartitionError, match=pattern):
        key_slug(key)


@pytest.mark.parametrize(
    "text",
    [
        "x",
        "q:1",
        "i:1.5",
        "i:+1",
        "i:01",
        "i:-0",
        "t:2024-01-01T05:00:00Z",
        "d:2024-13-01",
        "t:2024-01-01T05:00:00",
        "t:2024-01-01T05:00:00+01:00",
        "t:nonsense",
        "n:2024-01-01T05:00:00+00:00",
        "n:nope",
        "m:nope",
        'm:{"a": 1}',
        "m:[1]",
        'm:["q:1"]',
    ],
)
def test_decoding_garbage_says_it_is_not_an_encoded_key(text: str) -> None:
    with pytest.raises(PartitionError, match=r"not an encoded partition key"):
        decode_key(text)
