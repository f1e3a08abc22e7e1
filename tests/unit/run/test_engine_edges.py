"""Engine, backfill, config and store edges: explicit versions, remote tasks, bad settings."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._core import events as _events
from flowstone_nb._define.code_version import asset_code_version
from flowstone_nb._partitioning.display import stored_key_text
from flowstone_nb._run.api import execute_plan
from flowstone_nb._run.plan import build_plan, make_node
from flowstone_nb._run.remote import RemoteTask, run_remote
from flowstone_nb._storage.config import configure, settings
from flowstone_nb._storage.io import MemoryIOManager
from flowstone_nb._storage.store import Store, catalog_path, get_store, is_local_home


def test_explicit_code_version_wins_and_changes_staleness() -> None:
    @fs.asset(code_version="v1")
    def pinned() -> int:
        return 1

    assert asset_code_version(pinned) == "v1"
    fs.materialize(pinned)

    @fs.asset(code_version="v2", name="pinned", replace=True)
    def pinned_again() -> int:
        return 1

    assert fs.status()["pinned"] == "stale"


def test_run_result_lists_computed_nodes(registry: fs.Registry) -> None:
    @fs.asset
    def one() -> int:
        return 1

    @fs.asset
    def two(one: int) -> int:
        return one + 1

    fs.materialize(one)
    plan = build_plan(registry, [("two", None)])
    result = execute_plan(plan, get_store())
    assert [node.asset for node in result.computed] == ["two"]


def test_run_remote_computes_and_stores_from_locations(registry: fs.Registry) -> None:
    days = fs.DailyPartitions("2024-01-01", "2024-01-02")

    @fs.asset(partitioned_by=days)
    def base(context: Any) -> int:
        return context.partition.day

    @fs.asset
    def total(base: dict[Any, int]) -> int:
        return sum(base.values())

    fs.backfill(base)
    store = get_store()
    sources = []
    keys = days.keys()
    for key in keys:
        node = make_node("base", days, key)
        row = store.catalog.latest_success("base", node.encoded)
        assert row is not None
        sources.append((days.context_value(key), str(row.io_manager), str(row.location)))
    task = RemoteTask(
        asset=total,
        node=make_node("total", None, None),
        run_id="r",
        home=store.home,
        io_manager="filesystem",
        inputs=(("base", True, tuple(sources)),),
        resources={},
    )
    stored, checks = run_remote(task)
    assert store.io_manager("filesystem").load(stored.location) == 3
    assert checks == ()


def test_interrupt_while_waiting_cancels_and_records(registry: fs.Registry) -> None:
    started = threading.Event()
    release = threading.Event()

    @fs.asset(partitioned_by=fs.StaticPartitions(["a", "b", "c"]))
    def slow(context: Any) -> str:
        started.set()
        release.wait(timeout=30)
        return context.partition

    def interrupt(event: _events.Event) -> None:
        if event.kind == "started":
            release.set()
            raise_in_main.set()

    raise_in_main = threading.Event()
    unsubscribe = _events.subscribe(interrupt)
    plan = build_plan(registry, [("slow", k) for k in ["a", "b", "c"]])

    class Interrupting(threading.Event):
        """A cancel event whose first check raises KeyboardInterrupt in the coordinator."""

        def is_set(self) -> bool:
            if raise_in_main.is_set() and not super().is_set():
                self.set()
                raise KeyboardInterrupt
            return super().is_set()

    try:
        with pytest.raises(KeyboardInterrupt):
            execute_plan(plan, get_store(), max_workers=1, cancel=Interrupting(), kind="backfill")
    finally:
        unsubscribe()
    rows = get_store().catalog.history("slow")
    assert all(row.status == "success" for row in rows)


def test_backfill_result_views_with_failures() -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["ok", "<bad>"]))
    def picky(context: Any) -> str:
        if context.partition == "<bad>":
            raise ValueError("<script>x</script>")
        return context.partition

    result = fs.backfill(picky)
    assert result["<bad>"].status == "failed"
    with pytest.raises(KeyError):
        result["missing"]
    text = repr(result)
    assert "<bad>" in text
    assert "failed" in text
    html = result._repr_html_()
    assert "<script>" not in html
    assert "&lt;bad&gt;" in html
    assert "fs-backfill-failures" in html
    assert result.failed[0].error_type == "ValueError"


def test_backfill_of_an_empty_selection() -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["a"]))
    def single(context: Any) -> str:
        return "x"

    with pytest.raises(fs.PartitionError, match="No partitions of 'single' match"):
        fs.backfill(single, [])


def test_configure_validates_and_resolves(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(
        fs.FlowstoneError, match=r"Unknown IO manager 'parquett'.*Did you mean 'parquet'"
    ):
        configure(default_io_manager="parquett")
    assert configure(home="memory://bucket/x/").home == "memory://bucket/x"
    monkeypatch.setenv("FLOWSTONE_HOME", str(tmp_path / "from-env"))
    assert configure(home=None).home == str(tmp_path / "from-env")
    assert settings().default_io_manager == "filesystem"


def test_catalog_of_a_remote_home_lives_in_a_local_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLOWSTONE_CATALOG_DIR", str(tmp_path / "cache"))
    assert not is_local_home("s3://bucket/store")
    assert is_local_home("file:///tmp/x")
    path = catalog_path("s3://bucket/store")
    assert path.parent.parent == tmp_path / "cache"
    assert path == catalog_path("s3://bucket/store")
    assert catalog_path("file:///tmp/x") == Path("/tmp/x/catalog.sqlite")
    assert repr(get_store("s3://bucket/store")) == "Store(home='s3://bucket/store')"


def test_a_plan_of_unpartitioned_assets_is_the_one_the_general_builder_makes(
    registry: fs.Registry,
) -> None:
    from flowstone_nb._run import plan as _plan
    from flowstone_nb._run.prepare import make_step, prepare

    for name, deps in {"a": [], "b": ["a"], "c": ["a"], "d": ["c", "b"], "e": ["d", "a"]}.items():
        params = ", ".join(deps)
        namespace: dict[str, Any] = {}
        exec(f"def {name}({params}):\n    return 1\n", namespace)  # one function per asset
        registry.register(fs.Asset(name=name, depends_on=deps, execute_fn=namespace[name]))
    dag = registry.dag()
    for targets in (["e"], ["e", "b"], ["b", "c"], ["a"]):
        fast = _plan._build_plan(registry, [(t, None) for t in targets])
        assets = {name: registry.get(name) for name in dag.with_upstream(targets)}
        general = _plan._build_partitioned_plan(
            assets,
            tuple(_plan.target_node(assets[t], None) for t in targets),
            dag.topological_order(assets),
        )
        assert (fast.simple, general.simple) == (True, False)
        assert (fast.order, fast.targets, fast.assets) == (
            general.order,
            general.targets,
            general.assets,
        )
        assert fast.node_of == {node.asset: node for node in fast.order}
        # Its inputs and steps are made only when asked for, and are the general ones.
        steps = prepare(fast).steps
        assert len(steps) == 0
        assert fast.inputs == general.inputs
        assert list(fast.inputs) == list(fast.order)
        assert {node: steps[node] for node in fast.order} == {
            node: make_step(general, node) for node in general.order
        }
        assert list(steps) == list(fast.order)


def test_opening_a_stores_catalog_makes_its_memory_manager_too(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "home"))
    assert store._managers == {}
    catalog = store.catalog
    assert isinstance(store._managers["memory"], MemoryIOManager)  # made once, with the catalog
    assert store.catalog is catalog
    store.close()


def test_memory_home_round_trip() -> None:
    configure(home="memory://flowstone-test-store")

    @fs.asset
    def in_memory_fs() -> dict[str, int]:
        return {"a": 1}

    assert fs.materialize(in_memory_fs) == {"a": 1}
    assert fs.load(in_memory_fs) == {"a": 1}
    get_store("memory://flowstone-test-store").close()


def test_missing_dask_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["a"]))
    def tiny(context: Any) -> int:
        return 1

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(fs.FlowstoneError, match=r"pip install 'flowstone-nb\[dask\]'"):
        fs.backfill(tiny, executor="dask")
    monkeypatch.setitem(sys.modules, "cloudpickle", None)
    with pytest.raises(fs.FlowstoneError, match="needs Dask"):
        fs.backfill(tiny, executor="processes")


def test_event_listeners_that_fail_never_break_a_run(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: _events.Event) -> None:
        raise RuntimeError("view bug")

    unsubscribe = _events.subscribe(broken)
    try:

        @fs.asset
        def fine() -> int:
            return 1

        assert fs.materialize(fine) == 1
    finally:
        unsubscribe()
        unsubscribe()  # twice is harmless
    assert "listener failed" in caplog.text
    assert not _events.has_listeners()


def test_lineage_from_a_materialization_id_and_unknown_ids() -> None:
    from flowstone_nb._query.lineage import compute_lineage

    @fs.asset
    def base() -> int:
        return 1

    @fs.asset
    def top(base: int) -> int:
        return base

    fs.materialize(top)
    row = get_store().catalog.latest_success("top", "")
    assert row is not None
    lineage = compute_lineage(fs.get_registry(), get_store(), "top", materialization_id=row.id)
    assert [e.asset for e in lineage.upstream] == ["base"]
    with pytest.raises(fs.FlowstoneError, match="No materialization with id 'nope'"):
        compute_lineage(fs.get_registry(), get_store(), "top", materialization_id="nope")


def test_partition_text_fallbacks() -> None:
    import datetime as dt

    from flowstone_nb._partitioning.keys import encode_key

    assert stored_key_text(None, "") == ""
    assert stored_key_text(None, encode_key(dt.date(2024, 1, 2))) == "2024-01-02"
    moment = dt.datetime(2024, 1, 2, 3, tzinfo=dt.UTC)
    assert stored_key_text(None, encode_key(moment)) == "2024-01-02T03:00+00:00"
    assert stored_key_text(None, encode_key(("eu", dt.date(2024, 1, 2)))) == "eu|2024-01-02"
    static = fs.StaticPartitions(["a"])
    assert stored_key_text(static, encode_key("gone")) == "gone"  # key no longer defined


def test_open_ended_partitions_report_the_keys_seen() -> None:
    @fs.asset(partitioned_by="date")
    def open_days(context: Any) -> str:
        return context.partition_key

    with pytest.raises(fs.PartitionError, match=r"pass partition=\.\.\."):
        fs.materialize(open_days)
    fs.materialize(open_days, "2024-06-01")
    assert fs.status()["open_days"] == {"2024-06-01": "fresh"}


def test_upstream_data_change_makes_downstream_stale() -> None:
    values = iter([1, 2])

    @fs.asset
    def source() -> int:
        return next(values)

    @fs.asset
    def sink(source: int) -> int:
        return source

    fs.materialize(sink)
    fs.materialize(source, force=True)
    report = fs.status()
    assert report["sink"] == "stale"
    assert "upstream 'source' changed" in report.for_asset("sink")[0].reason


def test_registering_without_an_execute_function_names_no_place(registry: fs.Registry) -> None:
    with pytest.raises(fs.AssetDefinitionError, match="code with no source location"):
        registry.register(fs.Asset(name="nothing"))


def test_dir_lists_the_public_names() -> None:
    names = dir(fs)
    assert "materialize" in names
    assert names == sorted(fs.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        fs.nope  # noqa: B018  # the attribute access is the test


def test_a_failure_in_a_diamond_skips_everything_downstream_once() -> None:
    parts = fs.StaticPartitions(["x", "y"])

    @fs.asset(partitioned_by=parts)
    def top(context: Any) -> str:
        if context.partition == "x":
            raise ValueError("broken x")
        return context.partition

    @fs.asset(partitioned_by=parts)
    def left(top: str) -> str:
        return top + "l"

    @fs.asset(partitioned_by=parts)
    def right(top: str) -> str:
        return top + "r"

    @fs.asset(partitioned_by=parts)
    def bottom(left: str, right: str) -> str:
        return left + right

    result = fs.backfill(bottom, max_workers=2)
    assert result["x"].status == "skipped"
    assert result["y"].status == "computed"
    assert fs.materialize(bottom, "y") == "ylyr"


def test_a_failing_partition_function_gives_a_generic_hint() -> None:
    def keys() -> list[str]:
        raise OSError("listing failed")

    @fs.asset(partitioned_by="custom", partition_fn=keys)
    def listed(context: Any) -> str:
        return "x"

    with pytest.raises(fs.PartitionError, match=r"partition='<key>'"):
        fs.materialize(listed)


def test_lineage_through_a_purged_upstream_shows_it_as_forgotten() -> None:
    @fs.asset
    def early() -> int:
        return 1

    @fs.asset
    def late(early: int) -> int:
        return early

    fs.materialize(late)
    fs.forget("early", purge=True)
    lineage = fs.lineage("late")
    assert [(e.asset, e.status, e.finished_at) for e in lineage.upstream] == [
        ("early", "forgotten", None)
    ]
    assert "early" in repr(lineage)


def test_process_worker_entry_point_runs_a_pickled_task(registry: fs.Registry) -> None:
    import cloudpickle

    from flowstone_nb._run.worker_processes import load_task

    @fs.asset
    def packed() -> list[int]:
        return [1, 2]

    task = RemoteTask(
        asset=packed,
        node=make_node("packed", None, None),
        run_id="r",
        home=get_store().home,
        io_manager="filesystem",
        inputs=(),
        resources={},
    )
    stored, checks = run_remote(load_task(cloudpickle.dumps(task)))
    assert get_store().io_manager("filesystem").load(stored.location) == [1, 2]
    assert checks == ()


def test_plans_of_unpartitioned_assets_are_reused_until_a_definition_changes(
    registry: fs.Registry,
) -> None:
    @fs.asset(io_manager="memory")
    def base() -> int:
        return 1

    @fs.asset(io_manager="memory")
    def top(base: int) -> int:
        return base + 1

    plan = build_plan(registry, [("top", None)])
    assert build_plan(registry, [("top", None)]) is plan
    assert build_plan(registry, [("base", None)]) is not plan
    assert [node.asset for node in plan.order] == ["base", "top"]

    @fs.asset(io_manager="memory")
    def side(base: int) -> int:
        return base

    assert build_plan(registry, [("top", None)]) is not plan  # the registry changed
    assert fs.materialize("top") == 2

    @fs.asset(io_manager="memory", name="base", replace=True)
    def new_base() -> int:
        return 10

    assert fs.materialize("top") == 11


def test_plans_of_partitioned_assets_are_built_afresh(registry: fs.Registry) -> None:
    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01"), io_manager="memory")
    def daily(context: Any) -> str:
        return context.partition_key

    @fs.asset(io_manager="memory")
    def every_day(daily: dict[Any, str]) -> int:
        return len(daily)

    plan = build_plan(registry, [("every_day", None)])
    assert build_plan(registry, [("every_day", None)]) is not plan  # "up to now" moves on
    assert build_plan(registry, [("daily", "2024-01-02")]) is not build_plan(
        registry, [("daily", "2024-01-02")]
    )


def test_plans_of_partitions_fixed_by_their_definitions_are_reused(registry: fs.Registry) -> None:
    from flowstone_nb._partitioning.mappings import TrailingWindow

    region_day = fs.MultiPartitions(
        {
            "region": fs.StaticPartitions(["eu", "us"]),
            "day": fs.DailyPartitions("2024-01-01", "2024-01-31"),
        }
    )

    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-31"), io_manager="memory")
    def daily(context: Any) -> str:
        return context.partition_key

    @fs.asset(
        partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-31"),
        io_manager="memory",
        partition_mappings={"daily": TrailingWindow(3)},
    )
    def week(daily: dict[Any, str]) -> int:
        return len(daily)

    @fs.asset(partitioned_by=region_day, io_manager="memory")
    def regional(context: Any) -> str:
        return context.partition_key

    for target in [("week", "2024-01-05"), ("regional", ("eu", "2024-01-02"))]:
        plan = build_plan(registry, [target])
        assert build_plan(registry, [target]) is plan
    assert build_plan(registry, [("week", "2024-01-06")]) is not plan
    assert fs.materialize("week", "2024-01-05") == 3
    unhashable = build_plan(registry, [("regional", ["eu", "2024-01-02"])])
    assert build_plan(registry, [("regional", ["eu", "2024-01-02"])]) is not unhashable

    class Everything(TrailingWindow):
        pass

    @fs.asset(
        partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-31"),
        io_manager="memory",
        partition_mappings={"daily": Everything(2)},
    )
    def custom(daily: dict[Any, str]) -> int:
        return len(daily)

    plan = build_plan(registry, [("custom", "2024-01-05")])
    assert build_plan(registry, [("custom", "2024-01-05")]) is not plan  # a mapping from elsewhere


def test_plans_with_partition_functions_are_built_afresh(registry: fs.Registry) -> None:
    @fs.asset(partitioned_by="custom", partition_fn=lambda: ["a", "b"], io_manager="memory")
    def listed(context: Any) -> str:
        return context.partition_key

    plan = build_plan(registry, [("listed", "a")])
    assert build_plan(registry, [("listed", "a")]) is not plan


def test_one_upstream_partition_still_arrives_as_a_mapping() -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["only"]), io_manager="memory")
    def single(context: Any) -> str:
        return f"value of {context.partition_key}"

    @fs.asset(io_manager="memory")
    def gathered(single: dict[Any, str]) -> dict[Any, str]:
        return single

    assert fs.materialize(gathered) == {"only": "value of only"}


def test_the_plan_cache_stays_small(registry: fs.Registry) -> None:
    from flowstone_nb._run import plan as _plan

    for index in range(_plan._MAX_PLANS + 5):
        registry.register(fs.Asset(name=f"p{index}", execute_fn=lambda: 1, io_manager="memory"))
    plans = [build_plan(registry, [(f"p{index}", None)]) for index in range(_plan._MAX_PLANS + 5)]
    assert 0 < len(_plan._plans[registry]) <= _plan._MAX_PLANS
    assert build_plan(registry, [(f"p{_plan._MAX_PLANS + 4}", None)]) is plans[-1]
