"""Materialization: run a plan's nodes, reuse what is fresh, record every outcome.

The runner walks a :class:`~flowstone_nb._run.plan.Plan` in order. A node is *reused* when its
latest successful materialization has the asset's current code version, consumed exactly the
upstream data versions that are current now, and its stored value still exists; otherwise it is
*computed* inside one error boundary and stored through its IO manager. Every outcome goes through
the
:class:`Recorder`, the one place that writes runs, materializations and lineage to the catalog.
"""

from __future__ import annotations

import itertools
import logging
import operator
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from flowstone_nb._core.errors import FlowstoneError, MaterializationError, StoreError
from flowstone_nb._core.events import Event, emit
from flowstone_nb._core.events import _listeners as _event_listeners
from flowstone_nb._define.asset import Asset, call_of, keyword_parameters
from flowstone_nb._define.context import AssetContext
from flowstone_nb._define.registry import Registry, resolve_registry
from flowstone_nb._partitioning.keys import key_slug
from flowstone_nb._run.plan import Input, Node, Plan, build_plan
from flowstone_nb._storage.config import settings
from flowstone_nb._storage.store import Store, get_store
from flowstone_nb._versioning.code_versions import (
    PendingVersion,
    code_version,
    code_versions,
)

if TYPE_CHECKING:
    from flowstone_nb._storage.catalog import Candidate, RunRow
    from flowstone_nb._storage.io import StoredValue

_log = logging.getLogger("flowstone_nb.engine")

__all__ = [
    "ComputeBackend",
    "NodeResult",
    "Recorder",
    "RemoteTask",
    "RunResult",
    "execute_plan",
    "load",
    "make_context",
    "materialize",
    "run_remote",
]

_MISSING: Any = object()
_now, _clock = time.time, time.perf_counter  # read once per computed node
# The last columns of a row without a value: location, rows, schema, error type, message, traceback.
_NO_VALUE = (None, None, None, None, None, None)


class NodeResult(NamedTuple):
    """What happened to one node in a run (a tuple: made once per node, cheaply).

    Attributes
    ----------
    node
        The asset partition.
    status
        ``"computed"``, ``"reused"`` or ``"failed"``.
    materialization_id
        The catalog row of the value now current (the new one, or the reused one).
    data_version
        The content version of that value.
    location
        Where the value is stored.
    io_manager
        Which IO manager stored it.
    duration
        Seconds spent computing and storing (0 when reused).
    error
        The exception, when the node failed.
    """

    node: Node
    status: str
    materialization_id: str | None = None
    data_version: str | None = None
    location: str | None = None
    io_manager: str | None = None
    duration: float = 0.0
    error: BaseException | None = None


class _Step(NamedTuple):
    """What running one node of a plan needs, worked out once per plan."""

    node: Node
    asset: Asset
    inputs: tuple[Input, ...]
    upstream: tuple[Node, ...]  # every upstream node, in input order: what the node consumes
    keywords: tuple[tuple[str, Node], ...] | None  # parameter -> upstream node, for a direct call
    slug: str


def _step(plan: Plan, node: Node) -> _Step:
    asset = plan.assets[node.asset]
    inputs = plan.inputs[node]
    upstream: list[Node] = []
    single = True  # every input is one upstream value
    for item in inputs:
        upstream += item.nodes
        single = single and not item.many and len(item.nodes) == 1
    names = keyword_parameters(asset) if single else None
    keywords = None if names is None else tuple([(name, upstream[i]) for name, i in names])
    slug = _UNPARTITIONED if node.key is None else key_slug(node.key)
    return _new_tuple(_Step, (node, asset, inputs, tuple(upstream), keywords, slug))


class _SimpleSteps(dict[Node, _Step]):
    """The steps of a simple plan, each made when first asked for.

    A run computes most nodes of such a plan inline, straight from their definitions (see
    :meth:`_Runner.run`): only the others need a step.
    """

    __slots__ = ("plan",)

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan

    def __missing__(self, node: Node) -> _Step:
        step = self[node] = _step(self.plan, node)
        return step


