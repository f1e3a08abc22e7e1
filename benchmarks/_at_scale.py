"""Issue 19's workloads: ours and the floor on the catalogs of :mod:`benchmarks._scale`.

* ``scale``: the status of one asset of 10,000 daily partitions, the lineage of a root consumed
  by 20,000, and, on a catalog of 2,001 partitions materialized 50 times each (~100,000 rows),
  ``fs.status()``, the whole ``fs.history()`` and one page of it.
* ``million``: on 1,000,000 materializations, one hop of lineage, the history of one partition,
  the status of one asset (10,000 partitions, 10 runs each).
* ``growth``: status, lineage, history and a backfill's overhead at 1k / 10k / 100k partitions
  (ours only: the slope is the point).
* ``memory``: peak RSS of a 40 x 400k-row Parquet backfill against the floor's loop, each in a
  fresh process (see :mod:`benchmarks._memory`).

The floor is the same work by hand on the same file: plain ``sqlite3`` queries (the newest row of
each partition, the recursive walk, ``SELECT *`` into a DataFrame) and, where ours checks stored
files against their stamps, an ``os.stat`` of each file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import flowstone_nb as fs

from . import _memory, _scale, _table, ours
from ._measure import Stat, time_queries, timed
from ._sizes import Sizes

Samples = dict[str, list[float]]
Homes = dict[str, str]
Runner = Callable[[Sizes], Samples]


# --- scale ----------------------------------------------------------------------------------------


def prepare_scale(sizes: Sizes, work: Path) -> Homes:
    """The homes of the ``scale`` workload (untimed)."""
    return {"status": _scale.status_home(sizes, work), "deep": _scale.deep_home(sizes, work)}


def _shown(report: Any) -> str:
    """What a notebook shows of a status report: its widget's HTML (made as the kernel does)."""
    from flowstone_nb._notebook.widgets.status import StatusGrid

    return StatusGrid(report).to_html()


def ours_scale(sizes: Sizes, work: Path, homes: Homes) -> Samples:
    """``fs.status``, ``fs.lineage`` and ``fs.history`` on the ``scale`` homes."""
    page = sizes.scale_days * sizes.scale_runs  # (a page in the middle of the history)
    samples: Samples = {}
    with ours.isolated(work, home=homes["status"]):
        _scale.define_status(sizes)
        samples |= time_queries(
            {
                "status_asset": lambda: fs.status("wide_daily"),
                "status_shown": lambda: _shown(fs.status("wide_daily")),
                "lineage_fanout": lambda: fs.lineage("src", direction="downstream"),
            },
            sizes.repeat,
        )
    with ours.isolated(work, home=homes["deep"]):
        _scale.define_deep(sizes)
        samples |= time_queries(
            {
                "status_all": fs.status,
                "history_all": fs.history,
                "history_page": lambda: fs.history(limit=100, offset=page),
            },
            sizes.repeat,
        )
    return samples


# The newest row of each partition of one asset, by hand (SQLite gives the bare columns of the
# row holding the max).
_NEWEST = (
    "SELECT partition_key, max(started_at), status, code_version, location, size_bytes, "
    "modified_ns FROM materializations WHERE asset = ? GROUP BY partition_key"
)
_DOWNSTREAM = (
    "WITH RECURSIVE reach(id) AS (VALUES (?) UNION SELECT l.materialization_id FROM lineage AS l "
    "JOIN reach AS r ON l.upstream_id = r.id) "
    "SELECT m.* FROM reach JOIN materializations AS m ON m.id = reach.id"
)
_ALL = "SELECT * FROM materializations ORDER BY started_at DESC, rowid DESC"


def _status_by_hand(conn: sqlite3.Connection, home: str, assets: list[str]) -> list[Any]:
    """The newest row of every partition of ``assets``, and a stat of each stored file."""
    found = []
    for asset in assets:
        for row in conn.execute(_NEWEST, (asset,)):
            found.append(row)
            with contextlib.suppress(FileNotFoundError):
                os.stat(f"{home}/{row[4]}")  # noqa: PTH116  # by hand: no Path objects
    return found


