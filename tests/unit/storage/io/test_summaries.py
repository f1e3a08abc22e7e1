"""Summaries: rows and schema of a value, without storing it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flowstone_nb._storage.io import FilesystemIOManager, MemoryIOManager
from tests.unit.storage.io.values import Point


@pytest.mark.parametrize(
    ("value", "rows", "schema"),
    [
        (pd.DataFrame({"a": [1], "b": [2.0]}), 1, "a:int64, b:float64"),
        ([1, 2, 3], 3, "list"),
        ((1,), 1, "tuple"),
        ({"a": 1}, None, "dict"),
        ("text", None, "str"),
        (None, None, "NoneType"),
        (Point(1, 2), None, "Point"),
    ],
)
def test_metadata_summarises_without_storing(
    tmp_path: Path, value: object, rows: int | None, schema: str
) -> None:
    manager = FilesystemIOManager(tmp_path)
    assert manager.metadata(value) == {"rows": rows, "schema": schema, "type": type(value).__name__}
    assert not any(tmp_path.iterdir())


def test_wide_frames_get_a_short_schema() -> None:
    wide = pd.DataFrame({f"c{i}": [i] for i in range(60)})
    schema = MemoryIOManager().metadata(wide)["schema"]
    assert schema.startswith("c0:int64, c1:int64")
    assert schema.endswith("… (+40 more)")
