"""Looking after the stored values: ``fs.verify`` re-hashes them, ``fs.prune`` removes old ones.

:func:`verify` checks every stored value of the catalog (or of one asset) byte for byte against
the data version it was stored with, records what it finds wrong on each materialization (so that
the status no longer calls it fresh, loading it refuses it, and the next materialize computes it
again) and clears what it recorded once a value is good again (restored from a backup, written
again). :func:`prune` removes the values that no kept materialization needs: kept are the
``keep`` newest successes of each partition and, all the way upstream, every materialization
they consumed (lineage stays loadable). Both answer from the catalog alone: they need no
definitions (after a restart, before any cell ran). Values of the memory IO manager live and die
with their process: they are not checked. This module decides what to check and what to remove;
the IO managers check and delete, the catalog records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowstone_nb._core.errors import FlowstoneError, StoreError, did_you_mean
from flowstone_nb._core.html import esc, html_table, subject, text_table
from flowstone_nb._core.states import RecordStatus
from flowstone_nb._define.asset import Asset, name_of
from flowstone_nb._define.registry import Registry, resolve_registry
from flowstone_nb._query.lineage import KeyTexts
from flowstone_nb._storage.io.stamps import PRUNED, stamp_of
from flowstone_nb._storage.store import Store, get_store

if TYPE_CHECKING:
    from flowstone_nb._storage.catalog import MaterializationRow

__all__ = ["DamagedValue", "PruneReport", "VerifyReport", "prune", "verify"]

_MEMORY = "memory"


@dataclass(frozen=True)
class DamagedValue:
    """A stored value that is not what was stored.

    Attributes
    ----------
    asset
        Its asset.
    partition
        Its partition key as text (``""`` when unpartitioned).
    path
        Its file (or location).
    problem
        What is wrong (``"is missing"``, ``"was modified: ..."``).
    materializations
        The ids of the materializations that recorded it.
    """

    asset: str
    partition: str
    path: str
    problem: str
    materializations: tuple[str, ...]


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found: how many values it checked, and the damaged ones.

    Attributes
    ----------
    home
        The store home.
    checked
        The number of stored values (files) re-hashed.
    damaged
        The values that are not what was stored, by asset and partition.
    """

    home: str
    checked: int
    damaged: tuple[DamagedValue, ...]

    @property
    def ok(self) -> bool:
        """Whether every value checked is what was stored."""
        return not self.damaged

    def _headline(self) -> str:
        if self.ok:
            return f"Verified {self.checked} stored value(s) in {self.home}: no damaged value."
        return (
            f"Verified {self.checked} stored value(s) in {self.home}: {len(self.damaged)} "
            "damaged. They are no longer fresh: the next materialize computes them again."
        )

    def _rows(self) -> list[tuple[str, str, str]]:
        return [(subject(d.asset, d.partition), d.path, d.problem) for d in self.damaged]

    def __repr__(self) -> str:
        if self.ok:
            return self._headline()
        return f"{self._headline()}\n{text_table(('value', 'file', 'problem'), self._rows())}"

    def _repr_html_(self) -> str:
        table = html_table(("value", "file", "problem"), self._rows()) if self.damaged else ""
        return f'<div class="fs-verify"><p>{esc(self._headline())}</p>{table}</div>'


@dataclass(frozen=True)
class PruneReport:
    """What :func:`prune` removed.

    Attributes
    ----------
    home
        The store home.
    keep
        How many successes of each partition were kept.
    removed
        The number of stored values (files) removed.
    bytes_freed
        Their size, as recorded when they were stored (values of unknown size count 0).
    by_asset
        Asset -> the number of its values removed.
    """

    home: str
    keep: int
    removed: int
    bytes_freed: int
    by_asset: dict[str, int]

    def _headline(self) -> str:
        kept = f"kept the newest {self.keep} per partition and what their lineage needs"
        if not self.removed:
            return f"Pruned {self.home}: nothing to remove ({kept})."
        assets = ", ".join(f"{asset} ({n})" for asset, n in sorted(self.by_asset.items()))
        return (
            f"Pruned {self.home}: removed {self.removed} value(s), freeing "
            f"{_size_text(self.bytes_freed)} ({kept}). Assets: {assets}."
        )

    def __repr__(self) -> str:
        return self._headline()

    def _repr_html_(self) -> str:
        return f'<div class="fs-prune"><p>{esc(self._headline())}</p></div>'


def _size_text(size: int) -> str:
    amount = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError  # pragma: no cover  # (the loop always returns)


def _assets(asset: Asset | str | None, store: Store, registry: Registry) -> list[str] | None:
    """The names to look after (``None``: all); a name must have something stored."""
    if asset is None:
        return None
    name = name_of(asset)
    if not store.catalog.history(name, limit=1):
        known = sorted({*registry.names(), *(row.asset for row in store.catalog.history())})
        raise FlowstoneError(
            f"Asset {name!r} has nothing stored in the store {store.home!r}: check the name."
            f"{did_you_mean(name, known)}"
        )
    return [name]


