"""Defining assets: ``Asset(...)``, ``model_validate`` and the decorator build one same model.

The decorator hands pydantic the signature it has read already (a ``KnownSignature`` validation
context); these tests pin that every route gives identical models and identical errors, and that
the signature is read once.
"""

from __future__ import annotations

import copy
import pickle
import sys
from collections import UserString
from typing import Any

import pydantic
import pytest

import flowstone_nb as fs
from flowstone_nb._core.io_managers import unregister_io_manager
from flowstone_nb._define import checks as _checks
from flowstone_nb._define.asset import KnownSignature, Signature
from flowstone_nb._define.definition_site import Origin, origin_of_function


def seed(context: Any, deps: dict[str, Any]) -> int:
    return 1


def two_parents(context: Any, a: int, b: int = 2) -> int:
    return a + b


DAILY = fs.DailyPartitions("2024-01-01", "2024-01-31")

PLAIN: list[dict[str, Any]] = [
    {},
    {"name": "x"},
    {"name": "x", "description": None, "io_manager": None, "code_version": None, "line": None},
    {
        "name": "s",
        "description": "text",
        "depends_on": ["a", "b"],
        "io_manager": "memory",
        "io_config": {"compression": "zstd"},
        "execute_fn": seed,
        "requires": ["db"],
        "metadata": {"owner": "ana", "n": 3},
        "tags": ["sales", 3],
        "module": "m",
        "line": 12,
        "code_version": "v1",
    },
    {"name": "d", "depends_on": ("a",), "tags": ("t",), "requires": ("r",)},
    {"name": "d", "depends_on": "a", "tags": "t", "requires": "r"},
    {"name": "d", "depends_on": [fs.Asset(name="a"), "b"], "execute_fn": two_parents},
    {
        "name": "p",
        "partitioned_by": DAILY,
        "partition_mappings": {"p": fs.PreviousPartition()},
        "execute_fn": lambda: 1,
    },
    {"name": "p", "partitioned_by": "custom", "partition_fn": lambda: ["a"]},
    {"name": "p", "partitioned_by": "date"},
    {"name": "p", "partitioned_by": "no such spec"},
    {"name": "p", "partition_fn": lambda: ["a"]},
    {"name": "n", "execute_fn": 42},
    {"name": "n", "execute_fn": len},
]


def state(asset: fs.Asset) -> tuple[Any, ...]:
    """Everything pydantic keeps about an instance, with the types of the values."""
    values = asset.__dict__
    return (
        list(values.items()),
        [type(value) for value in values.values()],
        asset.model_fields_set,
        asset.__pydantic_extra__,
        asset.__pydantic_private__,
    )


@pytest.mark.parametrize("fields", PLAIN)
def test_plain_definitions_match_what_pydantic_builds(fields: dict[str, Any]) -> None:
    fast = fs.Asset(**fields)
    validated = fs.Asset.model_validate(fields)
    assert state(fast) == state(validated)
    assert fast == validated
    assert repr(fast) == repr(validated)
    assert fast.model_dump() == validated.model_dump()


def test_containers_are_copied_like_pydantic_copies_them() -> None:
    depends_on, tags, requires = ["a"], ["t"], ["r"]
    io_config: dict[str, Any] = {"k": 1}
    metadata: dict[str, Any] = {"k": 2}
    mappings = {"a": fs.IdentityMapping()}
    asset = fs.Asset(
        name="x",
        depends_on=depends_on,
        tags=tags,
        requires=requires,
        io_config=io_config,
        metadata=metadata,
        partition_mappings=mappings,
    )
    assert asset.depends_on is not depends_on
    assert asset.tags is not tags
    assert asset.requires is not requires
    assert asset.io_config is not io_config
    assert asset.metadata is not metadata
    assert asset.partition_mappings is not mappings
    assert asset.partition_mappings["a"] is mappings["a"]
    assert fs.Asset(name="y").depends_on is not fs.Asset(name="z").depends_on


class Named(str):
    """A ``str`` subclass: pydantic decides what becomes of it."""


WRONG: list[dict[str, Any]] = [
    {"name": 3},
    {"name": Named("x")},
    {"description": ["a"]},
    {"depends_on": 5},
    {"depends_on": [1]},
    {"depends_on": [fs.Asset()]},
    {"depends_on": {"a"}},
    {"depends_on": [Named("a")]},
    {"io_manager": 1},
    {"io_config": [1]},
    {"io_config": {1: "x"}},
    {"io_config": Named("x")},
    {"partitioned_by": 5},
    {"partitioned_by": Named("date")},
    {"partition_mappings": {"a": "identity"}},
    {"partition_mappings": {1: fs.IdentityMapping()}},
    {"partition_mappings": ["a"]},
    {"requires": [None]},
    {"requires": 3},
    {"metadata": ["not", "a", "dict"]},
    {"tags": {"a"}},
    {"tags": 3},
    {"module": 1},
    {"line": "twelve"},
    {"line": True},
    {"line": 1.0},
    {"code_version": 1},
    {"code_version": UserString("v")},
    {"depend_on": ["a"]},
]


