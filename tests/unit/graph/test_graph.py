"""The pure DAG: order, closures, missing dependencies and cycles."""

from __future__ import annotations

import pytest

from flowstone_nb._core.errors import CycleError
from flowstone_nb._graph.dag import DAG


def diamond() -> DAG:
    return DAG.from_dependencies({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})


def test_topological_order_is_deterministic_and_respects_edges() -> None:
    dag = DAG.from_dependencies({"z": [], "y": ["z"], "a": [], "m": ["a", "y"]})
    assert dag.topological_order() == ["a", "z", "y", "m"]
    assert dag.topological_order() == dag.topological_order()
    order = dag.topological_order()
    order.clear()  # the caller's own list: the graph's kept order is untouched
    assert dag.topological_order() == ["a", "z", "y", "m"]


def test_nodes_edges_children_len_contains() -> None:
    dag = diamond()
    assert dag.nodes == ["a", "b", "c", "d"]
    assert dag.edges == [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    assert dag.children("a") == ("b", "c")
    assert dag.children("nope") == ()
    assert len(dag) == 4
    assert "a" in dag
    assert "q" not in dag


def test_duplicate_dependencies_are_dropped() -> None:
    dag = DAG.from_dependencies({"a": [], "b": ["a", "a"]})
    assert dag.parents["b"] == ("a",)
    assert dag.children("a") == ("b",)


def test_upstream_and_downstream_closures_with_depth() -> None:
    dag = diamond()
    assert dag.upstream("d") == {"a", "b", "c"}
    assert dag.upstream("d", depth=1) == {"b", "c"}
    assert dag.downstream("a") == {"b", "c", "d"}
    assert dag.downstream("a", depth=1) == {"b", "c"}
    assert dag.upstream("a") == set()
    assert dag.downstream("d", depth=0) == set()


def test_several_nodes_with_their_upstream_in_one_walk() -> None:
    dag = DAG.from_dependencies({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "x"], "e": []})
    assert dag.with_upstream(["d", "c"]) == {"a", "b", "c", "d"}  # "x" is missing: not a node
    assert dag.with_upstream(["e"]) == {"e"}
    assert dag.with_upstream([]) == set()


def test_sinks_are_the_nodes_nothing_depends_on() -> None:
    assert diamond().sinks() == frozenset({"d"})
    dag = DAG.from_dependencies({"a": [], "b": ["a", "x"], "c": ["a"], "e": []})
    assert dag.sinks() == frozenset({"b", "c", "e"})  # "x" is missing: not a node
    assert DAG.from_dependencies({}).sinks() == frozenset()


def test_restricted_order_and_subgraph() -> None:
    dag = diamond()
    assert dag.topological_order(["d", "b"]) == ["b", "d"]
    assert dag.topological_order(["a", "b"]) == ["a", "b"]
    sub = dag.subgraph(["a", "b", "d"])
    assert sub.edges == [("a", "b"), ("b", "d")]


def test_missing_dependencies_are_reported_with_suggestions() -> None:
    dag = DAG.from_dependencies({"sales": [], "report": ["sale", "other"]})
    assert dag.missing() == {"report": ("sale", "other")}
    assert dag.edges == []
    message = dag.missing_message("report")
    assert message is not None
    assert "'sale' Did you mean 'sales'?" in message
    assert "'other'" in message
    assert dag.missing_message("sales") is None


def test_cycle_is_reported_with_its_full_path() -> None:
    dag = DAG.from_dependencies({"a": ["c"], "b": ["a"], "c": ["b"], "x": []})
    with pytest.raises(CycleError, match=r"a -> b -> c -> a") as info:
        dag.topological_order()
    assert info.value.path == ["a", "b", "c", "a"]
    assert dag.find_cycle() == ["a", "b", "c", "a"]
    assert diamond().find_cycle() is None


def test_cycle_behind_an_acyclic_prefix() -> None:
    dag = DAG.from_dependencies({"root": [], "a": ["root", "b"], "b": ["a"], "tail": ["a"]})
    path = dag.find_cycle()
    assert path is not None
    assert path[0] == path[-1]
    assert set(path) == {"a", "b"}


def test_self_loop_is_a_cycle() -> None:
    assert DAG.from_dependencies({"a": ["a"]}).find_cycle() == ["a", "a"]


def test_ten_thousand_nodes_build_and_sort() -> None:
    deps = {f"n{i}": [f"n{i - 1}", f"n{i // 2}"] if i else [] for i in range(10_000)}
    dag = DAG.from_dependencies(deps)
    order = dag.topological_order()
    position = {name: i for i, name in enumerate(order)}
    assert all(position[d] < position[n] for n, ds in dag.parents.items() for d in ds)
