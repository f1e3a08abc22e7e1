"""fs.validate: every issue names its field and the fix (the seed's validator tests, translated)."""

from __future__ import annotations

import re
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._core.io_managers import unregister_io_manager


def seed_execute(context: Any, deps: dict[str, Any]) -> int:
    return 1


def fields(asset: fs.Asset) -> list[str]:
    return [issue.field for issue in fs.validate(asset)]


# -- the seed's cases ------------------------------------------------------------------------
def test_valid_asset_is_accepted() -> None:
    assert fs.validate(fs.Asset(name="valid", depends_on=["a"], execute_fn=seed_execute)) == []


def test_missing_name_is_reported() -> None:
    issues = fs.validate(fs.Asset(execute_fn=seed_execute))
    assert [i.field for i in issues] == ["name"]
    assert "no name" in issues[0].message


def test_non_name_dependency_is_reported() -> None:
    assert fields(fs.Asset(name="x", depends_on=["not a name"], execute_fn=seed_execute)) == [
        "depends_on"
    ]


def test_missing_execute_is_reported() -> None:
    issues = fs.validate(fs.Asset(name="x"))
    assert [i.field for i in issues] == ["execute"]
    assert "@fs.asset" in issues[0].message


def test_one_argument_execute_is_reported() -> None:
    issues = fs.validate(fs.Asset(name="x", depends_on=["a"], execute_fn=lambda ctx: 1))
    assert [i.field for i in issues] == ["execute"]
    assert "(context, deps)" in issues[0].message
    assert "['ctx']" in issues[0].message


# -- names -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("", "empty"),
        ("daily sales", "'daily_sales'"),
        ("1st", "'_1st'"),
        ("class", "keyword"),
        ("context", "reserved"),
        ("!!!", "'my_asset'"),
        ("for ", "'for_'"),
    ],
)
def test_bad_names(name: str, needle: str) -> None:
    issues = fs.validate(fs.Asset(name=name, execute_fn=lambda: 1))
    assert [i.field for i in issues] == ["name"]
    assert needle in issues[0].message


def test_a_name_longer_than_a_file_name_may_be_is_reported() -> None:
    name = "漢" * 100  # 100 characters, 300 bytes in UTF-8
    issues = fs.validate(fs.Asset(name=name, execute_fn=lambda: 1))
    assert [i.field for i in issues] == ["name"]
    assert re.search(r"300 bytes.*at most 200 bytes", issues[0].message)
    assert fs.validate(fs.Asset(name="漢" * 66, execute_fn=lambda: 1)) == []  # 198 bytes


def test_a_name_too_long_fails_when_it_is_defined_not_after_computing() -> None:
    computed: list[int] = []

    def body() -> int:
        computed.append(1)
        return 1

    body.__name__ = "x" * 201
    with pytest.raises(fs.AssetDefinitionError, match=r"name:.*201 bytes.*at most 200"):
        fs.asset(body)
    assert computed == []


# -- dependencies ------------------------------------------------------------------------------
def test_duplicate_and_self_dependencies() -> None:
    issues = fs.validate(fs.Asset(name="x", depends_on=["a", "a", "x"], execute_fn=seed_execute))
    messages = [i.message for i in issues if i.field == "depends_on"]
    assert any("listed twice" in m for m in messages)
    assert any("depends on itself" in m and "PreviousPartition" in m for m in messages)


def test_keyword_dependency() -> None:
    assert (
        "keyword"
        in fs.validate(fs.Asset(name="x", depends_on=["if"], execute_fn=seed_execute))[0].message
    )


# -- execute shapes --------------------------------------------------------------------------
def test_execute_not_callable() -> None:
    issues = fs.validate(fs.Asset(name="x", execute_fn=42))
    assert issues[0].field == "execute"
    assert "callable" in issues[0].message


def test_variadic_execute_is_refused() -> None:
    def f(*args: Any) -> None:
        return None

    issues = fs.validate(fs.Asset(name="x", execute_fn=f))
    assert issues[0].field == "execute"
    assert "*args" in issues[0].message


def test_context_must_come_first() -> None:
    def f(a: int, context: Any) -> None:
        return None

    issues = fs.validate(fs.Asset(name="x", depends_on=["a"], execute_fn=f))
    assert "'context' must be the first parameter" in issues[0].message


