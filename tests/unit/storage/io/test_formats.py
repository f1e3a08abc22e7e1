"""Formats by value type: Parquet, JSON, .npy and pickle, and what the parquet manager refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.io import FilesystemIOManager, ParquetIOManager
from tests.resources.store_files import files_under
from tests.unit.storage.io.values import Point, frame


def test_dataframe_is_stored_as_parquet_and_round_trips(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    stored = manager.store("sales", "2024-01-01", frame())
    assert stored.location == f"data/sales/2024-01-01/{stored.data_version}.parquet"
    assert stored.io_manager == "filesystem"
    assert stored.rows == 3
    assert stored.schema == "a:int64, b:float64, c:str"
    assert stored.size_bytes is not None
    assert stored.size_bytes > 0
    assert files_under(store_home) == [stored.location]
    pd.testing.assert_frame_equal(manager.load(stored.location), frame())


@pytest.mark.parametrize(
    ("series", "schema"),
    [
        (pd.Series([1.0, 2.0], name="price"), "Series price:float64"),
        (pd.Series([1, 2], name=None), "Series None:int64"),
        (pd.Series(["a"], name=7, index=pd.Index(["k"], name="key")), "Series 7:str"),
        (pd.Series([True], name=("a", 1)), "Series ('a', 1):bool"),
    ],
)
def test_series_come_back_as_series_with_their_name(
    store_home: str, series: pd.Series[Any], schema: str
) -> None:
    manager = FilesystemIOManager(store_home)
    stored = manager.store("prices", "all", series)
    assert stored.location.endswith(".parquet")
    assert stored.schema == schema
    assert stored.rows == len(series)
    pd.testing.assert_series_equal(manager.load(stored.location), series)


def test_series_with_an_unusual_name_is_pickled(store_home: str) -> None:
    series = pd.Series([1, 2], name=frozenset({"a"}))
    manager = FilesystemIOManager(store_home)
    stored = manager.store("odd", "all", series)
    assert stored.location.endswith(".pkl")
    pd.testing.assert_series_equal(manager.load(stored.location), series)


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 2.5, "text", [1, "a", None, 2.5], {"a": [1, 2], "b": {"c": None}}, [], {}],
)
def test_json_able_values_are_stored_as_json(store_home: str, value: object) -> None:
    manager = FilesystemIOManager(store_home)
    stored = manager.store("config", "all", value)
    assert stored.location.endswith(".json")
    loaded = manager.load(stored.location)
    assert loaded == value
    assert type(loaded) is type(value)


def test_json_is_readable_by_other_tools(tmp_path: Path) -> None:
    stored = FilesystemIOManager(tmp_path).store("config", "all", {"alpha": 1})
    assert json.loads((tmp_path / stored.location).read_text(encoding="utf-8")) == {"alpha": 1}


@pytest.mark.parametrize(
    "value",
    [
        (1, 2),
        {1: "int keys"},
        {"a": (1, 2)},
        {3.5},
        np.float64(1.5),
        Point(1, 2),
        b"bytes",
        float("nan"),
    ],
    ids=["tuple", "int-keys", "nested-tuple", "set", "numpy-scalar", "object", "bytes", "nan"],
)
def test_values_json_cannot_round_trip_are_pickled(store_home: str, value: object) -> None:
    manager = FilesystemIOManager(store_home)
    stored = manager.store("thing", "all", value)
    assert stored.location.endswith(".pkl")
    loaded = manager.load(stored.location)
    assert type(loaded) is type(value)
    assert repr(loaded) == repr(value)


@pytest.mark.parametrize(
    ("array", "schema"),
    [
        (np.arange(12, dtype="float64").reshape(3, 4), "ndarray float64 (3, 4)"),
        (np.array([1, 2, 3], dtype="int32"), "ndarray int32 (3,)"),
        (np.array(5), "ndarray int64 ()"),
    ],
)
def test_numpy_arrays_are_stored_as_npy(store_home: str, array: Any, schema: str) -> None:
    manager = FilesystemIOManager(store_home)
    stored = manager.store("matrix", "all", array)
    assert stored.location.endswith(".npy")
    assert stored.schema == schema
    assert stored.rows == (array.shape[0] if array.ndim else None)
    loaded = manager.load(stored.location)
    np.testing.assert_array_equal(loaded, array)
    assert loaded.dtype == array.dtype


def test_object_arrays_are_pickled(store_home: str) -> None:
    array = np.array([{"a": 1}, None], dtype=object)
    manager = FilesystemIOManager(store_home)
    stored = manager.store("objects", "all", array)
    assert stored.location.endswith(".pkl")
    assert list(manager.load(stored.location)) == [{"a": 1}, None]


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame({"mixed": [1, "x"]}),
        pd.DataFrame([[1, 2]], columns=["a", "a"]),
    ],
    ids=["mixed-object-column", "duplicate-columns"],
)
def test_frames_parquet_cannot_hold_fall_back_to_pickle(store_home: str, df: pd.DataFrame) -> None:
    manager = FilesystemIOManager(store_home)
    stored = manager.store("messy", "all", df)
    assert stored.location.endswith(".pkl")
    pd.testing.assert_frame_equal(manager.load(stored.location), df)


def test_parquet_manager_refuses_other_types(store_home: str) -> None:
    with pytest.raises(StoreError, match=r"'config'.*dict.*io_manager=\"filesystem\""):
        ParquetIOManager(store_home).store("config", "all", {"a": 1})


def test_parquet_manager_explains_frames_parquet_cannot_hold(store_home: str) -> None:
    with pytest.raises(StoreError, match=r"'messy'.*partition 'p1'.*Parquet.*column a") as info:
        ParquetIOManager(store_home).store("messy", "p1", pd.DataFrame({"a": [1, "x"]}))
    assert info.value.__cause__ is not None
    assert files_under(store_home) == []


def test_parquet_manager_refuses_series_with_unusual_names(store_home: str) -> None:
    with pytest.raises(StoreError, match="Series name"):
        ParquetIOManager(store_home).store("odd", "all", pd.Series([1], name=frozenset()))


def test_parquet_manager_stores_frames_and_series(store_home: str) -> None:
    manager = ParquetIOManager(store_home)
    stored = manager.store("sales", "all", frame())
    assert stored.io_manager == "parquet"
    pd.testing.assert_frame_equal(manager.load(stored.location), frame())
    series = pd.Series([1, 2], name="n")
    pd.testing.assert_series_equal(manager.load(manager.store("n", "all", series).location), series)


def test_compression_is_configurable_and_part_of_the_version(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    snappy = manager.store("sales", "all", frame())
    zstd = manager.store("sales", "all", frame(), config={"compression": "zstd"})
    assert snappy.data_version != zstd.data_version
    pd.testing.assert_frame_equal(
        manager.load(zstd.location, config={"compression": "zstd"}), frame()
    )


def test_bad_compression_is_a_store_error(store_home: str) -> None:
    with pytest.raises(StoreError, match=r"'sales'.*compression"):
        FilesystemIOManager(store_home).store(
            "sales", "all", frame(), config={"compression": "lz9"}
        )
