"""The floor: each workload's work done by hand in plain Python, pandas, pyarrow and sqlite3.

No orchestration, no catalog, no lineage: the least any tool could spend doing the same thing.
Each function mirrors the one of the same name in :mod:`benchmarks.ours` and returns
``{metric: samples}`` in seconds.
"""

from __future__ import annotations

import graphlib
import itertools
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import _data, _gen, _live, _notebook
from ._measure import measure, time_queries, timed
from ._sizes import Sizes

Samples = dict[str, list[float]]

_folders = itertools.count()
_variants = itertools.count()


def _fresh(work: Path) -> Path:
    folder = work / f"floor{next(_folders)}"
    folder.mkdir(parents=True)
    return folder


def _call_in_order(module: Any, parents: dict[str, list[str]], targets: list[str]) -> Any:
    values: dict[str, Any] = {}
    for name, ups in parents.items():  # generated in dependency order
        values[name] = getattr(module, name)(*(values[p] for p in ups))
    return {name: values[name] for name in targets}


def _graph_runs(sizes: Sizes, work: Path, parents: dict[str, list[str]], name: str) -> Samples:
    module = _gen.GeneratedModule.write(work, name, _gen.module_source(parents, "plain"))
    targets = _gen.leaves(parents)
    samples: Samples = {"define": [], "run": []}
    for _ in range(sizes.repeat):
        code = module.compiled()
        seconds, loaded = measure(module.load, code)
        samples["define"].append(seconds)
        samples["run"].append(timed(_call_in_order, loaded, parents, targets))
        module.unload()
    samples["run_again"] = samples["run_committed"] = samples["run"]
    return samples


def chain(sizes: Sizes, work: Path) -> Samples:
    """Workload 2: call the chain's functions in order."""
    return _graph_runs(sizes, work, _gen.chain_parents(sizes.chain_assets), "plain_chain")


def wide(sizes: Sizes, work: Path) -> Samples:
    """Workload 3: call the wide DAG's functions in order."""
    parents = _gen.wide_parents(sizes.wide_layers, sizes.wide_width)
    return _graph_runs(sizes, work, parents, "plain_wide")


def _write_partition(folder: Path, day: str, rows: int) -> None:
    frame = _data.partition_frame(day, rows)
    frame.to_parquet(folder / "a" / f"{day}.parquet")
    summary = _data.summarise(frame)
    summary.to_parquet(folder / "b" / f"{day}.parquet")
    key = {"code": _data.CODE_TAG, "day": day, "rows": rows}
    (folder / "b" / f"{day}.key").write_text(json.dumps(key))


def write_partitions(folder: Path, count: int, rows: int) -> None:
    """The plain pandas loop: A, its Parquet, B, its Parquet and a key file per day."""
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    for day in _data.days(count):
        _write_partition(folder, day, rows)


def read_if_fresh(folder: Path, day: str, rows: int) -> Any:
    """The hand-written skip: compare the key file, then read B's Parquet."""
    import pandas as pd

    key = {"code": _data.CODE_TAG, "day": day, "rows": rows}
    key_file = folder / "b" / f"{day}.key"
    if not key_file.exists() or json.loads(key_file.read_text()) != key:
        return None
    return pd.read_parquet(folder / "b" / f"{day}.parquet")


