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
import itertools
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.collection import collection_paused
from flowstone_nb._core.html import badge, esc, findings, html_table
from flowstone_nb._core.states import RecordStatus
from flowstone_nb._define.code_version import asset_code_version
from flowstone_nb._partitioning import display as key_display
from flowstone_nb._partitioning.display import key_text
from flowstone_nb._query.status_keys import defined_keys, recorded_keys
from flowstone_nb._query.status_rows import (
    EXPLAINED,
    STATUSES,
    AssetStatuses,
    PartitionEntry,
    PartitionStatus,
    StatusRun,
    partition_entry,
)
from flowstone_nb._run.freshness import stale_by_definition, stale_by_value
from flowstone_nb._run.plan import Node, make_nodes, partition_mapping

if TYPE_CHECKING:
    import pandas as pd

    from flowstone_nb._define.asset import Asset
    from flowstone_nb._define.data_checks import Check
    from flowstone_nb._define.registry import Registry
    from flowstone_nb._storage.catalog import CheckRow
    from flowstone_nb._storage.catalog.status_reads import PartitionLatest
    from flowstone_nb._storage.io import IOManager
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

    def keys(self) -> list[str]:
        """Every partition's text, each once, asset by asset in dependency order (no rows made)."""
        texts = (text for found in self._by_asset.values() for text in found.key_texts)
        return [text for text in dict.fromkeys(texts) if text]

    def size(self, asset: str) -> int:
        """How many partitions ``asset`` has in the report (1 when unpartitioned, 0 if absent)."""
        found = self._by_asset.get(asset)
        return 0 if found is None else len(found.entries)

    def statuses_present(self) -> list[str]:
        """The statuses some partition has, in the order first met (no rows made)."""
        return list(dict.fromkeys(s for found in self._by_asset.values() for s in found.counts))

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

    def flagged(self) -> bool:
        """Whether some partition's data checks fail (then the HTML view has a checks column)."""
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
        if self.flagged():
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
    """The partitions found not fresh, by asset and encoded key (what ``why_stale`` asks).

    Each asset's verdicts are handed over whole; the keys that are not fresh are picked out
    only for an asset some other asset consumes, when first asked.
    """

    def __init__(self) -> None:
        self._judged: dict[str, tuple[Sequence[str], Sequence[str]]] = {}
        self._keys: dict[str, frozenset[str]] = {}

    def add(self, asset: str, encoded: Sequence[str], statuses: Sequence[str]) -> None:
        """The verdicts of every partition of ``asset`` (stored keys, then statuses)."""
        self._judged[asset] = (encoded, statuses)
        self._keys.pop(asset, None)

    def __contains__(self, node: object) -> bool:
        return isinstance(node, Node) and node.encoded in self._of(node.asset)

    def _of(self, asset: str) -> frozenset[str]:
        """The keys of ``asset`` found not fresh (picked out on first use)."""
        keys = self._keys.get(asset)
        if keys is None:
            encoded, statuses = self._judged.get(asset, ((), ()))
            keys = self._keys[asset] = frozenset(
                code for code, status in zip(encoded, statuses, strict=True) if status != "fresh"
            )
        return keys


_NEVER = "never materialized"
_RUNNING_NOW, _FAILED_NOW = str(RecordStatus.RUNNING), str(RecordStatus.FAILED)
_NO_CHECKS: tuple[str, ...] = ()
_new_entry = functools.partial(tuple.__new__, PartitionEntry)  # (from a tuple in field order)


