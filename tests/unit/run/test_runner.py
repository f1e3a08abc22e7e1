"""The runner's fast path for values kept in memory gives what its general path gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._core import events
from flowstone_nb._core.states import Outcome
from flowstone_nb._run.plan import Node, make_node
from flowstone_nb._run.results import NodeResult, computed, not_run, reused
from flowstone_nb._run.runner import Runner
from flowstone_nb._storage.catalog import Candidate
from flowstone_nb._storage.io import StoredValue
from flowstone_nb._storage.store import get_store

OFFSET = 3


def define_graph() -> None:
    """Every kind of node a plan without partitions has, kept in memory unless said otherwise."""

    @fs.asset(io_manager="memory")
    def root() -> int:
        return 1

    @fs.asset(io_manager="memory")
    def one(root: int) -> int:  # reads nothing but its arguments: version left pending
        return root + 1

    @fs.asset(io_manager="memory")
    def two(one: int, root: int) -> int:
        return one + root

    @fs.asset(io_manager="memory")
    def reads_global(two: int) -> int:  # its version counts OFFSET: worked out when it runs
        return two + OFFSET

    @fs.asset(io_manager="memory")
    def with_default(reads_global: int, unused: int = 0) -> int:
        return reads_global + unused

    @fs.asset(io_manager="memory", code_version="pinned-1")
    def pinned(with_default: int) -> int:
        return with_default * 2

    @fs.asset  # stored: always the general path
    def stored(pinned: int) -> int:
        return pinned + 1

    @fs.asset(io_manager="memory")
    def with_context(context: Any, stored: int) -> int:  # takes a context: the general path
        return stored + 1

    @fs.asset(io_manager="memory")
    def last(with_context: int, stored: int) -> int:
        return with_context + stored


def general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send every node the general way (a reuse check, then Runner._compute)."""

    def general(self: Runner, node: Node, asset: Any, keywords: Any, pure: Any) -> NodeResult:
        return self._run_step(self.steps[node])

    monkeypatch.setattr(Runner, "_compute_in_memory", general)


def outcome(home: Path, target: str = "last") -> dict[str, Any]:
    """Results, rows and edges of materializing ``target``, without ids, times and tokens."""
    fast_path_calls: list[str] = []
    real = Runner._compute_in_memory

    def counting(self: Runner, node: Node, *args: Any) -> NodeResult:
        fast_path_calls.append(node.asset)
        return real(self, node, *args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Runner, "_compute_in_memory", counting)
        value = fs.materialize(target, home=str(home))
    catalog = get_store(str(home)).catalog
    catalog.wait_for_writes()
    rows = {row.asset: row for row in catalog.history()}
    data_versions = {row.data_version: name for name, row in rows.items()}
    ids = {row.id: name for name, row in rows.items()}
    return {
        "value": value,
        "fast": fast_path_calls,
        "rows": {
            name: row._replace(
                id=ids[row.id],
                run_id="run",
                started_at=0.0,
                ended_at=row.ended_at is not None,
                duration=row.duration is not None,
                data_version=name,
                location=row.io_manager,
                modified_ns=row.modified_ns is not None,
            )
            for name, row in rows.items()
        },
        "edges": {
            name: [
                (
                    ids[edge.upstream_id],
                    edge.upstream_asset,
                    data_versions[edge.upstream_data_version],
                )
                for edge in catalog.inputs(row.id)
            ]
            for name, row in rows.items()
        },
    }


def test_the_fast_path_records_what_the_general_path_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    define_graph()
    fast = outcome(tmp_path / "fast")
    general_only(monkeypatch)
    general = outcome(tmp_path / "general")
    assert fast["fast"] == ["root", "one", "two", "reads_global", "with_default", "pinned", "last"]
    assert general["fast"] == fast["fast"]  # offered the same nodes, it took the general way
    assert (general["value"], general["rows"], general["edges"]) == (
        fast["value"],
        fast["rows"],
        fast["edges"],
    )
    assert fast["value"] == 2 * (1 + 1 + 1 + OFFSET) + 1 + 1 + 2 * (1 + 1 + 1 + OFFSET) + 1
    assert fast["rows"]["pinned"].code_version == "pinned-1"


