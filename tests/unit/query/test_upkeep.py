"""fs.verify and fs.prune: re-hash every stored value; remove the values nothing kept needs."""

from __future__ import annotations

import datetime
import os
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._core.errors import FlowstoneError, StoreError
from flowstone_nb._define.registry import Registry, set_registry
from flowstone_nb._partitioning.keys import encode_key
from flowstone_nb._query import upkeep
from flowstone_nb._storage.io import ChangedValueError
from flowstone_nb._storage.store import get_store

# A modification time long past (so that an edit which keeps it can be made).
LONG_AGO = 1_600_000_000 * 10**9
DAYS = fs.DailyPartitions("2024-01-01", "2024-01-03")


def value_path(home: Path, asset: str, partition: str = "") -> Path:
    row = get_store().catalog.latest_success(asset, partition)
    assert row is not None
    return home / str(row.location)


def edit_keeping_size_and_time(path: Path) -> None:
    """Change a stored file's bytes so that only re-hashing it can tell."""
    data = bytearray(path.read_bytes())
    data[-2:] = b"\xff\xff" if data[-2:] != b"\xff\xff" else b"\x00\x00"
    stat = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def define(calls: Counter[str]) -> None:
    @fs.asset
    def grid() -> list[int]:
        calls["grid"] += 1
        return list(range(100))

    @fs.asset
    def total(grid: list[int]) -> int:
        calls["total"] += 1
        return sum(grid)


# --- verify ---------------------------------------------------------------------------------------


def test_verify_finds_a_change_the_cheap_check_cannot_see_and_the_next_run_repairs_it(
    home: Path,
) -> None:
    calls: Counter[str] = Counter()
    define(calls)
    fs.materialize("total")
    path = value_path(home, "grid")
    edit_keeping_size_and_time(path)
    assert fs.status()["grid"] == "fresh"  # size and time agree: only a full check can tell

    report = fs.verify()
    assert report.checked == 2
    assert [(d.asset, d.partition, d.path) for d in report.damaged] == [("grid", "", str(path))]
    assert "was modified" in report.damaged[0].problem
    assert not report.ok
    assert "grid" in repr(report)
    assert str(path) in repr(report)

    row = fs.status("grid").for_asset("grid")[0]
    assert (row.status, row.reason) == (
        "stale",
        f"stored value changed on disk ({report.damaged[0].problem})",
    )
    with pytest.raises(ChangedValueError, match="grid"):
        fs.load("grid")

    assert fs.materialize("total") == sum(range(100))
    assert calls == {"grid": 2, "total": 1}  # the same version again: total is still fresh
    assert fs.load("grid") == list(range(100))
    again = fs.verify()
    assert again.ok
    assert again.damaged == ()
    assert "no damaged value" in repr(again)


def test_verify_of_one_asset_checks_only_it_and_names_partitions_by_their_keys(
    home: Path,
) -> None:
    @fs.asset(partitioned_by=DAYS)
    def sales(context: fs.AssetContext) -> pd.DataFrame:
        return pd.DataFrame({"day": [context.partition_key] * 50})

    @fs.asset
    def other() -> int:
        return 1

    fs.backfill("sales")
    fs.materialize("other")
    edit_keeping_size_and_time(value_path(home, "other"))
    day = encode_key(datetime.date(2024, 1, 3))
    edit_keeping_size_and_time(value_path(home, "sales", day))

    report = fs.verify("sales")
    assert report.checked == 3
    assert [(d.asset, d.partition) for d in report.damaged] == [("sales", "2024-01-03")]
    assert fs.verify(other).damaged[0].asset == "other"


def test_verify_names_a_missing_value_and_clears_a_finding_once_the_file_is_good(
    home: Path,
) -> None:
    define(Counter())
    fs.materialize("grid")
    path = value_path(home, "grid")
    kept = path.read_bytes()
    path.unlink()
    assert [d.problem for d in fs.verify().damaged] == ["is missing"]
    path.write_bytes(kept)  # restored from a backup
    assert fs.verify().ok
    assert fs.status()["grid"] == "fresh"
    assert fs.load("grid") == list(range(100))


def test_verify_works_after_a_restart_without_the_definitions(home: Path) -> None:
    define(Counter())
    fs.materialize("total")
    edit_keeping_size_and_time(value_path(home, "grid"))
    set_registry(Registry())  # a new kernel: nothing defined yet
    assert [d.asset for d in fs.verify().damaged] == ["grid"]
    assert [d.asset for d in fs.verify("grid").damaged] == ["grid"]


def test_verify_of_an_asset_with_nothing_stored_says_so() -> None:
    define(Counter())
    with pytest.raises(FlowstoneError, match=r"'grdi'.*nothing stored.*'grid'"):
        fs.verify("grdi")


def test_memory_values_are_not_verified() -> None:
    @fs.asset(io_manager="memory")
    def scratch() -> int:
        return 1

    fs.materialize("scratch")
    report = fs.verify()
    assert (report.checked, report.damaged) == (0, ())


