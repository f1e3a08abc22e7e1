"""Freshness of every asset partition: missing, fresh, stale, failed or running — as plain data.

:func:`compute_status` compares the catalog with the definitions as they are now: a partition is
*fresh* when its latest success can be reused as it is, by the rule a run applies
(:func:`~flowstone_nb._run.freshness.why_stale`), and its upstream partitions are fresh. The data
checks defined now say what they last found of a partition's value: a failing check is named on
its row (a fresh value stays fresh), a failing blocking check makes it failed, as a run would.
The :class:`StatusReport` is plain data with a text and an HTML view; widgets render the same data.

Both views are compact at any number of partitions: per asset, the counts first, then the
partitions as runs of consecutive keys with one status (:meth:`StatusReport.runs`), e.g.
``2024-01-01..2024-02-29 fresh (60), 2024-03-01..2024-03-31 missing (31)``; partitions with
failing checks make runs of their own, which name the checks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.html import badge, esc, findings, html_table
from flowstone_nb._define.asset import Asset
from flowstone_nb._define.code_version import asset_code_version
from flowstone_nb._define.registry import Registry
from flowstone_nb._partitioning.keys import decode_key, encode_key
from flowstone_nb._run.freshness import why_stale
from flowstone_nb._run.plan import Node, inputs_of, make_node
from flowstone_nb._storage.store import Store

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

    from flowstone_nb._define.data_checks import Check
    from flowstone_nb._storage.catalog import (
        Catalog,
        CheckRow,
        MaterializationRow,
        PartitionState,
    )
    from flowstone_nb._storage.io import ValueStamp

__all__ = ["PartitionStatus", "StatusReport", "StatusRun", "compute_status"]

STATUSES = ("fresh", "stale", "missing", "failed", "running")
#: The statuses whose reason the compact views say (fresh and missing explain themselves).
EXPLAINED = frozenset({"stale", "failed"})
#: Runs listed per asset in the text and HTML views; the rest are counted.
RUNS_SHOWN = 12
#: Width the text view wraps an asset's runs at.
TEXT_WIDTH = 100


@dataclass(frozen=True)
class PartitionStatus:
    """The status of one asset partition.

    Attributes
    ----------
    asset
        The asset.
    partition
        The partition key as text (``""`` when unpartitioned).
    status
        ``"missing"``, ``"fresh"``, ``"stale"``, ``"failed"`` or ``"running"``.
    reason
        Why, in a few words (e.g. ``"code changed"``, ``"upstream 'raw' changed"``).
    materialization_id
        The latest successful materialization, if any.
    data_version
        Its data version.
    updated_at
        When it finished (UNIX seconds).
    checks_failing
        The data checks (defined now) whose latest outcome on its value is a failure.
    check_message
        What they found, ``"name: message"`` for each, joined by ``"; "``.
    """

    asset: str
    partition: str
    status: str
    reason: str = ""
    materialization_id: str | None = None
    data_version: str | None = None
    updated_at: float | None = None
    checks_failing: tuple[str, ...] = ()
    check_message: str = ""


@dataclass(frozen=True)
class StatusRun:
    """Consecutive partitions of one asset (in its key order) with one status and reason.

    Attributes
    ----------
    first, last
        The first and last partition key of the run, as text (the same key for one partition).
    status
        Their status.
    count
        How many partitions the run holds.
    reason
        Their reason (the same for every partition of the run).
    checks
        What their failing data checks said (the same for every partition of the run), or ``""``.
    """

    first: str
    last: str
    status: str
    count: int
    reason: str = ""
    checks: str = ""

    @property
    def keys(self) -> str:
        """``first..last``, or the one key."""
        return self.first if self.count == 1 else f"{self.first}..{self.last}"

    def __str__(self) -> str:
        """``2024-01-01..2024-02-29 fresh (60)``; a stale or failed run adds its reason."""
        count = f" ({self.count})" if self.count > 1 else ""
        why = f" — {self.reason}" if self.reason and self.status in EXPLAINED else ""
        checks = f" — failing checks: {self.checks}" if self.checks else ""
        return f"{self.keys} {self.status}{count}{why}{checks}"


@dataclass(frozen=True)
class StatusReport:
    """Status per asset and partition, in dependency order."""

    rows: tuple[PartitionStatus, ...]

    def for_asset(self, asset: str) -> list[PartitionStatus]:
        """The rows of one asset."""
        return list(self._by_asset.get(asset, ()))

    @functools.cached_property
    def _by_asset(self) -> dict[str, list[PartitionStatus]]:
        index: dict[str, list[PartitionStatus]] = {}
        for row in self.rows:
            index.setdefault(row.asset, []).append(row)
        return index

    def __getitem__(self, asset: str) -> str | dict[str, str]:
        """``report["x"]``: the status of an unpartitioned asset, or ``{partition: status}``."""
        rows = self.for_asset(asset)
        if not rows:
            raise KeyError(asset)
        if not self.partitioned(asset):
            return rows[0].status
        return {row.partition: row.status for row in rows}

    def counts(self) -> dict[str, dict[str, int]]:
        """Per asset, how many partitions have each status."""
        counts: dict[str, dict[str, int]] = {}
        for row in self.rows:
            per_asset = counts.setdefault(row.asset, {})
            per_asset[row.status] = per_asset.get(row.status, 0) + 1
        return counts

    def summary(self, asset: str) -> str:
        """One phrase per asset: ``"fresh"``, or ``"28/31 fresh, 3 stale"`` for partitions."""
        counts = self.counts().get(asset, {})
        if not self.partitioned(asset):
            return self.for_asset(asset)[0].status
        total = sum(counts.values())
        parts = [f"{counts.get('fresh', 0)}/{total} fresh"]
        parts += [f"{counts[s]} {s}" for s in STATUSES[1:] if counts.get(s)]
        return ", ".join(parts)

    def overall(self, asset: str) -> str:
        """One status for the asset: failed > running > stale, then fresh if any partition is.

        A partitioned asset with some fresh and some missing partitions reads ``fresh`` (its
        summary says how many are missing); ``missing`` means nothing is materialized.
        """
        statuses = {row.status for row in self.for_asset(asset)}
        for status in ("failed", "running", "stale", "fresh"):
            if status in statuses:
                return status
        return "missing"

    def to_frame(self) -> pd.DataFrame:
        """The report as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(
            [row.__dict__ for row in self.rows],
            columns=list(PartitionStatus.__dataclass_fields__),
        )

    def partitioned(self, asset: str) -> bool:
        """Whether ``asset``'s rows are partitions (an unpartitioned asset has one keyless row)."""
        rows = self._by_asset.get(asset, ())
        return not (len(rows) == 1 and rows[0].partition == "")

    def runs(self, asset: str) -> list[StatusRun]:
        """``asset``'s partitions as runs of consecutive keys with one status and reason."""
        runs: list[StatusRun] = []
        for row in self.for_asset(asset):
            last = runs[-1] if runs else None
            same = (last.status, last.reason, last.checks) if last is not None else None
            if last is not None and same == (row.status, row.reason, row.check_message):
                runs[-1] = StatusRun(
                    last.first,
                    row.partition,
                    row.status,
                    last.count + 1,
                    row.reason,
                    row.check_message,
                )
            else:
                runs.append(
                    StatusRun(
                        row.partition, row.partition, row.status, 1, row.reason, row.check_message
                    )
                )
        return runs

    def assets(self) -> list[str]:
        """The assets reported, in dependency order."""
        return list(self._by_asset)

    def headline(self, asset: str) -> str:
        """:meth:`summary`, with the reason of an unpartitioned stale or failed asset.

        Failing data checks are counted (partitions), or said (an unpartitioned asset).
        """
        summary = self.summary(asset)
        rows = self.for_asset(asset)
        if self.partitioned(asset):
            failing = sum(1 for row in rows if row.checks_failing)
            return f"{summary}, {failing} with failing checks" if failing else summary
        row = rows[0]
        if row.reason and summary in EXPLAINED:
            summary = f"{summary} — {row.reason}"
        return f"{summary} — failing checks: {row.check_message}" if row.checks_failing else summary

    def _checks_column(self) -> bool:
        """Whether the HTML view has a ``checks`` column: only when some check fails."""
        return any(row.checks_failing for row in self.rows)

    def checks_html(self, asset: str) -> str:
        """What ``asset``'s failing checks said, each once, as HTML."""
        said = dict.fromkeys(
            row.check_message for row in self.for_asset(asset) if row.checks_failing
        )
        return "; ".join(esc(message) for message in said)

    def shown_runs(self, asset: str) -> tuple[list[StatusRun], int]:
        """The first :data:`RUNS_SHOWN` runs of ``asset``, and how many more there are."""
        runs = self.runs(asset) if self.partitioned(asset) else []
        return runs[:RUNS_SHOWN], max(0, len(runs) - RUNS_SHOWN)

    def __repr__(self) -> str:
        """Per asset, its counts, then its partitions as runs of keys (wrapped, indented)."""
        if not self.rows:
            return "StatusReport(no assets)"
        assets = self.assets()
        width = max(len(a) for a in assets)
        lines = []
        for asset in assets:
            lines.append(f"{asset.ljust(width)}  {self.headline(asset)}")
            runs, hidden = self.shown_runs(asset)
            if runs:
                listed = [str(run) for run in runs]
                listed += [f"… and {hidden} more runs"] if hidden else []
                lines += _packed(listed, indent=width + 2)
        return "\n".join(lines)

    def runs_html(self, asset: str) -> str:
        """``asset``'s runs as HTML: each with a mark in its status's colour and a tooltip."""
        runs, hidden = self.shown_runs(asset)
        items = [
            f'<span class="fs-run-text" title="{esc(run)}" style="white-space:nowrap">'
            f"{badge(run.status)} {esc(run.keys)}"
            f"{f' ({run.count})' if run.count > 1 else ''}"
            f"{' ⚑' if run.checks else ''}</span>"
            for run in runs
        ]
        items += [f"<i>… and {hidden} more runs</i>"] if hidden else []
        return ", ".join(items)

    def _repr_html_(self) -> str:
        headers = ["asset", "status", "partitions"]
        rows = [[esc(a), esc(self.headline(a)), self.runs_html(a)] for a in self.assets()]
        if self._checks_column():
            headers.append("checks")
            for row, asset in zip(rows, self.assets(), strict=True):
                row.append(self.checks_html(asset))
        return html_table(
            headers,
            rows,
            raw_columns=tuple(range(len(headers))),
            css_class="fs-status-report",
        )