def test_the_fast_path_gives_the_results_the_general_path_gives(
    registry: fs.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowstone_nb._run.api import execute_plan
    from flowstone_nb._run.plan import build_plan

    define_graph()
    plan = build_plan(registry, [("last", None)])

    def results() -> dict[str, tuple[Any, ...]]:
        run = execute_plan(plan, get_store(), force=plan.order)
        return {
            node.asset: (
                result.node,
                result.status,
                result.io_manager,
                result.error,
                result.materialization_id is not None,
                result.data_version is not None,
                result.location is not None,
                result.duration > 0,
            )
            for node, result in run.results.items()
        }

    fast = results()
    general_only(monkeypatch)
    assert results() == fast
    assert {status for _, status, *_ in fast.values()} == {Outcome.COMPUTED}


def test_the_fast_path_and_the_general_path_record_a_failure_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @fs.asset(io_manager="memory")
    def base() -> int:
        return 1

    @fs.asset(io_manager="memory")
    def broken(base: int) -> int:
        raise ValueError(f"cannot use {base}")

    def failure(home: Path) -> tuple[Any, ...]:
        with pytest.raises(fs.MaterializationError) as raised:
            fs.materialize(broken, home=str(home))
        catalog = get_store(str(home)).catalog
        catalog.wait_for_writes()
        (row,) = catalog.history("broken")
        return (
            str(raised.value),
            type(raised.value.__cause__),
            row.status,
            row.error_type,
            row.error_message,
            row.code_version,
            row.io_manager,
            row.traceback is not None and "cannot use 1" in row.traceback,
        )

    fast = failure(tmp_path / "fast")
    general_only(monkeypatch)
    assert failure(tmp_path / "general") == fast


def test_a_run_that_someone_listens_to_goes_the_general_way_and_records_the_same(
    tmp_path: Path,
) -> None:
    define_graph()
    quiet = outcome(tmp_path / "quiet")
    heard: list[tuple[str, str]] = []
    unsubscribe = events.subscribe(lambda event: heard.append((event.kind, event.asset)))
    try:
        listened = outcome(tmp_path / "listened")
    finally:
        unsubscribe()
    assert listened["fast"] == []
    assert (listened["value"], listened["rows"], listened["edges"]) == (
        quiet["value"],
        quiet["rows"],
        quiet["edges"],
    )
    names = list(quiet["rows"])
    assert sorted(heard) == sorted(
        [("started", name) for name in names] + [("succeeded", name) for name in names]
    )


def test_results_are_made_by_field_name() -> None:
    node = make_node("a", None, None)
    stored = StoredValue("memory:a/x/1", "d1", "memory", 3, "list", None)
    upstream = not_run(make_node("b", None, None), Outcome.SKIPPED, fs.FlowstoneError("-"))
    made = computed(node, "run-0", stored, 0.5, "v1", 100.0, (upstream,))
    assert made == NodeResult(
        node=node,
        status=Outcome.COMPUTED,
        materialization_id="run-0",
        data_version="d1",
        location="memory:a/x/1",
        io_manager="memory",
        duration=0.5,
        code_version="v1",
        started_at=100.0,
        rows=3,
        schema="list",
        consumed=(upstream,),
    )
    latest = Candidate(
        id="run-1",
        asset="a",
        partition="",
        code_version="v",
        data_version="d2",
        io_manager="filesystem",
        location="data/a",
        size_bytes=None,
        modified_ns=None,
        value_problem=None,
        inputs=frozenset(),
    )
    assert reused(node, latest) == NodeResult(
        node=node,
        status=Outcome.REUSED,
        materialization_id="run-1",
        data_version="d2",
        location="data/a",
        io_manager="filesystem",
    )
    error = fs.FlowstoneError("cancelled before it ran")
    assert not_run(node, Outcome.CANCELLED, error) == NodeResult(
        node=node, status=Outcome.CANCELLED, error=error
    )


@pytest.mark.parametrize("io_manager", ["filesystem", "memory"])
def test_a_node_records_the_input_computed_again_when_its_stored_value_was_unreadable(
    home: Path, io_manager: str
) -> None:
    # (The general path used to record the unreadable value it never consumed.)
    @fs.asset
    def table() -> list[int]:
        return [1, 2]

    @fs.asset(io_manager=io_manager)
    def count(table: list[int]) -> int:
        return len(table)

    fs.materialize(count)
    for path in (home / "data" / "table").rglob("*.*"):
        path.write_bytes(b"not what was stored")
    assert fs.materialize(count, force=True) == 2
    catalog = get_store().catalog
    catalog.wait_for_writes()
    table_now = catalog.latest_success("table", "")
    count_now = catalog.latest_success("count", "")
    assert table_now is not None
    assert count_now is not None
    assert len(catalog.history("table")) == 2  # computed again
    (edge,) = catalog.inputs(count_now.id)
    assert (edge.upstream_id, edge.upstream_data_version) == (
        table_now.id,
        table_now.data_version,
    )
