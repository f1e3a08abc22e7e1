"""Computing a node elsewhere: the task a worker receives, and what the worker does with it.

A :class:`ComputeBackend` (see :mod:`flowstone_nb._run.dask_executor`) receives a
:class:`RemoteTask`: the definition, the node, the storage locations of its inputs and the asset's
data checks. The worker runs :func:`run_remote`: it loads the inputs from the store home, runs the
asset's code, stores the value there and runs the checks on it; it returns a
:class:`RemoteResult`. Only the coordinating process writes the catalog: nothing here does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._define.asset import Asset
from flowstone_nb._define.data_checks import Check
from flowstone_nb._define.inputs import many_partitions_value
from flowstone_nb._partitioning.keys import key_slug
from flowstone_nb._run.checks import run_checks
from flowstone_nb._run.plan import Node, Plan
from flowstone_nb._run.prepare import make_context
from flowstone_nb._storage.io import MemoryIOManager
from flowstone_nb._storage.store import get_store

if TYPE_CHECKING:
    from flowstone_nb._run.attempts import Attempt
    from flowstone_nb._run.results import CheckOutcome, NodeResult
    from flowstone_nb._storage.io import StoredValue

__all__ = ["ComputeBackend", "RemoteResult", "RemoteTask", "remote_task", "run_remote"]


class RemoteResult(NamedTuple):
    """What a worker did with a task: where the value went, and its checks' outcomes."""

    stored: StoredValue
    checks: tuple[CheckOutcome, ...] = ()


class ComputeBackend(Protocol):
    """Where node computations run: in this process (default) or on other workers."""

    def compute(self, task: RemoteTask, attempt: Attempt) -> RemoteResult:
        """Load the inputs, run the asset's code, store the value and check it.

        The backend calls ``attempt.running()`` when a worker starts on the task (its timeout
        counts from then), and registers with ``attempt.on_stop`` how to stop the work.
        """
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
    checks: tuple[Check, ...] = ()
    check_versions: Mapping[str, str] = field(default_factory=dict)


def remote_task(  # noqa: PLR0917  # everything a task carries, from the coordinator
    plan: Plan,
    node: Node,
    io_manager: str,
    results: Mapping[Node, NodeResult],
    run_id: str,
    home: str,
    resources: Mapping[str, Any],
    checks: tuple[tuple[Check, ...], Mapping[str, str]] = ((), {}),
) -> RemoteTask:
    """The task that computes ``node`` of ``plan`` on a worker, its inputs being ``results``.

    ``checks``: the asset's data checks and their code versions, to run on the new value.

    Raises
    ------
    FlowstoneError
        An input is kept in memory, which other workers cannot read.
    """
    asset = plan.assets[node.asset]
    inputs = []
    for item in plan.inputs[node]:
        definition = plan.assets[item.name].partitions
        sources = []
        for up in item.nodes:
            result = results[up]
            if result.io_manager == MemoryIOManager.name:
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
        run_id=run_id,
        home=home,
        io_manager=io_manager,
        inputs=tuple(inputs),
        resources={name: resources[name] for name in asset.requires},
        checks=checks[0],
        check_versions=checks[1],
    )


def run_remote(task: RemoteTask) -> RemoteResult:
    """Compute, store and check one node on a worker (the function shipped to Dask or a process)."""
    store = get_store(task.home)
    values: dict[str, Any] = {}
    for name, many, sources in task.inputs:
        loaded = {
            key: store.io_manager(io_name).load(location) for key, io_name, location in sources
        }
        if many:
            values[name] = many_partitions_value(task.asset, name, loaded)
        else:
            values[name] = next(iter(loaded.values()))
    context = make_context(task.asset, task.node, task.run_id, task.resources)
    value = task.asset.invoke(context, values)
    manager = store.io_manager(task.io_manager)
    stored = manager.store(
        task.node.asset, key_slug(task.node.key), value, config=task.asset.io_config
    )
    if not task.checks:
        return RemoteResult(stored)
    return RemoteResult(
        stored, run_checks(task.checks, value, task.check_versions, lambda: context)
    )
