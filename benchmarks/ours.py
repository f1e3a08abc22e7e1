"""flowstone_nb's side of every workload, through the public API, in this interpreter.

Each workload function takes the sizes and a scratch folder and returns ``{metric: samples}``
(seconds). Every sample runs against a fresh registry and, where it computes, a fresh store home;
opening the store's catalog is setup (a notebook opens it once per kernel), everything the user
waits for after that is timed. Internals are used only to *prepare* a workload (writing 100,000
catalog rows, reaching the IO manager for the store/load row), never inside a timed call; the
one exception is the notebook workload's ``load_definitions``, which is what the ``flowstone``
command calls to load a notebook.
"""

from __future__ import annotations

import atexit
import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flowstone_nb as fs
from flowstone_nb._define.registry import Registry, set_registry
from flowstone_nb._storage.config import configure, settings
from flowstone_nb._storage.io import ValueStamp
from flowstone_nb._storage.store import get_store

from . import _data, _gen, _live, _notebook
from ._measure import measure, time_queries, timed
from ._sizes import Sizes

Samples = dict[str, list[float]]

_homes = itertools.count()


@contextmanager
def isolated(
    work: Path, registry: Registry | None = None, home: str | None = None
) -> Iterator[tuple[Registry, str]]:
    """A store home (fresh under ``work`` unless given; catalog opened) and a registry (fresh
    unless given), made the defaults and restored afterwards."""
    before = settings()
    active = registry if registry is not None else Registry()
    previous = set_registry(active)
    home = configure(home=home or work / f"home{next(_homes)}", progress=False).home
    get_store(home).catalog  # noqa: B018  # opening the catalog is per-kernel setup, not timed
    try:
        yield active, home
    finally:
        get_store(home).close()
        set_registry(previous)
        configure(
            home=before.home,
            default_io_manager=before.default_io_manager,
            resources=before.resources,
            progress=before.progress,
        )


# --- workloads 2 and 3: trivial graphs, in memory -------------------------------------------------


def _graph_runs(sizes: Sizes, work: Path, parents: dict[str, list[str]], name: str) -> Samples:
    module = _gen.GeneratedModule.write(work, name, _gen.module_source(parents, "flowstone"))
    targets = _gen.leaves(parents)
    samples: Samples = {"define": [], "run": [], "run_again": [], "run_committed": []}
    for _ in range(sizes.repeat):
        code = module.compiled()
        with isolated(work) as (registry, _home):
            samples["define"].append(timed(_define, module, code, registry))
            samples["run"].append(timed(fs.materialize, targets))
        with isolated(work, registry):
            samples["run_again"].append(timed(fs.materialize, targets))
        with isolated(work, registry) as (_registry, home):
            samples["run_committed"].append(timed(_materialize_committed, targets, home))
        module.unload()
    return samples


def _materialize_committed(targets: list[str], home: str) -> None:
    """Materialize, then wait until the catalog file has every row (in-memory values' rows are
    written by the catalog's writer thread after materialize returns)."""
    fs.materialize(targets)
    get_store(home).catalog.wait_for_writes()


def _define(module: _gen.GeneratedModule, code: Any, registry: Registry) -> None:
    module.load(code)
    registry.dag().topological_order()


def chain(sizes: Sizes, work: Path) -> Samples:
    """Workload 2: define a chain of trivial assets, materialize it, and again in a new store."""
    parents = _gen.chain_parents(sizes.chain_assets)
    return _graph_runs(sizes, work, parents, "fs_chain")


def wide(sizes: Sizes, work: Path) -> Samples:
    """Workload 3: define + validate the wide DAG, materialize its last layer, and again."""
    parents = _gen.wide_parents(sizes.wide_layers, sizes.wide_width)
    return _graph_runs(sizes, work, parents, "fs_wide")


# --- workloads 4 and 5: partitioned DataFrames in Parquet -----------------------------------------