def _by_value(
    rows: Iterable[MaterializationRow],
) -> dict[tuple[str, str], list[MaterializationRow]]:
    """Rows grouped by their stored value (equal content is stored once: rows share files)."""
    values: dict[tuple[str, str], list[MaterializationRow]] = {}
    for row in rows:
        if row.location is not None and row.io_manager not in (None, _MEMORY):
            values.setdefault((str(row.io_manager), row.location), []).append(row)
    return values


def verify(
    asset: Asset | str | None = None,
    *,
    registry: Registry | None = None,
    home: str | None = None,
) -> VerifyReport:
    """Re-hash every stored value (or one asset's) and name each one that is not what was stored.

    A damaged value (changed, cut short, missing) is recorded as such: the status no longer
    calls it fresh, ``fs.load`` refuses it, and the next materialize computes it again. A value
    found damaged before and good now (restored, written again) is cleared.

    Parameters
    ----------
    asset
        One asset (object or name); default: every asset the catalog knows.
    registry
        Where assets are defined, for how their partition keys read (default: the kernel's).
    home
        The store home (default: the configured one).

    Returns
    -------
    VerifyReport
        How many values were checked, and the damaged ones.
    """
    definitions = resolve_registry(registry)
    store = get_store(home)
    names = _assets(asset, store, definitions)
    rows = store.catalog.history(
        None if names is None else names[0], statuses=[RecordStatus.SUCCESS]
    )
    values = _by_value(row for row in rows if row.value_problem != PRUNED)
    findings: dict[str, str | None] = {}
    damaged: list[DamagedValue] = []
    text = KeyTexts(definitions)
    for (io_manager, location), sharing in values.items():
        manager = store.io_manager(io_manager)
        problem = manager.check(location, stamp_of(sharing[0]), rehash=True)
        for row in sharing:
            if problem is not None or row.value_problem is not None:
                findings[row.id] = problem
        if problem is not None:
            damaged += _damaged(sharing, manager.where(location), problem, text)
    store.catalog.mark_value_problems(findings)
    damaged.sort(key=lambda d: (d.asset, d.partition, d.path))
    return VerifyReport(store.home, len(values), tuple(damaged))


def _damaged(
    sharing: Sequence[MaterializationRow], path: str, problem: str, text: KeyTexts
) -> list[DamagedValue]:
    """One finding per asset partition whose value is the damaged file."""
    found: dict[tuple[str, str], list[str]] = {}
    for row in sharing:
        found.setdefault((row.asset, row.partition), []).append(row.id)
    return [
        DamagedValue(asset, text(asset, encoded), path, problem, tuple(ids))
        for (asset, encoded), ids in found.items()
    ]


def prune(
    asset: Asset | str | None = None,
    *,
    keep: int = 1,
    registry: Registry | None = None,
    home: str | None = None,
) -> PruneReport:
    """Remove the stored values that no kept materialization needs, and say what was freed.

    Kept are the ``keep`` newest successes of each partition and, all the way upstream, every
    materialization they consumed: the lineage of what is kept stays loadable. A file that a
    kept materialization shares with an old one (equal content is stored once) stays. The
    catalog keeps every row (history is not rewritten); the rows whose values were removed say
    so, and loading them names ``fs.prune``.

    Parameters
    ----------
    asset
        Remove only values of this asset (what is kept is judged over every asset).
    keep
        How many successes of each partition to keep (at least 1).
    registry
        Where assets are defined (default: the kernel's; only names are looked up).
    home
        The store home (default: the configured one).

    Raises
    ------
    FlowstoneError
        ``keep`` is not a positive whole number, or ``asset`` has nothing stored.
    StoreError
        A run is in progress on this home (a value it is storing could be one that looks
        unneeded): nothing is removed.
    """
    if type(keep) is not int or keep < 1:
        raise FlowstoneError(
            f"fs.prune(keep={keep!r}) is not allowed: keep is how many successes of each "
            "partition to keep, a whole number at least 1."
        )
    store = get_store(home)
    catalog = store.catalog
    names = _assets(asset, store, resolve_registry(registry))
    catalog.recover_interrupted()  # runs of processes that died are not in progress
    for run in catalog.runs():
        if run.status == RecordStatus.RUNNING:
            raise StoreError(
                f"A run is in progress on the store {store.home!r} (run {run.run_id!r}, "
                f"{run.kind} of {', '.join(run.targets)}, pid {run.pid} on {run.host}): prune "
                "when it has ended; nothing was removed."
            )
    values = _by_value(catalog.prunable(names, keep=keep, pruned=PRUNED))
    freed = 0
    by_asset: dict[str, int] = {}
    for (io_manager, location), sharing in values.items():
        store.io_manager(io_manager).delete(location)
        freed += sharing[0].size_bytes or 0
        by_asset[sharing[0].asset] = by_asset.get(sharing[0].asset, 0) + 1
    catalog.mark_value_problems({row.id: PRUNED for rows in values.values() for row in rows})
    return PruneReport(store.home, keep, len(values), freed, by_asset)