@pytest.mark.parametrize("fields", WRONG)
def test_other_values_get_pydantics_treatment(fields: dict[str, Any]) -> None:
    try:
        expected: Any = fs.Asset.model_validate(fields)
    except pydantic.ValidationError as error:
        expected = error.errors()
    try:
        got: Any = fs.Asset(**fields)
    except pydantic.ValidationError as error:
        got = error.errors()
    if isinstance(expected, fs.Asset):
        assert state(got) == state(expected)
    else:
        assert got == expected


def test_fast_assets_are_frozen_copyable_and_picklable() -> None:
    asset = fs.Asset(name="s", depends_on=["a"], execute_fn=seed, tags=["t"])
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        asset.name = "other"  # type: ignore[misc]  # the point of the test
    assert copy.copy(asset) == asset
    assert copy.deepcopy(asset) == asset
    assert pickle.loads(pickle.dumps(asset)) == asset
    changed = asset.model_copy(update={"tags": ["u"]})
    assert changed.tags == ["u"]
    assert changed.signature == asset.signature


def test_the_decorator_reads_the_signature_once(
    monkeypatch: pytest.MonkeyPatch, registry: fs.Registry
) -> None:
    calls: list[object] = []
    original = Signature._of_function.__func__  # type: ignore[attr-defined]  # classmethod

    def counting(cls: type[Signature], fn: Any) -> Signature:
        calls.append(fn)
        return original(cls, fn)  # type: ignore[no-any-return]  # the wrapped reader

    monkeypatch.setattr(Signature, "_of_function", classmethod(counting))

    @fs.asset
    def a() -> int:
        return 1

    @fs.asset(io_manager="memory")
    def b(context: Any, a: int) -> int:
        return a

    assert len(calls) == 2
    assert b.signature == Signature(required=("context", "a"), optional=(), variadic=False)
    assert b.depends_on == ["a"]


def test_the_decorator_builds_what_pydantic_builds() -> None:
    target = fs.Registry()
    target.register(fs.Asset(name="a", execute_fn=lambda: 1))

    @fs.asset(registry=target, io_manager="memory", tags="t", metadata={"k": 1})
    def made(context: Any, a: int, b: int = 2) -> int:
        """First paragraph.

        Second paragraph.
        """
        return a + b

    validated = fs.Asset.model_validate(
        {
            "name": "made",
            "description": "First paragraph.",
            "depends_on": ["a"],
            "io_manager": "memory",
            "metadata": {"k": 1},
            "tags": "t",
            "execute_fn": made.execute_fn,
            "module": __name__,
            "line": made.execute_fn.__code__.co_firstlineno,
        }
    )
    assert state(made) == state(validated)


def test_the_decorator_reports_wrong_types_as_before() -> None:
    with pytest.raises(fs.AssetDefinitionError) as info:

        @fs.asset(registry=fs.Registry(), tags=3, metadata=[1])
        def typed() -> None:
            return None

    message = str(info.value)
    assert message.startswith("Invalid asset 'typed' (")
    assert "wrong type for a field:\n  - metadata: Input should be a valid dictionary" in message
    assert "  - tags: Input should be a valid list (got 3)" in message


