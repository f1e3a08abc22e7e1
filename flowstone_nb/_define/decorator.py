"""The ``@asset`` decorator: turn a plain function into a registered :class:`~flowstone_nb.Asset`.

Parameters name upstream assets; a first parameter called ``context`` receives the AssetContext.
The decorated object is the :class:`~flowstone_nb.Asset` itself, which stays callable as the plain
function. Functions decorated inside a :class:`~flowstone_nb.Pipeline` class body are registered by
the class, not here. This module runs no user code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from types import FunctionType
from typing import Any, overload

import pydantic

from flowstone_nb._core.errors import AssetDefinitionError
from flowstone_nb._define.asset import CONTEXT, Asset, KnownSignature, Signature
from flowstone_nb._define.data_checks import Check, as_check, check_problem
from flowstone_nb._define.definition_site import origin_of_function
from flowstone_nb._define.registry import Registry, get_registry
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.mappings import PartitionMapping

__all__ = ["OPTIONS", "asset", "build_asset", "check", "translate_pydantic_error"]


def translate_pydantic_error(name: object, error: pydantic.ValidationError, where: str) -> str:
    """Turn pydantic's type errors into one message naming each field and the fix."""
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(model)"
        found = item.get("input")
        lines.append(f"  - {field}: {item['msg']} (got {found!r})")
    label = repr(name) if isinstance(name, str) else "<unnamed>"
    place = f" ({where})" if where else ""
    return f"Invalid asset {label}{place}: wrong type for a field:\n" + "\n".join(lines)


def _in_class_body(fn: Callable[..., Any]) -> bool:
    qualname = getattr(fn, "__qualname__", "")
    parent, _, _ = qualname.rpartition(".")
    return bool(parent) and not parent.endswith("<locals>")


def _inferred_dependencies(signature: Signature | None) -> list[str]:
    """Required parameter names, minus a leading ``context``: the upstream assets."""
    if signature is None:
        return []
    names = signature.required
    return list(names[1:] if names[:1] == (CONTEXT,) else names)


def _docstring(fn: Callable[..., Any]) -> str | None:
    """``inspect.getdoc(fn)``, without its search of enclosing classes where there is none."""
    if type(fn) is FunctionType and fn.__doc__ is None:
        qualname = fn.__qualname__
        if "." not in qualname or "<locals>" in qualname:
            return None  # no class getdoc could reach to inherit a docstring from
    return inspect.getdoc(fn)


def build_asset(fn: Callable[..., Any], options: Mapping[str, Any]) -> Asset:
    """Build (but do not register) the asset a decorated function defines."""
    signature = Signature.of(fn)
    code = getattr(fn, "__code__", None)
    name = options.get("name") or getattr(fn, "__name__", None)
    depends_on = options.get("depends_on")
    if depends_on is None:
        depends_on = _inferred_dependencies(signature)
    fields: dict[str, Any] = {
        key: value for key, value in options.items() if value is not None and key != "name"
    }
    fields["name"] = name
    fields["depends_on"] = depends_on
    fields["execute_fn"] = fn
    fields["module"] = getattr(fn, "__module__", None)
    fields["line"] = code.co_firstlineno if code is not None else None
    if fields.get("description") is None:
        doc = _docstring(fn)
        fields["description"] = doc.split("\n\n")[0] if doc else None
    try:
        return Asset.model_validate(fields, context=KnownSignature(signature))
    except pydantic.ValidationError as error:
        where = origin_of_function(fn).label
        raise AssetDefinitionError(
            translate_pydantic_error(name, error, where), asset=name
        ) from None


@overload
def asset(fn: Callable[..., Any], /) -> Asset: ...


@overload
def asset(
    *,
    name: str | None = None,
    description: str | None = None,
    depends_on: Iterable[str | Asset] | None = None,
    io_manager: str | None = None,
    io_config: Mapping[str, Any] | None = None,
    partitioned_by: str | PartitionsDefinition | None = None,
    partition_fn: Callable[[], Iterable[Any]] | None = None,
    partition_mappings: Mapping[str, PartitionMapping] | None = None,
    requires: Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Iterable[str] | None = None,
    code_version: str | None = None,
    checks: Iterable[Any] | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    retry_delay: float | None = None,
    retry_backoff: float | None = None,
    retry_on: type[Exception] | Iterable[type[Exception]] | None = None,
    registry: Registry | None = None,
    replace: bool = False,
) -> Callable[[Callable[..., Any]], Asset]: ...


