"""The results table: which rows exist, their units and targets, and how a row is judged.

A row is one metric of one workload; each contender's cell is the median of its samples with
their range. In the rows of the trivial graphs and of storing and loading a frame, a ratio to a
contender that took its samples side by side with ours (one round each, see ``INTERLEAVED``) is
the median of the ratios round by round: a round takes under a second, so both samples of a
pair see the same machine, and a busy spell tips no ratio. Every other ratio divides the
medians taken in the same invocation (the samples of the longer workloads are seconds apart,
their noise independent: a ratio of medians is steadier there). A row is *met* when its target
holds and ours is at or below every peer measured in the same row.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ._measure import Stat
from ._peers import LABELS, PEERS
from ._sizes import Sizes

#: results[workload][contender] = {metric: samples}; contenders: "ours", "floor" and the peers.
Results = Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]]

#: Contenders that take one sample per round, in turns with ours (the driver's rounds).
INTERLEAVED = ("floor", "hamilton")
#: Metrics only ours has (a part of ours' own work, measured alone): the floor has none.
OURS_ONLY = frozenset(
    {
        "freshness",
        "check",
        "backfill_checked",
        "quiet_lines",
        "edit_lines",
        "run_lines",
        "status_shown",
    }
)
#: Workloads whose ratios to those contenders are paired round by round.
PAIRED_WORKLOADS = ("chain", "wide", "store_load")


@dataclass(frozen=True)
class Target:
    """What a row must reach: ``kind`` is ``"floor"`` (ours/floor ≤ value), ``"absolute"``
    (ours ≤ value seconds), ``"overhead"`` (ours - floor ≤ value seconds), ``"peer"`` (ours /
    that peer ≤ value) or ``"metric"`` (ours / ours in another ``metric`` of the workload ≤
    value, ``than`` naming it in the table)."""

    kind: str
    value: float
    peer: str = ""
    metric: str = ""
    than: str = ""
    unit: str = ""  # an absolute target in the row's own unit (its samples'), not in seconds

    def text(self) -> str:
        """The target as the table shows it."""
        if self.unit:
            return f"≤ {self.value:g} {self.unit}"
        if self.kind == "metric":
            return f"≤ {self.value:g}x {self.than or self.metric}"
        if self.kind == "floor":
            return f"≤ {self.value:g}x floor"
        if self.kind == "absolute":
            return f"≤ {_seconds(self.value)}"
        if self.kind == "overhead":
            return f"floor + ≤ {_seconds(self.value)}"
        return f"≤ {self.value:g}x {LABELS[self.peer]}"


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    workload: str
    metric: str
    label: str
    target: Target | None = None
    per: Callable[[Sizes], int] | None = None
    floor_label: str = ""
    measured_in: str = ""  # samples not in seconds but in this unit, shown as they are

    def unit(self) -> str:
        """``µs/asset`` for per-asset rows, else ``ms`` (or the unit the samples are in)."""
        return self.measured_in or ("µs/asset" if self.per else "ms")

    def scale(self, sizes: Sizes) -> float:
        """Samples to the row's unit."""
        if self.measured_in:
            return 1.0
        return 1e6 / self.per(sizes) if self.per else 1e3


