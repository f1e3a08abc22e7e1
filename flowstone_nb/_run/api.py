"""``fs.materialize``, ``fs.load`` and :func:`execute_plan`, the entry points of a run.

:func:`materialize` plans the targets, runs the plan (:func:`execute_plan`) and returns the
values; :func:`load` reads a stored value without computing anything. :func:`execute_plan` opens
the run in the catalog, runs it in this thread (:class:`~flowstone_nb._run.runner.Runner`) or in
parallel (:mod:`flowstone_nb._run.scheduler`), and ends it with its status. This module makes no
decision about single nodes: the runner does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flowstone_nb._core.errors import FlowstoneError, StoreError
from flowstone_nb._core.states import Outcome, RecordStatus
from flowstone_nb._define.asset import Asset, name_of
from flowstone_nb._define.checks import retries_problem, timeout_problem
from flowstone_nb._define.registry import Registry, resolve_registry
from flowstone_nb._run.plan import Node, Plan, build_plan, target_node
from flowstone_nb._run.prepare import check_resources
from flowstone_nb._run.remote import ComputeBackend
from flowstone_nb._run.results import RunResult
from flowstone_nb._run.runner import Runner
from flowstone_nb._run.scheduler import run_scheduled
from flowstone_nb._storage.config import settings
from flowstone_nb._storage.io.stamps import stamp_of
from flowstone_nb._storage.store import Store, get_store

__all__ = ["check_retries", "check_timeout", "execute_plan", "load", "materialize"]

_log = logging.getLogger("flowstone_nb.engine")
_SUCCEEDED = frozenset({Outcome.COMPUTED, Outcome.REUSED})


def check_timeout(timeout: object) -> None:
    """Refuse a run's ``timeout=`` that is not a positive number of seconds (``None`` is none).

    Raises
    ------
    FlowstoneError
        It is not (the message says what a timeout is).
    """
    if timeout is not None and (problem := timeout_problem(timeout)):
        raise FlowstoneError(problem)


def check_retries(retries: object) -> None:
    """Refuse a run's ``retries=`` that is not a whole number, 0 or more (``None`` is none).

    Raises
    ------
    FlowstoneError
        It is not (the message says what retries are).
    """
    if retries is not None and (problem := retries_problem(retries)):
        raise FlowstoneError(problem)


def execute_plan(
    plan: Plan,
    store: Store,
    *,
    force: Iterable[Node] = (),
    resources: Mapping[str, Any] | None = None,
    kind: str = "materialize",
    max_workers: int | None = None,
    fail_fast: bool = True,
    cancel: threading.Event | None = None,
    backend: ComputeBackend | None = None,
    timeout: float | None = None,
    retries: int | None = None,
) -> RunResult:
    """Run ``plan`` in ``store``: reuse fresh nodes, compute the rest, record everything.

    With ``max_workers`` (or a ``backend``) nodes run in parallel as soon as their inputs are
    done, a failure skips only its downstream (unless ``fail_fast``), and ``cancel`` stops new
    nodes from starting. Without them, nodes run in order and the first failure raises; a plan
    with a timeout or retries (the run's or an asset's) then runs on one worker thread,
    watched, so that a node past its timeout can be given up and a failed one tried again.

    Parameters
    ----------
    plan
        What to run.
    store
        Where values and the catalog are.
    force
        Nodes to compute even when fresh.
    resources
        Resources for this run, on top of the configured ones.
    kind
        What the run is, as the catalog records it (``"materialize"``, ``"backfill"``).
    max_workers
        Run nodes in parallel on this many threads.
    fail_fast
        In parallel, a failure cancels every node not started yet.
    cancel
        In parallel, set it to start no new node.
    backend
        Compute nodes there (then nodes run in parallel).
    timeout
        Seconds a node may run when its asset gives no ``timeout`` of its own.
    retries
        How many times a failed node is tried again when its asset gives no ``retries``.

    Returns
    -------
    RunResult
        One result per node.

    Raises
    ------
    FlowstoneError
        A required resource is not configured.
    MaterializationError
        Run in order, a node's code raised (``MaterializationTimeoutError``: it ran past its
        timeout).
    """
    current = settings()
    available = {**current.resources, **resources} if resources else current.resources
    check_resources(plan, available)
    run = store.catalog.new_run(kind=kind, targets=[n.describe() for n in plan.targets])
    runner = Runner(
        plan,
        store,
        run,
        force=frozenset(force),
        resources=available,
        default_io_manager=current.default_io_manager,
        backend=backend,
        timeout=timeout,
    )
    status = RecordStatus.FAILED
    try:
        if max_workers is None and backend is None:
            if timeout is None and not retries and not any(map(_watched, plan.assets.values())):
                result = runner.run()  # returns only when every node is computed or reused
            else:
                result = _run_watched(runner, retries)
            status = RecordStatus.SUCCESS
        else:
            result = run_scheduled(
                runner,
                max_workers=max_workers or 1,
                fail_fast=fail_fast,
                cancel=cancel or threading.Event(),
                retries=retries,
            )
            ok = all(r.status in _SUCCEEDED for r in result.results.values())
            status = RecordStatus.SUCCESS if ok else RecordStatus.FAILED
    except BaseException:
        runner.recorder.flush(end=status, quiet=True)  # what is raised says what went wrong
        raise
    runner.recorder.flush(end=status)
    return result


def _watched(asset: Asset) -> bool:
    """Whether ``asset``'s nodes need a watched run: it has a timeout, or retries."""
    return bool(asset.timeout or asset.retries)