def _packed(items: Sequence[str], *, indent: int) -> list[str]:
    """``items`` joined by commas into indented lines of at most :data:`TEXT_WIDTH` characters.

    An item is never split; one longer than a line gets a line of its own.
    """
    lines: list[str] = []
    line = ""
    for item in items:
        joined = f"{line}, {item}" if line else item
        if line and indent + len(joined) + 1 > TEXT_WIDTH:
            lines.append(f"{line},")
            joined = item
        line = joined
    lines.append(line)
    return [" " * indent + text for text in lines]


def _partition_keys(asset: Asset, seen: Iterable[str]) -> list[Any]:
    """The keys to report: the definition's, or those in the catalog for open definitions."""
    definition = asset.partitions
    if definition is None:
        return [None]
    try:
        return list(definition.keys())
    except FlowstoneError:
        return sorted({decode_key(encoded) for encoded in seen}, key=encode_key)


class _StatusComputation:
    def __init__(self, registry: Registry, store: Store, names: Sequence[str]) -> None:
        self.store = store
        self.catalog = store.catalog
        self.assets = {name: registry.get(name) for name in names}
        self.states: Mapping[tuple[str, str], PartitionState] = self.catalog.current(names)
        self.not_fresh: set[Node] = set()
        self.versions: dict[str, str] = {}
        self.checks = registry.checks_for(names)
        self.outcomes = self._check_outcomes() if self.checks else {}

    def _check_outcomes(self) -> dict[str, dict[str, CheckRow]]:
        """The latest outcome of each check of the current values of checked assets, by id."""
        ids = {
            row.id
            for (asset, _), state in self.states.items()
            if asset in self.checks
            for row in (state.success, state.last)
            if row is not None
        }
        found: dict[str, dict[str, CheckRow]] = {}
        for row in self.catalog.latest_checks(ids):
            found.setdefault(row.materialization_id, {})[row.check_name] = row
        return found

    def _failing(self, node: Node, state: PartitionState | None) -> list[tuple[Check, CheckRow]]:
        """The checks defined now that failed on the node's value, with their outcomes.

        The value is its latest attempt's when a check failed that one (a blocking check failed
        the attempt), else its latest success's.
        """
        checks = self.checks.get(node.asset)
        if not checks or state is None:
            return []
        outcomes = self.outcomes.get(state.last.id)
        if not outcomes and state.success is not None:
            outcomes = self.outcomes.get(state.success.id)
        return [
            (check, outcome)
            for check in checks
            if (outcome := (outcomes or {}).get(check.name)) is not None and not outcome.passed
        ]

    def node_status(self, node: Node) -> PartitionStatus:
        state = self.states.get((node.asset, node.encoded))
        effective, reason = self._effective(node, state)
        if not effective:
            self.not_fresh.add(node)
        success = state.success if state else None
        status = "fresh" if effective else ("stale" if success else "missing")
        if state is not None and state.last.status in ("running", "failed"):
            status = state.last.status
            reason = (
                f"{state.last.error_type}: {state.last.error_message}"
                if status == "failed"
                else "materializing now"
            )
        failing = self._failing(node, state)
        blocking = next((check for check, _ in failing if check.blocking), None)
        if status == "fresh" and blocking is not None:  # (a run would fail it: see RunChecks)
            status, reason = "failed", f"blocking check {blocking.name!r} failed"
            self.not_fresh.add(node)
        return PartitionStatus(
            asset=node.asset,
            partition=node.text,
            status=status,
            reason=reason,
            materialization_id=success.id if success else None,
            data_version=success.data_version if success else None,
            updated_at=success.ended_at if success else None,
            checks_failing=tuple(check.name for check, _ in failing),
            check_message=findings((check.name, outcome.message) for check, outcome in failing),
        )

    def _effective(self, node: Node, state: PartitionState | None) -> tuple[bool, str]:
        """Whether the node's latest success is still valid, and why not."""
        asset = self.assets[node.asset]
        success = state.success if state else None
        if success is None:
            return False, "never materialized"
        version = self.versions.get(node.asset)
        if version is None:
            version = self.versions[node.asset] = asset_code_version(asset)
        latest = _LatestSuccess(success, self.catalog)
        upstream = self._upstream(node, asset)
        reason = why_stale(latest, version, upstream, self._check, self.not_fresh)
        return not reason, reason

    def _upstream(self, node: Node, asset: Asset) -> Iterator[tuple[Node, str | None]]:
        """Each upstream partition of ``node`` with its data version now (read as asked)."""
        for item in inputs_of(node, asset, self.assets):
            for up in item.nodes:
                state = self.states.get((up.asset, up.encoded))
                yield up, state.success.data_version if state and state.success else None

    def _check(self, io_manager: str, location: str, stamp: ValueStamp) -> str | None:
        return self.store.io_manager(io_manager).check(location, stamp)