class _Prepared(NamedTuple):
    """What every run of a plan needs first: its steps, its nodes' keys, its resources."""

    steps: dict[Node, _Step]  # in plan order (a simple plan's: made when asked for)
    # (asset, encoded partition) of every node, in plan order; None for a simple plan, whose
    # nodes are its assets
    keys: list[tuple[str, str]] | None
    requires: frozenset[str]  # every resource some asset of the plan requires


# Recent plans, prepared (plans are reused until the registry changes); keyed by id, with the
# plan kept alongside so the id cannot be reused while the entry lives.
_prepared: dict[int, tuple[Plan, _Prepared]] = {}
_prepared_lock = threading.Lock()
_MAX_PREPARED = 64
_REQUIRES = operator.attrgetter("requires")


def _prepare(plan: Plan) -> _Prepared:
    entry = _prepared.get(id(plan))
    if entry is not None and entry[0] is plan:
        return entry[1]
    requires = frozenset(itertools.chain.from_iterable(map(_REQUIRES, plan.assets.values())))
    if plan.simple:
        prepared = _Prepared(_SimpleSteps(plan), None, requires)
    else:
        steps = {node: _step(plan, node) for node in plan.order}
        keys = [(node.asset, node.encoded) for node in plan.order]
        prepared = _Prepared(steps, keys, requires)
    with _prepared_lock:
        if len(_prepared) >= _MAX_PREPARED:
            _prepared.clear()
        _prepared[id(plan)] = (plan, prepared)
    return prepared


def asset_code_version(asset: Asset) -> str:
    """The asset's code version: the explicit one, or derived from its normalised source."""
    if asset.code_version:
        return asset.code_version
    return code_version(asset.execute_fn)


class Recorder:
    """Writes one run's materializations and lineage to the catalog, and announces them.

    The run itself is written lazily, in the first transaction that writes anything: a run that
    reuses everything writes nothing. Rows of persisted values are written as they happen, so a
    killed process leaves a ``running`` row that the next open recognises as interrupted. Rows
    of values kept in memory are buffered and go with the next write; those left when the run
    ends are handed to the catalog's writer thread, so the caller gets its values without
    waiting for SQLite (the values die with the process anyway, and every later read of the
    catalog in this process waits for the writer). A success is buffered as it was reported,
    and turned into its row and edges by whoever writes it: for values kept in memory, that is
    the writer thread. Materialization ids are the run id followed by a counter.
    """

    def __init__(self, store: Store, run: RunRow) -> None:
        self._catalog = store.catalog
        self.run = run
        self._run_id = run.run_id
        self._lock = threading.Lock()
        self._rows: list[tuple[Any, ...]] = []
        self._successes: list[_Success] = []  # never replaced: see keep_success
        # Buffers a computed node's success without the lock or an announcement: for the
        # sequential runner (the only thread of its run) when nobody listens.
        self.keep_success = self._successes.append
        self._written = False  # the run row is in the catalog
        # Materialization ids are f"{run_id}-{next(ids)}": unique to this run, and through the
        # run id everywhere.
        self.ids = itertools.count()

    def _announce(self, kind: str, node: Node, **detail: Any) -> None:
        # Callers on hot paths check _event_listeners first, to skip building ``detail``.
        if _event_listeners:
            emit(Event(kind, node.asset, node.text, self._run_id, detail))

    def started(
        self, node: Node, mat_id: str, code_version: str, io_manager: str, started_at: float
    ) -> None:
        """A node starts computing; persisted values get their ``running`` row now."""
        if io_manager != "memory":
            row = (mat_id, self._run_id, node.asset, node.encoded, "running", started_at)
            with self._lock:
                self._rows.append((*row, None, None, code_version, None, io_manager, *_NO_VALUE))
            self.flush()
        if _event_listeners:
            self._announce("started", node)

    def succeeded(  # noqa: PLR0917  # positional: called once per computed node
        self,
        node: Node,
        mat_id: str,
        code_version: str,
        stored: StoredValue,
        consumed: Sequence[NodeResult],
        started_at: float,
        duration: float,
    ) -> None:
        """A node computed and stored its value; record it with the inputs it consumed."""
        with self._lock:
            self._successes.append(
                _new_tuple(
                    _Success, (mat_id, node, code_version, stored, consumed, started_at, duration)
                )
            )
        if stored.io_manager != "memory":
            self.flush()
        if _event_listeners:
            self._announce("succeeded", node, duration=duration, data_version=stored.data_version)

    def reused(self, node: Node, data_version: str | None) -> None:
        """A node was fresh: nothing is written (called only when someone listens)."""
        self._announce("reused", node, data_version=data_version)

    def not_run(self, node: Node, kind: str, reason: str) -> None:
        """A node was skipped (an upstream failed) or cancelled: announced, not recorded."""
        self._announce(kind, node, error=reason)

    def failed(
        self,
        node: Node,
        mat_id: str,
        *,
        code_version: str,
        io_manager: str,
        error: BaseException,
        started_at: float,
        duration: float,
    ) -> None:
        """A node failed (or was interrupted): record the error and traceback right away."""
        interrupted = not isinstance(error, Exception)
        row = (
            mat_id,
            self._run_id,
            node.asset,
            node.encoded,
            "failed",
            started_at,
            started_at + duration,
            duration,
            code_version,
            None,
            io_manager,
            None,
            None,
            None,
            "Interrupted" if interrupted else type(error).__name__,
            str(error) or type(error).__name__,
            "".join(traceback.format_exception(error)),
        )
        with self._lock:
            self._rows.append(row)
        self.flush()
        self._announce("failed", node, error=str(error), error_type=type(error).__name__)

    def flush(self, end: str | None = None) -> None:
        """Write everything buffered (and the run, the first time) in one transaction.

        With ``end``, the run also ends with that status. A run that has nothing to write
        writes nothing.
        """
        run_id = self._run_id
        # Under the lock to the end: the write that carries the run is handed in first.
        with self._lock:
            rows, successes = self._rows, self._successes.copy()
            if not (rows or successes or (end is not None and self._written)):
                return
            self._rows = []
            self._successes.clear()
            start = None if self._written else self.run
            self._written = True
            if end is None:
                rows += [success.row(run_id) for success in successes]
                edges = [edge for success in successes for edge in success.edges()]
                self._catalog.record(rows, edges, start=start)
            else:  # only values kept in memory are still buffered: their rows are built later
                self._catalog.record_later(
                    itertools.chain(rows, (success.row(run_id) for success in successes)),
                    (edge for success in successes for edge in success.edges()),
                    start=start,
                    end=(run_id, end),
                )


