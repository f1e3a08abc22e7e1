"""@fs.asset: bare and configured forms, inference, registration, definition-time errors."""

from __future__ import annotations

import inspect
from typing import Any, get_overloads

import pytest

import flowstone_nb as fs


def test_bare_decorator_registers_and_stays_callable(registry: fs.Registry) -> None:
    @fs.asset
    def raw() -> list[int]:
        """Raw numbers.

        More detail that is not part of the description.
        """
        return [1, 2, 3]

    assert isinstance(raw, fs.Asset)
    assert registry.get("raw") is raw
    assert raw() == [1, 2, 3]
    assert raw.description == "Raw numbers."
    assert raw.module == __name__
    assert raw.line is not None
    assert raw.depends_on == []


def test_dependencies_are_inferred_from_parameters(registry: fs.Registry) -> None:
    @fs.asset
    def raw() -> int:
        return 1

    @fs.asset
    def clean(context: Any, raw: int, scale: int = 2) -> int:
        return raw * scale

    assert clean.depends_on == ["raw"]
    assert clean.style == "decorator"
    assert clean(None, 5) == 10
    assert registry.dag().edges == [("raw", "clean")]


def test_configured_decorator_mirrors_the_asset_fields(registry: fs.Registry) -> None:
    @fs.asset(
        name="daily",
        description="explicit",
        io_manager="memory",
        tags=["sales"],
        metadata={"owner": "ana"},
        code_version="v1",
        requires=["db"],
    )
    def whatever(context: Any) -> int:
        return 1

    assert whatever.name == "daily"
    assert whatever.description == "explicit"
    assert whatever.io_manager == "memory"
    assert whatever.tags == ["sales"]
    assert whatever.metadata == {"owner": "ana"}
    assert whatever.code_version == "v1"
    assert whatever.requires == ["db"]
    assert "daily" in registry


def test_seed_style_builds_the_same_model_as_a_direct_asset() -> None:
    r = fs.Registry()

    def execute(context: Any, deps: dict[str, int]) -> int:
        return deps["a"] + 1

    r.register(fs.Asset(name="a", execute_fn=lambda: 1))
    decorated = fs.asset(depends_on=["a"], registry=r)(execute)
    direct = fs.Asset(
        name="execute",
        depends_on=["a"],
        execute_fn=execute,
        module=execute.__module__,
        line=execute.__code__.co_firstlineno,
    )
    assert decorated == direct
    assert decorated.style == "seed"
    assert decorated.invoke(None, {"a": 1}) == 2


def test_definition_errors_are_raised_when_the_decorator_runs() -> None:
    with pytest.raises(fs.AssetDefinitionError, match=r"execute:.*\(context, deps\)"):

        @fs.asset(depends_on=["a"])
        def bad(x: int, y: int, z: int) -> None:
            return None


def test_wrong_types_become_library_errors_naming_the_field() -> None:
    with pytest.raises(
        fs.AssetDefinitionError, match=r"wrong type for a field:\n  - metadata"
    ) as info:

        @fs.asset(metadata=[1, 2])
        def typed() -> None:
            return None

    assert info.value.__cause__ is None
    assert "typed" in str(info.value)


def test_unknown_option_and_non_callable() -> None:
    with pytest.raises(
        fs.AssetDefinitionError, match=r"Unknown @asset option\(s\) \['depend_on'\]"
    ):
        fs.asset(depend_on=["a"])
    with pytest.raises(fs.AssetDefinitionError, match="decorates a function, not str"):
        fs.asset("raw")  # type: ignore[call-overload]  # the mistake under test


def test_the_options_are_the_asset_fields_the_function_does_not_give() -> None:
    """The typed overload lists the options by hand (for type checkers): it lists the fields."""
    own = {"execute_fn", "module", "line"}  # what the decorator reads off the function
    options = set(fs.Asset.model_fields) - own
    configured = [
        set(inspect.signature(overload).parameters) - {"registry", "replace"}
        for overload in get_overloads(fs.asset)
        if "name" in inspect.signature(overload).parameters
    ]
    assert configured == [options]
    with pytest.raises(fs.AssetDefinitionError, match="Unknown @asset option"):
        fs.asset(execute_fn=len)


def test_unknown_dependency_in_a_notebook_warns_with_suggestions() -> None:
    @fs.asset
    def sales() -> int:
        return 1

    with pytest.warns(fs.FlowstoneWarning, match=r"'sale' Did you mean 'sales'\?"):

        @fs.asset
        def report(sale: int) -> int:
            return sale


def test_registers_into_a_given_registry_and_replace(registry: fs.Registry) -> None:
    other = fs.Registry()

    @fs.asset(registry=other)
    def only_there() -> int:
        return 1

    assert "only_there" in other
    assert "only_there" not in registry

    @fs.asset(registry=other, name="only_there", replace=True)
    def second() -> int:
        return 2

    assert other.get("only_there") is second


def test_redefining_in_another_module_is_an_error(registry: fs.Registry) -> None:
    from tests.resources import clash_a, clash_b

    registry.register(clash_a.shared, origin=None)
    with pytest.raises(fs.AssetDefinitionError, match=r"clash_a.*clash_b|already defined"):
        registry.register(clash_b.shared, origin=None)


def test_uninspectable_function_infers_no_dependencies() -> None:
    def opaque() -> int:
        return 1

    opaque.__signature__ = "broken"  # type: ignore[attr-defined]  # makes inspect fail
    built = fs.asset(registry=fs.Registry())(opaque)
    assert built.depends_on == []
