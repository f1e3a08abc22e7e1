"""Dagster doing each workload its idiomatic way: ``@asset`` and ``materialize([...])``.

Peer ``"dagster"`` runs with an in-memory instance (``DagsterInstance.ephemeral()``), peer
``"dagster_sqlite"`` with a persistent SQLite instance on disk (``DagsterInstance.local_temp``).
Trivial graphs use Dagster's in-memory IO manager (as ours keeps trivial values in memory); the
partitioned workload writes Parquet through a small ``ConfigurableIOManager``, Dagster's
documented way to choose a storage format. Imported only in the peers' interpreter.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg

from .. import _data, _gen
from .._measure import measure, timed
from .._sizes import Sizes

Samples = dict[str, list[float]]
_folders = itertools.count()
_temps: list[tempfile.TemporaryDirectory[str]] = []


def version() -> str:
    """The installed Dagster version."""
    return str(dg.__version__)


def _instance(peer: str) -> Any:
    if peer == "dagster":
        return dg.DagsterInstance.ephemeral()
    folder = tempfile.TemporaryDirectory()
    _temps.append(folder)
    return dg.DagsterInstance.local_temp(folder.name, overrides={"telemetry": {"enabled": False}})


def _assets(module: Any, parents: dict[str, list[str]]) -> list[Any]:
    return [getattr(module, name) for name in parents]


def _define(module: _gen.GeneratedModule, code: Any, parents: dict[str, list[str]]) -> list[Any]:
    assets = _assets(module.load(code), parents)
    dg.Definitions.validate_loadable(dg.Definitions(assets=assets))
    return assets


def _graph_runs(
    peer: str,
    work: Path,
    parents: dict[str, list[str]],
    name: str,
    repeat: int,
    runs: tuple[str, ...],
) -> Samples:
    module = _gen.GeneratedModule.write(work, name, _gen.module_source(parents, "dagster"))
    memory = {"io_manager": dg.mem_io_manager}
    samples: Samples = {"define": [], **{metric: [] for metric in runs}}
    for _ in range(repeat):
        code = module.compiled()
        seconds, defined = measure(_define, module, code, parents)
        samples["define"].append(seconds)
        for metric in runs:
            instance = _instance(peer)
            samples[metric].append(
                timed(dg.materialize, defined, instance=instance, resources=memory)
            )
        module.unload()
    return samples


def chain(peer: str, sizes: Sizes, work: Path) -> Samples:
    """Workload 2 (runs take seconds: ``slow_repeat`` samples)."""
    parents = _gen.chain_parents(sizes.chain_assets)
    return _graph_runs(peer, work, parents, "dg_chain", sizes.slow_repeat, ("run", "run_again"))


def wide(peer: str, sizes: Sizes, work: Path) -> Samples:
    """Workload 3 (runs take tens of seconds: ``slow_repeat`` samples)."""
    parents = _gen.wide_parents(sizes.wide_layers, sizes.wide_width)
    return _graph_runs(peer, work, parents, "dg_wide", sizes.slow_repeat, ("run",))


class ParquetIOManager(dg.ConfigurableIOManager):
    """Each asset partition as ``base_dir/<asset>/<partition>.parquet``."""

    base_dir: str

    def _path(self, context: Any) -> Path:
        name = "/".join(context.asset_key.path)
        return Path(self.base_dir, name, f"{context.asset_partition_key}.parquet")

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        obj.to_parquet(path)

    def load_input(self, context: dg.InputContext) -> Any:
        import pandas as pd

        return pd.read_parquet(self._path(context))


def _partitioned_assets(count: int, rows: int) -> list[Any]:
    keys = _data.days(count)
    end = (_data.START + dt.timedelta(days=count)).isoformat()
    daily = dg.DailyPartitionsDefinition(start_date=keys[0], end_date=end)

    @dg.asset(partitions_def=daily)
    def part_a(context) -> Any:  # type: ignore[no-untyped-def]  # Dagster reads this annotation: none or its own class
        return _data.partition_frame(context.partition_key, rows)

    @dg.asset(partitions_def=daily)
    def part_b(part_a: Any) -> Any:
        return _data.summarise(part_a)

    return [part_a, part_b]


def _backfill(peer: str, assets: list[Any], keys: list[str], folder: Path) -> None:
    instance = _instance(peer)
    resources = {"io_manager": ParquetIOManager(base_dir=str(folder))}
    for day in keys:
        dg.materialize(assets, partition_key=day, instance=instance, resources=resources)


def partitions(peer: str, sizes: Sizes, work: Path) -> Samples:
    """Workloads 4 (one ``materialize`` per partition) and 5 (B again: Dagster recomputes)."""
    keys = _data.days(sizes.partitions)
    assets = _partitioned_assets(sizes.partitions, sizes.rows)
    folders = [work / f"dg{next(_folders)}" for _ in range(sizes.repeat)]
    runs = [timed(_backfill, peer, assets, keys, folder) for folder in folders]
    instance = _instance(peer)
    resources = {"io_manager": ParquetIOManager(base_dir=str(folders[-1]))}
    day = keys[len(keys) // 2]

    def again() -> Any:
        return dg.materialize(
            assets, partition_key=day, instance=instance, resources=resources, selection=[assets[1]]
        )

    hits = [timed(again) for _ in range(sizes.cache_hits)]
    return {"backfill_1": runs, "cache_hit": hits}


WORKLOADS = {"chain": chain, "wide": wide, "partitions": partitions}


def run(peer: str, workload: str, sizes: Sizes, work: Path) -> Samples:
    """Run ``workload`` with an in-memory (``dagster``) or SQLite (``dagster_sqlite``) instance."""
    function = WORKLOADS.get(workload)
    try:
        return {} if function is None else function(peer, sizes, work)
    finally:
        for folder in _temps:
            folder.cleanup()
        _temps.clear()