def number(value: float) -> str:
    """As the results table writes numbers: 1,640 / 14.4 / 0.15 / 0.036."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def _seconds(value: float) -> str:
    return f"{value * 1e3:g} ms" if value < 1 else f"{value:g} s"


def _chain(s: Sizes) -> int:
    return s.chain_assets


def _wide(s: Sizes) -> int:
    return s.wide_assets


_HM = Target("peer", 1.0, "hamilton")
_20MS = Target("absolute", 0.020)
_10MS = Target("absolute", 0.010)
_10MS_MORE = Target("overhead", 0.010)
_300MS = Target("absolute", 0.300)

ROWS: tuple[Row, ...] = (
    Row(
        "import",
        "import",
        "1. `import flowstone_nb` (floor: `import pandas`)",
        Target("floor", 0.5),
    ),
    Row(
        "import",
        "load_ext",
        "1. `%load_ext` in a fresh IPython (floor: one trivial magic)",
        Target("absolute", 0.050),
    ),
    Row("chain", "define", "2. chain: define", per=_chain),
    Row("chain", "run", "2. chain: first materialize after define", _HM, per=_chain),
    Row("chain", "run_again", "2. chain: materialize again into a new store", _HM, per=_chain),
    Row("chain", "run_committed", "2. chain: again, until its rows are committed", per=_chain),
    Row("wide", "define", "3. wide DAG: define + validate", Target("absolute", 0.050)),
    Row("wide", "run", "3. wide DAG: first materialize after define", _HM, per=_wide),
    Row("wide", "run_again", "3. wide DAG: materialize again into a new store", _HM, per=_wide),
    Row("wide", "run_committed", "3. wide DAG: again, until its rows are committed", per=_wide),
    Row(
        "partitions", "backfill_1", "4. partitions A+B to Parquet, 1 worker", Target("floor", 1.05)
    ),
    Row(
        "partitions", "backfill_2", "4. partitions A+B to Parquet, 2 workers", Target("floor", 0.7)
    ),
    Row(
        "partitions",
        "backfill_checked",
        "4. the same, 1 worker, with a trivial check of each partition",
        Target("metric", 1.1, metric="backfill_1", than="the same without checks"),
    ),
    Row("partitions", "cache_hit", "5. one unchanged partition again", Target("floor", 1.1)),
    Row("partitions", "freshness", "5. its freshness check alone", Target("absolute", 0.0005)),
    Row(
        "store_load", "store", "store a 100k-row frame (floor: `to_parquet`)", Target("floor", 1.1)
    ),
    Row("store_load", "load", "load it (floor: `read_parquet`)", Target("floor", 1.1)),
    Row(
        "store_load",
        "load_checked",
        "load it checked against its stamp, as `fs.load` does",
        Target("floor", 1.1),
    ),
    Row(
        "store_load",
        "check",
        "its stamp check alone (≤ 2 % of the load)",
        Target("absolute", 0.0002),
    ),
    Row("trivial", "backfill", "backfill of trivial daily partitions", Target("overhead", 1.0)),
    Row("lineage", "upstream", "6. `fs.lineage` upstream", _20MS),
    Row("lineage", "downstream", "6. `fs.lineage` downstream", _20MS),
    Row("lineage", "both", "6. `fs.lineage` both ways", _20MS),
    Row("lineage", "history_partition", "6. `fs.history` of one partition", _20MS),
    Row("lineage", "history_limit", "6. `fs.history` of one asset, `limit=100`", _20MS),
    Row("lineage", "history_all", "6. `fs.history` of one asset, every row"),
    Row(
        "scale",
        "status_asset",
        "at scale: `fs.status` of one asset with 10,000 daily partitions",
        Target("absolute", 0.100),
    ),
    Row(
        "scale",
        "status_shown",
        "at scale: the same, shown (the status widget's HTML, as a notebook makes it)",
    ),
    Row(
        "scale",
        "lineage_fanout",
        "at scale: `fs.lineage` downstream of a root consumed by 20,000 partitions",
        Target("absolute", 0.200),
    ),
    Row(
        "scale",
        "status_all",
        "at scale: `fs.status()` over 2,001 partitions (a 100,050-row catalog)",
        Target("absolute", 0.030),
    ),
    Row("scale", "history_all", "at scale: `fs.history()` of that whole catalog", _300MS),
    Row(
        "scale",
        "history_page",
        "at scale: a page of it, `fs.history(limit=100, offset=50_000)`",
        _300MS,
    ),
    Row(
        "million",
        "lineage_hop",
        "1,000,000 materializations: `fs.lineage(asset, day, depth=1)`",
        Target("absolute", 0.005),
    ),
    Row(
        "million",
        "history_partition",
        "1,000,000 materializations: `fs.history` of one partition",
        Target("absolute", 0.010),
    ),
    Row(
        "million",
        "status_asset",
        "1,000,000 materializations: `fs.status` of one asset (10,000 partitions x 10 runs)",
        Target("absolute", 0.100),
    ),
    Row(
        "million",
        "status_least",
        "the same against the least it takes by hand (floor: the asset's rows of the table the "
        "status read reads, a `stat` per file, statuses counted; no row kept)",
    ),
    Row(
        "memory",
        "rss_1_mb",
        "peak RSS growth, 40 x 400k-row Parquet backfill, 1 worker, fresh process "
        "(floor: the loop)",
        measured_in="MB",
    ),
    Row(
        "memory",
        "rss_1_frames",
        "the same in frames of one partition (16 MB)",
        Target("absolute", 3.0, unit="frames"),
        measured_in="frames",
    ),
    Row(
        "memory",
        "rss_2_mb",
        "peak RSS growth, the same backfill, 2 workers, fresh process (floor: the loop)",
        measured_in="MB",
    ),
    Row("memory", "rss_2_frames", "the same in frames", measured_in="frames"),
    Row(
        "memory",
        "rss_warm_1_mb",
        "peak RSS growth, the same backfill, 1 worker, after a first partition (floor: the "
        "loop after its first)",
        measured_in="MB",
    ),
    Row(
        "memory",
        "rss_warm_1_frames",
        "the same in frames",
        Target("absolute", 3.0, unit="frames"),
        measured_in="frames",
    ),
    Row(
        "memory",
        "rss_warm_2_frames",
        "the same, 2 workers after a first partition each, in frames",
        measured_in="frames",
    ),
    Row("dot", "dot", "7. `fs.graph().source`, DOT text", Target("absolute", 0.100)),
    Row("dot", "dot_no_status", "7. `fs.graph(status=False).source`"),
    Row("dot", "topo", "7. graph build + topological order", Target("absolute", 0.5)),
    Row(
        "notebook",
        "load",
        "load a 30-cell notebook in definition mode (floor: its definitions as a module)",
        Target("overhead", 1.0),
    ),
    Row(
        "live",
        "quiet",
        "live status lines under 50 asset cells: a cell that changes nothing (floor: no lines)",
        _10MS_MORE,
    ),
    Row("live", "quiet_lines", "live status: that cell's check alone", _10MS),
    Row(
        "live",
        "edit",
        "live status: a cell editing the helper all 50 use (50 lines updated)",
        _10MS_MORE,
    ),
    Row("live", "edit_lines", "live status: its check and 50 updates alone", _10MS),
    Row(
        "live",
        "run",
        "live status: a cell materializing the chain again (running, then fresh)",
        _10MS_MORE,
    ),
    Row("live", "run_lines", "live status: its lines alone (50 running, 50 fresh)", _10MS),
)


def stat(results: Results, workload: str, contender: str, metric: str) -> Stat | None:
    """The statistics of one cell, or ``None`` when it was not measured."""
    samples = results.get(workload, {}).get(contender, {}).get(metric)
    return Stat.of(samples) if samples else None


def ratio(results: Results, workload: str, metric: str, contender: str) -> float | None:
    """Ours over ``contender`` in one row (see the module doc); ``None`` when one is missing."""
    mine = results.get(workload, {}).get("ours", {}).get(metric)
    theirs = results.get(workload, {}).get(contender, {}).get(metric)
    if not mine or not theirs or min(theirs) <= 0:
        return None
    if workload in PAIRED_WORKLOADS and contender in INTERLEAVED and len(mine) == len(theirs):
        return statistics.median(m / t for m, t in zip(mine, theirs, strict=True))
    return statistics.median(mine) / statistics.median(theirs)


def own_ratio(results: Results, workload: str, metric: str, other: str) -> float | None:
    """Ours in ``metric`` over ours in ``other`` of one workload: the median of the ratios of
    samples taken in the same round (they are, one each per round), else of the medians."""
    mine = results.get(workload, {}).get("ours", {})
    top, bottom = mine.get(metric), mine.get(other)
    if not top or not bottom or min(bottom) <= 0:
        return None
    if len(top) == len(bottom):
        return statistics.median(t / b for t, b in zip(top, bottom, strict=True))
    return statistics.median(top) / statistics.median(bottom)


def judge(row: Row, results: Results) -> str:
    """``yes``, ``NO`` (with what failed) or ``—`` (no target); against another metric of ours,
    with the ratio found (the table has no other column for it)."""
    ours = stat(results, row.workload, "ours", row.metric)
    if ours is None:
        return "—"
    failures: list[str] = []
    target = row.target
    if target is not None:
        reached = _reached(target, ours, results, row)
        if reached is None:
            missing = target.metric if target.kind == "metric" else None
            return f"? ({missing or LABELS.get(target.peer, 'floor')} not measured)"
        if not reached:
            failures.append("target")
    for peer in PEERS:
        than = ratio(results, row.workload, row.metric, peer)
        if than is not None and than > 1:
            failures.append(f"slower than {LABELS[peer]}")
    if target is None and not failures:
        return "—"
    verdict = "yes" if not failures else "NO: " + ", ".join(failures)
    if target is not None and target.kind == "metric":
        found = own_ratio(results, row.workload, row.metric, target.metric)
        verdict += f" ({found:.2f}x)"
    return verdict


def _reached(target: Target, ours: Stat, results: Results, row: Row) -> bool | None:
    if target.kind == "absolute":
        return ours.median <= target.value  # (seconds, or the row's own unit)
    if target.kind == "metric":
        found = own_ratio(results, row.workload, row.metric, target.metric)
        return None if found is None else found <= target.value
    other_name = target.peer if target.kind == "peer" else "floor"
    other = stat(results, row.workload, other_name, row.metric)
    if other is None:
        return None
    if target.kind == "overhead":
        return ours.median - other.median <= target.value
    found = ratio(results, row.workload, row.metric, other_name)
    return found is not None and found <= target.value
