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
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.html import badge, esc, findings, html_table
from flowstone_nb._core.states import RecordStatus
from flowstone_nb._define.code_version import asset_code_version
from flowstone_nb._partitioning.display import key_text
from flowstone_nb._partitioning.keys import decode_key, encode_key, encode_keys
from flowstone_nb._query.status_rows import (
    EXPLAINED,
    STATUSES,
    AssetStatuses,
    PartitionEntry,
    PartitionStatus,
    StatusRun,
    partition_entry,
)
from flowstone_nb._run.freshness import why_stale
from flowstone_nb._run.plan import Input, Node, inputs_of, make_node

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

    from flowstone_nb._define.asset import Asset
    from flowstone_nb._define.data_checks import Check
    from flowstone_nb._define.registry import Registry
    from flowstone_nb._partitioning.base import PartitionsDefinition
    from flowstone_nb._storage.catalog import CheckRow
    from flowstone_nb._storage.catalog.status_reads import PartitionLatest
    from flowstone_nb._storage.io import IOManager, ValueStamp
    from flowstone_nb._storage.store import Store

__all__ = ["RUNS_SHOWN", "PartitionStatus", "StatusReport", "StatusRun", "compute_status"]

#: Runs listed per asset in the text and HTML views; the rest are counted.
RUNS_SHOWN = 12
#: Width the text view wraps an asset's runs at.
TEXT_WIDTH = 100


class StatusReport:
    """Status per asset and partition, in dependency order.

    Parameters
    ----------
    rows
        One :class:`PartitionStatus` per partition (what ``fs.status`` computes is kept
        compact instead, see :mod:`.status_rows`: its rows are made when first asked for).
    """

    def __init__(self, rows: Iterable[PartitionStatus] = ()) -> None:
        given = tuple(rows)
        self._rows: tuple[PartitionStatus, ...] | None = given
        self._given: tuple[PartitionStatus, ...] | None = given
        self._statuses: dict[str, AssetStatuses] | None = None

    @classmethod
    def of_assets(cls, statuses: Iterable[AssetStatuses]) -> StatusReport:
        """A report of the statuses of some assets, in dependency order."""
        report = cls()
        report._rows = None
        report._given = None
        report._statuses = {found.asset: found for found in statuses}
        return report

    @property
    def _by_asset(self) -> dict[str, AssetStatuses]:
        if self._statuses is None:
            grouped: dict[str, list[PartitionStatus]] = {}
            for row in self._given or ():
                grouped.setdefault(row.asset, []).append(row)
            self._statuses = {a: AssetStatuses.of_rows(a, rows) for a, rows in grouped.items()}
        return self._statuses

    @property
    def rows(self) -> tuple[PartitionStatus, ...]:
        """Every partition's :class:`PartitionStatus`, asset by asset in dependency order."""
        if self._rows is None:
            self._rows = tuple(row for found in self._by_asset.values() for row in found.rows)
        return self._rows

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusReport):
            return NotImplemented
        return self.rows == other.rows

    def __hash__(self) -> int:
        return hash(self.rows)

    def for_asset(self, asset: str) -> list[PartitionStatus]:
        """The rows of one asset."""
        found = self._by_asset.get(asset)
        return [] if found is None else list(found.rows)

    def __getitem__(self, asset: str) -> str | dict[str, str]:
        """``report["x"]``: the status of an unpartitioned asset, or ``{partition: status}``."""
        found = self._by_asset.get(asset)
        if found is None or not found.entries:
            raise KeyError(asset)
        if not found.partitioned:
            return found.entries[0].status
        return found.statuses()

    def counts(self) -> dict[str, dict[str, int]]:
        """Per asset, how many partitions have each status."""
        return {
            asset: dict(found.counts) for asset, found in self._by_asset.items() if found.counts
        }

    def summary(self, asset: str) -> str:
        """One phrase per asset: ``"fresh"``, or ``"28/31 fresh, 3 stale"`` for partitions."""
        found = self._by_asset[asset]
        if not found.partitioned:
            return found.entries[0].status
        counts = found.counts
        total = len(found.entries)
        parts = [f"{counts.get('fresh', 0)}/{total} fresh"]
        parts += [f"{counts[s]} {s}" for s in STATUSES[1:] if counts.get(s)]
        return ", ".join(parts)

    def overall(self, asset: str) -> str:
        """One status for the asset: failed > running > stale, then fresh if any partition is.

        A partitioned asset with some fresh and some missing partitions reads ``fresh`` (its
        summary says how many are missing); ``missing`` means nothing is materialized.
        """
        found = self._by_asset.get(asset)
        counts = found.counts if found is not None else {}
        for status in ("failed", "running", "stale", "fresh"):
            if status in counts:
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
        found = self._by_asset.get(asset)
        return True if found is None else found.partitioned

    def runs(self, asset: str) -> list[StatusRun]:
        """``asset``'s partitions as runs of consecutive keys with one status and reason."""
        found = self._by_asset.get(asset)
        return [] if found is None else list(found.runs)

    def assets(self) -> list[str]:
        """The assets reported, in dependency order."""
        return list(self._by_asset)

    def headline(self, asset: str) -> str:
        """:meth:`summary`, with the reason of an unpartitioned stale or failed asset.

        Failing data checks are counted (partitions), or said (an unpartitioned asset).
        """
        summary = self.summary(asset)
        found = self._by_asset[asset]
        if found.partitioned:
            failing = len(found.failing)
            return f"{summary}, {failing} with failing checks" if failing else summary
        entry = found.entries[0]
        if entry.reason and summary in EXPLAINED:
            summary = f"{summary} — {entry.reason}"
        return (
            f"{summary} — failing checks: {entry.check_message}"
            if entry.checks_failing
            else summary
        )

    def _checks_column(self) -> bool:
        """Whether the HTML view has a ``checks`` column: only when some check fails."""
        return any(found.failing for found in self._by_asset.values())

    def checks_html(self, asset: str) -> str:
        """What ``asset``'s failing checks said, each once, as HTML."""
        said = dict.fromkeys(entry.check_message for entry in self._by_asset[asset].failing)
        return "; ".join(esc(message) for message in said)

    def shown_runs(self, asset: str) -> tuple[list[StatusRun], int]:
        """The first :data:`RUNS_SHOWN` runs of ``asset``, and how many more there are."""
        runs = self.runs(asset) if self.partitioned(asset) else []
        return runs[:RUNS_SHOWN], max(0, len(runs) - RUNS_SHOWN)

    def __repr__(self) -> str:
        """Per asset, its counts, then its partitions as runs of keys (wrapped, indented)."""
        assets = self.assets()
        if not assets:
            return "StatusReport(no assets)"
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