def test_decorator_style_with_parameters_not_in_depends_on() -> None:
    def f(context: Any, a: int, b: int) -> None:
        return None

    issues = fs.validate(fs.Asset(name="x", depends_on=["a"], execute_fn=f))
    assert issues[0].field == "execute"
    assert "['b']" in issues[0].message


def test_zero_argument_and_context_only_functions_are_valid_sources() -> None:
    assert fs.validate(fs.Asset(name="x", execute_fn=lambda: 1)) == []
    assert fs.validate(fs.Asset(name="x", execute_fn=lambda context: 1)) == []


def test_uninspectable_callables_are_trusted() -> None:
    def opaque() -> int:
        return 1

    opaque.__signature__ = "broken"  # type: ignore[attr-defined]  # makes inspect fail
    assert fs.validate(fs.Asset(name="x", execute_fn=opaque)) == []


# -- io manager, partitions, labels ----------------------------------------------------------
def test_unknown_io_manager_suggests_close_names() -> None:
    issues = fs.validate(fs.Asset(name="x", execute_fn=lambda: 1, io_manager="parquett"))
    assert issues[0].field == "io_manager"
    assert "Did you mean 'parquet'?" in issues[0].message
    assert fs.validate(fs.Asset(name="x", execute_fn=lambda: 1, io_manager="memory")) == []
    assert (
        fs.validate(
            fs.Asset(name="x", execute_fn=lambda: 1, io_manager="mine"), io_managers=["mine"]
        )
        == []
    )


def test_custom_partitioning_without_partition_fn() -> None:
    issues = fs.validate(fs.Asset(name="x", execute_fn=lambda: 1, partitioned_by="custom"))
    assert [i.field for i in issues] == ["partitioned_by"]
    assert "partition_fn" in issues[0].message


def test_partition_mappings_must_name_dependencies() -> None:
    issues = fs.validate(
        fs.Asset(
            name="x",
            depends_on=["a"],
            execute_fn=lambda a: a,
            partition_mappings={"b": fs.TrailingWindow(7)},
        )
    )
    assert [i.field for i in issues] == ["partition_mappings"]
    assert "'b'" in issues[0].message


def test_bad_requires_tags_and_code_version() -> None:
    issues = fs.validate(
        fs.Asset(
            name="x",
            execute_fn=lambda: 1,
            requires=["db", "db", "not ok"],
            tags=["ok", 3, " "],
            code_version=" ",
        )
    )
    assert [i.field for i in issues] == ["requires", "requires", "tags", "tags", "code_version"]
    assert "listed twice" in issues[0].message
    assert "3" in issues[2].message


def test_issue_str_names_the_field() -> None:
    issue = fs.validate(fs.Asset(name="x"))[0]
    assert str(issue).startswith("execute: ")


def test_a_mapping_for_the_asset_itself_is_allowed() -> None:
    asset = fs.Asset(
        name="x",
        execute_fn=lambda: 1,
        partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-31"),
        partition_mappings={"x": fs.PreviousPartition()},
    )
    assert [i.field for i in fs.validate(asset)] == []


# -- by name -----------------------------------------------------------------------------------
def test_validate_takes_the_name_of_a_registered_asset() -> None:
    fs.register_io_manager("kept_for_validate_test", lambda home: None)
    try:

        @fs.asset(io_manager="kept_for_validate_test")
        def stored() -> int:
            return 1

        assert fs.validate("stored") == []
    finally:
        unregister_io_manager("kept_for_validate_test")
    assert [issue.field for issue in fs.validate("stored")] == ["io_manager"]
    elsewhere = fs.Registry()
    elsewhere.register(fs.Asset(name="stored", execute_fn=seed_execute))
    assert fs.validate("stored", registry=elsewhere) == []


def test_validate_of_an_unknown_name_suggests_close_ones() -> None:
    @fs.asset
    def daily_sales() -> int:
        return 1

    with pytest.raises(fs.AssetNotFoundError, match=r"'daily_sale'.*'daily_sales'"):
        fs.validate("daily_sale")
    with pytest.raises(KeyError, match="No assets are registered yet"):
        fs.validate("daily_sales", registry=fs.Registry())
