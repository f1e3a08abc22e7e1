"""The pure dependency graph: nodes, edges, order, closures, cycles.

This module owns graph algorithms over asset *names* only. It knows nothing about assets, IPython,
Graphviz, widgets or storage; display and execution code consume it and never drive it.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flowstone_nb._core.errors import CycleError, did_you_mean

__all__ = ["DAG"]


@dataclass(frozen=True)
class DAG:
    """An immutable snapshot of a dependency graph.

    Parameters
    ----------
    parents
        Every node mapped to the nodes it depends on (its upstream). Dependencies that are not
        themselves nodes are *missing*: they are kept out of the edges and reported by
        :meth:`missing`.
    """

    parents: Mapping[str, tuple[str, ...]]
    _children: Mapping[str, tuple[str, ...]] = field(
        repr=False, compare=False, default_factory=dict
    )
    _missing: Mapping[str, tuple[str, ...]] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_dependencies(cls, dependencies: Mapping[str, Iterable[str]]) -> DAG:
        """Build a graph from ``{node: upstream names}``.

        Duplicate dependencies are dropped; unknown ones are recorded as missing.
        """
        parents: dict[str, tuple[str, ...]] = {}
        missing: dict[str, tuple[str, ...]] = {}
        children: dict[str, list[str]] = {name: [] for name in dependencies}
        for name, deps in dependencies.items():
            known: list[str] = []
            unknown: list[str] = []
            for dep in dict.fromkeys(deps):
                kids = children.get(dep)
                if kids is None:
                    unknown.append(dep)
                else:
                    kids.append(name)
                    known.append(dep)
            parents[name] = tuple(known)
            if unknown:
                missing[name] = tuple(unknown)
        for kids in children.values():
            if len(kids) > 1:
                kids.sort()
        return cls(parents, {name: tuple(kids) for name, kids in children.items()}, missing)

    # -- basic facts ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.parents)

    def __contains__(self, name: object) -> bool:
        return name in self.parents

    @property
    def nodes(self) -> list[str]:
        """All node names, sorted."""
        return sorted(self.parents)

    @property
    def edges(self) -> list[tuple[str, str]]:
        """All ``(upstream, downstream)`` pairs, sorted."""
        return sorted((dep, name) for name, deps in self.parents.items() for dep in deps)

    def children(self, name: str) -> tuple[str, ...]:
        """The direct downstream nodes of ``name``."""
        return self._children.get(name, ())

    def sinks(self) -> frozenset[str]:
        """The nodes nothing depends on.

        In a graph without cycles every node is one of them or upstream of one, so
        ``with_upstream(names)`` of names that include every sink is every node.
        """
        return self._sinks

    @functools.cached_property
    def _sinks(self) -> frozenset[str]:
        parents = self.parents
        return frozenset(parents).difference(*parents.values())  # (one C-level pass)

    def missing(self) -> dict[str, tuple[str, ...]]:
        """Nodes whose dependencies name no node, ``{node: unknown names}``."""
        return dict(self._missing)

    def missing_message(self, name: str) -> str | None:
        """A sentence about ``name``'s unknown dependencies with close matches, or ``None``."""
        unknown = self._missing.get(name)
        if not unknown:
            return None
        parts = [f"{dep!r}{did_you_mean(dep, self.parents)}" for dep in unknown]
        return f"Asset {name!r} depends on unknown asset(s): {'; '.join(parts)}"

    # -- order ------------------------------------------------------------------------------
    def topological_order(self, nodes: Iterable[str] | None = None) -> list[str]:
        """Return nodes so that every node comes after its dependencies.

        The order is deterministic: among nodes that are ready at the same time, the
        alphabetically smallest comes first.

        Parameters
        ----------
        nodes
            Restrict the order to these nodes (edges to other nodes are ignored).

        Raises
        ------
        CycleError
            When the (restricted) graph has a cycle; ``.path`` gives it.
        """
        if nodes is None:
            return list(self._order)
        return self._kahn(set(nodes))

    @functools.cached_property
    def _order(self) -> tuple[str, ...]:
        # The whole graph's order, kept: plans and views ask for it again and again.
        return tuple(self._kahn(set(self.parents)))

    def _kahn(self, selected: set[str]) -> list[str]:
        parents = self.parents
        indegree = {name: sum(1 for dep in parents[name] if dep in selected) for name in selected}
        ready = [name for name, count in indegree.items() if count == 0]
        heapq.heapify(ready)
        order: list[str] = []
        children = self._children
        push, pop = heapq.heappush, heapq.heappop
        while ready:
            name = pop(ready)
            order.append(name)
            for child in children.get(name, ()):
                count = indegree.get(child)
                if count is not None:
                    indegree[child] = count - 1
                    if count == 1:
                        push(ready, child)
        if len(order) != len(selected):
            remaining = sorted(selected - set(order))
            raise CycleError(self._cycle_from(remaining, selected))
        return order

    def find_cycle(self) -> list[str] | None:
        """Return one cycle as a path (first node repeated at the end), or ``None``."""
        try:
            self.topological_order()
        except CycleError as error:
            return error.path
        return None

    def _cycle_from(self, candidates: Sequence[str], selected: set[str]) -> list[str]:
        """Walk parents from a node left over by Kahn's algorithm until a node repeats."""
        candidate_set = set(candidates)
        node = candidates[0]
        seen: dict[str, int] = {}
        walk: list[str] = []
        while node not in seen:
            seen[node] = len(walk)
            walk.append(node)
            # Every leftover node keeps at least one leftover parent, so this never runs dry.
            node = next(dep for dep in self.parents[node] if dep in candidate_set & selected)
        cycle = walk[seen[node] :]
        cycle.reverse()  # walked against the edges; report in data-flow direction
        start = cycle.index(min(cycle))  # rotate so the same cycle always reads the same way
        cycle = cycle[start:] + cycle[:start]
        return [*cycle, cycle[0]]

    # -- closures ---------------------------------------------------------------------------
    def upstream(self, name: str, depth: int | None = None) -> set[str]:
        """Every node ``name`` depends on, transitively (up to ``depth`` edges away)."""
        return self._closure(name, self.parents, depth)

    def with_upstream(self, names: Iterable[str]) -> set[str]:
        """``names`` and every node any of them depends on, transitively (one walk for all)."""
        parents = self.parents
        found = set(names)
        frontier = list(found)
        while frontier:
            for dep in parents.get(frontier.pop(), ()):
                if dep not in found:
                    found.add(dep)
                    frontier.append(dep)
        return found

    def downstream(self, name: str, depth: int | None = None) -> set[str]:
        """Every node that depends on ``name``, transitively (up to ``depth`` edges away)."""
        return self._closure(name, self._children, depth)

    @staticmethod
    def _closure(
        start: str, neighbours: Mapping[str, tuple[str, ...]], depth: int | None
    ) -> set[str]:
        found: set[str] = set()
        frontier = [start]
        level = 0
        while frontier and (depth is None or level < depth):
            level += 1
            next_frontier: list[str] = []
            for node in frontier:
                for other in neighbours.get(node, ()):
                    if other not in found and other != start:
                        found.add(other)
                        next_frontier.append(other)
            frontier = next_frontier
        return found

    def subgraph(self, nodes: Iterable[str]) -> DAG:
        """The graph restricted to ``nodes`` (edges to other nodes are dropped)."""
        keep = set(nodes)
        return DAG.from_dependencies(
            {name: [d for d in self.parents[name] if d in keep] for name in sorted(keep)}
        )