class _Success(NamedTuple):
    """A computed node as the recorder buffers it, until its row and edges are written."""

    mat_id: str
    node: Node
    code_version: str | PendingVersion
    stored: StoredValue
    consumed: Sequence[NodeResult]
    started_at: float
    duration: float

    def row(self, run_id: str) -> tuple[Any, ...]:
        """Its materialization row (the field order of ``MaterializationRow``)."""
        node, stored, started_at, duration = self.node, self.stored, self.started_at, self.duration
        version = self.code_version
        return (
            self.mat_id,
            run_id,
            node.asset,
            node.encoded,
            "success",
            started_at,
            started_at + duration,
            duration,
            version if isinstance(version, str) else version.resolve(),
            stored.data_version,
            stored.io_manager,
            stored.location,
            stored.rows,
            stored.schema,
            None,
            None,
            None,
        )

    def edges(self) -> list[tuple[Any, ...]]:
        """Its lineage edges, one per upstream value it consumed."""
        mat_id = self.mat_id
        return [
            (mat_id, up.materialization_id, up.node.asset, up.node.encoded, up.data_version)
            for up in self.consumed
        ]


_new_tuple = tuple.__new__  # named tuples made from a tuple, without their Python-level __new__


@dataclass
class RunResult:
    """The outcome of executing a plan: one :class:`NodeResult` per node, and values on demand."""

    run_id: str
    plan: Plan
    results: dict[Node, NodeResult]
    store: Store
    values: dict[Node, Any] = field(default_factory=dict, repr=False)

    def value(self, node: Node) -> Any:
        """The value of ``node``: kept from the run, or loaded from the store."""
        value = self.values.get(node, _MISSING)
        if value is _MISSING:
            result = self.results[node]
            manager = self.store.io_manager(str(result.io_manager))
            asset = self.plan.assets[node.asset]
            value = manager.load(str(result.location), config=asset.io_config)
            self.values[node] = value
        return value

    def discard(self, node: Node) -> None:
        """Delete ``node``'s stored value (it is unreadable), so it is written afresh."""
        result = self.results[node]
        self.store.io_manager(str(result.io_manager)).delete(str(result.location))

    @property
    def computed(self) -> list[Node]:
        """The nodes that were computed (not reused) in this run."""
        return [n for n, r in self.results.items() if r.status == "computed"]


