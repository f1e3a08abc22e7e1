"""Plans: which (asset, partition) nodes a materialization needs, in which order, fed by what.

A plan expands target nodes upstream through each dependency's partition mapping, checks that every
dependency exists, and orders the nodes (by the asset graph, then by partition key). It reads
definitions only: it decides nothing about freshness and runs nothing.
"""

from __future__ import annotations

import functools
import operator
import weakref
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from types import MappingProxyType
from typing import Any, NamedTuple

from flowstone_nb._core.errors import AssetNotFoundError, PartitionError
from flowstone_nb._define.asset import Asset, any_partitioned
from flowstone_nb._define.data_checks import Check
from flowstone_nb._define.dependency_checks import check_dependencies
from flowstone_nb._define.registry import Registry
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.display import key_text, key_texts
from flowstone_nb._partitioning.keys import encode_key, encode_keys
from flowstone_nb._partitioning.mappings import (
    IdentityMapping,
    PartitionMapping,
    PreviousPartition,
    infer_mapping,
)
from flowstone_nb._partitioning.static_multi import MultiPartitions, StaticPartitions
from flowstone_nb._partitioning.time import TimePartitions

__all__ = [
    "Input",
    "Node",
    "Plan",
    "build_plan",
    "inputs_of",
    "keys_fixed",
    "make_node",
    "make_nodes",
    "partition_mapping",
    "target_node",
]


class Node(NamedTuple):
    """One asset partition: the unit of materialization (a tuple: cheap to hash and compare).

    Attributes
    ----------
    asset
        The asset's name.
    key
        The partition key (``None`` when unpartitioned).
    encoded
        The key's stored form (``""`` when unpartitioned).
    text
        How the key reads to a person (``""`` when unpartitioned); made by :func:`make_node`
        from the key (:func:`~flowstone_nb._partitioning.display.key_text`), so equal keys
        always have equal texts. Messages name a partition by it, never by ``encoded``.
    """

    asset: str
    key: Any
    encoded: str
    text: str = ""

    def describe(self) -> str:
        """``asset`` or ``asset[partition]`` for messages."""
        return f"{self.asset}[{self.text}]" if self.encoded else self.asset


def make_node(asset: str, definition: PartitionsDefinition | None, key: Any) -> Node:
    """The node of ``asset`` at ``key`` (``None``: unpartitioned), with its stored and shown key."""
    if key is None:
        return Node(asset, None, "")
    return Node(asset, key, encode_key(key), key_text(definition, key))


def make_nodes(
    asset: str, definition: PartitionsDefinition | None, keys: Sequence[Any]
) -> list[Node]:
    """:func:`make_node` of each of ``keys``, their stored and shown keys made in bulk."""
    if definition is None:
        return [make_node(asset, None, key) for key in keys]
    encoded, texts = encode_keys(keys), key_texts(definition, keys)
    return [
        _new_tuple(Node, (asset, key, code, text))
        for key, code, text in zip(keys, encoded, texts, strict=True)
    ]


_new_tuple = tuple.__new__


class Input(NamedTuple):
    """How one upstream asset feeds a node (a tuple: one is made per edge of a plan).

    Attributes
    ----------
    name
        The upstream asset (and parameter) name.
    nodes
        The upstream partitions consumed.
    many
        Pass ``{partition: value}`` (True) or the single value (False).
    """

    name: str
    nodes: tuple[Node, ...]
    many: bool


_NO_CHECKS: Mapping[str, tuple[Check, ...]] = MappingProxyType({})


@dataclass(frozen=True)
class Plan:
    """The nodes to consider, in execution order, with their inputs.

    A plan where nothing is partitioned is *simple*: one node per asset (``node_of``), each
    input the one value of a dependency. Its inputs are worked out only when asked for: a run
    of such a plan reads them from the definitions.
    """

    order: tuple[Node, ...]
    targets: tuple[Node, ...]
    assets: Mapping[str, Asset]
    #: The inputs of every node of a plan with partitions (``None``: a simple plan).
    partitioned_inputs: Mapping[Node, tuple[Input, ...]] | None = None
    #: The data checks of each asset of the plan that has any (most plans: none).
    checks: Mapping[str, tuple[Check, ...]] = field(default_factory=lambda: _NO_CHECKS)

    @property
    def simple(self) -> bool:
        """Nothing is partitioned: one node per asset, each input one value."""
        return self.partitioned_inputs is None

    @functools.cached_property
    def inputs(self) -> Mapping[Node, tuple[Input, ...]]:
        """How each dependency feeds each node (for a simple plan: made when first asked)."""
        if self.partitioned_inputs is not None:
            return self.partitioned_inputs
        whole = {node.asset: _new_tuple(Input, (node.asset, (node,), False)) for node in self.order}
        input_of, assets = whole.__getitem__, self.assets
        return {node: tuple(map(input_of, assets[node.asset].depends_on)) for node in self.order}

    @functools.cached_property
    def node_of(self) -> Mapping[str, Node]:
        """The node of each asset of a simple plan (of each asset's last node, otherwise)."""
        return dict(zip(map(_ASSET, self.order), self.order, strict=True))