def define_partitioned(count: int, rows: int) -> tuple[fs.Asset, fs.Asset]:
    """Assets A (seeded random frame per day) and B (its group-by), daily over ``count`` days."""
    first, last = _data.days(count)[0], _data.days(count)[-1]
    daily = fs.DailyPartitions(first, last)

    @fs.asset(partitioned_by=daily)
    def part_a(context: fs.AssetContext) -> Any:
        return _data.partition_frame(context.partition_key, rows)

    @fs.asset(partitioned_by=daily)
    def part_b(part_a: Any) -> Any:
        return _data.summarise(part_a)

    return part_a, part_b


def has_rows(part_b: Any) -> bool:
    """A trivial data check of B (issue 18: checks add at most 10 % to a backfill)."""
    return len(part_b) > 0


_turns = itertools.count()


def partitions(sizes: Sizes, work: Path) -> Samples:
    """Workloads 4 and 5: backfill A and B (one and two workers), then unchanged re-runs.

    ``backfill_checked`` is the one-worker backfill with a trivial check of each partition of
    B, taken in the same round as ``backfill_1`` (first or second in turns), so that their
    ratio compares samples side by side.
    """
    keys = _data.days(sizes.partitions)
    selection = f"{keys[0]}..{keys[-1]}"
    samples: Samples = {"backfill_1": [], "backfill_2": [], "backfill_checked": []}
    for _ in range(sizes.repeat):
        runs = [("backfill_1", 1, False), ("backfill_checked", 1, True)]
        runs = [*(runs if next(_turns) % 2 == 0 else runs[::-1]), ("backfill_2", 2, False)]
        for metric, workers, checked in runs:
            with isolated(work):
                define_partitioned(sizes.partitions, sizes.rows)
                if checked:
                    fs.check("part_b")(has_rows)
                samples[metric].append(timed(_backfill, "part_b", selection, workers))
    samples.update(cache_hit(sizes, work))
    return samples


def _backfill(name: str, selection: str, workers: int | None) -> fs.BackfillResult:
    result = fs.backfill(name, selection, max_workers=workers)
    if not result.ok:
        raise RuntimeError(f"benchmark backfill failed: {result!r}")
    return result