# --- prune ----------------------------------------------------------------------------------------


def versions(asset: str) -> list[str]:
    return [str(r.location) for r in get_store().catalog.history(asset, statuses=["success"])]


def test_prune_removes_old_versions_and_reports_what_it_freed(home: Path) -> None:
    for factor in (1, 2, 3):

        @fs.asset(name="grid", replace=True, code_version=f"v{factor}")
        def grid() -> list[int]:
            return [factor * i for i in range(1000)]  # noqa: B023  # defined and run at once

        fs.materialize("grid")
    old = versions("grid")[1:]
    sizes = sum((home / location).stat().st_size for location in old)

    report = fs.prune()
    assert report.removed == 2
    assert report.bytes_freed == sizes
    assert "2 value" in repr(report)
    assert not any((home / location).exists() for location in old)
    assert fs.load("grid") == [3 * i for i in range(1000)]
    history = get_store().catalog.history("grid")
    assert [r.value_problem for r in history] == [
        None,
        "was removed by fs.prune()",
        "was removed by fs.prune()",
    ]
    with pytest.raises(StoreError, match=r"was removed by fs.prune\(\)"):
        fs.load("grid", version=history[-1].data_version)
    assert fs.prune().removed == 0  # nothing more to free


def test_prune_never_removes_a_value_that_the_lineage_of_a_kept_materialization_points_at(
    home: Path,
) -> None:
    @fs.asset
    def source() -> int:
        return 1

    @fs.asset
    def report(source: int) -> int:
        return source + 1

    fs.materialize("report")

    @fs.asset(name="source", replace=True)
    def source_again() -> int:
        return 2

    fs.materialize("source")  # report (kept) still points at the first source value
    first, newest = versions("source")[::-1]
    assert fs.prune().removed == 0
    assert (home / first).exists()
    assert (home / newest).exists()
    assert fs.load("source", version=get_store().catalog.history("source")[-1].id) == 1

    fs.materialize("report")  # now report consumed the new source: the old one is free
    result = fs.prune()
    assert (result.removed, (home / first).exists()) == (2, False)  # old source and old report


def test_prune_keeps_as_many_versions_as_asked_and_only_of_the_asset_asked(home: Path) -> None:
    for factor in (1, 2, 3):
        for name in ("a", "b"):

            @fs.asset(name=name, replace=True, code_version=f"v{factor}")
            def value() -> list[int]:
                return [factor] * 100  # noqa: B023  # defined and run at once

            fs.materialize(name)
    assert fs.prune("a", keep=2).removed == 1
    assert [(home / p).exists() for p in versions("a")] == [True, True, False]
    assert all((home / p).exists() for p in versions("b"))


def test_a_shared_file_is_kept_while_a_kept_row_uses_it(home: Path) -> None:
    define(Counter())
    fs.materialize("grid")
    fs.materialize("grid", force=True)  # the same content: both rows point at one file
    assert len(set(versions("grid"))) == 1
    assert fs.prune().removed == 0
    assert fs.load("grid") == list(range(100))


@pytest.mark.parametrize("keep", [0, -1, 1.5, "1"])
def test_prune_refuses_a_keep_that_is_not_a_positive_count(keep: object) -> None:
    with pytest.raises(FlowstoneError, match=rf"keep={keep!r}.*at least 1"):
        fs.prune(keep=keep)  # type: ignore[arg-type]


def test_prune_refuses_while_a_run_is_in_progress(home: Path) -> None:
    define(Counter())
    fs.materialize("grid")
    catalog = get_store().catalog
    run_id = catalog.start_run(kind="materialize", targets=["grid"])
    with pytest.raises(StoreError, match=rf"in progress.*run {run_id!r}.*nothing was removed"):
        fs.prune()
    catalog.end_run(run_id, "success")
    assert fs.prune().removed == 0


def test_reports_render_as_html_with_user_text_escaped(home: Path) -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["<b>"]))
    def odd(context: fs.AssetContext) -> list[int]:
        return list(range(100))

    fs.backfill("odd")
    row = get_store().catalog.history("odd")[0]
    edit_keeping_size_and_time(home / str(row.location))
    page = fs.verify()._repr_html_()
    assert "odd[&lt;b&gt;]" in page
    assert "<b>" not in page
    assert "was modified" in page
    fs.materialize("odd", partition="<b>")
    assert "no damaged value" in fs.verify(odd)._repr_html_()
    assert "nothing to remove" in fs.prune()._repr_html_()


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (2048, "2.0 KB"),
        (5 * 2**20, "5.0 MB"),
        (3 * 2**40, "3072.0 GB"),
    ],
)
def test_freed_sizes_read_in_units(size: int, text: str) -> None:
    report = upkeep.PruneReport("home", 1, 1, size, {"a": 1})
    assert f"freeing {text} " in repr(report)