_ASSET = operator.itemgetter(0)  # Node.asset, as a C-level getter


def target_node(asset: Asset, partition: Any) -> Node:
    """The node for ``asset`` at ``partition``, checking the key against its partitioning."""
    definition = asset.partitions
    name = str(asset.name)
    if definition is None:
        if partition is not None:
            raise PartitionError(
                f"Asset {name!r} is not partitioned, but partition={partition!r} was given: "
                "leave the partition out."
            )
        return make_node(name, None, None)
    if partition is None:
        latest = _latest_hint(definition)
        raise PartitionError(
            f"Asset {name!r} is partitioned ({definition!r}): pass partition=..., "
            f"e.g. partition={latest!r}, or use fs.backfill(...) for many partitions."
        )
    key = definition.parse_key(partition)
    return make_node(name, definition, key)


def _latest_hint(definition: PartitionsDefinition) -> str:
    try:
        latest = definition.latest()
    except PartitionError:
        return "<key>"
    return key_text(definition, latest) if latest is not None else "<key>"


def partition_mapping(asset: Asset, dep: Asset) -> PartitionMapping:
    """How ``asset``'s partitions consume those of its dependency ``dep`` (given or inferred)."""
    explicit = asset.partition_mappings.get(str(dep.name))
    if explicit is not None:
        return explicit
    return infer_mapping(asset.partitions, dep.partitions)


def inputs_of(
    node: Node, asset: Asset, assets: Mapping[str, Asset], whole: dict[str, Input] | None = None
) -> tuple[Input, ...]:
    """How each dependency of ``asset`` feeds its ``node``, in ``depends_on`` order.

    ``assets`` holds the definitions of the dependencies. Inputs of unpartitioned dependencies
    are the same for every node: pass the same ``whole`` to share them between calls.
    """
    whole = {} if whole is None else whole
    inputs = []
    for dep_name in asset.depends_on:
        dep = assets[dep_name]
        up_def = dep.partitions
        if up_def is None:  # the same input for every node: made once per plan (``whole``)
            item = whole.get(dep_name)
            if item is None:
                item = whole[dep_name] = Input(dep_name, (Node(dep_name, None, ""),), False)
            inputs.append(item)
            continue
        mapping = partition_mapping(asset, dep)
        keys = (
            mapping.upstream_keys(
                asset.partitions, node.key, up_def, downstream=str(asset.name), upstream=dep_name
            )
            or []
        )
        nodes = tuple(make_node(dep_name, up_def, key) for key in keys)
        if isinstance(mapping, PreviousPartition):
            inputs.append(Input(dep_name, nodes, many=False))  # None before the first
            continue
        single = isinstance(mapping, IdentityMapping) and len(nodes) == 1
        inputs.append(Input(dep_name, nodes, many=not single))
    return tuple(inputs)


def _check_closure(registry: Registry, names: Sequence[str]) -> dict[str, Asset]:
    """The definitions of ``names`` and everything upstream; unknown dependencies raise."""
    for name in names:
        registry.get(name)  # an unknown target raises, with suggestions
    dag, definitions = registry.snapshot()
    if dag.sinks().issubset(names):  # (the registry refuses cycles: every asset is upstream)
        closure: Collection[str] = definitions.keys()
    else:
        closure = dag.with_upstream(names)
    missing = dag.missing()
    if missing:
        for name in sorted(closure):
            for dep in missing.get(name, ()):
                raise AssetNotFoundError(
                    dep, registry.names(), context=f"(a dependency of {name!r})"
                )
    if len(closure) == len(definitions):
        return definitions
    return {name: definitions[name] for name in closure}


#: Plans that depend on the definitions only (not on the clock: "up to now" time partitions,
#: partition functions and mappings from elsewhere may give other keys later) are kept per
#: registry until it changes.
_plans: weakref.WeakKeyDictionary[Registry, dict[Hashable, tuple[int, Plan]]] = (
    weakref.WeakKeyDictionary()
)
_MAX_PLANS = 32