class _LatestSuccess:
    """A latest success as the freshness verdict reads it; its inputs are read when asked."""

    def __init__(self, row: MaterializationRow, catalog: Catalog) -> None:
        self.code_version = row.code_version
        self.io_manager = row.io_manager
        self.location = row.location
        self.data_version = row.data_version
        self.size_bytes = row.size_bytes
        self.modified_ns = row.modified_ns
        self.value_problem = row.value_problem
        self._id = row.id
        self._catalog = catalog

    @functools.cached_property
    def inputs(self) -> frozenset[tuple[str, str, str | None]]:
        """What it consumed: one query, made only when the verdict gets that far."""
        return frozenset(
            (edge.upstream_asset, edge.upstream_partition, edge.upstream_data_version)
            for edge in self._catalog.inputs(self._id)
        )


def compute_status(
    registry: Registry, store: Store, assets: Sequence[str] | None = None
) -> StatusReport:
    """The status of ``assets`` (default: all) and every partition, in dependency order."""
    dag = registry.dag()
    wanted = set(assets) if assets is not None else set(dag.nodes)
    for name in wanted:
        registry.get(name)
    closure = set(wanted)
    frontier = list(wanted)
    while frontier:  # one walk upstream from every wanted asset at once
        for parent in dag.parents[frontier.pop()]:
            if parent not in closure:
                closure.add(parent)
                frontier.append(parent)
    names = [n for n in dag.topological_order(closure) if not dag.missing().get(n)]
    computation = _StatusComputation(registry, store, names)
    seen: dict[str, list[str]] = {}
    for asset, encoded in computation.states:
        seen.setdefault(asset, []).append(encoded)
    rows: list[PartitionStatus] = []
    for name in names:
        for key in _partition_keys(computation.assets[name], seen.get(name, [])):
            node = make_node(name, computation.assets[name].partitions, key)
            row = computation.node_status(node)
            if name in wanted:
                rows.append(row)
    return StatusReport(tuple(rows))