class _NotFresh:
    """The partitions found not fresh, by asset and encoded key (what ``why_stale`` asks)."""

    def __init__(self) -> None:
        self.keys: set[tuple[str, str]] = set()

    def __contains__(self, node: object) -> bool:
        return isinstance(node, Node) and (node.asset, node.encoded) in self.keys


_NEVER = "never materialized"
_NO_CHECKS: tuple[str, ...] = ()


class _StatusComputation:
    """The verdicts of one report, asset by asset in dependency order (upstream first)."""

    def __init__(self, registry: Registry, store: Store, names: Sequence[str]) -> None:
        self.store = store
        self.catalog = store.catalog
        self.assets = {name: registry.get(name) for name in names}
        # The keys to report: those of each definition (the catalog is asked for them alone),
        # or, for an open one, those recorded.
        self.keys = {name: _defined_keys(self.assets[name].partitions) for name in names}
        asked = {name: None if keys is None else keys[1] for name, keys in self.keys.items()}
        self.latest = self.catalog.newest(asked)
        self.not_fresh = _NotFresh()
        self.checks = registry.checks_for(names)
        self.outcomes = self._check_outcomes() if self.checks else {}
        self._whole: dict[str, Input] = {}  # inputs of unpartitioned dependencies, shared
        self._managers: dict[str, IOManager] = {}

    def _check_outcomes(self) -> dict[str, dict[str, CheckRow]]:
        """The latest outcome of each check of the current values of checked assets, by id."""
        ids = {
            found
            for asset in self.checks
            for state in self.latest.get(asset, {}).values()
            for found in (state.id, state.last_id)
            if found is not None
        }
        outcomes: dict[str, dict[str, CheckRow]] = {}
        for row in self.catalog.latest_checks(ids):
            outcomes.setdefault(row.materialization_id, {})[row.check_name] = row
        return outcomes

    def _failing(self, asset: str, state: PartitionLatest) -> list[tuple[Check, CheckRow]]:
        """The checks defined now that failed on the partition's value, with their outcomes.

        The value is its latest attempt's when a check failed that one (a blocking check failed
        the attempt), else its latest success's.
        """
        outcomes = self.outcomes.get(state.last_id) if state.last_id is not None else None
        if not outcomes and state.id is not None:
            outcomes = self.outcomes.get(state.id)
        return [
            (check, outcome)
            for check in self.checks[asset]
            if (outcome := (outcomes or {}).get(check.name)) is not None and not outcome.passed
        ]

    def statuses_of(self, name: str) -> AssetStatuses:
        """Every partition of ``name`` judged (its upstream assets must be judged before)."""
        asset = self.assets[name]
        definition = asset.partitions
        found = self.latest.get(name, {})
        keys, encoded = self.keys[name] or _recorded_keys(found)
        version = asset_code_version(asset) if found else ""
        judge = functools.partial(self._judge, name, asset, version, name in self.checks)
        entries = [judge(k, e, found.get(e)) for k, e in zip(keys, encoded, strict=True)]
        text = functools.partial(key_text, definition)
        return AssetStatuses(name, entries, text, partitioned=definition is not None)

    def _judge(  # noqa: PLR0917  # positional: called once per partition
        self,
        name: str,
        asset: Asset,
        version: str,
        checked: bool,
        key: Any,
        encoded: str,
        state: PartitionLatest | None,
    ) -> PartitionEntry:
        """The entry of one partition, whose newest attempt and success are ``state``."""
        if state is None:
            self.not_fresh.keys.add((name, encoded))
            return partition_entry(key, "missing", _NEVER, _NO_CHECKS, "", None)
        success = state if state.id is not None else None
        last = state.last_status  # (None: the newest attempt is the newest success)
        if last == RecordStatus.RUNNING:
            status, reason = last, "materializing now"
        elif last == RecordStatus.FAILED:
            status, reason = last, f"{state.last_error_type}: {state.last_error_message}"
        elif success is None:
            status, reason = "missing", _NEVER
        else:
            upstream = self._upstream(name, asset, key) if asset.depends_on else ()
            reason = why_stale(success, version, upstream, self._check, self.not_fresh)
            status = "stale" if reason else "fresh"
        if checked:
            return self._checked(
                name, encoded, partition_entry(key, status, reason, _NO_CHECKS, "", success), state
            )
        if status != "fresh":
            self.not_fresh.keys.add((name, encoded))
        return partition_entry(key, status, reason, _NO_CHECKS, "", success)

    def _checked(
        self, name: str, encoded: str, entry: PartitionEntry, state: PartitionLatest
    ) -> PartitionEntry:
        """``entry`` with what the checks defined now said of its value.

        A run would fail a fresh value whose blocking check failed (see ``RunChecks``): so does
        the report.
        """
        failing = self._failing(name, state)
        if failing:
            status, reason = entry.status, entry.reason
            blocking = next((check for check, _ in failing if check.blocking), None)
            if status == "fresh" and blocking is not None:
                status, reason = "failed", f"blocking check {blocking.name!r} failed"
            said = findings((check.name, found.message) for check, found in failing)
            names = tuple(check.name for check, _ in failing)
            entry = partition_entry(entry.key, status, reason, names, said, entry.success)
        if entry.status != "fresh":
            self.not_fresh.keys.add((name, encoded))
        return entry

    def _upstream(self, name: str, asset: Asset, key: Any) -> Iterator[tuple[Node, str | None]]:
        """Each upstream partition of one partition, with its data version now (read as asked)."""
        node = make_node(name, asset.partitions, key)
        for item in inputs_of(node, asset, self.assets, self._whole):
            for up in item.nodes:
                state = self.latest.get(up.asset, {}).get(up.encoded)
                yield up, None if state is None else state.data_version

    def _check(self, io_manager: str, location: str, stamp: ValueStamp) -> str | None:
        manager = self._managers.get(io_manager)
        if manager is None:
            manager = self._managers[io_manager] = self.store.io_manager(io_manager)
        return manager.check(location, stamp)


def _defined_keys(definition: PartitionsDefinition | None) -> tuple[list[Any], list[str]] | None:
    """The keys of a definition and their stored forms (``None``: an open definition)."""
    if definition is None:
        return [None], [""]
    try:
        keys = list(definition.keys())
    except FlowstoneError:
        return None
    return keys, encode_keys(keys)


def _recorded_keys(found: Mapping[str, PartitionLatest]) -> tuple[list[Any], list[str]]:
    """The keys recorded in the catalog, in key order (for an open definition)."""
    keys = sorted({decode_key(encoded) for encoded in found}, key=encode_key)
    return keys, [encode_key(key) for key in keys]


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
    judged = [computation.statuses_of(name) for name in names]
    return StatusReport.of_assets(found for found in judged if found.asset in wanted)