def _run_watched(runner: Runner, retries: int | None) -> RunResult:
    """:meth:`Runner.run` on one watched worker thread: the first failure raises, as there."""
    result = run_scheduled(
        runner, max_workers=1, fail_fast=True, cancel=threading.Event(), retries=retries
    )
    for node in runner.plan.order:
        outcome = result.results[node]
        if outcome.status == Outcome.FAILED:
            assert outcome.error is not None
            raise outcome.error
    return result


def _target_names(assets: Asset | str | Sequence[Asset | str]) -> tuple[list[str], bool]:
    if isinstance(assets, (Asset, str)):
        return [name_of(assets)], True
    return [name_of(a) for a in assets], False


def materialize(
    assets: Asset | str | Sequence[Asset | str],
    partition: Any = None,
    *,
    force: bool = False,
    resources: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    registry: Registry | None = None,
    home: str | None = None,
) -> Any:
    """Compute (or reuse) an asset's value for one partition and return it.

    Upstream partitions that are missing or stale are computed first, in dependency order; fresh
    ones are loaded. Every computation is recorded with its code version, data version and the
    upstream materializations it consumed. A second call with nothing changed computes nothing.

    Parameters
    ----------
    assets
        An asset (object or name), or several: then a ``{name: value}`` mapping is returned.
    partition
        The partition key for partitioned assets (e.g. ``"2024-01-31"``).
    force
        Recompute the target(s) even when fresh (upstream stays reused when fresh).
    resources
        Resources for this call, on top of ``fs.configure(resources=...)``.
    timeout
        Seconds each computed asset may run, unless it has a ``timeout`` of its own. With a
        timeout (this one or an asset's), assets are computed on a worker thread, and one that
        runs past it raises ``MaterializationTimeoutError`` (its thread, which cannot be
        stopped, is left behind).
    retries
        How many times each computed asset that fails is tried again, unless it has
        ``retries`` of its own (its ``retry_delay``, ``retry_backoff`` and ``retry_on`` say
        when, and for which errors). Out of attempts, it raises saying how many there were.
    registry
        Where the assets are defined (default: the kernel registry).
    home
        The store home (default: the configured one).

    Returns
    -------
    object or dict
        The value, or ``{name: value}`` for several targets.

    Raises
    ------
    MaterializationError
        User code raised; the original exception is the ``__cause__``.
    AssetNotFoundError
        An asset or one of its dependencies is not defined.
    PartitionError
        The partition key does not fit the asset's partitioning.
    """
    check_timeout(timeout)
    check_retries(retries)
    names, single = _target_names(assets)
    plan = build_plan(resolve_registry(registry), [(name, partition) for name in names])
    result = execute_plan(
        plan,
        get_store(home),
        force=plan.targets if force else (),
        resources=resources,
        timeout=timeout,
        retries=retries,
    )
    try:
        values = {node.asset: result.value(node) for node in plan.targets}
    except StoreError:
        # A stored value that cannot be read counts as missing: compute the targets again.
        _log.warning("A stored value of %s is unreadable; recomputing.", names)
        for node in plan.targets:
            result.discard(node)
        result = execute_plan(
            plan,
            get_store(home),
            force=plan.targets,
            resources=resources,
            timeout=timeout,
            retries=retries,
        )
        values = {node.asset: result.value(node) for node in plan.targets}
    return values[names[0]] if single else values


def load(
    asset: Asset | str,
    partition: Any = None,
    *,
    version: str | None = None,
    registry: Registry | None = None,
    home: str | None = None,
) -> Any:
    """Load a stored value without computing anything.

    Parameters
    ----------
    asset
        The asset (object or name).
    partition
        The partition key for partitioned assets.
    version
        A data version or materialization id (see ``fs.history``, ``fs.checks``): of a success,
        or of a value a blocking check failed on; default: the latest success.
    registry
        Where the asset is defined (default: the kernel registry).
    home
        The store home (default: the configured one).

    Returns
    -------
    object
        The stored value.

    Raises
    ------
    FlowstoneError
        Nothing (or no such version) is stored for it.
    """
    definition = resolve_registry(registry).get(name_of(asset))
    node = target_node(definition, partition)
    catalog = get_store(home).catalog
    if version is None:
        row = catalog.latest_success(node.asset, node.encoded)
    else:
        # Successes, and values a blocking check failed on (kept for inspection).
        row = next(
            (
                r
                for r in catalog.history(node.asset, node.encoded)
                if r.location is not None and version in (r.data_version, r.id)
            ),
            None,
        )
    if row is None:
        what = f"version {version!r}" if version else "successful materialization"
        raise FlowstoneError(
            f"Asset {node.describe()!r} has no {what} in the store {get_store(home).home!r}: "
            "materialize it first (fs.materialize), or pick a version from fs.history()."
        )
    manager = get_store(home).io_manager(str(row.io_manager))
    return manager.load_checked(
        str(row.location),
        stamp_of(row),
        config=definition.io_config,
        partition=node.text or None,
        known_problem=row.value_problem,
    )
