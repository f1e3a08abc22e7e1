"""Files under a home: where values live, atomic writes, and names that would leave the home."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.io import (
    FilesystemIOManager,
    IOManager,
    MemoryIOManager,
    ParquetIOManager,
    atomic_write,
    check_segment,
)
from flowstone_nb._storage.io.files import files_for
from tests.resources.store_files import files_under
from tests.unit.storage.io.values import Unpicklable, frame


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


# --- names that would escape the home -------------------------------------------------------------


def test_locations_that_escape_the_home_are_refused(tmp_path: Path) -> None:
    manager = FilesystemIOManager(tmp_path / "home")
    for location in ["../outside.json", "/etc/passwd", "data/../../x.json", "data//x.json"]:
        with pytest.raises(StoreError, match="location"):
            manager.load(location)
        with pytest.raises(StoreError, match="location"):
            manager.exists(location)


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
    with pytest.raises(StoreError, match=r"67 characters \(201 bytes.*at most 200 bytes"):
        check_segment("asset name", "漢" * 67)


def test_a_home_holds_values_once_one_is_stored_temp_files_aside(store_home: str) -> None:
    files = files_for(store_home)
    assert not files.holds_values()
    atomic_write(store_home, "data/sales/all/.v.json.0123456789ab.tmp", lambda out: out.write(b"x"))
    assert not files.holds_values()  # a temp file left behind is no value
    FilesystemIOManager(store_home).store("sales", "all", [1])
    assert files.holds_values()


def test_a_stored_version_removed_while_it_is_compared_is_written_again() -> None:
    from flowstone_nb._storage.io import files
    from flowstone_nb._storage.io.hashing import encode_into

    def gone(location: str) -> BinaryIO:
        raise FileNotFoundError(location)

    writer = encode_into(lambda: lambda chunk: None, lambda out: out.write(b"abc"))
    assert files._holds(gone, 3, writer, "data/a/__all__/x.json") is False


LOCATIONS = [
    "data/sales/2024-01-01/0123abcd.parquet",
    "data/sales/__all__/v.json",
    "data/a=1+b/k.x-y_z/v",
    "data/.hidden/...dots/v",
    "x" * 200,
    "x" * 201,
    "data/漢字/v.json",
    "data/sales/../../etc/passwd",
    "data/./v",
    "..",
    ".",
    "",
    "data//v",
    "/data/v",
    "data/v/",
    "data\\v",
    "data/v\0",
    "data/v\n",
    "data/ sp/v",
]


@pytest.mark.parametrize("location", LOCATIONS)
def test_plain_locations_take_a_fast_path_with_the_same_verdict(
    location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowstone_nb._storage.io import files

    def verdict() -> list[str] | str:
        try:
            return files.check_location(location)
        except StoreError as error:
            return str(error)

    fast = verdict()
    monkeypatch.setattr(files, "_PLAIN_LOCATION", files.re.compile(r"(?!)"))  # never matches
    assert verdict() == fast


@pytest.mark.parametrize("root", ["home", "home/"])
@pytest.mark.parametrize("location", [loc for loc in LOCATIONS if loc and "\0" not in loc])
def test_a_local_path_is_what_os_path_join_makes(tmp_path: Path, root: str, location: str) -> None:
    import os

    from flowstone_nb._storage.io.files import LocalFiles

    home = f"{tmp_path}/{root}"
    expected = os.path.join(home, *location.split("/"))  # noqa: PTH118  # what it replaces
    assert LocalFiles(Path(home)).path(location) == expected
