"""fs.graph: the DAG coloured by status, focused views, unknown dependencies, the text form."""

from __future__ import annotations

from typing import Any

import pytest

import flowstone_nb as fs


def chain() -> None:
    @fs.asset(tags=["ingest"])
    def raw() -> int:
        return 1

    @fs.asset(tags=["ingest"])
    def clean(raw: int) -> int:
        return raw

    @fs.asset(description="the <b>report</b>")
    def report(clean: int) -> int:
        return clean

    @fs.asset
    def other() -> int:
        return 2


def test_graph_colours_nodes_by_status() -> None:
    chain()
    fs.materialize("clean")
    view = fs.graph()
    assert "raw" in view.source
    assert "fs-status-fresh" in view.source
    assert "fs-status-missing" in view.source
    text = repr(view)
    assert "clean (fresh) <- raw" in text
    assert "report (missing) <- clean" in text
    assert "cluster" in view.source  # grouped by first tag


def test_focus_with_levels() -> None:
    chain()
    view = fs.graph("clean", upstream=1, downstream=0)
    assert {node.name for node in view.nodes} == {"raw", "clean"}
    assert "fs-focus" in view.source
    assert {node.name for node in fs.graph("raw").nodes} == {"raw", "clean", "report"}


def test_status_false_draws_definitions_only() -> None:
    chain()
    view = fs.graph(status=False)
    assert {node.status for node in view.nodes} == {"unknown"}


def test_unknown_dependencies_are_drawn_dashed() -> None:
    with pytest.warns(fs.FlowstoneWarning):

        @fs.asset
        def lonely(missing_input: int) -> int:
            return missing_input

    view = fs.graph()
    external = [node for node in view.nodes if node.external]
    assert [node.name for node in external] == ["missing_input"]
    assert "missing_input (not defined)" in repr(view)
    assert "dashed" in view.source


def test_partitioned_nodes_show_counts() -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["a", "b", "c"]))
    def parts(context: Any) -> str:
        return context.partition

    fs.materialize(parts, "a")
    assert "1/3 fresh, 2 missing" in repr(fs.graph())


def test_empty_graph_and_unknown_focus() -> None:
    assert repr(fs.graph()) == "(no assets)"
    with pytest.raises(fs.AssetNotFoundError):
        fs.graph("nope")
