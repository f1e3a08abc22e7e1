"""IO managers: formats by value type, content versions, dedup, atomic writes, safe paths."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pytest

from flowstone_nb._core.errors import FlowstoneError, StoreError
from flowstone_nb._core.io_managers import register_io_manager, unregister_io_manager
from flowstone_nb._storage.io import (
    FilesystemIOManager,
    IOManager,
    MemoryIOManager,
    ParquetIOManager,
    StoredValue,
    atomic_write,
    check_segment,
    make_io_manager,
)
from tests.resources.store_files import files_under


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"a": [1, 2, 3], "b": [0.5, 1.5, 2.5], "c": ["x", "y", "z"]},
        index=pd.Index([10, 20, 30], name="row"),
    )


@dataclasses.dataclass(frozen=True)
class Point:
    """A plain user object: only pickle can store it."""

    x: int
    y: int


class Unpicklable:
    """A value whose serializer fails half-way through."""

    def __reduce__(self) -> Any:
        raise RuntimeError("cannot serialize this on purpose")


# --- formats --------------------------------------------------------------------------------------


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


def test_local_files_live_at_the_location_under_the_home(tmp_path: Path) -> None:
    stored = FilesystemIOManager(tmp_path).store("sales", "all", frame())
    path = tmp_path / stored.location
    assert path.is_file()
    assert path.stat().st_size == stored.size_bytes
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame())


def test_file_url_homes_are_local(tmp_path: Path) -> None:
    manager = FilesystemIOManager(f"file://{tmp_path}")
    stored = manager.store("numbers", "all", [1, 2, 3])
    assert (tmp_path / stored.location).is_file()
    assert manager.load(stored.location) == [1, 2, 3]


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


# --- versions and dedup ---------------------------------------------------------------------------


def test_equal_content_gives_equal_versions_and_is_written_once(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    first = manager.store("sales", "all", frame())
    second = manager.store("sales", "all", frame())
    assert first == second
    assert len(first.data_version) == 32
    int(first.data_version, 16)
    assert files_under(store_home) == [first.location]


def test_dedup_does_not_rewrite_the_file(tmp_path: Path) -> None:
    manager = FilesystemIOManager(tmp_path)
    stored = manager.store("sales", "all", frame())
    path = tmp_path / stored.location
    os.utime(path, ns=(0, 0))
    manager.store("sales", "all", frame())
    assert path.stat().st_mtime_ns == 0


def test_new_content_gets_a_new_version_and_old_versions_stay_loadable(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    old = manager.store("sales", "all", frame())
    new = manager.store("sales", "all", frame().assign(a=[7, 8, 9]))
    assert old.data_version != new.data_version
    assert old.location != new.location
    pd.testing.assert_frame_equal(manager.load(old.location), frame())
    assert list(manager.load(new.location).a) == [7, 8, 9]


def test_same_content_in_another_partition_is_stored_there_too(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    a = manager.store("sales", "p1", {"v": 1})
    b = manager.store("sales", "p2", {"v": 1})
    assert a.data_version == b.data_version
    assert a.location != b.location
    assert manager.exists(a.location)
    assert manager.exists(b.location)


def test_compression_is_configurable_and_part_of_the_version(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    snappy = manager.store("sales", "all", frame())
    zstd = manager.store("sales", "all", frame(), config={"compression": "zstd"})
    assert snappy.data_version != zstd.data_version
    pd.testing.assert_frame_equal(
        manager.load(zstd.location, config={"compression": "zstd"}), frame()
    )


@pytest.mark.parametrize("manager_type", [FilesystemIOManager, ParquetIOManager])
def test_unknown_config_keys_are_refused_with_a_suggestion(
    store_home: str, manager_type: Callable[[str], IOManager]
) -> None:
    manager = manager_type(store_home)
    with pytest.raises(StoreError, match=r"'compresion'.*'sales'.*Did you mean 'compression'"):
        manager.store("sales", "all", frame(), config={"compresion": "zstd"})
    with pytest.raises(StoreError, match=r"'level'.*understands: compression"):
        manager.load("data/sales/all/x.parquet", config={"level": 3})


def test_bad_compression_is_a_store_error(store_home: str) -> None:
    with pytest.raises(StoreError, match=r"'sales'.*compression"):
        FilesystemIOManager(store_home).store(
            "sales", "all", frame(), config={"compression": "lz9"}
        )


def test_concurrent_stores_of_the_same_value_agree(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    barrier = threading.Barrier(8)
    results: list[StoredValue] = []

    def store() -> None:
        barrier.wait()
        results.append(manager.store("sales", "all", frame()))

    threads = [threading.Thread(target=store) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.data_version for r in results}) == 1
    assert files_under(store_home) == [results[0].location]
    pd.testing.assert_frame_equal(manager.load(results[0].location), frame())


# --- atomic writes --------------------------------------------------------------------------------


def test_a_value_that_fails_to_serialize_leaves_no_file(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    with pytest.raises(
        StoreError, match=r"'broken'.*partition 'p1'.*Unpicklable.*on purpose"
    ) as info:
        manager.store("broken", "p1", Unpicklable())
    assert isinstance(info.value.__cause__, RuntimeError)
    assert files_under(store_home) == []


def test_a_write_failing_half_way_leaves_neither_the_file_nor_a_temp_file(store_home: str) -> None:
    target = "data/x/all/v.bin"

    def half_then_fail(out: BinaryIO) -> None:
        out.write(b"first half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(store_home, target, half_then_fail)
    assert files_under(store_home) == []


def test_readers_never_see_the_file_while_it_is_written(store_home: str) -> None:
    target = "data/x/all/v.bin"
    seen_while_writing: list[bool] = []
    manager = FilesystemIOManager(store_home)

    def write(out: BinaryIO) -> None:
        out.write(b"part")
        seen_while_writing.append(manager.exists(target))
        out.write(b"rest")

    atomic_write(store_home, target, write)
    assert seen_while_writing == [False]
    assert files_under(store_home) == [target]
    assert manager.exists(target)


def test_atomic_write_refuses_paths_outside_the_home(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"'\.\.'"):
        atomic_write(str(tmp_path), "data/../../escape", lambda out: None)


# --- load, exists, delete -------------------------------------------------------------------------


def test_exists_and_delete(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    stored = manager.store("sales", "all", frame())
    assert manager.exists(stored.location)
    manager.delete(stored.location)
    assert not manager.exists(stored.location)
    manager.delete(stored.location)  # deleting twice is harmless
    assert files_under(store_home) == []


def test_loading_a_missing_value_names_it_and_says_it_will_be_recomputed(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    with pytest.raises(StoreError, match=r"'sales'.*partition 'p1'.*missing.*recompute") as info:
        manager.load("data/sales/p1/abc.parquet")
    assert "data/sales/p1/abc.parquet" in str(info.value)


@pytest.mark.parametrize("ext", ["parquet", "json", "npy", "pkl"])
def test_loading_a_corrupt_value_names_it_and_says_it_will_be_recomputed(
    store_home: str, ext: str
) -> None:
    location = f"data/sales/p1/abc.{ext}"
    atomic_write(store_home, location, lambda out: out.write(b"\x80garbage"))
    with pytest.raises(StoreError, match=r"'sales'.*partition 'p1'.*corrupt.*recompute"):
        FilesystemIOManager(store_home).load(location)


def test_loading_an_unknown_format_is_refused(store_home: str) -> None:
    atomic_write(store_home, "data/sales/p1/abc.xlsx", lambda out: out.write(b"x"))
    with pytest.raises(StoreError, match=r"'\.xlsx'.*parquet, json, npy, pkl"):
        FilesystemIOManager(store_home).load("data/sales/p1/abc.xlsx")


def test_a_missing_value_outside_the_usual_layout_is_named_by_location(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"location 'loose\.json'.*missing"):
        FilesystemIOManager(tmp_path).load("loose.json")


def test_a_failing_write_names_the_asset_and_the_path(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales").write_text("a file where a folder should be")
    with pytest.raises(StoreError, match=r"'sales' partition 'all'.*data.*free space") as info:
        FilesystemIOManager(tmp_path).store("sales", "all", {"a": 1})
    assert isinstance(info.value.__cause__, OSError)


def test_locations_that_escape_the_home_are_refused(tmp_path: Path) -> None:
    manager = FilesystemIOManager(tmp_path / "home")
    for location in ["../outside.json", "/etc/passwd", "data/../../x.json", "data//x.json"]:
        with pytest.raises(StoreError, match="location"):
            manager.load(location)
        with pytest.raises(StoreError, match="location"):
            manager.exists(location)


# --- names that would escape the home -------------------------------------------------------------

BAD_SEGMENTS = ["", ".", "..", "a/b", "a\\b", "a\0b", "/abs", "x" * 201]


@pytest.mark.parametrize("bad", BAD_SEGMENTS)
@pytest.mark.parametrize("manager_type", [FilesystemIOManager, ParquetIOManager, MemoryIOManager])
def test_asset_names_and_slugs_that_would_escape_are_refused(
    tmp_path: Path, bad: str, manager_type: Callable[[str], IOManager]
) -> None:
    manager = manager_type(str(tmp_path))
    with pytest.raises(StoreError, match="asset name"):
        manager.store(bad, "all", frame())
    with pytest.raises(StoreError, match="partition"):
        manager.store("sales", bad, frame())
    assert not any(tmp_path.iterdir())


def test_check_segment_explains_the_fix() -> None:
    with pytest.raises(StoreError, match=r"asset name '\.\.'.*cannot be used as a folder"):
        check_segment("asset name", "..")
    with pytest.raises(StoreError, match=r"201 characters.*at most 200"):
        check_segment("partition", "x" * 201)
    assert check_segment("asset name", "sales_2024") == "sales_2024"


# --- memory ---------------------------------------------------------------------------------------


def test_memory_keeps_the_very_object() -> None:
    manager = MemoryIOManager()
    value = frame()
    stored = manager.store("sales", "all", value)
    assert stored.io_manager == "memory"
    assert stored.rows == 3
    assert stored.schema == "a:int64, b:float64, c:str"
    assert stored.size_bytes is None
    assert manager.load(stored.location) is value
    assert MemoryIOManager("elsewhere").load(stored.location) is value


def test_memory_versions_are_unique_tokens() -> None:
    manager = MemoryIOManager()
    versions = {manager.store("sales", "all", 1).data_version for _ in range(100)}
    assert len(versions) == 100
    assert all(len(v) >= 16 for v in versions)


def test_memory_keeps_only_the_latest_value_of_a_partition() -> None:
    manager = MemoryIOManager()
    old = manager.store("sales", "all", [1])
    other = manager.store("sales", "other", [2])
    new = manager.store("sales", "all", [3])
    assert not manager.exists(old.location)
    assert manager.exists(new.location)
    assert manager.load(other.location) == [2]
    with pytest.raises(StoreError, match=r"'sales'.*memory.*recompute"):
        manager.load(old.location)


def test_memory_delete() -> None:
    manager = MemoryIOManager()
    stored = manager.store("sales", "all", 1)
    manager.delete(stored.location)
    assert not manager.exists(stored.location)
    manager.delete(stored.location)
    newer = manager.store("sales", "all", 2)
    manager.delete(stored.location)  # an older location does not touch the newer value
    assert manager.load(newer.location) == 2


def test_memory_refuses_config() -> None:
    with pytest.raises(StoreError, match=r"'compression'.*memory IO manager takes none"):
        MemoryIOManager().store("sales", "all", 1, config={"compression": "zstd"})


def test_memory_refuses_foreign_locations() -> None:
    with pytest.raises(StoreError, match="not a memory location"):
        MemoryIOManager().load("data/sales/all/x.parquet")


# --- metadata -------------------------------------------------------------------------------------


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


# --- make_io_manager ------------------------------------------------------------------------------


def test_make_io_manager_caches_per_name_and_home(tmp_path: Path) -> None:
    a = make_io_manager("filesystem", str(tmp_path / "a"))
    assert make_io_manager("filesystem", str(tmp_path / "a")) is a
    assert make_io_manager("filesystem", str(tmp_path / "b")) is not a
    assert isinstance(make_io_manager("parquet", str(tmp_path / "a")), ParquetIOManager)
    memory = make_io_manager("memory", str(tmp_path / "a"))
    assert make_io_manager("memory", str(tmp_path / "b")) is memory


def test_make_io_manager_suggests_close_names(tmp_path: Path) -> None:
    with pytest.raises(FlowstoneError, match="Did you mean 'parquet'"):
        make_io_manager("parquett", str(tmp_path))


def test_make_io_manager_uses_registered_factories(tmp_path: Path) -> None:
    name = f"custom_{uuid.uuid4().hex}"

    class Custom(MemoryIOManager):
        """A custom manager is just another IOManager."""

    def factory(home: str) -> IOManager:
        return Custom(home)

    register_io_manager(name, factory)
    try:
        first = make_io_manager(name, str(tmp_path))
        assert isinstance(first, Custom)
        assert make_io_manager(name, str(tmp_path)) is first
        register_io_manager(name, Custom, replace=True)
        assert make_io_manager(name, str(tmp_path)) is not first
    finally:
        unregister_io_manager(name)


def test_make_io_manager_checks_what_factories_return(tmp_path: Path) -> None:
    name = f"broken_{uuid.uuid4().hex}"
    register_io_manager(name, lambda home: object())
    try:
        with pytest.raises(FlowstoneError, match=rf"{name}.*returned object.*IOManager"):
            make_io_manager(name, str(tmp_path))
    finally:
        unregister_io_manager(name)


def test_managers_have_a_readable_repr(tmp_path: Path) -> None:
    assert repr(FilesystemIOManager(tmp_path)) == f"FilesystemIOManager(home={str(tmp_path)!r})"
    assert repr(MemoryIOManager()) == "MemoryIOManager()"


def test_stored_value_is_frozen() -> None:
    stored = StoredValue("data/a/all/v.json", "v", "filesystem", None, None, 2)
    with pytest.raises(AttributeError):
        stored.location = "elsewhere"  # type: ignore[misc]  # proving it is frozen
    assert stored == StoredValue(
        location="data/a/all/v.json",
        data_version="v",
        io_manager="filesystem",
        rows=None,
        schema=None,
        size_bytes=2,
    )


def test_importing_the_io_module_stays_light(tmp_path: Path) -> None:
    code = (
        "import sys, flowstone_nb._storage.io as io\n"
        f"m = io.FilesystemIOManager({str(tmp_path)!r})\n"
        "s = m.store('config', 'all', {'a': 1})\n"
        "assert m.load(s.location) == {'a': 1}\n"
        "print(sorted(n for n in ('pandas', 'pyarrow', 'fsspec', 'numpy') if n in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"


def test_memory_store_checks_names_every_time_until_one_is_kept_and_summarises_scalars() -> None:
    from flowstone_nb._core.errors import StoreError
    from flowstone_nb._storage.io import MemoryIOManager, describe

    manager = MemoryIOManager()
    for _ in range(2):
        with pytest.raises(StoreError, match="partition slug"):
            manager.store("fine", "../up", 1)
    for value in (1, 2.5, True, "text", b"raw", None):
        stored = manager.store("scalar", "_", value)
        assert (stored.rows, stored.schema) == describe(value)
        assert manager.load(stored.location) == value
    with pytest.raises(StoreError, match="io_config key"):
        manager.store("scalar", "_", 1, config={"compression": "zstd"})
