"""Freshness of every asset partition: missing, fresh, stale, failed or running — as plain data.

:func:`compute_status` compares the catalog with the definitions as they are now: a partition is
*fresh* when its latest success can be reused as it is, by the rule a run applies
(:func:`~flowstone_nb._run.freshness.why_stale`), and its upstream partitions are fresh. The data
checks defined now say what they last found of a partition's value: a failing check is named on
its row (a fresh value stays fresh), a failing blocking check makes it failed, as a run would.
The :class:`StatusReport` is plain data with a text and an HTML view; widgets render the same data.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.html import badge, esc, html_table, text_table
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

__all__ = ["PartitionStatus", "StatusReport", "compute_status"]

STATUSES = ("fresh", "stale", "missing", "failed", "running")


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
        if len(rows) == 1 and rows[0].partition == "":
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
        rows = self.for_asset(asset)
        if len(rows) == 1 and rows[0].partition == "":
            return rows[0].status
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

    @property
    def _headers(self) -> list[str]:
        """The table's columns: ``checks`` only when some check fails."""
        shown = ["asset", "partition", "status", "reason"]
        return [*shown, "checks"] if any(r.checks_failing for r in self.rows) else shown

    def _table_rows(self) -> list[list[object]]:
        width = len(self._headers)
        cells: list[list[object]] = [
            [r.asset, r.partition or "—", r.status, r.reason, r.check_message] for r in self.rows
        ]
        return [row[:width] for row in cells]

    def __repr__(self) -> str:
        if not self.rows:
            return "StatusReport(no assets)"
        return text_table(self._headers, self._table_rows())

    def _repr_html_(self) -> str:
        headers = self._headers
        cells = (
            [
                esc(r.asset),
                esc(r.partition or "—"),
                badge(r.status),
                esc(r.reason),
                esc(r.check_message),
            ]
            for r in self.rows
        )
        rows = [row[: len(headers)] for row in cells]
        return html_table(
            headers,
            rows,
            raw_columns=tuple(range(len(headers))),
            css_class="fs-status-report",
        )


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
            check_message="; ".join(
                f"{check.name}: {outcome.message or 'failed'}" for check, outcome in failing
            ),
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