def asset(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    registry: Registry | None = None,
    replace: bool = False,
    **options: Any,
) -> Asset | Callable[[Callable[..., Any]], Asset]:
    """Define an asset from a function, bare (``@fs.asset``) or configured (``@fs.asset(...)``).

    Parameters named after upstream assets receive their values; a first parameter called
    ``context`` receives the AssetContext. Seed style is ``@fs.asset(depends_on=[...])`` on a
    function taking ``(context, deps)``. The options mirror :class:`~flowstone_nb.Asset`'s
    fields and are keyword-only.

    Parameters
    ----------
    fn
        The function (bare use).
    registry
        Where to register (default: the kernel registry).
    replace
        Replace an asset of the same name defined in another cell or module.
    **options
        ``name``, ``description``, ``depends_on``, ``io_manager``, ``io_config``,
        ``partitioned_by``, ``partition_fn``, ``partition_mappings``, ``requires``, ``metadata``,
        ``tags``, ``code_version``, ``checks`` (data checks of every value: functions taking
        the value, or pandera schemas; see :func:`check`), ``timeout`` (seconds one
        materialization may run), ``retries`` (how many more times a failed one is tried),
        ``retry_delay`` (seconds before the first retry), ``retry_backoff`` (what each later
        wait is multiplied by) and ``retry_on`` (the exception types worth retrying).

    Returns
    -------
    Asset
        The registered asset; calling it calls ``fn``.

    Raises
    ------
    AssetDefinitionError
        The definition is invalid (raised when the decorator runs).
    """
    if not options.keys() <= OPTIONS:
        unknown = sorted(set(options) - OPTIONS)
        raise AssetDefinitionError(
            f"Unknown @asset option(s) {unknown}: the options are {sorted(OPTIONS)}."
        )
    if fn is not None and not callable(fn):
        raise AssetDefinitionError(
            f"@asset decorates a function, not {type(fn).__name__}: write @fs.asset above a def, "
            "and pass options by keyword (@fs.asset(name=...))."
        )

    def decorate(function: Callable[..., Any]) -> Asset:
        built = build_asset(function, options)
        if not _in_class_body(function):
            target = registry if registry is not None else get_registry()
            target.register(built, replace=replace)  # the origin is the function's
        return built

    return decorate(fn) if fn is not None else decorate


#: The options: the asset's fields, less those the decorator fills from the function itself.
OPTIONS = frozenset(Asset.model_fields) - {"execute_fn", "module", "line"}


def check(
    asset: Asset | str,
    *,
    blocking: bool = False,
    name: str | None = None,
    description: str | None = None,
) -> Callable[[Any], Check]:
    """Define a data check of ``asset``: it judges every materialized value, per partition.

    Decorate a function that takes the asset's value (its parameter named as the asset,
    optionally preceded by ``context``) and returns ``True``/``False`` or an
    :class:`~flowstone_nb.CheckResult`; or pass a pandera schema: ``fs.check("sales")(schema)``.
    The check runs after every materialization of the asset, in the same run and on the same
    worker; a check that raises has failed, with its traceback recorded. Editing a check runs it
    again on the stored values (without computing the asset again) at the next materialize or
    ``fs.check_all()``.

    Parameters
    ----------
    asset
        The asset (object or name); it may be defined later.
    blocking
        A failure makes that partition's materialization fail: its value stays stored for
        inspection, ``fs.load`` keeps returning the last good one and its downstream does not
        run. Otherwise the value is fresh and flagged.
    name
        The check's name, unique among the asset's checks (default: the function's name).
    description
        Free text (default: the first paragraph of the docstring).

    Returns
    -------
    callable
        A decorator returning the registered :class:`Check`, which calls the plain function.

    Raises
    ------
    AssetDefinitionError
        The check's shape or options are wrong, or another check of the asset has its name.
    """
    target = asset.name if isinstance(asset, Asset) else asset
    if not isinstance(target, str) or not target:
        raise AssetDefinitionError(
            f"fs.check takes the asset it checks first, not {type(asset).__name__}: write "
            "@fs.check('sales') (or @fs.check(sales)) above the check function."
        )
    if not isinstance(blocking, bool):
        raise AssetDefinitionError(
            f"fs.check({target!r}, blocking={blocking!r}): blocking is True or False.",
            asset=target,
        )

    def decorate(function: Any) -> Check:
        made = as_check(function, target, blocking=blocking, name=name, description=description)
        problem = check_problem(made, target)
        if problem is not None:
            where = origin_of_function(function).label if callable(function) else ""
            place = f" ({where})" if where else ""
            raise AssetDefinitionError(f"{problem}{place}", asset=target)
        return get_registry().register_check(made)

    return decorate