class ComputeBackend(Protocol):
    """Where node computations run: in this process (default) or on other workers."""

    def compute(self, task: RemoteTask) -> StoredValue:
        """Load the inputs, run the asset's code, store the value; return where it went."""
        ...


@dataclass(frozen=True)
class RemoteTask:
    """Everything a worker needs to compute and store one node, without the catalog.

    Inputs travel as storage locations, not values: workers load them from the store home,
    which must be reachable from them (a local folder for a local cluster, an fsspec URL for a
    real one). Only the coordinating process writes the catalog.
    """

    asset: Asset
    node: Node
    run_id: str
    home: str
    io_manager: str
    inputs: tuple[tuple[str, bool, tuple[tuple[Any, str, str], ...]], ...]
    resources: Mapping[str, Any]


def run_remote(task: RemoteTask) -> StoredValue:
    """Compute and store one node on a worker (the function shipped to Dask or a process)."""
    store = get_store(task.home)
    values: dict[str, Any] = {}
    for name, many, sources in task.inputs:
        loaded = {
            key: store.io_manager(io_name).load(location) for key, io_name, location in sources
        }
        values[name] = loaded if many else next(iter(loaded.values()))
    context = make_context(task.asset, task.node, task.run_id, task.resources)
    value = task.asset.invoke(context, values)
    manager = store.io_manager(task.io_manager)
    return manager.store(
        task.node.asset, key_slug(task.node.key), value, config=task.asset.io_config
    )


def make_context(
    asset: Asset, node: Node, run_id: str, resources: Mapping[str, Any]
) -> AssetContext:
    """The AssetContext for ``asset`` at ``node``."""
    definition = asset.partitions
    partition, text = None, ""
    if definition is not None and node.key is not None:
        partition, text = definition.context_value(node.key), definition.key_str(node.key)
    return AssetContext(
        asset=asset,
        partition=partition,
        partition_key=text,
        run_id=run_id,
        resources={name: resources[name] for name in asset.requires},
        log=logging.getLogger(f"flowstone_nb.asset.{asset.name}"),
    )


