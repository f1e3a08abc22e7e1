"""Defining data checks: @fs.check, checks=[...], their shapes, names, registry and versions."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest

import flowstone_nb as fs
from flowstone_nb._define.data_checks import Check, as_check, check_code_version, is_schema
from flowstone_nb._define.registry import Registry


def test_a_decorated_check_is_registered_and_stays_callable(registry: Registry) -> None:
    @fs.check("sales", blocking=True)
    def positive(sales: list[int]) -> bool:
        """Every amount is positive.

        More words.
        """
        return all(x > 0 for x in sales)

    assert isinstance(positive, Check)
    assert positive([1, 2]) is True
    assert positive([-1]) is False
    assert (positive.name, positive.asset, positive.blocking) == ("positive", "sales", True)
    assert positive.description == "Every amount is positive."
    assert repr(positive) == "Check('positive' on 'sales', function, blocking)"
    assert registry.checks_of("sales") == (positive,)  # the asset may come later

    @fs.asset
    def sales() -> list[int]:
        return [1]

    assert registry.checks_of("sales") == (positive,)
    assert registry.checks_for(["sales", "other"]) == {"sales": (positive,)}


def test_a_check_takes_the_asset_object_a_context_a_name_and_a_description(
    registry: Registry,
) -> None:
    @fs.asset
    def sales() -> list[int]:
        return [1]

    @fs.check(sales, name="not_empty", description="has rows")
    def anything(context: Any, sales: list[int]) -> bool:
        return bool(sales)

    assert (anything.name, anything.asset, anything.description) == (
        "not_empty",
        "sales",
        "has rows",
    )
    assert anything.takes_context
    assert not anything.blocking
    assert registry.checks_of("sales") == (anything,)


def test_checks_given_with_the_asset_come_first_and_are_not_blocking(registry: Registry) -> None:
    def small(sales: list[int]) -> bool:
        return len(sales) < 10

    @fs.check("sales")
    def positive(sales: list[int]) -> bool:
        return True

    @fs.asset(checks=small)  # one check alone is a list of one
    def sales() -> list[int]:
        return [1]

    found = registry.checks_of("sales")
    assert [c.name for c in found] == ["small", "positive"]
    assert found[0].asset == "sales"
    assert not found[0].blocking
    assert sales.checks == [small]


def test_a_registered_check_given_again_in_checks_counts_once(registry: Registry) -> None:
    @fs.check("sales", blocking=True)
    def positive(sales: list[int]) -> bool:
        return True

    @fs.asset(checks=[positive])
    def sales() -> list[int]:
        return [1]

    assert registry.checks_of("sales") == (positive,)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def bad(amounts): return True", r"takes \(amounts\); expected one parameter named"),
        ("def bad(sales, other): return True", r"takes \(sales, other\)"),
        ("def bad(*sales): return True", r"takes \(no required parameters\)"),
        ("def bad(): return True", r"def bad\(sales\) or def bad\(context, sales\)"),
    ],
)
def test_a_check_of_the_wrong_shape_says_which_shape_is_expected(source: str, message: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    with pytest.raises(fs.AssetDefinitionError, match=message) as caught:
        fs.check("sales")(namespace["bad"])
    assert "Check 'bad' of asset 'sales'" in str(caught.value)
    assert caught.value.asset == "sales"


def test_wrong_options_name_the_fix(registry: Registry) -> None:
    with pytest.raises(fs.AssetDefinitionError, match=r"fs.check takes the asset it checks first"):
        fs.check(lambda sales: True)  # type: ignore[arg-type]  # @fs.check without arguments
    with pytest.raises(fs.AssetDefinitionError, match=r"blocking is True or False"):
        fs.check("sales", blocking="yes")  # type: ignore[arg-type]
    with pytest.raises(fs.AssetDefinitionError, match=r"not a Python identifier"):
        fs.check("sales", name="two words")(lambda sales: True)
    with pytest.raises(fs.AssetDefinitionError, match=r"is a int: pass a function"):
        fs.check("sales")(5)
    assert registry.checks_of("sales") == ()


def test_checks_given_with_the_asset_are_validated_with_it() -> None:
    def wrong(amounts: list[int]) -> bool:
        return True

    def same(sales: list[int]) -> bool:
        return True

    with pytest.raises(fs.AssetDefinitionError, match=r"checks: Check 'wrong' of asset 'sales'"):

        @fs.asset(checks=[wrong])
        def sales() -> list[int]:
            return [1]

    with pytest.raises(fs.AssetDefinitionError, match=r"Two checks of asset 'sales' are named"):

        @fs.asset(checks=[same, as_check(same, None)])
        def sales() -> list[int]:
            return [1]


def test_a_check_run_again_from_the_same_place_replaces_the_first(registry: Registry) -> None:
    def define(limit: int) -> Check:
        @fs.check("sales")
        def positive(sales: list[int]) -> bool:
            return len(sales) < limit

        return positive

    define(1)
    second = define(2)
    assert registry.checks_of("sales") == (second,)


def test_a_second_check_of_the_same_name_from_elsewhere_is_refused(registry: Registry) -> None:
    def first_place() -> None:
        @fs.check("sales")
        def positive(sales: list[int]) -> bool:
            return True

    def second_place() -> None:
        @fs.check("sales")
        def positive(sales: list[int]) -> bool:
            return False

    first_place()
    with pytest.raises(
        fs.AssetDefinitionError, match=r"already has a check named 'positive'"
    ) as caught:
        second_place()
    assert "first_place" in str(caught.value)
    assert "second_place" in str(caught.value)


def test_registered_and_inline_checks_of_one_name_are_refused_either_way(
    registry: Registry,
) -> None:
    def positive(sales: list[int]) -> bool:
        return True

    @fs.asset(checks=[positive])
    def sales() -> list[int]:
        return [1]

    fs.check("sales", name="other")(lambda sales: True)
    with pytest.raises(fs.AssetDefinitionError, match=r"in its checks=\[...\]"):
        fs.check("sales", name="positive")(lambda sales: True)
    registry.unregister("sales")

    @fs.check("orders")
    def complete(orders: list[int]) -> bool:
        return True

    def complete_too(orders: list[int]) -> bool:
        return True

    with pytest.raises(fs.AssetDefinitionError, match=r"already has a check named 'complete'"):

        @fs.asset(checks=[as_check(complete_too, None, name="complete")])
        def orders() -> list[int]:
            return [1]


def test_checks_for_looks_only_at_assets_with_checks(registry: Registry) -> None:
    @fs.asset
    def plain() -> int:
        return 1

    generation = registry.generation
    assert registry.checks_for(["plain"]) == {}
    with pytest.raises(fs.AssetDefinitionError, match=r"a lambda has no name: pass one, e.g. fs"):
        fs.check("plain")(lambda plain: True)
    fs.check("plain", name="truthy")(lambda plain: True)
    assert registry.generation > generation
    assert list(registry.checks_for(["plain"])) == ["plain"]
    registry.clear()
    assert registry.checks_for(["plain"]) == {}


def test_an_asset_redefined_without_checks_keeps_only_the_registered_ones(
    registry: Registry,
) -> None:
    def small(sales: list[int]) -> bool:
        return True

    fs.asset(checks=[small], name="sales", replace=True)(lambda: [1])
    assert [c.name for c in registry.checks_of("sales")] == ["small"]
    fs.asset(name="sales", replace=True)(lambda: [1])
    assert registry.checks_of("sales") == ()
    registry.unregister("sales")
    assert registry.checks_for(["sales"]) == {}


def test_a_check_version_follows_its_code_not_its_form() -> None:
    def compiled(source: str) -> Any:
        namespace: dict[str, Any] = {}
        exec(source, namespace)
        return namespace["positive"]

    plain = "def positive(sales):\n    return all(x > 0 for x in sales)\n"
    commented = "def positive(sales):\n    # why\n    return all(x > 0 for x in sales)  # ok\n"
    edited = "def positive(sales):\n    return all(x >= 0 for x in sales)\n"
    version = check_code_version(as_check(compiled(plain), "sales"))
    assert check_code_version(as_check(compiled(commented), "sales", blocking=True)) == version
    assert check_code_version(as_check(compiled(edited), "sales")) != version


def amounts_schema(limit: float, region_check: Any = None) -> pa.DataFrameSchema:
    checks = [region_check] if region_check is not None else []
    return pa.DataFrameSchema(
        {"amount": pa.Column(float, pa.Check.ge(limit)), "region": pa.Column(str, checks)},
        name="sales_schema",
        description="Amounts are not negative.",
    )


def test_a_pandera_schema_is_a_check_named_after_it(registry: Registry) -> None:
    schema = amounts_schema(0)
    made = fs.check("sales", blocking=True)(schema)
    assert is_schema(schema)
    assert not is_schema(pd.DataFrame())
    assert (made.name, made.schema, made.takes_context) == ("sales_schema", True, False)
    assert made.description == "Amounts are not negative."
    assert repr(made) == "Check('sales_schema' on 'sales', schema, blocking)"
    good = pd.DataFrame({"amount": [1.0], "region": ["n"]})
    assert made(good).equals(good)  # calling a schema check validates
    unnamed = as_check(pa.DataFrameSchema({"amount": pa.Column(float)}), "sales")
    assert (unnamed.name, unnamed.description) == ("schema", None)


def test_a_schema_version_changes_with_its_columns_and_its_own_check_functions() -> None:
    version = check_code_version(as_check(amounts_schema(0), "sales"))
    assert check_code_version(as_check(amounts_schema(0), "sales")) == version
    assert check_code_version(as_check(amounts_schema(1), "sales")) != version
    north = check_code_version(as_check(amounts_schema(0, pa.Check(lambda s: s == "n")), "sales"))
    south = check_code_version(as_check(amounts_schema(0, pa.Check(lambda s: s == "s")), "sales"))
    assert north != south


def test_check_result_holds_what_a_check_found() -> None:
    result = fs.CheckResult(False, "3 negative amounts", {"negative": 3})
    assert (result.passed, result.message, result.metadata) == (
        False,
        "3 negative amounts",
        {"negative": 3},
    )
    assert fs.CheckResult(True).message is None


def test_a_callable_python_cannot_inspect_is_trusted_as_a_check(registry: Registry) -> None:
    made = fs.check("sales", name="smallest")(min)
    assert registry.checks_of("sales") == (made,)
    assert not made.takes_context


def test_what_a_schema_holds_is_read_through_sets_slots_and_deep_nesting() -> None:
    from flowstone_nb._define.data_checks import _structure

    deep: list[Any] = [1]
    for _ in range(20):
        deep = [deep]
    assert _structure({2, 1}, 0) == "{1,2}"
    assert _structure(frozenset({"b", "a"}), 0) == "{'a','b'}"
    assert _structure(range(3), 0) == "range:range(0, 3)"  # no __dict__: its repr
    assert _structure(deep, 0) == _structure([[deep]], 0)  # too deep: cut at the same level
    assert _structure(deep, 0).count("[") == 13
    assert _structure(int, 0) == "builtins.int"