# The least a status of one asset takes by hand, on a connection with our page cache: each
# partition's row of the table the status read reads (its newest attempt, NULL when that is its
# newest success), whether it consumed anything, a stat of its file, the statuses counted; no
# row kept, no reason said.
_LEAST = (
    "SELECT s.last_status, s.code_version, s.location, s.size_bytes, s.modified_ns, "
    "EXISTS (SELECT 1 FROM lineage AS e WHERE e.materialization_id = s.id) "
    "FROM partition_latest AS s WHERE s.asset = ?"
)


def _least_status(conn: sqlite3.Connection, home: str, asset: str) -> Counter[str]:
    """How many partitions of ``asset`` are fresh, or not."""
    counts: Counter[str] = Counter()
    stat = os.stat
    for attempt, version, location, size, modified, consumed in conn.execute(_LEAST, (asset,)):
        if attempt is not None or version != _scale.CODE or consumed:
            counts["not fresh"] += 1
            continue
        try:
            kept = stat(f"{home}/{location}")
        except OSError:
            counts["gone"] += 1
            continue
        same = kept.st_size == size and kept.st_mtime_ns == modified
        counts["fresh" if same else "changed"] += 1
    return counts


def _frame(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    import pandas as pd

    cursor = conn.execute(sql, params)
    return pd.DataFrame(cursor.fetchall(), columns=[c[0] for c in cursor.description])


def _queries_by_hand(
    home: str, queries: Callable[[sqlite3.Connection], dict[str, Any]], repeat: int
) -> Samples:
    conn = sqlite3.connect(Path(home) / "catalog.sqlite")
    try:
        return time_queries(queries(conn), repeat)
    finally:
        conn.close()


def floor_scale(sizes: Sizes, work: Path, homes: Homes) -> Samples:
    """The ``scale`` queries by hand on the same files."""
    del work
    status, deep = homes["status"], homes["deep"]
    page = sizes.scale_days * sizes.scale_runs
    samples = _queries_by_hand(
        status,
        lambda conn: {
            "status_asset": lambda: _status_by_hand(conn, status, ["wide_daily"]),
            "lineage_fanout": lambda: conn.execute(
                _DOWNSTREAM, (_scale.newest_id(conn, "src", ""),)
            ).fetchall(),
        },
        sizes.repeat,
    )
    samples |= _queries_by_hand(
        deep,
        lambda conn: {
            "status_all": lambda: _status_by_hand(conn, deep, ["left", "right", "whole"]),
            "history_all": lambda: _frame(conn, _ALL),
            "history_page": lambda: _frame(conn, f"{_ALL} LIMIT 100 OFFSET ?", (page,)),
        },
        sizes.repeat,
    )
    return samples


# --- a million materializations -------------------------------------------------------------------


def _million_targets(sizes: Sizes) -> tuple[str, str, Any]:
    """The asset and day the queries ask about: the middle of the chain and of the days."""
    names = _scale.million_names(sizes)
    day = _scale.days(sizes.million_days)[sizes.million_days // 2]
    return names[0], names[len(names) // 2], day


def ours_million(sizes: Sizes, work: Path, home: str) -> Samples:
    """One hop of lineage, one partition's history, one asset's status."""
    first, middle, day = _million_targets(sizes)
    with ours.isolated(work, home=home):
        _scale.define_million(sizes)
        samples = time_queries(
            {
                "lineage_hop": lambda: fs.lineage(middle, day, depth=1),
                "history_partition": lambda: fs.history(middle, day),
                "status_asset": lambda: fs.status(first),
            },
            sizes.repeat,
        )
    # (the same samples, against the least the status takes by hand: see _LEAST)
    return samples | {"status_least": samples["status_asset"]}


def floor_million(sizes: Sizes, work: Path, home: str) -> Samples:
    """The same by hand: the newest success's inputs, ``SELECT *`` of one partition, the newest
    row of each partition of the first asset and a stat of its file; and the least that status
    takes by hand (:data:`_LEAST`)."""
    del work
    from flowstone_nb._partitioning.keys import encode_key

    first, middle, day = _million_targets(sizes)
    key = encode_key(day)
    least = sqlite3.connect(Path(home) / "catalog.sqlite")  # (with our page cache)
    least.execute("PRAGMA cache_size=-65536")
    one_hop = (
        "SELECT l.*, m.* FROM lineage AS l JOIN materializations AS m ON m.id = l.upstream_id "
        "WHERE l.materialization_id = ?"
    )
    partition = (
        "SELECT * FROM materializations WHERE asset = ? AND partition_key = ? "
        "ORDER BY started_at DESC"
    )
    try:
        return _queries_by_hand(
            home,
            lambda conn: {
                "lineage_hop": lambda: conn.execute(
                    one_hop, (_scale.newest_id(conn, middle, key),)
                ).fetchall(),
                "history_partition": lambda: _frame(conn, partition, (middle, key)),
                "status_asset": lambda: _status_by_hand(conn, home, [first]),
                "status_least": lambda: _least_status(least, home, first),
            },
            sizes.repeat,
        )
    finally:
        least.close()


# --- growth ---------------------------------------------------------------------------------------


def prepare_growth(sizes: Sizes, work: Path) -> dict[int, str]:
    """A ``status_home`` for each size of the growth table (untimed)."""
    return {
        count: _scale.status_home(Sizes(scale_partitions=count, scale_fanout=count), work)
        for count in sizes.growth
    }


def _backfill_overhead(count: int, work: Path) -> float:
    """Seconds a backfill of ``count`` trivial partitions kept in memory takes, less computing
    their values by hand (the floor of ``trivial``)."""
    definition = _scale.daily(count)
    with ours.isolated(work):

        @fs.asset(partitioned_by=definition, io_manager="memory")
        def trivial(context: Any) -> int:
            return int(context.partition_key[-2:])

        whole = timed(fs.backfill, trivial, progress=False)
    keys = [day.isoformat() for day in _scale.days(count)]
    by_hand = timed(lambda: [int(key[-2:]) for key in keys])
    return whole - by_hand


def ours_growth(sizes: Sizes, work: Path, homes: dict[int, str]) -> Samples:
    """Each query once per size (samples per size come from the rounds)."""
    samples: Samples = {}
    for count, home in homes.items():
        with ours.isolated(work, home=home):
            _scale.define_status(Sizes(scale_partitions=count, scale_fanout=count))
            found = time_queries(
                {
                    f"status_{count}": lambda: fs.status("wide_daily"),
                    f"lineage_{count}": lambda: fs.lineage("src", direction="downstream"),
                    f"history_{count}": lambda: fs.history("wide_daily"),
                    f"page_{count}": lambda: fs.history("wide_daily", limit=100),
                },
                sizes.repeat,
            )
        samples |= found
        samples[f"backfill_{count}"] = [
            _backfill_overhead(count, work) / count for _ in range(sizes.repeat)
        ]
    return samples


def floor_growth(sizes: Sizes, work: Path, homes: dict[int, str]) -> Samples:
    """The growth table's queries by hand on the same files (the backfill's floor is in its
    overhead already)."""
    del work
    samples: Samples = {}
    for count, home in homes.items():
        samples |= _queries_by_hand(
            home,
            lambda conn, home=home, count=count: {
                f"status_{count}": lambda: _status_by_hand(conn, home, ["wide_daily"]),
                f"lineage_{count}": lambda: conn.execute(
                    _DOWNSTREAM, (_scale.newest_id(conn, "src", ""),)
                ).fetchall(),
                f"history_{count}": lambda: _frame(conn, _ONE_ASSET, ("wide_daily",)),
                f"page_{count}": lambda: _frame(conn, f"{_ONE_ASSET} LIMIT 100", ("wide_daily",)),
            },
            sizes.repeat,
        )
    return samples


_ONE_ASSET = "SELECT * FROM materializations WHERE asset = ? ORDER BY started_at DESC, rowid DESC"


# --- the driver's side -------------------------------------------------------------------------


def runners(workload: str, sizes: Sizes, work: Path) -> dict[str, Runner]:
    """Each contender's runner of ``workload`` (its catalogs made now, untimed)."""
    if workload == "memory":
        return {
            "ours": lambda s: _memory.ours_memory(s, work),
            "floor": lambda s: _memory.floor_memory(s, work),
        }
    if workload == "growth":
        homes = prepare_growth(sizes, work)

        def of(s: Sizes) -> dict[int, str]:  # (the warm-up round at tiny sizes asks for none)
            return {count: home for count, home in homes.items() if count in s.growth}

        return {
            "ours": lambda s: ours_growth(s, work, of(s)),
            "floor": lambda s: floor_growth(s, work, of(s)),
        }
    # The catalogs are made once at ``sizes``; a round (or the warm-up) takes its sample count.
    if workload == "million":
        home = _scale.million_home(sizes, work)
        return {
            "ours": lambda s: ours_million(_counts(sizes, s), work, home),
            "floor": lambda s: floor_million(_counts(sizes, s), work, home),
            "bytes": lambda s: {"bytes_per_row": [_scale.bytes_per_row(home)]},
        }
    homes = prepare_scale(sizes, work)
    return {
        "ours": lambda s: ours_scale(_counts(sizes, s), work, homes),
        "floor": lambda s: floor_scale(_counts(sizes, s), work, homes),
    }


def _counts(sizes: Sizes, counted: Sizes) -> Sizes:
    """``sizes`` with the sample count of ``counted``."""
    return replace(sizes, repeat=counted.repeat)


_GROWTH_ROWS = (
    ("status", "`fs.status` of one asset with N daily partitions"),
    ("lineage", "`fs.lineage` downstream of a root consumed by N partitions"),
    ("page", "`fs.history(asset, limit=100)`, the asset's N rows in the catalog"),
    ("history", "`fs.history(asset)`, all N rows"),
)


def _median(results: _table.Results, workload: str, metric: str) -> float | None:
    found = _table.stat(results, workload, "ours", metric)  # (ours)
    return None if found is None else found.median


def growth_lines(results: _table.Results, sizes: Sizes) -> list[str]:
    """The growth table (ms, and µs per partition at the largest size) and bytes per row."""
    counts = sizes.growth
    lines: list[str] = []
    if "growth" in results:
        head = ["growth with N (ours, median)", *(f"N = {n:,}" for n in counts)]
        head += [f"per partition at {counts[-1]:,}", f"floor at {counts[-1]:,}"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for metric, label in _GROWTH_ROWS:
            found = [_median(results, "growth", f"{metric}_{n}") for n in counts]
            cells = ["—" if f is None else f"{_table.number(f * 1e3)} ms" for f in found]
            last = found[-1]
            cells.append("—" if last is None else f"{_table.number(last / counts[-1] * 1e6)} µs")
            floor = _table.stat(results, "growth", "floor", f"{metric}_{counts[-1]}")
            cells.append("—" if floor is None else f"{_table.number(floor.median * 1e3)} ms")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        per = [_median(results, "growth", f"backfill_{n}") for n in counts]
        cells = ["—" if f is None else f"{_table.number(f * 1e3)} ms" for f in per]
        lines.append(
            "| backfill of N trivial partitions kept in memory, beyond computing them, per "
            f"partition | {' | '.join(cells)} | {cells[-1]} | — |"
        )
        lines.append("")
    measured = results.get("million", {}).get("bytes", {}).get("bytes_per_row")
    if measured:
        size = Stat.of(measured).median
        rows = sizes.million_materializations
        edges = rows * (sizes.million_assets - 1) // sizes.million_assets
        lines.append(
            f"- the catalog of {rows:,} materializations (with {edges:,} lineage edges and every "
            f"index): {size:,.0f} bytes per materialization"
        )
    return lines