class _Runner:
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
    ) -> None:
        self.plan = plan
        self.store = store
        self.run_id = run.run_id
        self.force = force
        self.resources = resources
        self.default_io_manager = default_io_manager
        self.backend = backend
        self.recorder = Recorder(store, run)
        self.result = RunResult(run.run_id, plan, {}, store)
        prepared = _prepare(plan)
        self.steps = prepared.steps
        self._code_versions: dict[str, str | PendingVersion] = {}
        self._managers = {"memory": store.io_manager("memory")}  # the others as they are met
        # The latest success of every node that may be reused, read in one go.
        keys = prepared.keys
        if keys is None:  # a simple plan: its nodes are its assets
            names = [n.asset for n in plan.order if n not in force] if force else list(plan.assets)
            self._candidates = store.catalog.latest_successes(assets=names)
        else:
            if force:
                keys = [k for node, k in zip(plan.order, keys, strict=True) if node not in force]
            self._candidates = store.catalog.latest_successes(keys)

    def _read_code_versions(self, *, later: bool = False) -> None:
        """Every asset's code version, once per run, as the run starts.

        With ``later``, a function that reads nothing but its arguments may be left pending:
        a node computed without a reuse check needs its version only in its row, which is
        built after the run for values kept in memory (see :class:`PendingVersion`).
        """
        assets = self.plan.assets
        given = [asset.code_version or asset.execute_fn for asset in assets.values()]
        self._code_versions = dict(zip(assets, code_versions(given, later=later), strict=True))

    def _version(self, asset: str) -> str:
        """The asset's code version in this run, worked out now if pending or not read yet."""
        version = self._code_versions.get(asset)
        if version is None:  # (a simple plan's run reads versions as its nodes come)
            version = asset_code_version(self.plan.assets[asset])
        elif not isinstance(version, str):
            version = version.resolve()
        self._code_versions[asset] = version
        return version

    def run(self) -> RunResult:
        """Run every node in order; the first failure stops the run.

        In a simple plan, the common node is computed right here, straight from its definition:
        a value kept in memory, from a function that takes nothing but upstream values by name,
        with no success in the catalog to reuse and nobody listening for events. These are
        :meth:`_compute`'s steps without its other cases, which every other node goes through.
        Code versions are then read as the nodes come: a function that reads nothing but its
        arguments, unchanged since its definition, is left pending (its row is built later,
        see :class:`PendingVersion`).
        """
        plan, results, run_step, steps = self.plan, self.result.results, self._run_step, self.steps
        if not plan.simple:
            self._read_code_versions(later=True)
            for node, step in steps.items():
                results[node] = run_step(step)
            return self.result
        values, candidates = self.result.values, self._candidates
        default, memory = self.default_io_manager, self._managers["memory"]
        inline = not _event_listeners
        prefix, ids, keep = f"{self.run_id}-", self.recorder.ids, self.recorder.keep_success
        now, clock, new, result_of = _now, _clock, _new_tuple, results.__getitem__
        assets, node_of = plan.assets, plan.node_of.__getitem__
        for node in plan.order:
            name = node.asset
            asset = assets[name]
            call = call_of(asset)
            if (
                call is None
                or (keywords := call.keywords) is None
                or not inline
                or (asset.io_manager or default) != "memory"
                or (candidates and (name, "") in candidates)
            ):
                results[node] = run_step(steps[node])
                continue
            function, code = asset.execute_fn, call.pure
            version = asset.code_version or (
                new(PendingVersion, (function, code))
                if code is function.__code__
                and function.__defaults__ is None
                and function.__kwdefaults__ is None
                else self._version(name)
            )
            mat_id = f"{prefix}{next(ids)}"
            started_at, begun = now(), clock()
            depends_on = asset.depends_on
            try:
                arguments = {}
                for parameter, index in keywords:
                    up = node_of(depends_on[index])
                    got = values.get(up, _MISSING)
                    arguments[parameter] = self.value_of(up) if got is _MISSING else got
                value = function(**arguments)
                stored = memory.store(name, _UNPARTITIONED, value, config=asset.io_config)
            except BaseException as error:
                wrapped = self._record_failure(
                    node,
                    error,
                    mat_id=mat_id,
                    version=self._version(name),
                    io_name="memory",
                    started_at=started_at,
                    begun=begun,
                )
                if wrapped is None:
                    raise
                raise wrapped from error
            duration = clock() - begun
            values[node] = value
            consumed = tuple(map(result_of, map(node_of, depends_on)))
            keep(new(_Success, (mat_id, node, version, stored, consumed, started_at, duration)))
            results[node] = new(
                NodeResult,
                (
                    node,
                    "computed",
                    mat_id,
                    stored.data_version,
                    stored.location,
                    "memory",
                    duration,
                    None,
                ),
            )
        return self.result

    def run_scheduled(
        self, *, max_workers: int, fail_fast: bool, cancel: threading.Event
    ) -> RunResult:
        """Run nodes in parallel as soon as their inputs are done; failures skip downstream."""
        # Everything lazy (code versions, IO managers and the modules they import) is set up
        # here, in one thread, before the workers start.
        self._read_code_versions()
        for name in sorted(self.plan.assets):
            asset = self.plan.assets[name]
            self.store.io_manager(asset.io_manager or self.default_io_manager)
        _Scheduler(self, max_workers=max_workers, fail_fast=fail_fast, cancel=cancel).run()
        return self.result

    def _run_node(self, node: Node) -> NodeResult:
        return self._run_step(self.steps[node])

    def _run_step(self, step: _Step) -> NodeResult:
        node = step.node
        version = self._version(node.asset)
        consumed = tuple(map(self.result.results.__getitem__, step.upstream))
        if self._candidates and node not in self.force:
            row = self._reusable(node, version, consumed)
            if row is not None:
                if _event_listeners:
                    self.recorder.reused(node, row.data_version)
                return _new_tuple(
                    NodeResult,
                    (
                        node,
                        "reused",
                        row.id,
                        row.data_version,
                        row.location,
                        row.io_manager,
                        0.0,
                        None,
                    ),
                )
        return self._compute(step, version, consumed)

    def run_node_safely(self, node: Node) -> NodeResult:
        """Like ``_run_node``, but a failure becomes a ``failed`` result (already recorded)."""
        try:
            return self._run_node(node)
        except Exception as error:  # noqa: BLE001  # the per-node error boundary: recorded
            return NodeResult(node, "failed", error=error)

    def _reusable(
        self, node: Node, version: str, consumed: Sequence[NodeResult]
    ) -> Candidate | None:
        row = self._candidates.get((node.asset, node.encoded))
        if row is None or row.code_version != version:
            return None
        if row.inputs != {(r.node.asset, r.node.encoded, r.data_version) for r in consumed}:
            return None
        name = str(row.io_manager)
        manager = self._managers.get(name) or self.store.io_manager(name)
        return row if manager.exists(str(row.location)) else None

    def value_of(self, node: Node) -> Any:
        """The value of a finished node; a reused value that cannot be read is recomputed."""
        try:
            return self.result.value(node)
        except StoreError:
            _log.warning("Stored value of %s is unreadable; recomputing it.", node.describe())
            self.result.discard(node)
            step = self.steps[node]
            consumed = [self.result.results[up] for up in step.upstream]
            self.result.results[node] = self._compute(step, self._version(node.asset), consumed)
            return self.result.value(node)

    def _input_value(self, item: Input) -> Any:
        if not item.many:
            return self.value_of(item.nodes[0]) if item.nodes else None
        definition = self.plan.assets[item.name].partitions
        assert definition is not None
        return {definition.context_value(n.key): self.value_of(n) for n in item.nodes}

    def _remote_task(self, node: Node, asset: Asset, io_name: str) -> RemoteTask:
        inputs = []
        for item in self.plan.inputs[node]:
            definition = self.plan.assets[item.name].partitions
            sources = []
            for up in item.nodes:
                result = self.result.results[up]
                if result.io_manager == "memory":
                    raise FlowstoneError(
                        f"Asset {up.asset!r} is kept in memory (io_manager='memory'), which "
                        "other workers cannot read: use io_manager='filesystem' (the default) "
                        "for assets computed on a cluster."
                    )
                key = definition.context_value(up.key) if definition and up.key else up.key
                sources.append((key, str(result.io_manager), str(result.location)))
            inputs.append((item.name, item.many, tuple(sources)))
        return RemoteTask(
            asset=asset,
            node=node,
            run_id=self.run_id,
            home=self.store.home,
            io_manager=io_name,
            inputs=tuple(inputs),
            resources={name: self.resources[name] for name in asset.requires},
        )

    def _call(self, step: _Step) -> Any:
        """Call the step's asset with its inputs and context (the general case)."""
        inputs = {item.name: self._input_value(item) for item in step.inputs}
        asset = step.asset
        takes = asset.takes_context
        context = make_context(asset, step.node, self.run_id, self.resources) if takes else None
        return asset.invoke(context, inputs)

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
    ) -> MaterializationError | None:
        """Record a node's failure; return what to raise for an error in user code."""
        self.recorder.failed(
            node,
            mat_id,
            code_version=version,
            io_manager=io_name,
            error=error,
            started_at=started_at,
            duration=_clock() - begun,
        )
        if isinstance(error, Exception) and not isinstance(error, FlowstoneError):
            return _wrap(node, error)
        return None  # the engine's own errors and interruptions are raised as they are

    def _compute(self, step: _Step, version: str, consumed: Sequence[NodeResult]) -> NodeResult:
        node, asset, recorder = step.node, step.asset, self.recorder
        io_name = asset.io_manager or self.default_io_manager
        mat_id = f"{self.run_id}-{next(recorder.ids)}"
        started_at = _now()
        clock = _clock()
        try:  # the running row's write is inside the boundary too: its failure is recorded
            if io_name != "memory" or _event_listeners:
                recorder.started(node, mat_id, version, io_name, started_at)
            if self.backend is not None:
                stored = self.backend.compute(self._remote_task(node, asset, io_name))
            else:
                keywords = step.keywords
                if keywords is not None:  # the common case: single upstream values, by name
                    values, arguments = self.result.values, {}
                    for name, up in keywords:
                        got = values.get(up, _MISSING)
                        arguments[name] = self.value_of(up) if got is _MISSING else got
                    value = asset.execute_fn(**arguments)
                else:
                    value = self._call(step)
                manager = self._managers.get(io_name) or self.store.io_manager(io_name)
                stored = manager.store(node.asset, step.slug, value, config=asset.io_config)
                self.result.values[node] = value
        except BaseException as error:
            wrapped = self._record_failure(
                node,
                error,
                mat_id=mat_id,
                version=version,
                io_name=io_name,
                started_at=started_at,
                begun=clock,
            )
            if wrapped is None:
                raise
            raise wrapped from error
        duration = _clock() - clock
        recorder.succeeded(node, mat_id, version, stored, consumed, started_at, duration)
        return _new_tuple(
            NodeResult,
            (
                node,
                "computed",
                mat_id,
                stored.data_version,
                stored.location,
                stored.io_manager,
                duration,
                None,
            ),
        )