def partitions(sizes: Sizes, work: Path) -> Samples:
    """Workloads 4 and 5 by hand."""
    samples: Samples = {"backfill_1": []}
    for _ in range(sizes.repeat):
        folder = _fresh(work)
        samples["backfill_1"].append(timed(write_partitions, folder, sizes.partitions, sizes.rows))
    samples["backfill_2"] = samples["backfill_1"]
    day = _data.days(sizes.partitions)[sizes.partitions // 2]
    hits = [timed(lambda: read_if_fresh(folder, day, sizes.rows)) for _ in range(sizes.cache_hits)]
    samples["cache_hit"] = hits
    return samples


def store_load(sizes: Sizes, work: Path) -> Samples:
    """``df.to_parquet`` and ``pd.read_parquet`` of the same 100k-row frame."""
    import pandas as pd

    frame = _data.partition_frame(_data.days(1)[0], sizes.rows)
    folder = _fresh(work)
    samples: Samples = {"store": [], "load": []}
    for index in range(sizes.cache_hits):
        path = folder / f"frame{index}.parquet"
        samples["store"].append(timed(frame.to_parquet, path))
        samples["load"].append(timed(pd.read_parquet, path))
    samples["load_checked"] = samples["load"]  # (plain pandas checks nothing)
    return samples


def trivial_backfill(sizes: Sizes, work: Path) -> Samples:
    """The trivial asset's work alone: its value for every day."""
    keys = _data.days(sizes.trivial_partitions)
    return {"backfill": [timed(lambda: [int(k[-2:]) for k in keys]) for _ in range(sizes.repeat)]}


def notebook(sizes: Sizes, work: Path) -> Samples:
    """Issue 17's floor: the notebook's definitions as a plain module, executed into a fresh
    module (a warm-bytecode import, no IPython): its imports, constants, helpers and
    ``@fs.asset`` functions, into a fresh registry. The user's own definition-time work."""
    from flowstone_nb._define.registry import Registry, set_registry

    samples: Samples = {"load": []}
    for _ in range(sizes.repeat):
        source = _notebook.module_source(next(_variants))
        module = _gen.GeneratedModule.write(_fresh(work), "plain_notebook", source)
        code = module.compiled()
        previous = set_registry(Registry())
        try:
            samples["load"].append(timed(module.load, code))
        finally:
            set_registry(previous)
            module.unload()
    return samples


def live(sizes: Sizes, work: Path) -> Samples:
    """Issue 16's floor of live status lines: the same cells in the same notebook without them
    (the lines' own cost is ours minus this; nothing else is done by hand here)."""
    return _live.samples(sizes, work, lines=False)


_UPSTREAM = (
    "WITH RECURSIVE reach(id) AS (VALUES (?) UNION SELECT l.upstream_id FROM lineage AS l "
    "JOIN reach AS r ON l.materialization_id = r.id) "
    "SELECT m.* FROM reach JOIN materializations AS m ON m.id = reach.id"
)
_DOWNSTREAM = (
    "WITH RECURSIVE reach(id) AS (VALUES (?) UNION SELECT l.materialization_id FROM lineage AS l "
    "JOIN reach AS r ON l.upstream_id = r.id) "
    "SELECT m.* FROM reach JOIN materializations AS m ON m.id = reach.id"
)
_LATEST = (
    "SELECT id FROM materializations WHERE asset = ? AND partition_key = ? "
    "AND status = 'success' ORDER BY started_at DESC LIMIT 1"
)
_HISTORY = "SELECT * FROM materializations WHERE asset = ? {where} ORDER BY started_at DESC {limit}"


def _latest(conn: sqlite3.Connection, asset: str, encoded: str) -> str:
    return str(conn.execute(_LATEST, (asset, encoded)).fetchone()[0])


def _history(conn: sqlite3.Connection, asset: str, encoded: str | None, limit: int | None) -> Any:
    import pandas as pd

    where = "" if encoded is None else "AND partition_key = ?"
    sql = _HISTORY.format(where=where, limit="" if limit is None else f"LIMIT {int(limit)}")
    params = [asset] if encoded is None else [asset, encoded]
    cursor = conn.execute(sql, params)
    return pd.DataFrame(cursor.fetchall(), columns=[c[0] for c in cursor.description])


def lineage(sizes: Sizes, catalog: Path, encode: Callable[[str], str]) -> Samples:
    """Workload 6 in plain sqlite3 on the same catalog file (filled by :mod:`benchmarks.ours`).

    ``encode`` turns an ISO day into the catalog's partition column value.
    """
    keys = _data.days(sizes.lineage_days)
    names = [f"s{index:02d}" for index in range(sizes.lineage_assets)]
    first, middle, last = names[0], names[len(names) // 2], names[-1]
    conn = sqlite3.connect(catalog)

    def walk(sql: str, asset: str, day: str) -> list[Any]:
        return conn.execute(sql, (_latest(conn, asset, encode(day)),)).fetchall()

    queries: dict[str, Callable[[], Any]] = {
        "upstream": lambda: walk(_UPSTREAM, last, keys[-1]),
        "downstream": lambda: walk(_DOWNSTREAM, first, keys[0]),
        "both": lambda: (
            walk(_UPSTREAM, middle, keys[len(keys) // 2]),
            walk(_DOWNSTREAM, middle, keys[len(keys) // 2]),
        ),
        "history_partition": lambda: _history(conn, last, encode(keys[-1]), None),
        "history_limit": lambda: _history(conn, last, None, 100),
        "history_all": lambda: _history(conn, last, None, None),
    }
    try:
        return time_queries(queries, sizes.repeat)
    finally:
        conn.close()


def dot_text(parents: dict[str, list[str]]) -> str:
    """Plain DOT text: one quoted, labelled node per asset and one line per edge."""
    lines = ["digraph g {", "  rankdir=LR;"]
    lines += [f'  "{name}" [label="{name}", shape=box];' for name in sorted(parents)]
    lines += [f'  "{up}" -> "{name}";' for name in sorted(parents) for up in parents[name]]
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot(sizes: Sizes, work: Path) -> Samples:
    """Workload 7: DOT text by hand; ``graphlib`` order for the big graph."""
    del work
    parents = _gen.wide_parents(sizes.dot_layers, sizes.dot_width)
    big = _gen.wide_parents(sizes.topo_layers, sizes.topo_width)
    text = [timed(lambda: dot_text(parents)) for _ in range(sizes.repeat)]
    order = [
        timed(lambda: list(graphlib.TopologicalSorter(big).static_order()))
        for _ in range(sizes.repeat)
    ]
    return {"dot": text, "dot_no_status": text, "topo": order}
