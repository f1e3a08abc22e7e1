"""Data checks of an asset's values: what a check is, the shapes it may take, its code version.

A :class:`Check` judges one materialized value of one asset (one partition at a time): a function
that takes the value (its parameter named as the asset, optionally preceded by ``context``) and
returns ``True``/``False`` or a :class:`CheckResult`, or a pandera schema. Checks come from
``@fs.check(asset)`` (registered beside the asset, see the registry) or from the asset's own
``checks=[...]``; :func:`as_check` turns what a user gave into a :class:`Check`. Which problems a
check's shape has is :func:`check_problem`'s to say; its code version, :func:`check_code_version`.

This module defines only: it runs no check (the run layer does) and never imports pandera (a
schema is recognised by its class's module, so ``import flowstone_nb`` stays light).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from keyword import iskeyword
from types import FunctionType, MethodType
from typing import Any

from flowstone_nb._define.asset import CONTEXT, Signature
from flowstone_nb._versioning.bytecode import SCHEME, text_digest
from flowstone_nb._versioning.code_versions import code_version

__all__ = [
    "Check",
    "CheckResult",
    "as_check",
    "check_code_version",
    "check_problem",
    "is_schema",
]


@dataclass(frozen=True)
class CheckResult:
    """What a check function may return instead of ``True``/``False``.

    Parameters
    ----------
    passed
        Whether the value passed.
    message
        What was found, shown wherever the check's outcome is (e.g. ``"3 negative amounts"``).
    metadata
        Numbers or notes to record with the outcome (JSON-serialisable; other values are
        recorded as their text).
    """

    passed: bool
    message: str | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, eq=False)
class Check:
    """One data check: how to judge a value of an asset, and whether a failure blocks it.

    ``@fs.check(asset)`` returns one; calling it calls the plain function, so a check stays
    unit-testable. Two checks are equal only when they are the same object.

    Attributes
    ----------
    function
        The check function, or a pandera schema.
    name
        Unique among the checks of its asset (default: the function's or schema's name).
    asset
        The asset it checks (``None`` for a check given in ``@fs.asset(checks=[...])`` before
        the asset has a name).
    blocking
        A failure makes the partition's materialization fail: its downstream does not run.
        Otherwise the value is fresh and flagged.
    description
        Free text (default: the first paragraph of the function's docstring).
    """

    function: Any
    name: str
    asset: str | None = None
    blocking: bool = False
    description: str | None = None

    @property
    def schema(self) -> bool:
        """Whether the check is a pandera schema (validated, not called)."""
        return is_schema(self.function)

    @property
    def takes_context(self) -> bool:
        """Whether the check function's first parameter is ``context``."""
        if self.schema:
            return False
        signature = Signature.of(self.function)
        return signature is not None and signature.required[:1] == (CONTEXT,)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the plain check function (or validate with the schema)."""
        if self.schema:
            return self.function.validate(*args, **kwargs)
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        kind = "schema" if self.schema else "function"
        blocking = ", blocking" if self.blocking else ""
        on = f" on {self.asset!r}" if self.asset else ""
        return f"Check({self.name!r}{on}, {kind}{blocking})"


def is_schema(value: object) -> bool:
    """Whether ``value`` is a pandera schema (told by its class, without importing pandera)."""
    module = type(value).__module__
    return module.partition(".")[0] == "pandera" and callable(getattr(value, "validate", None))


def _default_name(function: object) -> str:
    name = getattr(function, "name", None) if is_schema(function) else None
    name = name or getattr(function, "__name__", None)
    if not isinstance(name, str) or not name:
        return "schema" if is_schema(function) else type(function).__name__
    return name


def _first_paragraph(function: object) -> str | None:
    if is_schema(function):
        text = getattr(function, "description", None)
    else:
        text = getattr(function, "__doc__", None) if isinstance(function, FunctionType) else None
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip().split("\n\n")[0]


def as_check(
    item: object,
    asset: str | None,
    *,
    blocking: bool = False,
    name: str | None = None,
    description: str | None = None,
) -> Check:
    """``item`` as a :class:`Check` of ``asset``.

    Parameters
    ----------
    item
        A check (kept, given its asset when it had none), a function or a pandera schema.
    asset
        The asset it checks.
    blocking, name, description
        The options of a check made from a function or schema.
    """
    if isinstance(item, Check):
        if item.asset == asset or asset is None:
            return item
        return Check(item.function, item.name, asset, item.blocking, item.description)
    return Check(
        function=item,
        name=name or _default_name(item),
        asset=asset,
        blocking=blocking,
        description=description if description is not None else _first_paragraph(item),
    )


def check_problem(check: Check, asset: str) -> str | None:
    """What is wrong with the shape of ``check`` as a check of ``asset`` (``None``: nothing).

    A check is a pandera schema, or a function taking the asset's value by the asset's name,
    optionally preceded by ``context``; its name is a Python identifier.
    """
    label = f"Check {check.name!r} of asset {asset!r}"
    problem = _name_problem(check.name, label, asset)
    if problem is not None:
        return problem
    if check.schema:
        return None
    function = check.function
    if not callable(function):
        return (
            f"{label} is a {type(function).__name__}: pass a function taking the value "
            f"(def {check.name}({asset}): ...) or a pandera schema."
        )
    signature = Signature.of(function)
    if signature is None:
        return None  # builtins and some C callables cannot be inspected: trust them
    expected = f"def {check.name}({asset}) or def {check.name}(context, {asset})"
    required = signature.required
    values = required[1:] if required[:1] == (CONTEXT,) else required
    if signature.variadic or len(values) != 1 or values[0] != asset:
        shown = ", ".join(required) or "no required parameters"
        return (
            f"{label} takes ({shown}); expected one parameter named after the asset, "
            f"optionally preceded by context: {expected}."
        )
    return None


def _name_problem(name: str, label: str, asset: str) -> str | None:
    if name == "<lambda>":
        return (
            f"{label}: a lambda has no name: pass one, e.g. "
            f"fs.check({asset!r}, name='positive')(lambda {asset}: ...)."
        )
    if not name.isidentifier() or iskeyword(name):
        return (
            f"{label}: the name is not a Python identifier: pass name='...' with letters, "
            "digits and underscores."
        )
    return None


def check_code_version(check: Check) -> str:
    """The code version of ``check``: its function's (see ``code_version``), or its schema's.

    A schema's version is made from what it holds (columns, types, options, and the code of the
    functions of its own checks), so an edited schema is a changed check.
    """
    if check.schema:
        return text_digest(SCHEME, "schema", _structure(check.function, 0))
    return code_version(check.function)


_ATOMS = (type(None), bool, int, float, complex, str, bytes)
_DEEPEST = 12


def _structure(value: object, depth: int) -> str:
    """A text that changes when what ``value`` holds changes (the functions by their code)."""
    if isinstance(value, _ATOMS):
        return repr(value)
    if depth > _DEEPEST:
        return type(value).__qualname__
    deeper = functools.partial(_structure, depth=depth + 1)
    attributes = getattr(value, "__dict__", None)
    if isinstance(value, Mapping):
        text = "{" + ",".join(sorted(f"{deeper(k)}:{deeper(v)}" for k, v in value.items())) + "}"
    elif isinstance(value, (list, tuple)):
        text = "[" + ",".join(map(deeper, value)) + "]"
    elif isinstance(value, (set, frozenset)):
        text = "{" + ",".join(sorted(map(deeper, value))) + "}"
    elif isinstance(value, type):
        text = f"{value.__module__}.{value.__qualname__}"
    elif isinstance(value, (FunctionType, MethodType, functools.partial)):
        text = code_version(value)
    elif isinstance(attributes, dict):
        text = f"{type(value).__qualname__}{deeper(attributes)}"
    else:
        text = f"{type(value).__qualname__}:{value!r}"
    return text