class _Scheduler:
    """Runs a plan's nodes on a thread pool as soon as their inputs are done."""

    def __init__(
        self, runner: _Runner, *, max_workers: int, fail_fast: bool, cancel: threading.Event
    ) -> None:
        self.runner = runner
        self.max_workers = max_workers
        self.fail_fast = fail_fast
        self.cancel = cancel
        plan = runner.plan
        self.parents = {
            node: {up for item in plan.inputs[node] for up in item.nodes} for node in plan.order
        }
        self.children: dict[Node, list[Node]] = {node: [] for node in plan.order}
        for node, parents in self.parents.items():
            for parent in parents:
                self.children[parent].append(node)
        self.waiting = {node: len(parents) for node, parents in self.parents.items()}
        self.consumers = {node: len(kids) for node, kids in self.children.items()}
        self.targets = set(plan.targets)

    def run(self) -> None:
        results = self.runner.result.results
        # Children of a finished node go to the front: partitions complete early (depth first),
        # and only max_workers nodes are in flight, so a cancel stops everything not started.
        ready = deque(n for n in self.runner.plan.order if self.waiting[n] == 0)
        running: dict[Future[NodeResult], Node] = {}
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="flowstone") as pool:
            try:
                while ready or running:
                    while ready and len(running) < self.max_workers and not self.cancel.is_set():
                        node = ready.popleft()
                        running[pool.submit(self.runner.run_node_safely, node)] = node
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        node = running.pop(future)
                        results[node] = future.result()
                        ready.extendleft(reversed(self._finished(node, results[node])))
            except BaseException:
                self.cancel.set()  # start nothing new; let started nodes finish and record
                results.update({node: future.result() for future, node in running.items()})
                raise
            finally:
                self._mark_not_run()

    def _finished(self, node: Node, result: NodeResult) -> list[Node]:
        """Release memory, propagate failure, and return the children now ready to run."""
        for parent in self.parents[node]:
            self.consumers[parent] -= 1
            if self.consumers[parent] == 0 and parent not in self.targets:
                self.runner.result.values.pop(parent, None)
        if node in self.targets:
            self.runner.result.values.pop(node, None)
        if result.status == "failed":
            if self.fail_fast:
                self.cancel.set()
            self._skip_downstream(node)
            return []
        ready = []
        for child in self.children[node]:
            self.waiting[child] -= 1
            if self.waiting[child] == 0:
                ready.append(child)
        return ready

    def _skip_downstream(self, failed: Node) -> None:
        results = self.runner.result.results
        frontier = list(self.children[failed])
        while frontier:
            node = frontier.pop()
            if node in results:
                continue
            error = FlowstoneError(f"not run: upstream {failed.describe()!r} failed")
            results[node] = NodeResult(node, "skipped", error=error)
            self.runner.recorder.not_run(node, "skipped", str(error))
            frontier.extend(self.children[node])

    def _mark_not_run(self) -> None:
        results = self.runner.result.results
        for node in self.runner.plan.order:
            if node not in results:
                results[node] = NodeResult(
                    node, "cancelled", error=FlowstoneError("cancelled before it ran")
                )
                self.runner.recorder.not_run(node, "cancelled", "cancelled before it ran")


