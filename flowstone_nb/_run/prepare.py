"""What running a plan needs before its first node: steps, keys, resources, contexts.

A :class:`Step` says how to run one node of a plan (its inputs, how its function is called);
:func:`prepare` works out a plan's steps once and keeps them while the plan is reused, with the
keys of its nodes and the resources its assets require. :func:`make_context` builds the
:class:`~flowstone_nb._define.context.AssetContext` a node's function receives. This module runs
no node and reads no catalog.
"""

from __future__ import annotations

import itertools
import logging
import operator
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._define.asset import Asset, keyword_parameters
from flowstone_nb._define.context import AssetContext
from flowstone_nb._partitioning.keys import key_slug
from flowstone_nb._run.plan import Input, Node, Plan

__all__ = [
    "UNPARTITIONED",
    "Prepared",
    "SimpleSteps",
    "Step",
    "check_resources",
    "make_context",
    "make_step",
    "prepare",
]

#: The storage slug of an unpartitioned node.
UNPARTITIONED = key_slug(None)


class Step(NamedTuple):
    """What running one node of a plan needs, worked out once per plan.

    Attributes
    ----------
    node
        The node.
    asset
        Its definition.
    inputs
        How each dependency feeds it.
    upstream
        Every upstream node, in input order: what the node consumes.
    keywords
        ``(parameter, index in upstream)`` of each value its function takes by name, when it
        takes nothing else and every input is one value (see
        :func:`~flowstone_nb._define.asset.keyword_parameters`); else ``None``.
    slug
        The storage slug of its partition.
    """

    node: Node
    asset: Asset
    inputs: tuple[Input, ...]
    upstream: tuple[Node, ...]
    keywords: tuple[tuple[str, int], ...] | None
    slug: str


def make_step(plan: Plan, node: Node) -> Step:
    """The step of ``node`` in ``plan``."""
    asset = plan.assets[node.asset]
    inputs = plan.inputs[node]
    upstream: list[Node] = []
    single = True  # every input is one upstream value: upstream[i] feeds depends_on[i]
    for item in inputs:
        upstream += item.nodes
        single = single and not item.many and len(item.nodes) == 1
    return Step(
        node=node,
        asset=asset,
        inputs=inputs,
        upstream=tuple(upstream),
        keywords=keyword_parameters(asset) if single else None,
        slug=UNPARTITIONED if node.key is None else key_slug(node.key),
    )


class SimpleSteps(dict[Node, Step]):
    """The steps of a simple plan, each made when first asked for.

    A run computes most nodes of such a plan straight from their definitions (see
    :meth:`~flowstone_nb._run.runner.Runner.run`): only the others need a step.
    """

    __slots__ = ("plan",)

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan

    def __missing__(self, node: Node) -> Step:
        step = self[node] = make_step(self.plan, node)
        return step


class Prepared(NamedTuple):
    """What every run of a plan needs first: its steps, its nodes' keys, its resources.

    Attributes
    ----------
    steps
        The step of every node, in plan order (a simple plan's: made when asked for).
    keys
        ``(asset, encoded partition)`` of every node, in plan order; ``None`` for a simple
        plan, whose nodes are its assets.
    requires
        Every resource some asset of the plan requires.
    """

    steps: dict[Node, Step]
    keys: list[tuple[str, str]] | None
    requires: frozenset[str]


# Recent plans, prepared (plans are reused until the registry changes); keyed by id, with the
# plan kept alongside so the id cannot be reused while the entry lives.
_prepared: dict[int, tuple[Plan, Prepared]] = {}
_prepared_lock = threading.Lock()
_MAX_PREPARED = 64
_REQUIRES = operator.attrgetter("requires")


def prepare(plan: Plan) -> Prepared:
    """What every run of ``plan`` needs first (worked out once while the plan is reused)."""
    entry = _prepared.get(id(plan))
    if entry is not None and entry[0] is plan:
        return entry[1]
    requires = frozenset(itertools.chain.from_iterable(map(_REQUIRES, plan.assets.values())))
    if plan.simple:
        prepared = Prepared(steps=SimpleSteps(plan), keys=None, requires=requires)
    else:
        steps = {node: make_step(plan, node) for node in plan.order}
        keys = [(node.asset, node.encoded) for node in plan.order]
        prepared = Prepared(steps=steps, keys=keys, requires=requires)
    with _prepared_lock:
        if len(_prepared) >= _MAX_PREPARED:
            _prepared.clear()
        _prepared[id(plan)] = (plan, prepared)
    return prepared


def check_resources(plan: Plan, resources: Mapping[str, Any]) -> None:
    """Refuse to run when an asset requires a resource nobody provided.

    Raises
    ------
    FlowstoneError
        Naming the first such asset and the resources it misses.
    """
    if prepare(plan).requires <= resources.keys():
        return  # (the usual case, checked without a look at every asset)
    asset = next(a for a in plan.assets.values() if not set(a.requires) <= resources.keys())
    missing = [name for name in asset.requires if name not in resources]
    raise FlowstoneError(
        f"Asset {asset.name!r} requires resource(s) {missing}, which are not configured: "
        "provide them with fs.configure(resources={...}) or materialize(..., resources={...})."
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
