"""Values kept in memory, the run's common case: every outcome is recorded as for stored ones."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._run.plan import build_plan
from flowstone_nb._run.prepare import prepare
from flowstone_nb._storage.store import get_store
from flowstone_nb._versioning import bytecode
from flowstone_nb._versioning import code_versions as _code_versions
from flowstone_nb._versioning.code_versions import code_version


def rows_by_asset(home: Any = None) -> dict[str, list[tuple[str, Any, Any]]]:
    """``{asset: [(status, error type, materialization id), ...]}``, newest first."""
    catalog = get_store(home).catalog
    found: dict[str, list[tuple[str, Any, Any]]] = {}
    for row in catalog.history():
        found.setdefault(row.asset, []).append((row.status, row.error_type, row.id))
    return found


def test_a_run_mixing_memory_and_stored_values_records_every_row_and_edge(
    registry: fs.Registry,
) -> None:
    # memory -> stored -> memory -> memory: the stored value's rows are written as it is
    # computed, in the middle of the run; the memory rows before and after it all land too.
    @fs.asset(io_manager="memory")
    def first() -> int:
        return 1

    @fs.asset
    def stored(first: int) -> int:
        return first + 1

    @fs.asset(io_manager="memory")
    def third(stored: int) -> int:
        return stored + 1

    @fs.asset(io_manager="memory")
    def fourth(third: int, first: int) -> int:
        return third + first

    assert fs.materialize(fourth) == 4
    rows = rows_by_asset()
    assert {name: [status for status, _, _ in found] for name, found in rows.items()} == {
        name: ["success"] for name in ("first", "stored", "third", "fourth")
    }
    catalog = get_store().catalog
    consumed = {
        name: sorted(edge.upstream_asset for edge in catalog.inputs(rows[name][0][2]))
        for name in rows
    }
    assert consumed == {
        "first": [],
        "stored": ["first"],
        "third": ["stored"],
        "fourth": ["first", "third"],
    }
    assert {entry.asset for entry in fs.lineage(fourth).upstream} == {"first", "stored", "third"}
    # Values kept in memory are computed straight from their definitions: the run made a step
    # (made per node, when asked for) only for the stored one.
    plan = build_plan(registry, [("fourth", None)])  # the plan that ran: kept until a change
    assert list(prepare(plan).steps) == [plan.node_of["stored"]]


def test_an_error_in_a_memory_asset_is_recorded_and_raised_with_its_cause() -> None:
    @fs.asset(io_manager="memory")
    def good() -> int:
        return 1

    @fs.asset(io_manager="memory")
    def broken(good: int) -> int:
        raise ValueError(f"cannot use {good}")

    @fs.asset(io_manager="memory")
    def after(broken: int) -> int:  # pragma: no cover  # never runs: its input failed
        return broken

    with pytest.raises(fs.MaterializationError, match=r"'broken' failed: ValueError: cannot use 1"):
        fs.materialize(after)
    with pytest.raises(fs.MaterializationError) as raised:
        fs.materialize(broken)
    assert isinstance(raised.value.__cause__, ValueError)
    rows = rows_by_asset()
    assert [status for status, _, _ in rows["good"]] == ["success"]  # reused the second time
    assert [(status, kind) for status, kind, _ in rows["broken"]] == [("failed", "ValueError")] * 2
    assert "after" not in rows
    failure = get_store().catalog.get(rows["broken"][0][2])
    assert failure is not None
    assert failure.traceback is not None
    assert "cannot use 1" in failure.traceback
    assert fs.load(good) == 1  # the last good value stays loadable


def test_an_interrupt_in_a_memory_asset_is_raised_as_it_is_and_recorded() -> None:
    @fs.asset(io_manager="memory")
    def stopped() -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fs.materialize(stopped)
    assert [(status, kind) for status, kind, _ in rows_by_asset()["stopped"]] == [
        ("failed", "Interrupted")
    ]


def test_a_memory_asset_fed_by_a_reused_stored_value_loads_it() -> None:
    calls: Counter[str] = Counter()

    @fs.asset
    def base() -> list[int]:
        calls["base"] += 1
        return [1, 2, 3]

    fs.materialize(base)

    @fs.asset(io_manager="memory")
    def total(base: list[int]) -> int:  # defined after base's value was stored
        calls["total"] += 1
        return sum(base)

    assert fs.materialize(total) == 6
    assert fs.materialize(total) == 6
    assert calls == {"base": 1, "total": 1}


def test_a_memory_asset_is_forced_again_even_when_fresh() -> None:
    calls: Counter[str] = Counter()

    @fs.asset(io_manager="memory")
    def ticks() -> int:
        calls["ticks"] += 1
        return calls["ticks"]

    assert fs.materialize(ticks) == 1
    assert fs.materialize(ticks) == 1
    assert fs.materialize(ticks, force=True) == 2
    assert [status for status, _, _ in rows_by_asset()["ticks"]] == ["success", "success"]


def test_a_version_left_pending_is_worked_out_by_the_writer_for_the_code_that_ran(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digested: list[tuple[str, str]] = []
    real = bytecode.code_digest

    def recording(code: Any, names: set[str]) -> str:
        digested.append((code.co_name, threading.current_thread().name))
        return real(code, names)

    monkeypatch.setattr(bytecode, "code_digest", recording)
    source = "@fs.asset(io_manager='memory')\ndef pending_one():\n    return {}\n"
    namespace: dict[str, Any] = {"__name__": "fs_pending_case", "fs": fs}
    exec(source.format(1), namespace)
    asset = namespace["pending_one"]
    catalog = get_store().catalog
    release = threading.Event()
    writer = catalog._writer
    assert writer is not None

    def hold() -> None:
        release.wait()

    writer.submit(hold, tracked=False)  # holds the run's rows back
    assert fs.materialize(asset) == 1
    changed: dict[str, Any] = {"__name__": "fs_pending_case", "fs": fs}
    exec(source.format(2), changed)
    asset.execute_fn.__code__ = changed["pending_one"].execute_fn.__code__  # edited before the row
    release.set()
    catalog.wait_for_writes()
    # (Writers of other tests' stores may digest too: only this function's digests count.)
    mine = [entry for entry in digested if entry[0] == "pending_one"]
    assert mine == [("pending_one", "flowstone-catalog")]  # not on the run's thread
    (row,) = catalog.history("pending_one")
    original: dict[str, Any] = {"__name__": "fs_pending_case", "fs": fs}
    exec(source.format(1), original)
    assert row.code_version == code_version(original["pending_one"].execute_fn)
    assert row.code_version != code_version(asset.execute_fn)


def test_an_asset_notes_the_code_of_a_function_that_reads_only_its_arguments() -> None:
    from flowstone_nb._define.asset import call_of

    @fs.asset(io_manager="memory")
    def plain() -> int:
        return 1

    @fs.asset(io_manager="memory")
    def reading(plain: int) -> int:
        return len([plain])

    plain_call, reading_call = call_of(plain), call_of(reading)
    assert plain_call is not None
    assert reading_call is not None
    assert plain_call.pure is plain.execute_fn.__code__
    assert reading_call.pure is None


@pytest.mark.parametrize("change", ["code", "defaults"])
def test_a_function_changed_after_its_definition_is_versioned_as_it_is_when_it_runs(
    change: str,
) -> None:
    namespace: dict[str, Any] = {"__name__": "fs_changed_case", "fs": fs, "OFFSET": 1}
    exec("@fs.asset(io_manager='memory')\ndef changed():\n    return 1\n", namespace)
    exec("def reading():\n    return OFFSET\n", namespace)
    asset = namespace["changed"]
    if change == "code":  # now it reads a global: its value counts in the version
        asset.execute_fn.__code__ = namespace["reading"].__code__
    else:  # defaults count in the version too
        asset.execute_fn.__kwdefaults__ = {"unused": 1}
    assert fs.materialize(asset) == 1
    catalog = get_store().catalog
    catalog.wait_for_writes()
    (row,) = catalog.history("changed")
    assert row.code_version == code_version(asset.execute_fn)
    noted = _code_versions.PendingVersion(asset.execute_fn, asset.execute_fn.__code__).resolve()
    assert row.code_version != noted  # (what the code object alone would give)