_UNPARTITIONED = key_slug(None)


def _wrap(node: Node, error: Exception) -> MaterializationError:
    where = f" partition {node.encoded!r}" if node.encoded else ""
    return MaterializationError(
        f"Asset {node.asset!r}{where} failed: {type(error).__name__}: {error}. The error and its "
        "traceback are recorded (fs.history); the last good value stays loadable (fs.load). "
        "Fix the code and materialize again.",
        asset=node.asset,
        partition=node.key,
    )


def check_resources(plan: Plan, resources: Mapping[str, Any]) -> None:
    """Refuse to run when an asset requires a resource nobody provided."""
    if _prepare(plan).requires <= resources.keys():
        return  # (the usual case, checked without a look at every asset)
    asset = next(a for a in plan.assets.values() if not set(a.requires) <= resources.keys())
    missing = [name for name in asset.requires if name not in resources]
    raise FlowstoneError(
        f"Asset {asset.name!r} requires resource(s) {missing}, which are not configured: "
        "provide them with fs.configure(resources={...}) or materialize(..., resources={...})."
    )


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
) -> RunResult:
    """Run ``plan`` in ``store``: reuse fresh nodes, compute the rest, record everything.

    With ``max_workers`` (or a ``backend``) nodes run in parallel as soon as their inputs are
    done, a failure skips only its downstream (unless ``fail_fast``), and ``cancel`` stops new
    nodes from starting. Without them, nodes run in order and the first failure raises.
    """
    current = settings()
    available = {**current.resources, **resources} if resources else current.resources
    check_resources(plan, available)
    run = store.catalog.new_run(kind=kind, targets=[n.describe() for n in plan.targets])
    runner = _Runner(
        plan,
        store,
        run,
        force=frozenset(force),
        resources=available,
        default_io_manager=current.default_io_manager,
        backend=backend,
    )
    status = "failed"
    try:
        if max_workers is None and backend is None:
            result = runner.run()  # returns only when every node is computed or reused
            status = "success"
        else:
            result = runner.run_scheduled(
                max_workers=max_workers or 1,
                fail_fast=fail_fast,
                cancel=cancel or threading.Event(),
            )
            ok = all(r.status in ("computed", "reused") for r in result.results.values())
            status = "success" if ok else "failed"
    finally:
        runner.recorder.flush(end=status)
    return result


