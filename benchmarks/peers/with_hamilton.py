"""Apache Hamilton doing each workload its idiomatic way: functions in a module, ``driver.Builder``.

Defining is loading the module and building the driver (which validates the graph); running is
``Driver.execute``. Hamilton keeps no catalog and no lineage, so workloads about those do not
apply. Imported only in the peers' interpreter.
"""

from __future__ import annotations

import importlib
import itertools
from pathlib import Path
from typing import Any

from hamilton import driver

from .. import _data, _gen
from .._measure import measure, timed
from .._sizes import Sizes

Samples = dict[str, list[float]]
_folders = itertools.count()


def version() -> str:
    """The installed Hamilton version."""
    from hamilton import version as hamilton_version

    return ".".join(map(str, hamilton_version.VERSION))


def _build(module: Any) -> Any:
    return driver.Builder().with_modules(module).build()


def _define(module: _gen.GeneratedModule, code: Any) -> Any:
    return _build(module.load(code))


def _graph_runs(sizes: Sizes, work: Path, parents: dict[str, list[str]], name: str) -> Samples:
    module = _gen.GeneratedModule.write(work, name, _gen.module_source(parents, "hamilton"))
    targets = _gen.leaves(parents)
    samples: Samples = {"define": [], "run": [], "run_again": []}
    for _ in range(sizes.repeat):
        code = module.compiled()
        seconds, built = measure(_define, module, code)
        samples["define"].append(seconds)
        samples["run"].append(timed(built.execute, targets))
        samples["run_again"].append(timed(built.execute, targets))
        module.unload()
    return samples


def chain(sizes: Sizes, work: Path) -> Samples:
    """Workload 2."""
    return _graph_runs(sizes, work, _gen.chain_parents(sizes.chain_assets), "hm_chain")


def wide(sizes: Sizes, work: Path) -> Samples:
    """Workload 3."""
    parents = _gen.wide_parents(sizes.wide_layers, sizes.wide_width)
    return _graph_runs(sizes, work, parents, "hm_wide")


def _backfill(dr: Any, folder: Path, keys: list[str], rows: int) -> None:
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir(parents=True)
    for day in keys:
        inputs = {
            "day": day,
            "rows": rows,
            "a_path": str(folder / "a" / f"{day}.parquet"),
            "b_path": str(folder / "b" / f"{day}.parquet"),
        }
        dr.execute(["save_a", "save_b"], inputs=inputs)


def partitions(sizes: Sizes, work: Path) -> Samples:
    """Workloads 4 (a driver per day's inputs, saving Parquet) and 5 (Hamilton's cache)."""
    dataflow = importlib.import_module("benchmarks.peers._hamilton_dataflow")
    keys = _data.days(sizes.partitions)
    dr = _build(dataflow)
    runs = [
        timed(lambda: _backfill(dr, work / f"hm{next(_folders)}", keys, sizes.rows))
        for _ in range(sizes.repeat)
    ]
    cached = (
        driver.Builder()
        .with_modules(dataflow)
        .with_cache(path=str(work / f"hm_cache{next(_folders)}"))
        .build()
    )
    inputs = {"day": keys[len(keys) // 2], "rows": sizes.rows}
    cached.execute(["part_b"], inputs=inputs)
    hits = [
        timed(lambda: cached.execute(["part_b"], inputs=inputs)) for _ in range(sizes.cache_hits)
    ]
    return {"backfill_1": runs, "cache_hit": hits}


def dot(sizes: Sizes, work: Path) -> Samples:
    """Workload 7: ``display_all_functions().source``; the driver build of the big graph."""
    parents = _gen.wide_parents(sizes.dot_layers, sizes.dot_width)
    module = _gen.GeneratedModule.write(work, "hm_dot", _gen.module_source(parents, "hamilton"))
    dr = _build(module.load())
    text = [timed(lambda: dr.display_all_functions().source) for _ in range(sizes.repeat)]
    module.unload()
    big = _gen.wide_parents(sizes.topo_layers, sizes.topo_width)
    big_module = _gen.GeneratedModule.write(work, "hm_big", _gen.module_source(big, "hamilton"))
    loaded = big_module.load()
    order = [timed(lambda: _build(loaded)) for _ in range(sizes.slow_repeat)]
    big_module.unload()
    return {"dot": text, "topo": order}


WORKLOADS = {"chain": chain, "wide": wide, "partitions": partitions, "dot": dot}


def run(peer: str, workload: str, sizes: Sizes, work: Path) -> Samples:
    """Run ``workload``; ``{}`` when Hamilton has no equivalent."""
    del peer
    function = WORKLOADS.get(workload)
    return {} if function is None else function(sizes, work)
