"""The nodes of many partitions at once are the nodes of each alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._run.plan import make_node, make_nodes


@pytest.mark.parametrize(
    "definition",
    [
        fs.DailyPartitions("2024-01-01", "2024-03-31"),
        fs.HourlyPartitions("2024-01-01", "2024-01-02", timezone="Europe/Paris"),
        fs.StaticPartitions(["eu", "us"]),
        fs.MultiPartitions(
            {"region": fs.StaticPartitions(["eu"]), "day": fs.DailyPartitions("2024-01-01")}
        ),
        None,
    ],
)
def test_many_nodes_are_each_node(definition: PartitionsDefinition | None) -> None:
    now = datetime(2024, 1, 3, tzinfo=UTC)
    keys: list[Any] = [None] if definition is None else list(definition.keys(now=now))
    assert make_nodes("a", definition, keys) == [make_node("a", definition, k) for k in keys]
    assert make_nodes("a", definition, []) == []