def _target_names(assets: Asset | str | Sequence[Asset | str]) -> tuple[list[str], bool]:
    if isinstance(assets, (Asset, str)):
        return [_name_of(assets)], True
    return [_name_of(a) for a in assets], False


def _name_of(asset: Asset | str) -> str:
    return str(asset.name) if isinstance(asset, Asset) else asset


def materialize(
    assets: Asset | str | Sequence[Asset | str],
    partition: Any = None,
    *,
    force: bool = False,
    resources: Mapping[str, Any] | None = None,
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
    names, single = _target_names(assets)
    plan = build_plan(resolve_registry(registry), [(name, partition) for name in names])
    result = execute_plan(
        plan, get_store(home), force=plan.targets if force else (), resources=resources
    )
    try:
        values = {node.asset: result.value(node) for node in plan.targets}
    except StoreError:
        # A stored value that cannot be read counts as missing: compute the targets again.
        _log.warning("A stored value of %s is unreadable; recomputing.", names)
        for node in plan.targets:
            result.discard(node)
        result = execute_plan(plan, get_store(home), force=plan.targets, resources=resources)
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
        A data version or materialization id (see ``fs.history``); default: the latest success.
    registry
        Where the asset is defined (default: the kernel registry).
    home
        The store home (default: the configured one).
    """
    from flowstone_nb._run.plan import target_node

    definition = resolve_registry(registry).get(_name_of(asset))
    node = target_node(definition, partition)
    catalog = get_store(home).catalog
    if version is None:
        row = catalog.latest_success(node.asset, node.encoded)
    else:
        row = next(
            (
                r
                for r in catalog.history(node.asset, node.encoded, statuses=["success"])
                if version in (r.data_version, r.id)
            ),
            None,
        )
    if row is None:
        what = f"version {version!r}" if version else "a successful materialization"
        raise FlowstoneError(
            f"Asset {node.describe()!r} has no {what} in the store {get_store(home).home!r}: "
            "materialize it first (fs.materialize), or pick a version from fs.history()."
        )
    manager = get_store(home).io_manager(str(row.io_manager))
    return manager.load(str(row.location), config=definition.io_config)