class _StatusComputation:
    """The verdicts of one report, asset by asset in dependency order (upstream first)."""

    def __init__(self, registry: Registry, store: Store, names: Sequence[str]) -> None:
        self.store = store
        self.catalog = store.catalog
        self.assets = {name: registry.get(name) for name in names}
        # The keys to report: those of each definition (the catalog is asked for them alone),
        # or, for an open one, those recorded.
        self.keys = {name: defined_keys(self.assets[name].partitions) for name in names}
        asked = {name: None if keys is None else keys[1] for name, keys in self.keys.items()}
        self.latest = self.catalog.newest(asked)
        self.not_fresh = _NotFresh()
        self.checks = registry.checks_for(names)
        self.outcomes = self._check_outcomes() if self.checks else {}
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
        """Every partition of ``name`` judged (its upstream assets must be judged before).

        By :func:`why_stale`'s rule, in two halves: each partition's code and inputs first
        (:func:`stale_by_definition`), then the stored values of those that passed, checked
        together by their IO managers (:func:`stale_by_value`).
        """
        asset = self.assets[name]
        definition = asset.partitions
        found = self.latest.get(name, {})
        keys, encoded = self.keys[name] or recorded_keys(found)
        states = list(map(found.get, encoded)) if found else [None] * len(keys)
        statuses, reasons = self._verdicts(name, asset, keys, states)
        successes = [None if s is None or s.id is None else s for s in states]
        entries = list(
            map(
                _new_entry,
                zip(keys, statuses, reasons, repeat(_NO_CHECKS), repeat(""), successes),
            )
        )
        if name in self.checks:
            for index, state in enumerate(states):
                if state is not None:
                    entries[index] = entry = self._checked(name, entries[index], state)
                    statuses[index] = entry.status
        self.not_fresh.add(name, encoded, statuses)
        text = functools.partial(key_text, definition)
        texts = functools.partial(key_display.key_texts, definition)
        return AssetStatuses(name, entries, text, partitioned=definition is not None, texts=texts)

    def _verdicts(
        self,
        name: str,
        asset: Asset,
        keys: Sequence[Any],
        states: Sequence[PartitionLatest | None],
    ) -> tuple[list[str], list[str]]:
        """The status and reason of each partition, whose newest attempt and success are given."""
        statuses, reasons, judged = _by_attempts(states)
        if not judged:
            return statuses, reasons
        version = asset_code_version(asset)
        feeds = self._feeds(name, asset, [keys[index] for index in judged])
        # Without upstream, partitions of one code version and one set of inputs consumed get
        # one verdict of their definition: asked once.
        said: dict[tuple[str | None, frozenset[tuple[str, str, str | None]]], str] = {}
        unsure: list[int] = []  # partitions whose stored value decides
        for index, feed in zip(judged, feeds, strict=True):
            state = states[index]
            assert state is not None
            if feed:
                reason = stale_by_definition(state, version, feed, self.not_fresh)
            else:
                seen = (state.code_version, state.inputs)
                known = said.get(seen)
                if known is None:
                    known = said[seen] = stale_by_definition(state, version, ())
                reason = known
            if not reason and state.value_problem is not None:
                reason = stale_by_value(state.value_problem)
            if reason:
                statuses[index], reasons[index] = "stale", reason
            else:
                unsure.append(index)
        if unsure:
            checked = [state for index in unsure if (state := states[index]) is not None]
            for index, problem in zip(unsure, self._problems(checked), strict=True):
                if problem is not None:
                    statuses[index], reasons[index] = "stale", stale_by_value(problem)
        return statuses, reasons

    def _feeds(
        self, name: str, asset: Asset, keys: Sequence[Any]
    ) -> list[tuple[tuple[Node, str | None], ...]]:
        """What each of ``keys`` of ``name`` consumes now, in input order.

        Every upstream partition (by the dependency's partition mapping, asked for all keys at
        once), with the data version of its value now.
        """
        columns: list[Sequence[tuple[tuple[Node, str | None], ...]]] = []
        for dep_name in asset.depends_on:
            dep = self.assets[dep_name]
            found = self.latest.get(dep_name, {})
            up_def = dep.partitions
            if up_def is None:  # the same single value for every partition
                state = found.get("")
                pair = (Node(dep_name, None, ""), None if state is None else state.data_version)
                columns.append([(pair,)] * len(keys))
                continue
            mapping = partition_mapping(asset, dep)
            upstream = mapping.upstream_keys_many(
                asset.partitions, keys, up_def, downstream=name, upstream=dep_name
            )
            wanted = list(dict.fromkeys(key for up_keys in upstream for key in up_keys or ()))
            made = {}
            for node in make_nodes(dep_name, up_def, wanted):
                state = found.get(node.encoded)
                made[node.key] = (node, None if state is None else state.data_version)
            columns.append([tuple(map(made.__getitem__, up_keys or ())) for up_keys in upstream])
        if not columns:
            return [()] * len(keys)
        return [tuple(itertools.chain.from_iterable(row)) for row in zip(*columns, strict=True)]

    def _problems(self, values: Sequence[PartitionLatest]) -> list[str | None]:
        """What checking each stored value found, by its IO manager's ``check_many``."""
        names = {value.io_manager for value in values}
        if len(names) == 1:
            return self._manager(str(names.pop())).check_many(values)
        by_manager: dict[str, list[int]] = {}
        for place, value in enumerate(values):
            by_manager.setdefault(str(value.io_manager), []).append(place)
        found: list[str | None] = [None] * len(values)
        for name, places in by_manager.items():
            problems = self._manager(name).check_many([values[place] for place in places])
            for place, problem in zip(places, problems, strict=True):
                found[place] = problem
        return found

    def _manager(self, name: str) -> IOManager:
        manager = self._managers.get(name)
        if manager is None:
            manager = self._managers[name] = self.store.io_manager(name)
        return manager

    def _checked(self, name: str, entry: PartitionEntry, state: PartitionLatest) -> PartitionEntry:
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
        return entry


def _by_attempts(
    states: Sequence[PartitionLatest | None],
) -> tuple[list[str], list[str], list[int]]:
    """Each partition's status and reason as its newest attempt says, and which to judge.

    Those to judge (their places in ``states``) are the partitions whose newest success
    decides; they are said fresh until judged.
    """
    statuses: list[str] = []
    reasons: list[str] = []
    judged: list[int] = []
    for index, state in enumerate(states):
        if state is None:
            statuses.append("missing")
            reasons.append(_NEVER)
            continue
        last = state.last_status  # (None: its newest attempt is its newest success)
        if last == _RUNNING_NOW:
            statuses.append(last)
            reasons.append("materializing now")
        elif last == _FAILED_NOW:
            statuses.append(last)
            reasons.append(f"{state.last_error_type}: {state.last_error_message}")
        elif state.id is None:  # (no success: newer attempts only pending, if any)
            statuses.append("missing")
            reasons.append(_NEVER)
        else:  # its newest success, newer attempts only pending if any
            statuses.append("fresh")
            reasons.append("")
            judged.append(index)
    return statuses, reasons, judged


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
    with collection_paused():  # (tens of thousands of acyclic tuples, see collection_paused)
        computation = _StatusComputation(registry, store, names)
        judged = [computation.statuses_of(name) for name in names]
    return StatusReport.of_assets(found for found in judged if found.asset in wanted)
