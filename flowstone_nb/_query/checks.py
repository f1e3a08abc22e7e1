"""Data check outcomes as the user asks for them: ``fs.checks``, ``fs.check_all``, history's column.

:func:`checks` returns the recorded outcomes as a DataFrame, partitions in the user's key form.
:func:`check_all` runs the checks that have no outcome at their code version now (a new or edited
check; with ``force``, all; with ``check``, that one only) on the stored latest value of every
partition, without computing anything, and records them in a run of their own through the run's
recorder (``%%check`` runs its check so).
:func:`check_summaries` is the ``checks`` column of ``fs.history``. Running a check is
:mod:`flowstone_nb._run.checks`'s; this module decides what to run and how outcomes read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError, StoreError, did_you_mean
from flowstone_nb._core.states import RecordStatus
from flowstone_nb._define.asset import Asset, name_of
from flowstone_nb._define.registry import Registry, resolve_registry
from flowstone_nb._partitioning.display import stored_key_text
from flowstone_nb._partitioning.keys import decode_key
from flowstone_nb._query.lineage import KeyTexts, row_filter
from flowstone_nb._run.checks import check_versions, due_checks, run_checks
from flowstone_nb._run.plan import Node
from flowstone_nb._run.prepare import make_context
from flowstone_nb._run.recorder import Recorder
from flowstone_nb._storage.config import settings
from flowstone_nb._storage.io.stamps import stamp_of
from flowstone_nb._storage.store import get_store

if TYPE_CHECKING:
    import pandas as pd

    from flowstone_nb._define.data_checks import Check
    from flowstone_nb._storage.catalog import Catalog, CheckRow, MaterializationRow
    from flowstone_nb._storage.store import Store

__all__ = ["CHECK_COLUMNS", "check_all", "check_summaries", "checks", "checks_frame"]

_log = logging.getLogger("flowstone_nb.checks")

#: The columns of ``fs.checks`` (and of what ``fs.check_all`` returns), in order.
CHECK_COLUMNS = [
    "asset",
    "partition",
    "check",
    "passed",
    "blocking",
    "message",
    "metadata",
    "started",
    "duration_s",
    "run_id",
    "materialization_id",
    "code_version",
    "traceback",
]


def checks_frame(registry: Registry, rows: Iterable[CheckRow]) -> pd.DataFrame:
    """Check outcomes as a DataFrame (:data:`CHECK_COLUMNS`), partitions as the user writes them."""
    import pandas as pd

    shown = KeyTexts(registry)
    frame = pd.DataFrame(
        [
            [
                row.asset,
                shown(row.asset, row.partition),
                row.check_name,
                row.passed,
                row.blocking,
                row.message,
                None if row.metadata is None else json.loads(row.metadata),
                row.started_at,
                row.duration,
                row.run_id,
                row.materialization_id,
                row.code_version,
                row.traceback,
            ]
            for row in rows
        ],
        columns=CHECK_COLUMNS,
    )
    frame["started"] = pd.to_datetime(frame["started"], unit="s", utc=True)
    return frame


def checks(
    asset: Asset | str | None = None,
    partition: Any = None,
    *,
    limit: int | None = None,
    registry: Registry | None = None,
    home: str | None = None,
) -> pd.DataFrame:
    """Data check outcomes, newest first, as a pandas DataFrame.

    Parameters
    ----------
    asset
        Only this asset's (object or name); default: every asset's.
    partition
        Only this partition's (with ``asset``), in the asset's key form.
    limit
        At most this many rows.
    registry
        Where assets are defined (default: the kernel registry).
    home
        The store home (default: the configured one).

    Returns
    -------
    pandas.DataFrame
        One row per outcome: ``asset``, ``partition``, ``check``, ``passed``, ``blocking``,
        ``message``, ``metadata`` (a dict), ``started`` (UTC), ``duration_s``, ``run_id``,
        ``materialization_id`` (the value checked: ``fs.load(..., version=...)`` loads it),
        ``code_version`` and ``traceback`` (when the check raised).
    """
    registry = resolve_registry(registry)
    catalog = get_store(home).catalog
    name, encoded = row_filter(registry, catalog, asset, partition)
    return checks_frame(registry, catalog.checks(name, encoded, limit=limit))


def check_summaries(
    catalog: Catalog,
    rows: Sequence[MaterializationRow],
    asset: str | None = None,
    partition: str | None = None,
) -> list[str]:
    """What the checks said of each row's value, for ``fs.history``'s ``checks`` column.

    ``""`` when none ran on it, ``"2 passed"``, or ``"1 of 2 failed: positive"``. ``asset``
    and ``partition`` (encoded) say which rows were asked for: where no check ever ran, the
    outcomes of the rows are not looked up one by one.
    """
    if not rows or not catalog.checks(asset, partition, limit=1):
        return [""] * len(rows)
    by_value: dict[str, list[CheckRow]] = {}
    for found in catalog.latest_checks(row.id for row in rows):
        by_value.setdefault(found.materialization_id, []).append(found)
    summaries = []
    for materialization in rows:
        outcomes = sorted(by_value.get(materialization.id, ()), key=lambda o: o.check_name)
        failed = [o.check_name for o in outcomes if not o.passed]
        if not outcomes:
            summaries.append("")
        elif not failed:
            summaries.append(f"{len(outcomes)} passed")
        else:
            summaries.append(f"{len(failed)} of {len(outcomes)} failed: {', '.join(failed)}")
    return summaries


def check_all(
    asset: Asset | str | None = None,
    *,
    force: bool = False,
    check: str | None = None,
    registry: Registry | None = None,
    home: str | None = None,
) -> pd.DataFrame:
    """Run the data checks that have no outcome yet on the stored values, computing nothing.

    A check that is new, or whose code changed since it judged a value, runs on the latest
    stored value of every partition of its asset (as the next materialize would do); the
    others' outcomes stand. Outcomes are recorded in a run of kind ``"check"``.

    Parameters
    ----------
    asset
        Only this asset's checks (object or name); default: every asset's.
    force
        Run every check again, not only new or edited ones.
    check
        Only the check of this name (of ``asset``, which must be given).
    registry
        Where assets and checks are defined (default: the kernel registry).
    home
        The store home (default: the configured one).

    Returns
    -------
    pandas.DataFrame
        The outcomes of the checks that ran, as :func:`checks` gives them.

    Raises
    ------
    FlowstoneError
        ``check`` without ``asset``, or a name that is not one of the asset's checks.
    """
    registry = resolve_registry(registry)
    names = registry.names() if asset is None else [registry.get(name_of(asset)).name or ""]
    checked = registry.checks_for(names)
    if check is not None:
        checked = _only(checked, asset, check)
    store = get_store(home)
    catalog = store.catalog
    states = catalog.current(list(checked)) if checked else {}
    values = {key: state.success for key, state in states.items() if state.success is not None}
    recorded: dict[str, dict[str, CheckRow]] = {}
    for row in catalog.latest_checks(success.id for success in values.values()):
        recorded.setdefault(row.materialization_id, {})[row.check_name] = row
    run = catalog.new_run(kind="check", targets=sorted(checked))
    recorder = Recorder(store, run)
    versions = {name: check_versions(found) for name, found in checked.items()}
    judged: list[str] = []
    try:
        for (name, _), success in sorted(values.items()):
            found, known = checked[name], recorded.get(success.id, {})
            due = list(found) if force else due_checks(found, known, versions[name])
            if due and _check_value(
                store, registry.get(name), recorder, success, due=due, versions=versions[name]
            ):
                judged.append(success.id)
    except BaseException:
        recorder.flush(end=RecordStatus.FAILED, quiet=True)
        raise
    recorder.flush(end=RecordStatus.SUCCESS)
    ran = [row for row in catalog.latest_checks(judged) if row.run_id == run.run_id]
    ran.sort(key=lambda row: (row.started_at, row.asset, row.partition), reverse=True)
    return checks_frame(registry, ran)


def _only(
    checked: Mapping[str, tuple[Check, ...]], asset: Asset | str | None, check: str
) -> dict[str, tuple[Check, ...]]:
    """The one check ``check`` of ``asset`` (of ``checked``, the checks of each asset)."""
    if asset is None:
        raise FlowstoneError(
            f"check= names one check of one asset: pass the asset too, e.g. "
            f"fs.check_all('sales', check={check!r})."
        )
    name = name_of(asset)
    found = [c for c in checked.get(name, ()) if c.name == check]
    if not found:
        known = [c.name for c in checked.get(name, ())]
        listed = f" Its checks: {', '.join(known)}." if known else " It has no checks."
        raise FlowstoneError(
            f"Asset {name!r} has no check {check!r}.{did_you_mean(check, known)}{listed}"
        )
    return {name: tuple(found)}


def _check_value(
    store: Store,
    asset: Asset,
    recorder: Recorder,
    success: MaterializationRow,
    *,
    due: Sequence[Check],
    versions: Mapping[str, str],
) -> bool:
    """Run ``due`` on the stored value of ``success``; ``False`` when it cannot be read."""
    definition = asset.partitions
    encoded = success.partition
    key = decode_key(encoded) if encoded else None
    node = Node(success.asset, key, encoded, stored_key_text(definition, encoded))
    manager = store.io_manager(str(success.io_manager))
    try:
        value = manager.load_checked(
            str(success.location),
            stamp_of(success),
            config=asset.io_config,
            partition=node.text or None,
            known_problem=success.value_problem,
        )
    except StoreError as error:
        _log.warning(
            "Not checked: the stored value of %s cannot be read (%s).", node.describe(), error
        )
        return False
    resources = settings().resources
    run_id = recorder.run.run_id
    outcomes = run_checks(
        due, value, versions, lambda: make_context(asset, node, run_id, resources)
    )
    recorder.checked(node, success.id, outcomes)
    return True
