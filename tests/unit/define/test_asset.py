"""The Asset model: defaults, types failing at construction, calling and invoking."""

from __future__ import annotations

import inspect
from typing import Any

import pydantic
import pytest

import flowstone_nb as fs
from flowstone_nb._define.asset import Signature, keyword_parameters


def test_minimal_asset_has_the_seed_defaults() -> None:
    a = fs.Asset(name="minimal")
    assert a.depends_on == []
    assert a.metadata == {}
    assert a.tags == []
    assert a.requires == []
    assert a.io_config == {}
    assert a.code_version is None
    assert a.partitioned_by is None


def test_wrong_type_fails_at_construction_naming_the_field() -> None:
    with pytest.raises(pydantic.ValidationError, match="metadata"):
        fs.Asset(name="x", metadata=["not", "a", "dict"])
    with pytest.raises(pydantic.ValidationError, match="line"):
        fs.Asset(name="x", line="twelve")


def test_unknown_field_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="depend_on"):
        fs.Asset(name="x", depend_on=["a"])


def test_asset_is_frozen() -> None:
    a = fs.Asset(name="x")
    with pytest.raises(pydantic.ValidationError):
        a.name = "y"  # type: ignore[misc]  # the point of the test


def test_depends_on_accepts_assets_and_a_single_string() -> None:
    raw = fs.Asset(name="raw")
    assert fs.Asset(name="x", depends_on=[raw, "other"]).depends_on == ["raw", "other"]
    assert fs.Asset(name="x", depends_on="raw").depends_on == ["raw"]
    assert fs.Asset(name="x", tags="sales").tags == ["sales"]


def test_seed_style_invoke_passes_context_and_deps() -> None:
    def execute(context: Any, deps: dict[str, int]) -> int:
        return deps["a"] + deps["b"] + context

    a = fs.Asset(name="s", depends_on=["a", "b"], execute_fn=execute)
    assert a.style == "seed"
    assert a.invoke(100, {"a": 1, "b": 2}) == 103


def test_decorator_style_invoke_binds_by_name() -> None:
    def execute(context: str, b: int, a: int, scale: int = 10) -> tuple[str, int]:
        return context, (a - b) * scale

    a = fs.Asset(name="d", depends_on=["a", "b"], execute_fn=execute)
    assert a.style == "decorator"
    assert a.invoke("ctx", {"a": 5, "b": 3}) == ("ctx", 20)
    with_default = fs.Asset(name="d", depends_on=["a", "b", "scale"], execute_fn=execute)
    assert with_default.invoke("ctx", {"a": 5, "b": 3, "scale": 1}) == ("ctx", 2)


def test_an_asset_says_whether_its_function_takes_a_context() -> None:
    def seed(context: Any, deps: dict[str, int]) -> int:
        return 0

    def keyword_only(context: Any, *, a: int) -> int:
        return a

    assert fs.Asset(name="s", depends_on=["a", "b"], execute_fn=seed).takes_context
    assert fs.Asset(name="k", depends_on=["a"], execute_fn=keyword_only).takes_context
    assert fs.Asset(name="o", depends_on=["a"], execute_fn=lambda a, context=None: a).takes_context
    assert not fs.Asset(name="p", depends_on=["a"], execute_fn=lambda a: a).takes_context
    assert fs.Asset(name="n").takes_context  # nothing to inspect: a context costs nothing here
    keyword = fs.Asset(name="k", depends_on=["a"], execute_fn=keyword_only)
    assert keyword.invoke("ctx", {"a": 4}) == 4
    optional = fs.Asset(name="o", depends_on=["a", "b"], execute_fn=lambda a, b=2: a * b)
    assert optional.invoke(None, {"a": 3}) == 6
    assert optional.invoke(None, {"a": 3, "b": 3}) == 9


def test_keyword_parameters_are_what_invoke_passes_when_it_passes_nothing_else() -> None:
    def plain(b: int, a: int, c: int = 1, d: int = 2) -> int:
        return a + b + c + d

    both = fs.Asset(name="p", depends_on=["a", "b"], execute_fn=plain)
    assert keyword_parameters(both) == (("b", 1), ("a", 0))
    values = {"a": 1, "b": 20}
    keywords = keyword_parameters(both) or ()
    direct = {name: values[both.depends_on[index]] for name, index in keywords}
    assert plain(**direct) == both.invoke(None, values) == 24
    with_optional = fs.Asset(name="p", depends_on=["c", "a", "b"], execute_fn=plain)
    assert keyword_parameters(with_optional) == (("b", 2), ("a", 1), ("c", 0))
    with_context = fs.Asset(name="k", depends_on=["a"], execute_fn=lambda context, a: a)
    assert keyword_parameters(with_context) is None
    seed = fs.Asset(name="s", depends_on=["a"], execute_fn=lambda context, deps: deps)
    assert keyword_parameters(seed) is None
    assert keyword_parameters(fs.Asset(name="n")) is None  # nothing to call


def test_calling_an_asset_calls_the_plain_function() -> None:
    a = fs.Asset(name="d", depends_on=["x"], execute_fn=lambda x: x * 2)
    assert a(21) == 42
    with pytest.raises(TypeError, match="'nothing' has no execute function"):
        fs.Asset(name="nothing")()


def test_uninspectable_execute_function_has_no_signature() -> None:
    def opaque() -> int:
        return 1

    opaque.__signature__ = "not a signature"  # type: ignore[attr-defined]  # makes inspect fail
    assert Signature.of(opaque) is None
    a = fs.Asset(name="b", execute_fn=opaque)
    assert a.signature is None
    assert a.style is None


def test_repr_shows_only_fields_that_differ_from_defaults() -> None:
    text = repr(fs.Asset(name="x", tags=["t"]))
    assert text == "Asset(name='x', tags=['t'])"


def test_variadic_signature_has_no_style() -> None:
    def f(*args: Any) -> None:
        return None

    signature = Signature.of(f)
    assert signature is not None
    assert signature.style([]) is None


def test_depends_on_of_the_wrong_type_fails_at_construction() -> None:
    with pytest.raises(pydantic.ValidationError, match="depends_on"):
        fs.Asset(name="x", depends_on=5)


def test_fast_signature_reading_agrees_with_inspect() -> None:
    def f(context: Any, a: int, b: int = 1, *rest: Any, c: int, d: int = 2, **more: Any) -> None:
        return None

    def g(x: int, y: int = 0) -> None:
        return None

    for fn in (f, g, lambda: None, lambda p, *, q: None):
        fast = Signature._of_function(fn)  # type: ignore[arg-type]  # lambdas are functions
        params = inspect.signature(fn).parameters.values()
        assert fast.required == tuple(
            p.name
            for p in params
            if p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )
        assert fast.optional == tuple(p.name for p in params if p.default is not p.empty)
        assert fast.variadic == any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)


def test_other_callables_are_inspected_the_slow_way() -> None:
    import functools

    def add(context: Any, a: int, b: int) -> int:
        return a + b

    partial = functools.partial(add, None)
    signature = Signature.of(partial)
    assert signature is not None
    assert signature.required == ("a", "b")
    asset = fs.Asset(name="summed", depends_on=["a", "b"], execute_fn=partial)
    assert asset.invoke(None, {"a": 1, "b": 2}) == 3
    assert asset.partitions is None
