"""IO managers: content versions and dedup, load/exists/delete, memory, construction by name."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

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
    make_io_manager,
)
from tests.resources.store_files import files_under
from tests.unit.storage.io.values import frame

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


@pytest.mark.parametrize("manager_type", [FilesystemIOManager, ParquetIOManager])
def test_unknown_config_keys_are_refused_with_a_suggestion(
    store_home: str, manager_type: Callable[[str], IOManager]
) -> None:
    manager = manager_type(store_home)
    with pytest.raises(StoreError, match=r"'compresion'.*'sales'.*Did you mean 'compression'"):
        manager.store("sales", "all", frame(), config={"compresion": "zstd"})
    with pytest.raises(StoreError, match=r"'level'.*understands: compression"):
        manager.load("data/sales/all/x.parquet", config={"level": 3})


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