def cache_hit(sizes: Sizes, work: Path) -> Samples:
    """Workload 5: materialize one unchanged partition of B; and what loading it alone costs."""
    keys = _data.days(sizes.partitions)
    day = keys[len(keys) // 2]
    with isolated(work) as (_registry, home):
        define_partitioned(sizes.partitions, sizes.rows)
        fs.materialize("part_b", partition=day)
        location = str(fs.history("part_b", partition=day)["location"].iloc[0])
        manager = get_store(home).io_manager("filesystem")
        hits: list[float] = []
        loads: list[float] = []
        for _ in range(sizes.cache_hits):  # alternating, so each pair sees the same machine
            hits.append(timed(fs.materialize, "part_b", partition=day))
            loads.append(timed(manager.load, location))
    # The freshness check is what a hit costs beyond loading the value (paired samples).
    return {"cache_hit": hits, "freshness": [h - x for h, x in zip(hits, loads, strict=True)]}


def store_load(sizes: Sizes, work: Path) -> Samples:
    """Store and load one 100k-row frame through the default (filesystem) IO manager."""
    frame = _data.partition_frame(_data.days(1)[0], sizes.rows)
    samples: Samples = {"store": [], "load": [], "load_checked": [], "check": []}
    with isolated(work) as (_registry, home):
        manager = get_store(home).io_manager("filesystem")
        for index in range(sizes.cache_hits):
            seconds, stored = measure(manager.store, f"frame{index}", "_", frame)
            samples["store"].append(seconds)
            samples["load"].append(timed(manager.load, stored.location))
            # What fs.load does: compare the file with its stamp first (issue 15).
            stamp = ValueStamp(stored.data_version, stored.size_bytes, stored.modified_ns)
            samples["load_checked"].append(timed(manager.load_checked, stored.location, stamp))
            samples["check"].append(timed(manager.check, stored.location, stamp))
    return samples


def trivial_backfill(sizes: Sizes, work: Path) -> Samples:
    """Issue 4's overhead check: backfill a trivial daily asset (default workers and store)."""
    keys = _data.days(sizes.trivial_partitions)
    samples: Samples = {"backfill": []}
    for _ in range(sizes.repeat):
        with isolated(work):
            daily = fs.DailyPartitions(keys[0], keys[-1])

            @fs.asset(partitioned_by=daily)
            def trivial(context: fs.AssetContext) -> int:
                return int(context.partition_key[-2:])

            samples["backfill"].append(timed(_backfill, "trivial", f"{keys[0]}..{keys[-1]}", None))
    return samples


# --- issue 17: a notebook loaded in definition mode ---------------------------------------------

_notebooks = itertools.count()


def write_notebook(work: Path) -> Path:
    """A new copy of the 30-cell notebook, in a folder of its own (untimed setup)."""
    number = next(_notebooks)
    folder = work / f"notebook{number}"
    folder.mkdir(parents=True)
    path = folder / "sales.ipynb"
    path.write_text(_notebook.notebook_json(number), encoding="utf-8")
    return path


@contextmanager
def fresh_shell(work: Path) -> Iterator[None]:
    """No IPython shell before (the loader starts one, as in a new process); afterwards the
    shell the loader started is closed (history session ended, ``sys.modules["__main__"]``
    given back) and forgotten. IPython's folder is a scratch one under ``work`` meanwhile."""
    from IPython.core.interactiveshell import InteractiveShell

    before = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = str(work / "ipython")
    InteractiveShell.clear_instance()
    try:
        yield
    finally:
        if InteractiveShell.initialized():
            shell: Any = InteractiveShell.instance()  # IPython leaves these methods untyped
            shell.atexit_operations()
            atexit.unregister(shell.atexit_operations)
            shell.cleanup()
        InteractiveShell.clear_instance()
        if before is None:
            os.environ.pop("IPYTHONDIR", None)
        else:
            os.environ["IPYTHONDIR"] = before


def notebook(sizes: Sizes, work: Path) -> Samples:
    """Issue 17: load a 30-cell notebook in definition mode, as the ``flowstone`` command does
    (a new file, a new IPython shell, registry and store home every sample)."""
    from flowstone_nb._notebook.loader import load_definitions

    samples: Samples = {"load": []}
    for _ in range(sizes.repeat):
        path = write_notebook(work)
        with isolated(work), fresh_shell(work):
            samples["load"].append(timed(load_definitions, path))
    return samples


# --- issue 16: live status lines ----------------------------------------------------------------


def live(sizes: Sizes, work: Path) -> Samples:
    """Cells run under ``sizes.live_assets`` asset cells with live status lines (see ``_live``)."""
    return _live.samples(sizes, work, lines=True)


# --- workload 6: lineage and history with 100,000 materializations --------------------------------


def lineage_names(count: int) -> list[str]:
    """The lineage chain's asset names."""
    return [f"s{index:02d}" for index in range(count)]


def define_lineage_chain(sizes: Sizes) -> list[str]:
    """A daily partitioned chain whose catalog :func:`fill_catalog` fills."""
    names = lineage_names(sizes.lineage_assets)
    keys = _data.days(sizes.lineage_days)
    daily = fs.DailyPartitions(keys[0], keys[-1])
    registry = fs.get_registry()
    for index, name in enumerate(names):
        depends = names[index - 1 : index] if index else []
        registry.register(
            fs.Asset(
                name=name,
                depends_on=depends,
                partitioned_by=daily,
                execute_fn=_lineage_step,
                code_version="v1",
            )
        )
    return names


def _lineage_step(context: Any, deps: Any) -> int:
    return len(deps)


def fill_catalog(sizes: Sizes, home: str) -> None:
    """Write ``lineage_materializations`` successful rows with their lineage edges (untimed)."""
    from flowstone_nb._partitioning.days import DailyPartitions
    from flowstone_nb._partitioning.keys import encode_key, key_slug
    from flowstone_nb._storage.catalog import LineageEdge, MaterializationRow

    catalog = get_store(home).catalog
    names = lineage_names(sizes.lineage_assets)
    keys = _data.days(sizes.lineage_days)
    definition = DailyPartitions(keys[0], keys[-1])
    parsed = [definition.parse_key(k) for k in keys]
    ids = itertools.count()
    clock = 1_700_000_000.0
    for run in range(sizes.lineage_runs):
        run_id = catalog.start_run(kind="backfill", targets=[names[-1]])
        rows: list[MaterializationRow] = []
        edges: list[LineageEdge] = []
        for key in parsed:
            encoded, slug = encode_key(key), key_slug(key)
            previous: MaterializationRow | None = None
            for name in names:
                number = next(ids)
                version = f"{number:032x}"
                clock += 0.001
                row = MaterializationRow(
                    id=f"{number:032x}",
                    run_id=run_id,
                    asset=name,
                    partition=encoded,
                    status="success",
                    started_at=clock,
                    ended_at=clock + 0.0005,
                    duration=0.0005,
                    code_version=f"v{run}",
                    data_version=version,
                    io_manager="filesystem",
                    location=f"data/{name}/{slug}/{version}.json",
                    rows=None,
                    schema="int",
                )
                rows.append(row)
                if previous is not None:
                    edges.append(
                        LineageEdge(
                            row.id, previous.id, previous.asset, encoded, previous.data_version
                        )
                    )
                previous = row
        catalog.write(rows, edges)
        catalog.end_run(run_id, "success")


def prepare_lineage(sizes: Sizes, work: Path) -> str:
    """A store home whose catalog holds the lineage chain's materializations (untimed)."""
    with isolated(work) as (_registry, home):
        define_lineage_chain(sizes)
        fill_catalog(sizes, home)
    return home


def encode_day(day: str) -> str:
    """The catalog's partition column value of an ISO day."""
    import datetime as dt

    from flowstone_nb._partitioning.keys import encode_key

    return encode_key(dt.date.fromisoformat(day))


def lineage(sizes: Sizes, work: Path, home: str) -> Samples:
    """Workload 6: lineage and history queries on the catalog :func:`prepare_lineage` filled."""
    keys = _data.days(sizes.lineage_days)
    names = lineage_names(sizes.lineage_assets)
    first, middle, last = names[0], names[len(names) // 2], names[-1]
    queries: dict[str, Callable[[], Any]] = {
        "upstream": lambda: fs.lineage(last, keys[-1]),
        "downstream": lambda: fs.lineage(first, keys[0], direction="downstream"),
        "both": lambda: fs.lineage(middle, keys[len(keys) // 2], direction="both"),
        "history_partition": lambda: fs.history(last, keys[-1]),
        "history_limit": lambda: fs.history(last, limit=100),
        "history_all": lambda: fs.history(last),
    }
    with isolated(work, home=home):
        define_lineage_chain(sizes)
        return time_queries(queries, sizes.repeat)


# --- workload 7: DOT text and graph algorithms ---------------------------------------------------


def dot(sizes: Sizes, work: Path) -> Samples:
    """Workload 7: ``fs.graph().source`` for the wide DAG shape; DAG build + order for 10,000."""
    parents = _gen.wide_parents(sizes.dot_layers, sizes.dot_width)
    module = _gen.GeneratedModule.write(work, "fs_dot", _gen.module_source(parents, "flowstone"))
    samples: Samples = {"dot": [], "dot_no_status": []}
    with isolated(work):
        module.load()
        for _ in range(sizes.repeat):
            samples["dot"].append(timed(lambda: fs.graph().source))
            samples["dot_no_status"].append(timed(lambda: fs.graph(status=False).source))
    module.unload()
    big = _gen.wide_parents(sizes.topo_layers, sizes.topo_width)
    samples["topo"] = [
        timed(lambda: fs.DAG.from_dependencies(big).topological_order())
        for _ in range(sizes.repeat)
    ]
    return samples
