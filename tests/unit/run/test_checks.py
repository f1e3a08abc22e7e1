"""Data checks in runs: after every materialization, per partition, recorded, blocking or not."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest

import flowstone_nb as fs
from flowstone_nb._core.errors import CheckFailedError
from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._core.states import EventKind
from flowstone_nb._define.data_checks import as_check
from flowstone_nb._storage.catalog import CheckRow
from flowstone_nb._storage.store import get_store

DAYS = fs.DailyPartitions("2024-01-01", "2024-01-04")


def checks_of(asset: str | None = None) -> list[CheckRow]:
    return get_store().catalog.checks(asset)


def daily_sales(calls: Counter[str], bad_day: int | None = None) -> fs.Asset:
    """Sales per day; the amounts of ``bad_day`` are negative."""
    lock = threading.Lock()

    @fs.asset(partitioned_by=DAYS)
    def sales(context: Any) -> pd.DataFrame:
        with lock:
            calls["sales"] += 1
        sign = -1.0 if context.partition.day == bad_day else 1.0
        return pd.DataFrame({"amount": [sign * 1.0, sign * 2.0]})

    @fs.asset(partitioned_by=DAYS)
    def totals(sales: pd.DataFrame) -> float:
        with lock:
            calls["totals"] += 1
        return float(sales.amount.sum())

    return totals


def test_a_passing_check_is_recorded_with_the_materialization_in_its_run() -> None:
    @fs.asset
    def numbers() -> list[int]:
        return [1, 2, 3]

    @fs.check("numbers")
    def positive(numbers: list[int]) -> bool:
        return all(n > 0 for n in numbers)

    assert fs.materialize(numbers) == [1, 2, 3]
    [row] = checks_of()
    success = get_store().catalog.latest_success("numbers", "")
    assert success is not None
    assert (row.materialization_id, row.run_id) == (success.id, success.run_id)
    assert (row.asset, row.partition, row.check_name, row.passed) == (
        "numbers",
        "",
        "positive",
        True,
    )
    assert row.duration >= 0
    assert row.code_version


def test_a_failing_non_blocking_check_flags_a_fresh_value(caplog: pytest.LogCaptureFixture) -> None:
    @fs.asset(checks=[])
    def numbers() -> list[int]:
        return [1, -2]

    @fs.check("numbers")
    def positive(numbers: list[int]) -> fs.CheckResult:
        negative = [n for n in numbers if n < 0]
        return fs.CheckResult(not negative, f"{len(negative)} negative", {"negative": negative})

    with caplog.at_level(logging.WARNING, logger="flowstone_nb.checks"):
        assert fs.materialize(numbers) == [1, -2]
    [row] = checks_of()
    assert (row.passed, row.blocking, row.message) == (False, False, "1 negative")
    assert json.loads(str(row.metadata)) == {"negative": [-2]}
    assert "Check 'positive' of asset 'numbers' failed: 1 negative (not blocking" in caplog.text
    assert fs.status()["numbers"] == "fresh"


def test_a_failing_blocking_check_fails_the_partition_and_keeps_the_last_good_value() -> None:
    calls: Counter[str] = Counter()
    good = daily_sales(calls)
    assert fs.materialize(good, "2024-01-02") == 3.0

    @fs.check("sales", blocking=True)
    def positive(sales: pd.DataFrame) -> bool:
        return bool((sales.amount > 0).all())

    daily_sales(calls, bad_day=2)  # the data of the 2nd turns bad: sales and totals run again
    with pytest.raises(CheckFailedError) as caught:
        fs.materialize("totals", "2024-01-02")
    message = str(caught.value)
    assert "Blocking check 'positive' of asset 'sales' failed on partition '2024-01-02'" in message
    assert "d:" not in message
    assert (caught.value.asset, caught.value.partition, caught.value.check) == (
        "sales",
        "2024-01-02",
        "positive",
    )
    [failed] = get_store().catalog.history("sales", statuses=["failed"])
    assert (failed.error_type, failed.data_version is not None) == ("CheckFailedError", True)
    assert fs.load("sales", "2024-01-02").amount.tolist() == [1.0, 2.0]  # the last good value
    assert fs.load("sales", "2024-01-02", version=failed.id).amount.tolist() == [-1.0, -2.0]
    assert calls == {"sales": 2, "totals": 1}  # totals did not run on the failed value
    assert fs.status()["sales"]["2024-01-02"] == "failed"


def test_a_check_that_raises_has_failed_with_its_traceback_and_the_run_goes_on() -> None:
    @fs.asset
    def numbers() -> list[int]:
        return [1]

    @fs.check("numbers")
    def broken(numbers: list[int]) -> bool:
        raise ZeroDivisionError("no rows to divide by")

    @fs.check("numbers", name="series")
    def returns_a_series(numbers: list[int]) -> Any:
        return pd.Series(numbers) > 0

    assert fs.materialize(numbers) == [1]
    rows = {row.check_name: row for row in checks_of()}
    assert rows["broken"].message == "ZeroDivisionError: no rows to divide by"
    assert "raise ZeroDivisionError" in str(rows["broken"].traceback)
    assert "returned Series (a Series or array: end with .all())" in str(rows["series"].message)
    assert not rows["series"].passed


def test_a_check_receives_the_context_of_its_partition() -> None:
    seen: list[str] = []
    totals = daily_sales(Counter())

    @fs.check("totals")
    def known_day(context: fs.AssetContext, totals: float) -> bool:
        seen.append(f"{context.asset_name}@{context.partition_key}")
        return True

    fs.materialize(totals, "2024-01-03")
    assert seen == ["totals@2024-01-03"]
    [row] = checks_of("totals")
    assert row.partition != "2024-01-03"  # stored encoded; fs.checks shows the user's form


def test_a_backfill_checks_each_partition_and_a_blocking_failure_skips_its_downstream() -> None:
    calls: Counter[str] = Counter()
    totals = daily_sales(calls, bad_day=3)

    @fs.check("sales", blocking=True)
    def positive(sales: pd.DataFrame) -> bool:
        return bool((sales.amount > 0).all())

    result = fs.backfill(totals, max_workers=2)
    assert result.counts() == {"computed": 3, "skipped": 1}
    skipped = result["2024-01-03"]
    assert skipped.error == "upstream sales[2024-01-03] failed its check 'positive'"
    assert calls == {"sales": 4, "totals": 3}
    passed = Counter(row.passed for row in checks_of("sales"))
    assert passed == {True: 3, False: 1}


def test_a_check_runs_on_the_thread_that_computed_the_value() -> None:
    threads: dict[str, set[int]] = {"asset": set(), "check": set()}

    @fs.asset(partitioned_by=DAYS)
    def where(context: Any) -> int:
        threads["asset"].add(threading.get_ident())
        return threading.get_ident()

    @fs.check("where")
    def same_thread(where: int) -> bool:
        threads["check"].add(threading.get_ident())
        return where == threading.get_ident()

    assert fs.backfill(where, max_workers=2).ok
    assert all(row.passed for row in checks_of())
    assert len(checks_of()) == 4


def test_checks_of_values_kept_in_memory_run_too() -> None:
    @fs.asset(io_manager="memory", checks=[lambda_free_positive])
    def kept() -> list[int]:
        return [-1]

    @fs.asset(io_manager="memory")
    def plain(kept: list[int]) -> int:
        return len(kept)

    assert fs.materialize(plain) == 1
    [row] = checks_of()
    assert (row.asset, row.passed) == ("kept", False)


def lambda_free_positive(kept: list[int]) -> bool:
    return all(n > 0 for n in kept)


def test_an_unchanged_check_does_not_run_again_on_a_reused_value() -> None:
    runs: Counter[str] = Counter()

    @fs.asset
    def numbers() -> list[int]:
        runs["asset"] += 1
        return [1]

    @fs.check("numbers")
    def positive(numbers: list[int]) -> bool:
        runs["check"] += 1
        return True

    fs.materialize(numbers)
    fs.materialize(numbers)
    assert runs == {"asset": 1, "check": 1}
    assert len(checks_of()) == 1


def define_check(body: str, *, blocking: bool = False) -> None:
    """Define (or redefine, as a cell run again) check 'positive' of 'numbers' from source."""
    namespace: dict[str, Any] = {"fs": fs}
    exec(f"def positive(numbers):\n    return {body}\n", namespace)
    fs.check("numbers", blocking=blocking)(namespace["positive"])


def test_an_edited_check_runs_again_on_the_stored_value_without_computing_the_asset() -> None:
    runs: Counter[str] = Counter()

    @fs.asset
    def numbers() -> list[int]:
        runs["asset"] += 1
        return [1, 5]

    define_check("all(n > 0 for n in numbers)")
    fs.materialize(numbers)
    define_check("all(n > 2 for n in numbers)")  # edited: it fails now
    assert fs.materialize(numbers) == [1, 5]
    assert runs == {"asset": 1}
    newest, first = checks_of()
    assert (first.passed, newest.passed) == (True, False)
    assert newest.materialization_id == first.materialization_id
    assert newest.run_id != first.run_id
    assert newest.code_version != first.code_version


def test_a_new_blocking_check_failing_on_a_stored_value_fails_the_node_and_its_downstream() -> None:
    runs: Counter[str] = Counter()

    @fs.asset
    def numbers() -> list[int]:
        runs["numbers"] += 1
        return [1, 5]

    @fs.asset
    def total(numbers: list[int]) -> int:
        runs["total"] += 1
        return sum(numbers)

    fs.materialize(total)
    define_check("all(n > 2 for n in numbers)", blocking=True)
    with pytest.raises(CheckFailedError, match=r"It judged the stored value \(the check is new"):
        fs.materialize(total)
    with pytest.raises(CheckFailedError):  # judged already: not run again, still failing
        fs.materialize(total)
    assert runs == {"numbers": 1, "total": 1}
    assert len(checks_of()) == 1
    assert fs.status()["numbers"] == "failed"
    with pytest.raises(CheckFailedError):  # forcing the target reuses (and judges) its input
        fs.materialize(total, force=True)
    define_check("all(n > 0 for n in numbers)", blocking=True)  # the check fixed
    assert fs.materialize(total) == 6
    assert runs == {"numbers": 1, "total": 1}  # judged again; nothing computed again
    assert fs.status()["numbers"] == "fresh"


def test_a_stored_value_that_cannot_be_read_for_its_new_check_is_computed_again(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runs: Counter[str] = Counter()

    @fs.asset
    def numbers() -> list[int]:
        runs["numbers"] += 1
        return [1]

    fs.materialize(numbers)
    row = get_store().catalog.latest_success("numbers", "")
    assert row is not None
    path = home / str(row.location)
    stamp = path.stat()
    path.write_bytes(b"\0" * stamp.st_size)  # unreadable, with the size and time it had
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    define_check("True")
    with caplog.at_level(logging.WARNING, logger="flowstone_nb.checks"):
        assert fs.materialize(numbers) == [1]
    assert runs == {"numbers": 2}
    assert "Stored value of numbers is unreadable" in caplog.text
    [check] = checks_of()
    assert check.passed


def test_checks_are_announced_to_live_views() -> None:
    heard: list[Event] = []

    @fs.asset
    def numbers() -> list[int]:
        return [1]

    define_check("False")
    unsubscribe = subscribe(heard.append, kinds=[EventKind.CHECKED])
    try:
        fs.materialize(numbers)
    finally:
        unsubscribe()
    [event] = heard
    assert (event.asset, event.detail["check"], event.detail["passed"]) == (
        "numbers",
        "positive",
        False,
    )


def test_a_pandera_schema_fails_with_its_failure_cases_as_the_message() -> None:
    schema = pa.DataFrameSchema(
        {"amount": pa.Column(float, pa.Check.ge(0)), "region": pa.Column(str)}, name="shape"
    )

    @fs.asset(checks=[schema])
    def sales() -> pd.DataFrame:
        return pd.DataFrame({"amount": [1.0, -2.0, -3.0]})

    fs.materialize(sales)
    [row] = checks_of()
    assert row.check_name == "shape"
    assert not row.passed
    assert "column 'amount' failed greater_than_or_equal_to(0) (2: -2.0, -3.0)" in str(row.message)
    assert "column_in_dataframe" in str(row.message)
    assert json.loads(str(row.metadata)) == {"failure_cases": 3}


def test_a_passing_schema_passes_and_many_failure_cases_are_cut_short() -> None:
    schema = pa.DataFrameSchema({"amount": pa.Column(float, pa.Check.ge(0))})
    fs.check("sales", name="amounts", blocking=True)(schema)

    @fs.asset
    def sales() -> pd.DataFrame:
        return pd.DataFrame({"amount": [float(-n) for n in range(1, 9)]})

    with pytest.raises(CheckFailedError, match=r"\(8: -1.0, -2.0, -3.0, -4.0, -5.0, …\)"):
        fs.materialize(sales)
    fs.asset(name="sales", replace=True)(lambda: pd.DataFrame({"amount": [1.0]}))
    assert fs.materialize("sales").amount.tolist() == [1.0]
    assert checks_of()[0].passed


def test_metadata_that_is_not_json_is_recorded_as_text() -> None:
    @fs.asset
    def numbers() -> list[int]:
        return [1]

    circular: dict[str, Any] = {}
    circular["self"] = circular

    @fs.check("numbers")
    def odd(numbers: list[int]) -> fs.CheckResult:
        return fs.CheckResult(True, metadata={"when": pd.Timestamp("2024-01-01")})

    @fs.check("numbers")
    def loop(numbers: list[int]) -> fs.CheckResult:
        return fs.CheckResult(True, metadata=circular)

    fs.materialize(numbers)
    rows = {row.check_name: json.loads(str(row.metadata)) for row in checks_of()}
    assert rows == {"odd": {"when": "2024-01-01 00:00:00"}, "loop": {"metadata": "{'self': {...}}"}}


def test_a_remote_task_runs_its_checks_after_storing_the_value() -> None:
    from flowstone_nb._run.checks import check_versions
    from flowstone_nb._run.plan import make_node
    from flowstone_nb._run.remote import RemoteTask, run_remote

    @fs.asset
    def packed() -> list[int]:
        return [1, -2]

    def positive(context: fs.AssetContext, packed: list[int]) -> fs.CheckResult:
        return fs.CheckResult(min(packed) > 0, f"run {context.run_id}")

    checks = (as_check(positive, "packed"),)
    task = RemoteTask(
        asset=packed,
        node=make_node("packed", None, None),
        run_id="r",
        home=get_store().home,
        io_manager="filesystem",
        inputs=(),
        resources={},
        checks=checks,
        check_versions=check_versions(checks),
    )
    stored, [outcome] = run_remote(task)
    assert get_store().io_manager("filesystem").load(stored.location) == [1, -2]
    assert (outcome.name, outcome.passed, outcome.message) == ("positive", False, "run r")
