"""fs.Pipeline: class-based grouping validated when the class statement runs."""

from __future__ import annotations

from typing import Any

import pytest

import flowstone_nb as fs


def test_pipeline_collects_validates_and_registers(registry: fs.Registry) -> None:
    class Sales(fs.Pipeline):
        @fs.asset
        def revenue(orders: list[int]) -> int:
            return sum(orders)

        @fs.asset
        def orders() -> list[int]:
            return [1, 2, 3]

        not_an_asset = 3

    assert Sales.asset_names() == ["orders", "revenue"]
    assert Sales.assets()["revenue"](Sales.assets()["orders"]()) == 6
    assert registry.names() == ["orders", "revenue"]
    assert registry.origin("orders").key == f"{__name__}:{Sales.__qualname__}.orders"


def test_a_pipeline_validates_each_asset_once(
    registry: fs.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowstone_nb._define import checks as _checks
    from flowstone_nb._define import pipeline as _pipeline
    from flowstone_nb._define import registry as _registry

    checked: list[str] = []

    def counting(asset: fs.Asset) -> list[Any]:
        checked.append(str(asset.name))
        return _checks.asset_issues(asset)

    monkeypatch.setattr(_pipeline, "asset_issues", counting)
    monkeypatch.setattr(_registry, "asset_issues", counting)

    class Counted(fs.Pipeline):
        @fs.asset
        def first() -> int:
            return 1

        @fs.asset
        def second(first: int) -> int:
            return first + 1

    assert sorted(checked) == ["first", "second"]  # the class statement checks each once
    assert registry.names() == ["first", "second"]
    Counted.register(fs.Registry())  # registering elsewhere later checks again
    assert sorted(checked) == ["first", "first", "second", "second"]


def test_register_false_then_register_is_one_call(registry: fs.Registry) -> None:
    class Quiet(fs.Pipeline, register=False):
        @fs.asset
        def a() -> int:
            return 1

        @fs.asset
        def b(a: int) -> int:
            return a

    assert len(registry) == 0
    other = fs.Registry()
    Quiet.register(other)
    assert other.names() == ["a", "b"]
    Quiet.register(other)  # same origin: replaced silently
    assert len(other) == 2


def test_unknown_dependency_inside_a_pipeline_is_an_error(registry: fs.Registry) -> None:
    with pytest.raises(fs.AssetDefinitionError, match=r"'order' Did you mean 'orders'\?.*Broken"):

        class Broken(fs.Pipeline):
            @fs.asset
            def orders() -> int:
                return 1

            @fs.asset
            def revenue(order: int) -> int:
                return order

    assert len(registry) == 0


def test_dependencies_on_registered_assets_are_allowed(registry: fs.Registry) -> None:
    @fs.asset
    def customers() -> int:
        return 1

    class UsesOutside(fs.Pipeline):
        @fs.asset
        def report(customers: int) -> int:
            return customers

    assert UsesOutside.asset_names() == ["report"]
    assert "report" in registry


def test_cycle_inside_a_pipeline_is_refused_with_its_path(registry: fs.Registry) -> None:
    with pytest.raises(fs.CycleError, match=r"in pipeline 'Loop'.*a -> b -> a") as info:

        class Loop(fs.Pipeline):
            @fs.asset
            def a(b: int) -> int:
                return b

            @fs.asset
            def b(a: int) -> int:
                return a

    assert info.value.path == ["a", "b", "a"]
    assert len(registry) == 0


def test_duplicate_names_inside_a_pipeline(registry: fs.Registry) -> None:
    with pytest.raises(fs.AssetDefinitionError, match=r"defines asset 'x' twice"):

        class Twice(fs.Pipeline):
            @fs.asset(name="x")
            def first() -> int:
                return 1

            @fs.asset(name="x")
            def second() -> int:
                return 2


def test_invalid_asset_inside_a_pipeline(registry: fs.Registry) -> None:
    with pytest.raises(fs.AssetDefinitionError, match=r"Invalid asset 'odd' \(pipeline Bad\)"):

        class Bad(fs.Pipeline):
            @fs.asset(depends_on=["x"], name="odd")
            def odd(p: int, q: int, r: int) -> None:
                return None

            @fs.asset
            def x() -> int:
                return 1


def test_self_parameter_is_refused(registry: fs.Registry) -> None:
    with pytest.raises(fs.AssetDefinitionError, match=r"takes 'self'.*remove"):

        class WithSelf(fs.Pipeline):
            @fs.asset
            def a(self: Any) -> int:
                return 1


def test_pipelines_inherit_assets(registry: fs.Registry) -> None:
    class Base(fs.Pipeline, register=False):
        @fs.asset
        def base() -> int:
            return 1

    class Child(Base, register=False):
        @fs.asset
        def child(base: int) -> int:
            return base + 1

    assert Child.asset_names() == ["base", "child"]
    assert Base.asset_names() == ["base"]