def test_builtin_io_managers_are_known_without_listing_every_manager(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unavailable() -> list[str]:
        raise AssertionError("listed every IO manager for a built-in name")

    monkeypatch.setattr(_checks, "known_io_manager_names", unavailable)
    for name in ("memory", "filesystem", "parquet"):
        assert fs.validate(fs.Asset(name="x", execute_fn=lambda: 1, io_manager=name)) == []


def test_custom_io_managers_stay_known_until_unregistered() -> None:
    fs.register_io_manager("mine_for_define_test", lambda home: None)
    try:
        asset = fs.Asset(name="x", execute_fn=lambda: 1, io_manager="mine_for_define_test")
        assert fs.validate(asset) == []
    finally:
        unregister_io_manager("mine_for_define_test")
    assert [issue.field for issue in fs.validate(asset)] == ["io_manager"]


class Documented:
    def method(self) -> int:
        """Documented in the base class.

        More.
        """
        return 1


class Inheriting(Documented):
    def method(self) -> int:
        return 2


def undocumented() -> int:
    return 1


def test_descriptions_come_from_docstrings_as_inspect_finds_them() -> None:
    def local_undocumented() -> int:
        return 1

    def local_documented() -> int:
        """Local.

        More.
        """
        return 1

    target = fs.Registry()
    assert fs.asset(registry=target)(undocumented).description is None
    assert fs.asset(registry=target)(local_undocumented).description is None
    assert fs.asset(registry=target)(local_documented).description == "Local."
    inherited = fs.asset(registry=target, name="inherited", depends_on=[])(Inheriting.method)
    assert inherited.description == "Documented in the base class."


def test_unknown_dependency_warnings_point_at_the_definition() -> None:
    target = fs.Registry()
    with pytest.warns(fs.FlowstoneWarning, match="'sale'") as record:

        @fs.asset(registry=target)
        def report(sale: int) -> int:
            return sale

    assert record[0].filename == __file__


def test_dependencies_defined_together_are_known_to_each_other() -> None:
    target = fs.Registry()
    first = fs.Asset(name="first", execute_fn=lambda: 1)
    second = fs.Asset(name="second", depends_on=["first"], execute_fn=lambda first: first)
    target.register_all([(second, None), (first, None)], unknown="error")
    assert target.dag().edges == [("first", "second")]
    third = fs.Asset(
        name="third", depends_on=["first", "fourth"], execute_fn=lambda context, deps: 1
    )
    with pytest.raises(fs.AssetDefinitionError, match="'fourth'"):
        target.register_all([(third, None)], unknown="error")


def test_a_main_function_outside_ipython_has_a_module_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)

    def script_function() -> int:
        return 1

    script_function.__module__ = "__main__"
    origin = origin_of_function(script_function)
    place = f"__main__:{script_function.__qualname__}"
    assert origin.key == place
    line = script_function.__code__.co_firstlineno
    assert origin.label == f"{place} ({__file__}:{line})"


def test_a_definition_without_execute_function_is_placed_in_the_running_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    with pytest.raises(fs.AssetDefinitionError, match=r"'x' \(code with no source location\)"):
        fs.Registry().register(fs.Asset(name="x"))


class Shouting(fs.Asset):
    """A subclass with a validator of its own."""

    @pydantic.field_validator("name")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


def test_subclasses_keep_their_own_validators() -> None:
    assert Shouting(name="loud").name == "LOUD"
    known = KnownSignature(None)
    assert Shouting.model_validate({"name": "loud"}, context=known).name == "LOUD"


def test_a_module_functions_origin_is_worked_out_when_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flowstone_nb._define import decorator as _decorator
    from flowstone_nb._define import registry as _registry

    calls: list[object] = []

    def counting(fn: Any) -> Origin:
        calls.append(fn)
        return origin_of_function(fn)

    monkeypatch.setattr(_registry, "origin_of_function", counting)
    monkeypatch.setattr(_decorator, "origin_of_function", counting)
    target = fs.Registry()

    @fs.asset(registry=target)
    def early() -> int:
        return 1

    assert calls == []
    origin = target.origin("early")
    assert origin.key == f"{__name__}:{early.execute_fn.__qualname__}"
    assert target.origin("early") is origin
    assert len(calls) == 1


def test_redefining_a_module_function_compares_both_places() -> None:
    target = fs.Registry()

    def make() -> fs.Asset:
        @fs.asset(registry=target)
        def again() -> int:
            return 1

        return again

    first = make()
    second = make()  # the same function defined again: replaced silently
    assert target.get("again") is second
    assert target.get("again") is not first
    assert target.origin("again").key == f"{__name__}:{second.execute_fn.__qualname__}"

    @fs.asset(registry=target, name="again", replace=True)
    def elsewhere() -> int:
        return 2

    assert target.origin("again").key == f"{__name__}:{elsewhere.execute_fn.__qualname__}"
    with pytest.raises(fs.AssetDefinitionError, match=r"already defined in .*elsewhere.*make"):
        make()
    target.unregister("again")
    assert "again" not in target
    make()
    target.register(
        fs.Asset(name="again", execute_fn=seed), origin=Origin("cell:x", "cell x"), replace=True
    )
    assert target.origin("again").label == "cell x"


def test_an_invalid_module_definition_names_its_place() -> None:
    with pytest.raises(fs.AssetDefinitionError, match=rf"'bad' \({__name__}:.*bad \("):

        @fs.asset(registry=fs.Registry(), depends_on=["a"])
        def bad(x: int, y: int, z: int) -> None:
            return None
