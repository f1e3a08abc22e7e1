"""A value changed on disk is never loaded as good: its size and modification time are checked.

Each value is stored with its stamp (data version, size, modification time). Loading with the
stamp compares the file's size and modification time to it (one ``stat``); when only the time
differs (a copied or touched store), the file is re-hashed, so an unchanged value still loads.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import fsspec
import numpy as np
import pandas as pd
import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.io import (
    NO_CONFIG,
    ChangedValueError,
    FilesystemIOManager,
    IOManager,
    MemoryIOManager,
    StoredValue,
    ValueStamp,
)
from flowstone_nb._storage.io.files import LocalFiles
from tests.unit.storage.io.values import frame

FIX = r"materialize it again with force=True, or run fs\.verify\(\)"


# A modification time long past: a file's time changes in clock ticks of a few milliseconds, so
# a value edited right after it was stored could keep its time. Values the tests edit are made to
# look stored then.
LONG_AGO = 1_600_000_000 * 10**9


def stamp(stored: StoredValue) -> ValueStamp:
    return ValueStamp(stored.data_version, stored.size_bytes, stored.modified_ns)


def stored_long_ago(
    manager: IOManager,
    home: Path,
    value: object,
    asset: str = "sales",
    partition: str = "2024-01-05",
) -> StoredValue:
    """Store ``value`` and make it look stored long ago (its file's time and its stamp)."""
    stored = manager.store(asset, partition, value)
    os.utime(home / stored.location, ns=(LONG_AGO, LONG_AGO))
    return stored._replace(modified_ns=LONG_AGO)


def stored_json(home: Path, value: object = 100) -> tuple[FilesystemIOManager, StoredValue, Path]:
    manager = FilesystemIOManager(home)
    stored = stored_long_ago(manager, home, value)
    return manager, stored, home / stored.location


def test_a_stored_value_carries_its_size_and_modification_time(tmp_path: Path) -> None:
    stored = FilesystemIOManager(tmp_path).store("sales", "2024-01-05", 100)
    path = tmp_path / stored.location
    assert stored.size_bytes == path.stat().st_size
    assert stored.modified_ns == path.stat().st_mtime_ns


def test_an_unchanged_value_loads(tmp_path: Path) -> None:
    manager, stored, _ = stored_json(tmp_path)
    assert manager.check(stored.location, stamp(stored)) is None
    assert manager.load_checked(stored.location, stamp(stored)) == 100


def test_an_edited_json_is_refused_naming_the_asset_partition_and_file(tmp_path: Path) -> None:
    manager, stored, path = stored_json(tmp_path)
    path.write_text("999")
    with pytest.raises(ChangedValueError, match=FIX) as info:
        manager.load_checked(stored.location, stamp(stored), partition="2024-01-05")
    error = info.value
    assert isinstance(error, StoreError)
    assert (error.asset, error.partition, error.path) == ("sales", "2024-01-05", str(path))
    message = str(error)
    assert "asset 'sales' partition '2024-01-05'" in message
    assert str(path) in message
    assert "changed on disk" in message


def test_a_value_whose_size_changed_is_refused_without_reading_it(tmp_path: Path) -> None:
    manager, stored, path = stored_json(tmp_path, [1, 2, 3])
    path.write_text("[1, 2, 3, 4]")
    reason = manager.check(stored.location, stamp(stored))
    assert reason == f"has {path.stat().st_size} bytes, not the {stored.size_bytes} recorded"
    with pytest.raises(ChangedValueError, match=rf"{reason}.*{FIX}"):
        manager.load_checked(stored.location, stamp(stored))


def test_a_rewritten_parquet_file_is_refused(tmp_path: Path) -> None:
    manager = FilesystemIOManager(tmp_path)
    stored = stored_long_ago(manager, tmp_path, frame(), "orders", "__all__")
    frame().assign(a=[7, 8, 9]).to_parquet(tmp_path / stored.location)
    with pytest.raises(ChangedValueError, match=rf"asset 'orders'.*{FIX}") as info:
        manager.load_checked(stored.location, stamp(stored))
    assert info.value.partition is None  # unpartitioned: no partition to name
    assert "partition" not in str(info.value).split(" changed")[0]


def test_flipped_bytes_of_the_same_size_are_refused(tmp_path: Path) -> None:
    manager = FilesystemIOManager(tmp_path)
    stored = stored_long_ago(manager, tmp_path, np.arange(1000.0), "grid", "__all__")
    path = tmp_path / stored.location
    data = bytearray(path.read_bytes())
    data[-8:] = b"\xff" * 8
    path.write_bytes(bytes(data))
    assert path.stat().st_size == stored.size_bytes
    assert manager.check(stored.location, stamp(stored)) == (
        "was modified: its content no longer gives its data version"
    )
    with pytest.raises(ChangedValueError, match=FIX):
        manager.load_checked(stored.location, stamp(stored))


def test_a_copied_store_still_loads(tmp_path: Path) -> None:
    _, stored, _ = stored_json(tmp_path / "home")
    # A copy that does not keep modification times (cp -r, a download, a checkout).
    shutil.copytree(tmp_path / "home", tmp_path / "copy", copy_function=shutil.copyfile)
    copy = FilesystemIOManager(tmp_path / "copy")
    assert (tmp_path / "copy" / stored.location).stat().st_mtime_ns != stored.modified_ns
    assert copy.check(stored.location, stamp(stored)) is None
    assert copy.load_checked(stored.location, stamp(stored)) == 100


def test_a_change_that_keeps_size_and_time_is_found_by_a_full_check(tmp_path: Path) -> None:
    manager, stored, path = stored_json(tmp_path)
    path.write_text("999")
    os.utime(path, ns=(LONG_AGO, LONG_AGO))
    assert manager.check(stored.location, stamp(stored)) is None  # the cheap check cannot tell
    assert manager.check(stored.location, stamp(stored), rehash=True) == (
        "was modified: its content no longer gives its data version"
    )


def test_a_missing_value_is_named(tmp_path: Path) -> None:
    manager, stored, path = stored_json(tmp_path)
    path.unlink()
    assert manager.check(stored.location, stamp(stored)) == "is missing"
    with pytest.raises(StoreError, match="is missing"):
        manager.load_checked(stored.location, stamp(stored))


def test_values_recorded_without_a_stamp_load_unchecked(tmp_path: Path) -> None:
    manager, stored, path = stored_json(tmp_path)
    path.write_text("999")
    assert manager.load_checked(stored.location, ValueStamp(None, None, None)) == 999
    assert manager.check(stored.location, ValueStamp(None, None, None), rehash=True) is None


def test_remote_homes_check_the_size(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    stored = manager.store("sales", "p", [1, 2, 3])
    assert stored.size_bytes is not None
    if store_home.startswith("memory://"):
        assert stored.modified_ns is None  # object stores keep no comparable time
        with fsspec.open(f"{store_home}/{stored.location}", "wb") as out:
            out.write(b"[1, 2, 3, 4]")
        with pytest.raises(ChangedValueError, match="bytes, not the 7 recorded"):
            manager.load_checked(stored.location, stamp(stored))
    else:
        assert manager.load_checked(stored.location, stamp(stored)) == [1, 2, 3]


def test_memory_values_are_checked_by_their_presence() -> None:
    manager = MemoryIOManager()
    stored = manager.store("kept", "__all__", [1])
    assert manager.check(stored.location, stamp(stored)) is None
    assert manager.load_checked(stored.location, stamp(stored)) == [1]
    manager.delete(stored.location)
    assert manager.check(stored.location, stamp(stored)) == "is missing"


class Plain(IOManager):
    """A custom manager that knows nothing of stamps."""

    name = "plain"

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def store(
        self,
        asset: str,
        partition_slug: str,
        value: object,
        *,
        config: Mapping[str, Any] = NO_CONFIG,
    ) -> StoredValue:
        self.values[asset] = value
        return StoredValue(asset, "v", self.name, None, None, None)

    def load(self, location: str, *, config: Mapping[str, Any] = NO_CONFIG) -> object:
        return self.values[location]

    def exists(self, location: str) -> bool:
        return location in self.values

    def delete(self, location: str) -> None:
        self.values.pop(location, None)


def test_custom_managers_are_checked_by_their_presence() -> None:
    manager = Plain()
    stored = manager.store("a", "__all__", 5)
    assert stored.modified_ns is None
    assert manager.check("a", stamp(stored)) is None
    assert manager.load_checked("a", stamp(stored)) == 5
    assert manager.check("b", stamp(stored)) == "is missing"


def test_a_stored_version_whose_file_lost_bytes_is_written_again(tmp_path: Path) -> None:
    # The same content computed again (force=True) repairs a file that was cut short.
    manager = FilesystemIOManager(tmp_path)
    stored = manager.store("orders", "__all__", frame())
    path = tmp_path / stored.location
    path.write_bytes(path.read_bytes()[:100])
    again = manager.store("orders", "__all__", frame())
    assert again.location == stored.location
    assert again.size_bytes == stored.size_bytes == path.stat().st_size
    pd.testing.assert_frame_equal(manager.load_checked(again.location, stamp(again)), frame())


def test_a_value_that_cannot_be_read_again_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager, stored, path = stored_json(tmp_path)
    os.utime(path)  # its time moved: the check hashes it again

    def refuse(self: LocalFiles, location: str) -> BinaryIO:
        raise PermissionError("no access")

    monkeypatch.setattr(LocalFiles, "open_read", refuse)
    assert manager.check(stored.location, stamp(stored)) == (
        "cannot be read (PermissionError: no access)"
    )

    def vanish(self: LocalFiles, location: str) -> BinaryIO:
        raise FileNotFoundError(location)

    monkeypatch.setattr(LocalFiles, "open_read", vanish)
    assert manager.check(stored.location, stamp(stored)) == "is missing"


class Checking(Plain):
    """A custom manager with a check of its own."""

    def check(self, location: str, stamp: ValueStamp, *, rehash: bool = False) -> str | None:
        return "was replaced by hand" if location == "data/edited/p1/v.bin" else None


def test_a_custom_check_refuses_a_value_naming_its_location() -> None:
    manager = Checking()
    with pytest.raises(ChangedValueError, match=r"asset 'edited' partition 'p1'.*by hand") as info:
        manager.load_checked("data/edited/p1/v.bin", ValueStamp("v", None, None))
    assert info.value.path == "data/edited/p1/v.bin"


# --- storing a version again repairs its file -----------------------------------------------------


@pytest.mark.parametrize("value", [list(range(100)), np.arange(50_000.0)], ids=["small", "large"])
def test_storing_a_version_again_repairs_its_damaged_file(tmp_path: Path, value: object) -> None:
    manager = FilesystemIOManager(tmp_path)
    stored = stored_long_ago(manager, tmp_path, value, "grid", "__all__")
    path = tmp_path / stored.location
    data = bytearray(path.read_bytes())
    data[-4:] = b"\xff" * 4  # same size, other content
    path.write_bytes(bytes(data))
    again = manager.store("grid", "__all__", value)
    assert again.location == stored.location
    assert manager.check(again.location, stamp(again), rehash=True) is None
    loaded = manager.load_checked(again.location, stamp(again))
    np.testing.assert_array_equal(np.asarray(loaded), np.asarray(value))


def test_storing_a_version_again_repairs_it_on_a_remote_home(store_home: str) -> None:
    manager = FilesystemIOManager(store_home)
    stored = manager.store("sales", "p", [1, 2, 3])
    with fsspec.open(f"{store_home}/{stored.location}", "wb") as out:
        out.write(b"[9,9,9]")  # same size, other content
    again = manager.store("sales", "p", [1, 2, 3])
    assert manager.check(again.location, stamp(again), rehash=True) is None
    assert manager.load(again.location) == [1, 2, 3]
