"""Partition keys read as their users write them, never in the catalog's or the file store's."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.display import key_text, key_texts, stored_key_text
from flowstone_nb._partitioning.keys import decode_key, encode_key
from tests.unit.partitioning.samples import PARIS, d, listed, utc

REGION_DAY = fs.MultiPartitions(
    {"region": fs.StaticPartitions(["eu", "us"]), "day": fs.DailyPartitions("2013-01-01")}
)


@pytest.mark.parametrize(
    ("definition", "key", "text"),
    [
        (fs.DailyPartitions("2013-01-01"), d("2013-01-05"), "2013-01-05"),
        (fs.MonthlyPartitions("2013-01"), d("2013-01-01"), "2013-01"),
        (fs.WeeklyPartitions("2013-01-07"), d("2013-01-07"), "2013-01-07"),
        (fs.HourlyPartitions("2013-01-01", timezone="Europe/Paris"), "2013-01-05T05:00", None),
        (fs.StaticPartitions(["eu", "us"]), "eu", "eu"),
        (REGION_DAY, ("eu", d("2013-01-05")), "eu|2013-01-05"),
        (fs.FunctionPartitions("custom", listed), "a", "a"),
    ],
)
def test_a_key_and_its_stored_form_read_as_the_user_writes_it(
    definition: PartitionsDefinition, key: Any, text: str | None
) -> None:
    parsed = definition.parse_key(key)
    expected = text or str(key)
    assert key_text(definition, parsed) == expected
    assert stored_key_text(definition, encode_key(parsed)) == expected


def test_an_hour_stored_as_its_utc_instant_reads_in_its_own_zone() -> None:
    hours = fs.HourlyPartitions("2013-01-01", timezone="Europe/Paris")
    stored = encode_key(hours.parse_key("2013-01-05T05:00"))
    assert stored == "t:2013-01-05T04:00:00+00:00"
    assert stored_key_text(hours, stored) == "2013-01-05T05:00"


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("eu", "eu"),
        (7, "7"),
        (d("2013-01-01"), "2013-01-01"),
        (utc(2013, 1, 5, 4), "2013-01-05T04:00+00:00"),
        (datetime(2013, 1, 5, 4), "2013-01-05T04:00"),
        (("eu", date(2013, 1, 5)), "eu|2013-01-05"),
    ],
)
def test_without_a_definition_a_key_reads_without_tags(key: Any, text: str) -> None:
    # (an asset since forgotten, or whose definition no longer has the key)
    assert key_text(None, key) == text
    assert stored_key_text(None, encode_key(key)) == text
    assert stored_key_text(fs.StaticPartitions(["x"]), encode_key(key)) == text


def test_without_a_definition_a_stored_instant_reads_in_utc() -> None:
    paris = datetime(2013, 1, 5, 4, 30, tzinfo=PARIS)
    assert key_text(None, paris) == "2013-01-05T04:30+01:00"
    assert stored_key_text(None, encode_key(paris)) == "2013-01-05T03:30+00:00"


def test_unpartitioned_reads_as_nothing() -> None:
    assert key_text(None, None) == ""
    assert stored_key_text(None, "") == ""
    assert stored_key_text(fs.DailyPartitions("2013-01-01"), "") == ""


@pytest.mark.parametrize(
    "definition",
    [
        fs.DailyPartitions("2024-01-01", "2024-03-31"),
        fs.DailyPartitions("2024-01-01", "2024-03-31", timezone="Asia/Kathmandu"),
        fs.WeeklyPartitions("2024-01-01", "2024-03-25"),
    ],
    ids=["daily", "daily-kathmandu", "weekly"],
)
def test_keys_that_read_plainly_read_as_the_definition_reads_them(
    definition: fs.PartitionsDefinition,
) -> None:
    assert definition.keys_read_plainly
    stored = [encode_key(key) for key in definition.keys()]  # noqa: SIM118  # a definition
    stored += [encode_key(date(2023, 12, 31)), encode_key(date(2024, 1, 3))]  # out, odd
    for encoded in stored:
        key = decode_key(encoded)
        try:
            general = definition.key_str(definition.parse_key(key))
        except fs.PartitionError:
            general = key.isoformat()
        assert stored_key_text(definition, encoded) == general


@pytest.mark.parametrize(
    "encoded",
    [
        "s:eu",
        "s:",
        "s:a|b",
        "s:漢字",
        "i:7",
        "i:-12",
        "i:0",
        "i:007",
        "i:-0",
        "d:2024-01-31",
        "d:2024-02-30",
        "d:24-01-31",
        "d:2024-1-31",
        "d:20240131",
        "d:2024-W05-3",
        "d:2024-0a-31",
        "d:\uff12\uff10\uff12\uff14-01-31",  # (full-width digits)
        "d:0000-01-31",
        "d:2024-01-31 ",
        "t:2024-01-31T05:00:00+00:00",
        "n:2024-01-31T05:00:00",
        'm:["s:eu","d:2024-01-05"]',
        "x:what",
    ],
)
def test_the_plain_text_fast_path_reads_as_the_general_path(encoded: str) -> None:
    from flowstone_nb._partitioning.keys import plain_text

    try:
        general: str | None = key_text(None, decode_key(encoded))
    except fs.PartitionError:
        general = None
    fast = plain_text(encoded)
    assert fast is None or fast == general
    if general is None:
        with pytest.raises(fs.PartitionError):
            stored_key_text(None, encoded)
    else:
        assert stored_key_text(None, encoded) == general


@pytest.mark.parametrize(
    "definition",
    [
        fs.DailyPartitions("2024-01-01", "2024-03-31"),
        fs.DailyPartitions("2024-01-01", "2024-01-31", timezone="Asia/Kathmandu"),
        fs.WeeklyPartitions("2024-01-01", "2024-03-25"),
        fs.MonthlyPartitions("2024-01", "2024-06"),
        fs.HourlyPartitions("2024-01-01", "2024-01-03", timezone="Europe/Paris"),
        fs.StaticPartitions(["eu", "us"]),
        REGION_DAY,
        None,
    ],
)
def test_many_keys_read_as_each_alone(definition: PartitionsDefinition | None) -> None:
    keys: list[Any] = [None] if definition is None else list(definition.keys(now=utc(2013, 1, 3)))
    assert key_texts(definition, keys) == [key_text(definition, key) for key in keys]
    assert key_texts(definition, []) == []
