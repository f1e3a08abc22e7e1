"""The runner: one run of a plan, node by node, reusing what is fresh and computing the rest.

:class:`Runner` asks :func:`~flowstone_nb._run.freshness.why_stale` whether a node's latest
success can be reused; otherwise it computes the node inside one error boundary and stores its
value through its IO manager. Every outcome goes to the run's
:class:`~flowstone_nb._run.recorder.Recorder`.
Nodes run in plan order in the calling thread (:meth:`Runner.run`), or in parallel through
:mod:`flowstone_nb._run.scheduler`, which calls :meth:`Runner.run_node_safely` with an
:class:`~flowstone_nb._run.attempts.Attempt` it watches (for timeouts, retries and cancelling).

There is one way to compute a node, :meth:`Runner._compute`, and one named fast path beside it,
:meth:`Runner._compute_in_memory`, for the common node of a plan without partitions. Both gather
keyword arguments with :meth:`Runner._call_by_name`, record failures with
:meth:`Runner._record_failure` and make their result with
:func:`~flowstone_nb._run.results.computed`; they give the same results, rows and edges
(tested). This module writes the catalog only through the recorder and knows no widget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from types import CodeType
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError, MaterializationError, StoreError
from flowstone_nb._core.events import has_listeners
from flowstone_nb._core.states import Outcome
from flowstone_nb._define.asset import Asset, call_of
from flowstone_nb._define.code_version import asset_code_version, asset_code_versions
from flowstone_nb._define.inputs import many_partitions_value
from flowstone_nb._run.attempts import AbandonedError, Attempt
from flowstone_nb._run.checks import RunChecks
from flowstone_nb._run.freshness import why_stale
from flowstone_nb._run.plan import Input, Node, Plan
from flowstone_nb._run.prepare import UNPARTITIONED, Step, make_context, prepare
from flowstone_nb._run.recorder import Recorder
from flowstone_nb._run.remote import ComputeBackend, remote_task
from flowstone_nb._run.results import (
    CheckOutcome,
    NodeResult,
    RunResult,
    computed,
    not_run,
    reused,
)
from flowstone_nb._storage.io import MemoryIOManager
from flowstone_nb._storage.store import Store
from flowstone_nb._versioning.code_versions import PendingVersion

if TYPE_CHECKING:
    from flowstone_nb._storage.catalog import Candidate, RunRow
    from flowstone_nb._storage.io import ValueStamp

__all__ = ["Runner"]

_log = logging.getLogger("flowstone_nb.engine")

_MEMORY = MemoryIOManager.name
_now, _clock = time.time, time.perf_counter  # read once per computed node


def _node_and_version(result: NodeResult) -> tuple[Node, str | None]:
    return result.node, result.data_version


class Runner:
    """One run of a plan in a store: reuse, compute, record.

    Parameters
    ----------
    plan
        What to run.
    store
        Where values and the catalog are.
    run
        The run's catalog row (written with the run's first write).
    force
        Nodes to compute even when fresh.
    resources
        Every resource configured for the run.
    default_io_manager
        The IO manager of assets that name none.
    backend
        Where to compute nodes (``None``: in this process).
    timeout
        Seconds a node may run when its asset gives no ``timeout`` of its own (``None``: no
        limit). Timeouts hold in scheduled runs (see :meth:`run_node_safely`).
    """

    def __init__(
        self,
        plan: Plan,
        store: Store,
        run: RunRow,
        *,
        force: frozenset[Node],
        resources: Mapping[str, Any],
        default_io_manager: str,
        backend: ComputeBackend | None = None,
        timeout: float | None = None,
    ) -> None:
        self.plan = plan
        self.store = store
        self.run_id = run.run_id
        self.force = force
        self.resources = resources
        self.default_io_manager = default_io_manager
        self.backend = backend
        self.timeout = timeout
        self.recorder = Recorder(store, run)
        self.result = RunResult(run.run_id, plan, {}, store)
        prepared = prepare(plan)
        self.steps = prepared.steps
        self._code_versions: dict[str, str | PendingVersion] = {}
        self._managers = {_MEMORY: store.io_manager(_MEMORY)}  # the others as they are met
        self._prefix = f"{self.run_id}-"  # of materialization ids
        # What the fast path reads for every node, at hand (see _compute_in_memory).
        self._memory = self._managers[_MEMORY]
        self._ids = self.recorder.ids
        self._keep = self.recorder.keep_success
        self._values = self.result.values
        self._result_of = self.result.results.__getitem__
        self._node_of: Callable[[str], Node]  # a simple plan's, set when it runs
        # The latest success of every node that may be reused, read in one go.
        keys = prepared.keys
        if keys is None:  # a simple plan: its nodes are its assets
            names = [n.asset for n in plan.order if n not in force] if force else list(plan.assets)
            self._candidates = store.catalog.latest_successes(assets=names)
        else:
            if force:
                keys = [k for node, k in zip(plan.order, keys, strict=True) if node not in force]
            self._candidates = store.catalog.latest_successes(keys)
        # The plan's data checks, run on computed and reused values (most plans have none).
        self.checks = (
            RunChecks(
                plan.checks,
                store=store,
                recorder=self.recorder,
                values=self.result.values,
                resources=resources,
                candidates=self._candidates,
            )
            if plan.checks
            else None
        )

    # -- code versions ---------------------------------------------------------------------------

    def _read_code_versions(self, *, later: bool = False) -> None:
        """Every asset's code version, once per run, as the run starts.

        With ``later``, a function that reads nothing but its arguments may be left pending:
        a node computed without a reuse check needs its version only in its row, which is
        built after the run for values kept in memory (see :class:`PendingVersion`).
        """
        assets = self.plan.assets
        versions = asset_code_versions(assets.values(), later=later)
        self._code_versions = dict(zip(assets, versions, strict=True))

    def _version(self, asset: str) -> str:
        """The asset's code version in this run, worked out now if pending or not read yet."""
        version = self._code_versions.get(asset)
        if version is None:  # (a simple plan's run reads versions as its nodes come)
            version = asset_code_version(self.plan.assets[asset])
        elif not isinstance(version, str):
            version = version.resolve()
        self._code_versions[asset] = version
        return version

    # -- running ---------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run every node in order; the first failure stops the run.

        In a simple plan, the common node goes the fast way (:meth:`_compute_in_memory`): a
        value kept in memory, from a function that takes nothing but upstream values by name,
        with no success in the catalog to reuse and nobody listening for events. Every other
        node goes through :meth:`_run_step`. Code versions are then read as the nodes come.
        """
        plan, results, steps = self.plan, self.result.results, self.steps
        run_step = self._run_step
        if not plan.simple:
            self._read_code_versions(later=True)
            for node, step in steps.items():
                results[node] = run_step(step)
            return self.result
        candidates, default, checked = self._candidates, self.default_io_manager, plan.checks
        listening = has_listeners()
        compute_in_memory, assets = self._compute_in_memory, plan.assets
        self._node_of = plan.node_of.__getitem__
        for node in plan.order:
            name = node.asset
            asset = assets[name]
            call = call_of(asset)
            if (
                call is None
                or (keywords := call.keywords) is None
                or listening
                or (asset.io_manager or default) != _MEMORY
                or (candidates and (name, "") in candidates)
                or name in checked
            ):
                results[node] = run_step(steps[node])
            else:
                results[node] = compute_in_memory(node, asset, keywords, call.pure)
        return self.result

    def warm_up(self) -> None:
        """Set up everything lazy before nodes run on other threads.

        Code versions, and the IO managers with the modules they import, are made here, in one
        thread, before the workers start.
        """
        self._read_code_versions()
        for name in sorted(self.plan.assets):
            asset = self.plan.assets[name]
            self.store.io_manager(asset.io_manager or self.default_io_manager)

    def timeout_of(self, node: Node) -> float | None:
        """Seconds ``node`` may run: its asset's ``timeout``, else the run's (``None``: none)."""
        own = self.plan.assets[node.asset].timeout
        return self.timeout if own is None else own

    def run_node_safely(self, node: Node, attempt: Attempt | None = None) -> NodeResult:
        """Run ``node``; a failure becomes a ``failed`` result (already recorded).

        With ``attempt``, a computation is that attempt (see
        :mod:`flowstone_nb._run.attempts`): once the scheduler has abandoned it, nothing more
        is recorded here, and the result returned is dropped.
        """
        try:
            return self._run_step(self.steps[node], attempt)
        except Exception as error:  # noqa: BLE001  # the per-node error boundary: recorded
            return not_run(node, Outcome.FAILED, error)

    def _run_step(self, step: Step, attempt: Attempt | None = None) -> NodeResult:
        """Reuse the node's latest success when it is fresh; otherwise compute the node."""
        node = step.node
        version = self._version(node.asset)
        if self._candidates and node not in self.force:
            latest = self._candidates.get((node.asset, node.encoded))
            if (
                latest is not None
                and self._reusable(latest, version, step.upstream)
                and (self.checks is None or self.checks.reusable(step, latest))
            ):
                if has_listeners():
                    self.recorder.reused(node, latest.data_version)
                return reused(node, latest)
        return self._compute(step, version, attempt)

    def _reusable(self, latest: Candidate, version: str, upstream: Sequence[Node]) -> bool:
        """Whether ``latest`` is fresh, given the values its node consumes now."""
        consumed = map(_node_and_version, map(self._result_of, upstream))
        return not why_stale(latest, version, consumed, self._check)

    def _check(self, io_manager: str, location: str, stamp: ValueStamp) -> str | None:
        """What differs in a stored value from its stamp (``None``: it is the stored one)."""
        manager = self._managers.get(io_manager) or self.store.io_manager(io_manager)
        return manager.check(location, stamp)

    def value_of(self, node: Node) -> Any:
        """The value of a finished node; a reused value that cannot be read is recomputed."""
        try:
            return self.result.value(node)
        except StoreError:
            _log.warning("Stored value of %s is unreadable; recomputing it.", node.describe())
            self.result.discard(node)
            step = self.steps[node]
            self.result.results[node] = self._compute(step, self._version(node.asset))
            return self.result.value(node)

    # -- computing -------------------------------------------------------------------------------

    def _input_value(self, item: Input, asset: Asset) -> Any:
        if not item.many:
            return self.value_of(item.nodes[0]) if item.nodes else None
        definition = self.plan.assets[item.name].partitions
        assert definition is not None
        values = {definition.context_value(n.key): self.value_of(n) for n in item.nodes}
        return many_partitions_value(asset, item.name, values)

    def _call(self, step: Step) -> Any:
        """Call the step's asset with its inputs and context (the general case)."""
        asset = step.asset
        inputs = {item.name: self._input_value(item, asset) for item in step.inputs}
        takes = asset.takes_context
        context = make_context(asset, step.node, self.run_id, self.resources) if takes else None
        return asset.invoke(context, inputs)

    def _call_by_name(
        self,
        function: Callable[..., Any],
        keywords: tuple[tuple[str, int], ...],
        upstream: Sequence[Node],
    ) -> Any:
        """Call ``function`` with upstream values by name (the common case).

        ``keywords`` gives ``(parameter, index in upstream)`` for each value.
        """
        values, arguments = self._values, {}
        for parameter, index in keywords:
            up = upstream[index]
            try:
                arguments[parameter] = values[up]
            except KeyError:  # a reused value, not loaded yet
                arguments[parameter] = self.value_of(up)
        return function(**arguments)

    def _record_failure(
        self,
        node: Node,
        error: BaseException,
        *,
        mat_id: str,
        version: str,
        io_name: str,
        started_at: float,
        begun: float,
        attempt: Attempt | None = None,
    ) -> MaterializationError | None:
        """Record a node's failure; return what to raise for an error in user code.

        With ``attempt``, the row has its number, and a failure that another attempt follows
        is announced as such (the attempt decides, see :meth:`Attempt.retry_after`).
        """
        self.recorder.failed(
            node,
            mat_id,
            code_version=version,
            io_manager=io_name,
            error=error,
            started_at=started_at,
            duration=_clock() - begun,
            attempt=1 if attempt is None else attempt.number,
            retry_in=None if attempt is None else attempt.retry_after(error),
        )
        if isinstance(error, Exception) and not isinstance(error, FlowstoneError):
            return _wrap(node, error, earlier=self._had_value(node))
        return None  # the engine's own errors and interruptions are raised as they are

    def _had_value(self, node: Node) -> bool:
        """Whether ``node`` had a good value stored before this run (read on failures only)."""
        if self._candidates and (node.asset, node.encoded) in self._candidates:
            return True
        # (forced nodes were not read with the others)
        return self.store.catalog.latest_success(node.asset, node.encoded) is not None

    def _compute(self, step: Step, version: str, attempt: Attempt | None = None) -> NodeResult:
        """Compute and store one node, and record it with what it consumed (the general path).

        What it consumed is read after its inputs: an input whose stored value could not be
        read was computed again on the way (see :meth:`value_of`). With ``attempt`` (a
        scheduled run), the running row is written as the attempt begins, and once the
        scheduler has abandoned the attempt nothing more is recorded here: it recorded the
        failure (see :mod:`flowstone_nb._run.attempts`).
        """
        node, asset, recorder = step.node, step.asset, self.recorder
        io_name = asset.io_manager or self.default_io_manager
        mat_id = f"{self._prefix}{next(recorder.ids)}"
        started_at, begun = _now(), _clock()
        checks = self.checks if self.checks is not None and node.asset in self.checks else None
        outcomes: tuple[CheckOutcome, ...] | None = None  # (checks run here, after the value)
        try:  # the running row's write is inside the boundary too: its failure is recorded
            if attempt is not None:
                attempt.begin(
                    partial(recorder.started, node, mat_id, version, io_name, started_at)
                    if io_name != _MEMORY or has_listeners()
                    else _nothing,
                    partial(
                        self._record_failure,
                        node,
                        mat_id=mat_id,
                        version=version,
                        io_name=io_name,
                        started_at=started_at,
                        begun=begun,
                        attempt=attempt,
                    ),
                )
            elif io_name != _MEMORY or has_listeners():
                recorder.started(node, mat_id, version, io_name, started_at)
            if self.backend is not None:
                task = remote_task(
                    self.plan,
                    node,
                    io_name,
                    self.result.results,
                    self.run_id,
                    self.store.home,
                    self.resources,
                    checks=checks.for_task(node.asset) if checks is not None else ((), {}),
                )
                stored, outcomes = self.backend.compute(task, attempt or Attempt())
            else:
                if attempt is not None:
                    attempt.running()
                if step.keywords is not None:  # the common case: single upstream values, by name
                    value = self._call_by_name(asset.execute_fn, step.keywords, step.upstream)
                else:
                    value = self._call(step)
                manager = self._managers.get(io_name) or self.store.io_manager(io_name)
                stored = manager.store(node.asset, step.slug, value, config=asset.io_config)
                self.result.values[node] = value
            if attempt is not None and not attempt.settle():
                raise AbandonedError(f"{node.describe()} was abandoned while it ran")
        except BaseException as error:
            if attempt is not None and not attempt.settle():
                self.result.values.pop(node, None)  # abandoned: it leaves nothing behind
                raise
            wrapped = self._record_failure(
                node,
                error,
                mat_id=mat_id,
                version=version,
                io_name=io_name,
                started_at=started_at,
                begun=begun,
                attempt=attempt,
            )
            if wrapped is None:
                raise
            raise wrapped from error
        consumed = tuple(map(self._result_of, step.upstream))
        number = 1 if attempt is None else attempt.number
        result = computed(
            node, mat_id, stored, _clock() - begun, version, started_at, consumed, number
        )
        if checks is not None:  # its checks' outcomes are recorded with it
            return checks.computed(step, result, outcomes)
        recorder.succeeded(result)
        return result

    def _compute_in_memory(
        self,
        node: Node,
        asset: Asset,
        keywords: tuple[tuple[str, int], ...],
        pure: CodeType | None,
    ) -> NodeResult:
        """:meth:`_compute` for the common node of a simple plan, straight from its definition.

        For a value kept in memory, from a function that takes nothing but upstream values by
        name (``keywords``), with no success to reuse and nobody listening: no step, no
        reuse check, no running row and no lock. A function that reads nothing but its
        arguments (``pure``: its code object, noted at definition) and still has that code
        and no defaults gets its version pending (its row is built later, see
        :class:`PendingVersion`).
        """
        name, function = node.asset, asset.execute_fn
        version = asset.code_version or (
            PendingVersion(function, pure)
            if pure is function.__code__
            and function.__defaults__ is None
            and function.__kwdefaults__ is None
            else self._version(name)
        )
        upstream = tuple(map(self._node_of, asset.depends_on))
        mat_id = f"{self._prefix}{next(self._ids)}"
        started_at, begun = _now(), _clock()
        try:
            value = self._call_by_name(function, keywords, upstream)
            stored = self._memory.store(name, UNPARTITIONED, value, config=asset.io_config)
        except BaseException as error:
            wrapped = self._record_failure(
                node,
                error,
                mat_id=mat_id,
                version=self._version(name),
                io_name=_MEMORY,
                started_at=started_at,
                begun=begun,
            )
            if wrapped is None:
                raise
            raise wrapped from error
        duration = _clock() - begun
        self._values[node] = value
        consumed = tuple(map(self._result_of, upstream))
        result = computed(node, mat_id, stored, duration, version, started_at, consumed)
        self._keep(result)
        return result


def _nothing() -> None:
    """No running row: a value kept in memory, with nobody listening."""


def _wrap(node: Node, error: Exception, *, earlier: bool) -> MaterializationError:
    """The error a user sees for ``error`` raised by ``node``'s code.

    ``earlier`` tells whether the node had a good value stored before (it stays loadable).
    """
    where = f" partition {node.text!r}" if node.encoded else ""
    kept = (
        "the last good value stays loadable (fs.load)"
        if earlier
        else "no value of it was stored before, so there is none to load yet"
    )
    return MaterializationError(
        f"Asset {node.asset!r}{where} failed: {type(error).__name__}: {error}. The error and its "
        f"traceback are recorded (fs.history); {kept}. Fix the code and materialize again.",
        asset=node.asset,
        partition=node.key,
    )