def keys_fixed(definition: PartitionsDefinition | None) -> bool:
    """Whether a definition's keys never change by themselves."""
    if definition is None or isinstance(definition, StaticPartitions):
        return True
    if isinstance(definition, TimePartitions):
        return definition.end is not None
    if isinstance(definition, MultiPartitions):
        return all(keys_fixed(part) for part in definition.dimensions.values())
    return False


def _reusable_plan(plan: Plan) -> bool:
    for asset in plan.assets.values():
        if not keys_fixed(asset.partitions):
            return False
        mappings = asset.partition_mappings
        if mappings and not all(m.depends_only_on_definitions for m in mappings.values()):
            return False
    return True


def build_plan(registry: Registry, targets: Sequence[tuple[str, Any]]) -> Plan:
    """Expand ``(asset, partition)`` targets into every node they need, in execution order.

    A plan that depends on the definitions only is reused until the registry changes.

    Raises
    ------
    AssetNotFoundError
        A target or a dependency is not defined.
    PartitionError
        A partition key does not fit, or two partitionings cannot be mapped (then a
        ``PartitionMappingError``, which is also an ``AssetDefinitionError``).
    """
    generation = registry.generation
    # types too: 1 and True (or 1.0) are equal keys of a dict, but not the same partition
    cache_key: Hashable = tuple((name, type(key), key) for name, key in targets)
    try:
        cached = _plans.get(registry, {}).get(cache_key)
    except TypeError:  # an unhashable partition value: nothing to look up
        cache_key = None
        cached = None
    if cached is not None and cached[0] == generation:
        return cached[1]
    plan = _build_plan(registry, targets)
    if cache_key is not None and (plan.simple or _reusable_plan(plan)):
        plans = _plans.setdefault(registry, {})
        if len(plans) >= _MAX_PLANS:
            plans.clear()
        plans[cache_key] = (generation, plan)
    return plan


_MAPPINGS = operator.attrgetter("partition_mappings")


def _check_mappings(registry: Registry, assets: Mapping[str, Asset], partitioned: bool) -> None:
    """Refuse, before anything runs, mappings that cannot work with their upstream's partitions.

    (Definitions are checked when they are registered; this finds an upstream defined, or
    redefined, after its downstream.) Without partitions, only explicit mappings can be wrong.
    """
    checked = assets.values() if partitioned else filter(_MAPPINGS, assets.values())
    check_dependencies(
        checked,
        assets,
        lambda name: registry.origin(name).label,
        note="Nothing was run: fix the mapping, or the partitions of the upstream.",
    )


def _build_plan(registry: Registry, targets: Sequence[tuple[str, Any]]) -> Plan:
    assets = _check_closure(registry, [name for name, _ in targets])
    partitioned = any_partitioned(assets.values())
    _check_mappings(registry, assets, partitioned)
    target_nodes = tuple(target_node(assets[name], partition) for name, partition in targets)
    dag = registry.dag()
    names = dag.topological_order(None if len(assets) == len(dag) else assets)
    checks = registry.checks_for(assets) or _NO_CHECKS
    if not partitioned:
        # Nothing partitioned (the common case): one node per asset, in the graph's order;
        # its inputs are made when asked for (see Plan). (Nodes made by C-level calls.)
        fields = zip(names, repeat(None), repeat(""), repeat(""))
        return Plan(tuple(map(_unpartitioned_node, fields)), target_nodes, assets, checks=checks)
    return _build_partitioned_plan(assets, target_nodes, names, checks)


_unpartitioned_node = functools.partial(_new_tuple, Node)


def _build_partitioned_plan(
    assets: dict[str, Asset],
    target_nodes: tuple[Node, ...],
    names: list[str],
    checks: Mapping[str, tuple[Check, ...]] = _NO_CHECKS,
) -> Plan:
    inputs: dict[Node, tuple[Input, ...]] = {}
    whole: dict[str, Input] = {}
    pending = list(target_nodes)
    while pending:
        node = pending.pop()
        if node in inputs:
            continue
        node_inputs = inputs_of(node, assets[node.asset], assets, whole)
        inputs[node] = node_inputs
        pending.extend(n for item in node_inputs for n in item.nodes if n not in inputs)
    node_of = {node.asset: node for node in inputs}
    if len(node_of) == len(inputs) == len(assets):  # one node per asset: the graph's order
        order = tuple(node_of[name] for name in names)
    else:
        rank = {name: i for i, name in enumerate(names)}
        order = tuple(sorted(inputs, key=lambda n: (rank[n.asset], n.encoded)))
    return Plan(
        order=order, targets=target_nodes, assets=assets, partitioned_inputs=inputs, checks=checks
    )
