"""The short spellings of partition mappings (``%%asset --map UPSTREAM=SPEC``)."""

from __future__ import annotations

import pytest

import flowstone_nb as fs
from flowstone_nb._partitioning.mappings import MAPPING_FORMS, parse_mapping_spec


@pytest.mark.parametrize(
    ("text", "mapping"),
    [
        ("identity", fs.IdentityMapping()),
        ("all", fs.AllPartitionsMapping()),
        ("window", fs.TimeWindowMapping()),
        ("window:strict", fs.TimeWindowMapping(allow_partial=False)),
        ("trailing:7", fs.TrailingWindow(7)),
        (" Trailing : 3 ", fs.TrailingWindow(3)),
        ("previous", fs.PreviousPartition()),
        ("dimension:day", fs.MultiToSingleDimension("day")),
        ("dimension:day:window", fs.MultiToSingleDimension("day", fs.TimeWindowMapping())),
        ("dimension:day:trailing:2", fs.MultiToSingleDimension("day", fs.TrailingWindow(2))),
    ],
)
def test_each_mapping_has_a_spelling(text: str, mapping: fs.PartitionMapping) -> None:
    assert parse_mapping_spec(text) == mapping


def test_every_exported_mapping_is_spelled_in_the_forms() -> None:
    for kind in ("identity", "all", "window", "window:strict", "trailing:N", "previous"):
        assert kind in MAPPING_FORMS
    assert "dimension:NAME[:MAPPING]" in MAPPING_FORMS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trailng:7", r"unknown kind 'trailng'\. Did you mean 'trailing'\?"),
        ("trailing", r"trailing needs a whole number of partitions \(trailing:7\), got ''"),
        ("trailing:x", r"got 'x'"),
        ("trailing:0", r"TrailingWindow\(0\) needs at least 1 partition"),
        ("window:loose", r"window takes nothing or 'strict', got 'loose'"),
        ("all:3", r"all takes no argument, got '3'"),
        ("dimension", r"dimension needs the dimension's name"),
        ("dimension:day:nope", r"unknown kind 'nope'"),
        ("", r"unknown kind ''"),
    ],
)
def test_a_wrong_spelling_says_what_and_lists_the_spellings(text: str, message: str) -> None:
    with pytest.raises(fs.PartitionError, match=message) as caught:
        parse_mapping_spec(text)
    assert str(caught.value).startswith(f"Cannot read the partition mapping {text!r}: ")
    assert str(caught.value).endswith(f"The mappings: {MAPPING_FORMS}.")
    assert str(caught.value).count("Cannot read") == 1
