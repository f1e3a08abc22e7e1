"""Checking many stored values at once says of each what checking it alone says."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import pytest

from flowstone_nb._storage.io import FilesystemIOManager, IOManager, MemoryIOManager, StoredValue
from flowstone_nb._storage.io.stamps import stamp_of
from tests.unit.storage.io.test_stamps import LONG_AGO, Plain, stored_long_ago


class Kept(NamedTuple):
    """A value as the catalog keeps it: where it is and its stamp."""

    location: str
    data_version: str | None
    size_bytes: int | None
    modified_ns: int | None


def kept(stored: StoredValue) -> Kept:
    return Kept(stored.location, stored.data_version, stored.size_bytes, stored.modified_ns)


def every_case(manager: FilesystemIOManager, home: Path) -> list[Kept]:
    """Values as they are found: intact, gone, grown, touched (same bytes), edited with the
    same size and a new time, and stamped without a time."""
    intact = kept(stored_long_ago(manager, home, 100, partition="intact"))
    gone = kept(stored_long_ago(manager, home, 101, partition="gone"))
    (home / gone.location).unlink()
    grown = kept(stored_long_ago(manager, home, 102, partition="grown"))
    (home / grown.location).write_text("10200")
    touched = kept(stored_long_ago(manager, home, 103, partition="touched"))
    os.utime(home / touched.location, ns=(LONG_AGO + 10**9, LONG_AGO + 10**9))
    edited = kept(stored_long_ago(manager, home, 104, partition="edited"))
    (home / edited.location).write_text("105")
    timeless = kept(stored_long_ago(manager, home, 106, partition="timeless"))._replace(
        modified_ns=None
    )
    return [intact, gone, grown, touched, edited, timeless, intact]


def one_by_one(manager: IOManager, values: list[Kept]) -> list[str | None]:
    return [manager.check(value.location, stamp_of(value)) for value in values]


def test_files_are_judged_at_once_as_one_by_one(tmp_path: Path) -> None:
    manager = FilesystemIOManager(tmp_path)
    values = every_case(manager, tmp_path)
    alone = one_by_one(manager, values)
    assert manager.check_many(values) == alone
    assert alone[0] is None
    assert alone[1] == "is missing"
    assert "bytes, not the" in str(alone[2])
    assert alone[3] is None  # touched only: hashed again, still the same value
    assert "was modified" in str(alone[4])
    assert manager.check_many([]) == []


@pytest.mark.parametrize("bad", ["../elsewhere/x.json", "data//x.json"])
def test_a_location_leaving_the_home_is_refused_at_once_as_alone(tmp_path: Path, bad: str) -> None:
    manager = FilesystemIOManager(tmp_path)
    good = kept(stored_long_ago(manager, tmp_path, 1))
    with pytest.raises(Exception, match="does not stay inside the store home") as alone:
        manager.check(bad, stamp_of(good))
    with pytest.raises(type(alone.value), match="does not stay inside the store home"):
        manager.check_many([good, good._replace(location=bad)])


def test_remote_files_are_judged_at_once_as_one_by_one() -> None:
    manager = FilesystemIOManager("memory://check-many")
    first = kept(manager.store("sales", "a", [1, 2]))
    second = kept(manager.store("sales", "b", [3]))
    manager.delete(second.location)
    values = [first, second]
    assert manager.check_many(values) == one_by_one(manager, values) == [None, "is missing"]


def test_other_managers_check_each_value_by_their_own_check() -> None:
    for manager in (MemoryIOManager(), Plain()):
        stored = kept(manager.store("a", "__all__", 5))
        values = [stored, stored._replace(location="nowhere")]
        assert manager.check_many(values) == one_by_one(manager, values) == [None, "is missing"]


def test_where_slash_is_not_the_only_separator_each_file_is_checked_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = FilesystemIOManager(tmp_path)
    values = every_case(manager, tmp_path)
    monkeypatch.setattr(manager._files, "_prefix", None)  # (no plain joins, as on Windows)
    assert manager._files.disagreeing(values) == list(range(len(values)))
    assert manager.check_many(values) == one_by_one(manager, values)
