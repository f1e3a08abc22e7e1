"""fs.Registry: validation on register, lookups, origins, cycles and concurrency."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._define.definition_site import Origin


def make(name: str, *deps: str) -> fs.Asset:
    return fs.Asset(name=name, depends_on=list(deps), execute_fn=lambda context, deps: None)


CELL_A = Origin(key="cell:a", label="cell a")
CELL_B = Origin(key="cell:b", label="cell b")
NO_ID = Origin(key=None, label="a notebook cell")


def test_register_get_list_len_contains(registry: fs.Registry) -> None:
    r = fs.Registry()
    r.register(make("b", "a"), origin=CELL_A, unknown="ignore")
    r.register(make("a"), origin=CELL_B)
    assert r.get("a").name == "a"
    assert [a.name for a in r.list_all()] == ["a", "b"]
    assert r.names() == ["a", "b"]
    assert list(r) == ["a", "b"]
    assert len(r) == 2
    assert "a" in r
    assert "zzz" not in r
    assert r.origin("b") == CELL_A
    assert repr(r) == "Registry(2 assets: a, b)"
    assert repr(fs.Registry()) == "Registry(empty)"
    assert len(registry) == 0  # the fixture's kernel registry is untouched


def test_register_refuses_invalid_definitions_listing_every_issue() -> None:
    r = fs.Registry()
    with pytest.raises(fs.AssetDefinitionError) as info:
        r.register(fs.Asset(name="bad name", depends_on=["x y"]), origin=CELL_A)
    message = str(info.value)
    assert "Invalid asset 'bad name' (cell a)" in message
    assert "name:" in message
    assert "depends_on:" in message
    assert "execute:" in message
    assert info.value.asset == "bad name"
    assert len(info.value.issues) == 3
    assert len(r) == 0


def test_get_unknown_suggests_close_matches() -> None:
    r = fs.Registry()
    r.register(make("daily_sales"), origin=CELL_A)
    with pytest.raises(fs.AssetNotFoundError, match=r"Did you mean 'daily_sales'\?") as info:
        r.get("daily_sale")
    assert isinstance(info.value, KeyError)
    assert info.value.suggestions == ["daily_sales"]
    with pytest.raises(KeyError, match="Define it first"):
        r.get("zzzz")
    with pytest.raises(fs.AssetNotFoundError, match="No assets are registered yet"):
        fs.Registry().get("x")


def test_same_origin_replaces_silently() -> None:
    r = fs.Registry()
    r.register(make("a"), origin=CELL_A)
    replacement = make("a")
    r.register(replacement, origin=CELL_A)
    assert r.get("a") is replacement


def test_different_origin_is_an_error_naming_both_places() -> None:
    r = fs.Registry()
    r.register(make("a"), origin=CELL_A)
    with pytest.raises(fs.AssetDefinitionError, match=r"already defined in cell a; cell b") as info:
        r.register(make("a"), origin=CELL_B)
    assert "replace=True" in str(info.value)
    replacement = make("a")
    r.register(replacement, origin=CELL_B, replace=True)
    assert r.get("a") is replacement
    assert r.origin("a") == CELL_B


def test_unknown_cell_identity_replaces_and_warns() -> None:
    r = fs.Registry()
    r.register(make("a"), origin=NO_ID)
    replacement = make("a")
    with pytest.warns(fs.FlowstoneWarning, match="replaced by a notebook cell"):
        r.register(replacement, origin=NO_ID)
    assert r.get("a") is replacement


def test_unknown_dependencies_warn_error_or_pass() -> None:
    r = fs.Registry()
    r.register(make("sales"), origin=CELL_A)
    with pytest.warns(fs.FlowstoneWarning, match=r"'sale' Did you mean 'sales'\?"):
        r.register(make("report", "sale"), origin=CELL_B)
    with pytest.raises(fs.AssetDefinitionError, match=r"Did you mean 'sales'\?"):
        r.register(make("report2", "sale"), origin=CELL_B, unknown="error")
    assert "report2" not in r
    r.register(make("report3", "later"), origin=CELL_B, unknown="ignore")
    assert "report3" in r


def test_a_definition_closing_a_cycle_is_refused_with_its_path() -> None:
    r = fs.Registry()
    r.register(make("a", "c"), origin=CELL_A, unknown="ignore")
    r.register(make("b", "a"), origin=CELL_A)
    with pytest.raises(fs.CycleError, match=r"a -> b -> c -> a") as info:
        r.register(make("c", "b"), origin=CELL_A)
    assert info.value.path == ["a", "b", "c", "a"]
    assert "c" not in r


def test_replacing_keeps_the_reverse_index_consistent() -> None:
    r = fs.Registry()
    r.register(make("a"), origin=CELL_A)
    r.register(make("b", "a"), origin=CELL_B)
    r.register(make("b"), origin=CELL_B)  # b no longer depends on a
    r.register(make("a", "b"), origin=CELL_A)  # so this is not a cycle
    assert r.dag().edges == [("b", "a")]


def test_unregister_and_clear() -> None:
    r = fs.Registry()
    r.register(make("a"), origin=CELL_A)
    r.register(make("b", "a"), origin=CELL_A)
    assert r.unregister("b").name == "b"
    with pytest.raises(fs.AssetNotFoundError):
        r.unregister("b")
    r.register(make("a2", "a"), origin=CELL_A)
    r.clear()
    assert len(r) == 0
    assert r.dag().nodes == []


def test_dag_snapshot_is_cached_until_a_change() -> None:
    r = fs.Registry()
    r.register(make("a"), origin=CELL_A)
    first = r.dag()
    assert r.dag() is first
    r.register(make("b", "a"), origin=CELL_A)
    assert r.dag() is not first
    assert r.dag().edges == [("a", "b")]


def test_a_snapshot_is_the_graph_and_the_definitions_of_one_moment() -> None:
    r = fs.Registry()
    r.register(make("a"), origin=CELL_A)
    dag, definitions = r.snapshot()
    assert dag is r.dag()
    assert definitions == {"a": r.get("a")}
    r.register(make("b", "a"), origin=CELL_A)
    assert definitions == {"a": r.get("a")}  # a copy: later definitions stay out of it
    dag, definitions = r.snapshot()
    assert (dag.nodes, sorted(definitions)) == (["a", "b"], ["a", "b"])


def test_default_origin_comes_from_the_execute_function() -> None:
    r = fs.Registry()

    def execute(context: Any, deps: Any) -> None:
        return None

    r.register(fs.Asset(name="a", execute_fn=execute))
    assert r.origin("a").key == f"{__name__}:{execute.__qualname__}"
    r.register(fs.Asset(name="b", execute_fn=execute))  # no execute -> the current cell
    assert r.origin("b").key is not None


def test_get_registry_is_one_per_interpreter(registry: fs.Registry) -> None:
    assert fs.get_registry() is registry
    assert fs.get_registry() is fs.get_registry()


def test_concurrent_registration_loses_nothing() -> None:
    r = fs.Registry()
    writers, per_writer = 8, 200
    start = threading.Barrier(writers + 2)
    done = threading.Event()
    errors: list[BaseException] = []

    def write(w: int) -> None:
        start.wait()
        try:
            for i in range(per_writer):
                r.register(make(f"w{w}_{i}"), origin=Origin(key=f"w{w}", label=f"writer {w}"))
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    def read() -> None:
        start.wait()
        try:
            while not done.is_set():
                r.list_all()
                r.names()
                if "w0_0" in r:
                    r.get("w0_0")
                r.dag()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in threads + readers:
        t.start()
    for t in threads:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert errors == []
    assert len(r) == writers * per_writer
    assert len(r.dag()) == writers * per_writer
