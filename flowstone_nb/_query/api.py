"""The looking-at-it functions: ``fs.status``, ``fs.lineage``, ``fs.impact``, ``fs.history``.

(``fs.checks`` and ``fs.check_all`` are in :mod:`.checks`.)

Thin wrappers that pick the default registry and store and return the plain-data objects of
:mod:`.status` and :mod:`.lineage`, which render themselves as text and HTML; in a notebook,
:mod:`flowstone_nb._notebook.views` shows them as widgets. Nothing here computes a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flowstone_nb._define.asset import Asset, name_of
from flowstone_nb._define.registry import Registry, resolve_registry
from flowstone_nb._query.checks import check_summaries
from flowstone_nb._query.impact import Impact, compute_impact
from flowstone_nb._query.lineage import (
    Lineage,
    compute_lineage,
    history_frame,
    row_filter,
)
from flowstone_nb._query.status import StatusReport, compute_status
from flowstone_nb._storage.store import get_store

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["forget", "history", "history_page", "impact", "lineage", "status"]


def status(
    asset: Asset | str | None = None,
    *,
    registry: Registry | None = None,
    home: str | None = None,
) -> StatusReport:
    """Report missing / fresh / stale / failed / running per asset and partition.

    Parameters
    ----------
    asset
        One asset (object or name); default: every registered asset.
    registry
        Where assets are defined (default: the kernel registry).
    home
        The store home (default: the configured one).
    """
    names = None if asset is None else [name_of(asset)]
    return compute_status(resolve_registry(registry), get_store(home), names)


def lineage(
    asset: Asset | str,
    partition: Any = None,
    *,
    direction: str = "upstream",
    depth: int | None = None,
    registry: Registry | None = None,
    home: str | None = None,
) -> Lineage:
    """Where an asset partition's current value came from (and where it went).

    Parameters
    ----------
    asset
        The asset (object or name).
    partition
        Its partition key, for partitioned assets.
    direction
        ``"upstream"`` (default), ``"downstream"`` or ``"both"``.
    depth
        How many edges to walk (default: all).
    registry
        Where assets are defined (default: the kernel registry).
    home
        The store home (default: the configured one).
    """
    return compute_lineage(
        resolve_registry(registry),
        get_store(home),
        name_of(asset),
        partition,
        direction=direction,
        depth=depth,
    )


def impact(
    asset: Asset | str, partition: Any = None, *, registry: Registry | None = None
) -> Impact:
    """What would become stale if ``asset`` (at ``partition``) changed.

    Without the asset's definition (after a restart), what consumed its latest value, as the
    catalog recorded it.
    """
    return compute_impact(resolve_registry(registry), name_of(asset), partition, store=get_store())


def history(
    asset: Asset | str | None = None,
    partition: Any = None,
    *,
    limit: int | None = None,
    offset: int = 0,
    registry: Registry | None = None,
    home: str | None = None,
) -> pd.DataFrame:
    """Materializations (successes and failures), newest first, as a pandas DataFrame.

    Each attempt is a row: its ``attempt`` column numbers the attempts of a partition in a run
    (a partition that succeeded on its third attempt is a success with ``attempt`` 3 below two
    failures with 2 and 1, each with its error). Its ``checks`` column says what the data
    checks said of each value (``"2 passed"``, ``"1 of 2 failed: positive"``; ``""`` when none
    ran on it).

    Parameters
    ----------
    asset, partition
        Only the materializations of this asset (object or name), and of this partition.
    limit, offset
        A page: at most ``limit`` rows, after skipping the ``offset`` newest (a long history
        is read a page at a time: each page costs what it holds, not what the catalog holds).
    registry
        Where assets are defined (default: the kernel registry).
    home
        The store home (default: the configured one).
    """
    return history_page(asset, partition, limit=limit, offset=offset, registry=registry, home=home)


def history_page(
    asset: Asset | str | None = None,
    partition: Any = None,
    *,
    limit: int | None = None,
    offset: int = 0,
    statuses: Sequence[str] | None = None,
    registry: Registry | None = None,
    home: str | None = None,
) -> pd.DataFrame:
    """:func:`history`, also of some statuses only (what the history widget asks for)."""
    registry = resolve_registry(registry)
    catalog = get_store(home).catalog
    name, encoded = row_filter(registry, catalog, asset, partition)
    rows = catalog.history(name, encoded, limit=limit, offset=offset, statuses=statuses)
    frame = history_frame(registry, rows)
    frame["checks"] = check_summaries(catalog, rows, name, encoded)
    return frame


def forget(
    asset: Asset | str,
    *,
    purge: bool = False,
    registry: Registry | None = None,
    home: str | None = None,
) -> Asset:
    """Remove an asset's definition from the registry (``%flowstone forget NAME``).

    Parameters
    ----------
    asset
        The asset (object or name).
    purge
        Also delete its catalog rows (history and lineage); stored files stay until
        overwritten. By default the history is kept, so re-defining the asset finds it.
    registry
        Where it is defined (default: the kernel registry).
    home
        The store home (default: the configured one).

    Returns
    -------
    Asset
        The definition that was removed.
    """
    removed = resolve_registry(registry).unregister(name_of(asset))
    if purge:
        get_store(home).catalog.forget(str(removed.name))
    return removed
