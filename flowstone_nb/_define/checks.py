"""The checks of one asset's definition, made when it is defined.

They are the Validator of docs/adr/0001-asset-first-orchestration.md. :func:`asset_issues` looks at
a single :class:`~flowstone_nb.Asset` and returns every problem it finds, each a
:class:`ValidationIssue` naming the field and what to do (and :func:`format_issues` writes them
as one message). Checks that need other assets belong elsewhere: unknown dependencies and cycles
to the registry, partition mappings to :mod:`~flowstone_nb._define.dependency_checks`; looking an
asset up by name belongs to :func:`flowstone_nb.validate`. This module never raises for a bad
asset.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from keyword import iskeyword
from typing import TypeGuard

from flowstone_nb._core.errors import did_you_mean
from flowstone_nb._core.io_managers import (
    BUILTIN_IO_MANAGERS,
    MAX_NAME_BYTES,
    known_io_manager_names,
)
from flowstone_nb._define.asset import CONTEXT, Asset, Signature
from flowstone_nb._define.data_checks import as_check, check_problem
from flowstone_nb._partitioning.mappings import PreviousPartition
from flowstone_nb._partitioning.spec import partition_spec_issues

__all__ = [
    "ValidationIssue",
    "asset_issues",
    "format_issues",
    "retries_problem",
    "retry_backoff_problem",
    "retry_delay_problem",
    "timeout_problem",
]


@dataclass(frozen=True)
class ValidationIssue:
    """One problem with a definition.

    Attributes
    ----------
    field
        The field at fault: ``"name"``, ``"depends_on"``, ``"execute"``, ``"io_manager"``,
        ``"partitioned_by"``, ``"partition_mappings"``, ``"requires"``, ``"tags"``,
        ``"code_version"``, ``"timeout"``, ``"retries"``, ``"retry_delay"``,
        ``"retry_backoff"``, ``"retry_on"`` or ``"checks"``.
    message
        What is wrong and what to do about it.
    """

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def format_issues(name: object, issues: Sequence[ValidationIssue], where: str = "") -> str:
    """One message listing every issue of a definition."""
    place = f" ({where})" if where else ""
    lines = "\n".join(f"  - {issue}" for issue in issues)
    label = repr(name) if isinstance(name, str) and name else "<unnamed>"
    return f"Invalid asset {label}{place}:\n{lines}"


def _suggest_identifier(text: str) -> str:
    candidate = re.sub(r"\W+", "_", text.strip()).strip("_").lower()
    if not candidate:
        return "my_asset"
    if candidate[0].isdigit():
        candidate = f"_{candidate}"
    return f"{candidate}_" if iskeyword(candidate) else candidate


def _name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot name an asset, or ``None``."""
    if not name:
        return f"{what} is empty: give it a name such as 'daily_sales'."
    if not name.isidentifier():
        return (
            f"{what} {name!r} is not a valid Python identifier (letters, digits and underscores, "
            f"not starting with a digit): use e.g. {_suggest_identifier(name)!r}."
        )
    if iskeyword(name):
        return (
            f"{what} {name!r} is a Python keyword; assets are bound to parameters by name: "
            f"use e.g. {name + '_'!r}."
        )
    return None


def _check_name(asset: Asset, issues: list[ValidationIssue]) -> None:
    name = asset.name
    if name is None:
        issues.append(
            ValidationIssue(
                "name", "The asset has no name: pass name='...' or decorate a named function."
            )
        )
        return
    problem = None
    if not name.isidentifier() or iskeyword(name):
        problem = _name_problem(name, "The asset name")
    if problem:
        issues.append(ValidationIssue("name", problem))
    elif name == CONTEXT:
        issues.append(
            ValidationIssue(
                "name",
                "'context' is reserved for the AssetContext parameter: choose another asset name.",
            )
        )
    elif len(name.encode()) > MAX_NAME_BYTES:
        issues.append(
            ValidationIssue(
                "name",
                f"The asset name {name[:20]!r}... takes {len(name.encode())} bytes in UTF-8 "
                f"({len(name)} characters); at most {MAX_NAME_BYTES} bytes fit, since the store "
                "names a folder after it: use a shorter name.",
            )
        )


def _check_depends_on(asset: Asset, issues: list[ValidationIssue]) -> None:
    seen: set[str] = set()
    for entry in asset.depends_on:
        if not entry.isidentifier() or iskeyword(entry):
            problem = _name_problem(entry, "The dependency")
            assert problem is not None
            issues.append(ValidationIssue("depends_on", problem))
            continue
        if entry in seen:
            issues.append(
                ValidationIssue(
                    "depends_on", f"{entry!r} is listed twice: list each upstream asset once."
                )
            )
        if entry == asset.name and not _is_previous(asset):
            issues.append(
                ValidationIssue(
                    "depends_on",
                    f"Asset {entry!r} depends on itself: remove it from depends_on (for the "
                    "previous partition, use partition_mappings with fs.PreviousPartition()).",
                )
            )
        seen.add(entry)


def _is_previous(asset: Asset) -> bool:
    """True when the asset consumes its own previous partition (a legal self-dependency)."""
    return isinstance(asset.partition_mappings.get(str(asset.name)), PreviousPartition)


def _describe_parameters(signature: Signature) -> str:
    return ", ".join(signature.required) or "no required parameters"


def _check_execute(asset: Asset, issues: list[ValidationIssue]) -> None:
    fn = asset.execute_fn
    if fn is None:
        issues.append(
            ValidationIssue(
                "execute",
                "The asset has no execute function: decorate a function with @fs.asset, "
                "or pass execute_fn=... taking (context, deps).",
            )
        )
        return
    if not callable(fn):
        issues.append(
            ValidationIssue(
                "execute",
                f"execute_fn must be callable, not {type(fn).__name__}: pass a function.",
            )
        )
        return
    signature = asset.signature
    if signature is None:
        return  # Builtins and some C callables cannot be inspected: trust them.
    if signature.variadic:
        issues.append(
            ValidationIssue(
                "execute",
                f"The execute function of {asset.name!r} takes *args or **kwargs: name each "
                "upstream asset as its own parameter, e.g. def clean(context, raw).",
            )
        )
        return
    required = signature.required
    if CONTEXT in required[1:]:
        issues.append(
            ValidationIssue(
                "execute",
                f"'context' must be the first parameter of {asset.name!r}'s execute function.",
            )
        )
        return
    depends_on = asset.depends_on
    if signature.style(depends_on) is None:
        unknown = [p for p in required if p != CONTEXT and p not in depends_on]
        issues.append(
            ValidationIssue(
                "execute",
                f"The execute function of {asset.name!r} takes "
                f"({_describe_parameters(signature)}); expected either seed style "
                "(context, deps) or parameters named after its upstream assets, optionally "
                f"preceded by context. Parameter(s) {unknown} are not in depends_on: add them "
                "to depends_on or rename the parameters.",
            )
        )


def _check_io_manager(
    asset: Asset, io_managers: Collection[str] | None, issues: list[ValidationIssue]
) -> None:
    manager = asset.io_manager
    if manager is None or (io_managers is None and manager in BUILTIN_IO_MANAGERS):
        return  # built-in names can be neither replaced nor removed
    known = known_io_manager_names() if io_managers is None else sorted(io_managers)
    if manager not in known:
        issues.append(
            ValidationIssue(
                "io_manager",
                f"Unknown IO manager {manager!r}.{did_you_mean(manager, known)} "
                f"Known: {', '.join(known)}; register your own with fs.register_io_manager().",
            )
        )


def _check_partitions(asset: Asset, issues: list[ValidationIssue]) -> None:
    if asset.partitioned_by is not None or asset.partition_fn is not None:
        issues.extend(
            ValidationIssue("partitioned_by", message)
            for message in partition_spec_issues(asset.partitioned_by, asset.partition_fn)
        )
    if asset.partition_mappings:
        issues.extend(
            ValidationIssue(
                "partition_mappings",
                f"partition_mappings names {upstream!r}, which is not in depends_on "
                f"{asset.depends_on}: map only upstream assets.",
            )
            for upstream in asset.partition_mappings
            if upstream not in asset.depends_on and upstream != asset.name
        )


def _check_requires(requires: list[str], issues: list[ValidationIssue]) -> None:
    seen: set[str] = set()
    for resource in requires:
        problem = _name_problem(resource, "The required resource name")
        if problem:
            issues.append(ValidationIssue("requires", problem))
        elif resource in seen:
            issues.append(ValidationIssue("requires", f"Resource {resource!r} is listed twice."))
        seen.add(str(resource))


def _check_labels(asset: Asset, issues: list[ValidationIssue]) -> None:
    if asset.requires:
        _check_requires(asset.requires, issues)
    if asset.tags:
        issues.extend(
            ValidationIssue(
                "tags", f"Tags must be non-empty strings, not {tag!r}: e.g. tags=['sales']."
            )
            for tag in asset.tags
            if not isinstance(tag, str) or not tag.strip()
        )
    if asset.code_version is not None and not asset.code_version.strip():
        issues.append(
            ValidationIssue(
                "code_version",
                "code_version is empty: give a version string or leave it out to derive it.",
            )
        )


def _check_data_checks(asset: Asset, issues: list[ValidationIssue]) -> None:
    name = str(asset.name)
    seen: set[str] = set()
    for item in asset.checks:
        check = as_check(item, name)
        problem = check_problem(check, name)
        if problem is not None:
            issues.append(ValidationIssue("checks", problem))
        elif check.name in seen:
            issues.append(
                ValidationIssue(
                    "checks",
                    f"Two checks of asset {name!r} are named {check.name!r}: give one another "
                    "name with fs.check(..., name='...').",
                )
            )
        seen.add(check.name)


def timeout_problem(timeout: object, option: str = "timeout") -> str | None:
    """Why ``timeout`` cannot be a timeout, or ``None`` (the one rule, for assets and runs).

    A timeout is a positive, finite number of seconds (not a bool); ``option`` is how the user
    wrote it, for the message (``"timeout"``, ``"--timeout"``).
    """
    if (
        isinstance(timeout, (int, float))
        and not isinstance(timeout, bool)
        and math.isfinite(timeout)
        and timeout > 0
    ):
        return None
    return (
        f"{option}={timeout!r} is not a positive number of seconds: give the seconds one "
        f"materialization may run, e.g. {option}=60, or leave it out for no limit."
    )


def _check_timeout(asset: Asset, issues: list[ValidationIssue]) -> None:
    problem = timeout_problem(asset.timeout)
    if problem:
        issues.append(ValidationIssue("timeout", problem))


def _number(value: object) -> TypeGuard[float]:
    """Whether ``value`` is a finite number (a bool is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def retries_problem(retries: object, option: str = "retries") -> str | None:
    """Why ``retries`` cannot be a number of retries, or ``None`` (for assets, runs and lines).

    Retries are a whole number, 0 or more (not a bool); ``option`` is how the user wrote it.
    """
    if isinstance(retries, int) and not isinstance(retries, bool) and retries >= 0:
        return None
    return (
        f"{option}={retries!r} is not a whole number of retries (0 or more): give how many more "
        f"times a failed materialization is tried, e.g. {option}=3."
    )


def retry_delay_problem(delay: object, option: str = "retry_delay") -> str | None:
    """Why ``delay`` cannot be the seconds before a first retry (0 or more), or ``None``."""
    if _number(delay) and delay >= 0:
        return None
    return (
        f"{option}={delay!r} is not a number of seconds (0 or more): give how long to wait "
        f"before the first retry, e.g. {option}=5."
    )


def retry_backoff_problem(backoff: object, option: str = "retry_backoff") -> str | None:
    """Why ``backoff`` cannot multiply the waits between retries (1 or more), or ``None``."""
    if _number(backoff) and backoff >= 1:
        return None
    return (
        f"{option}={backoff!r} is not a factor of 1 or more: give what each later wait is "
        f"multiplied by, e.g. {option}=2 (1 waits as long each time)."
    )


def _retry_on_problem(retry_on: Sequence[object]) -> str | None:
    """Why ``retry_on`` cannot list the exception types to retry, or ``None``."""
    example = "e.g. retry_on=(ConnectionError, TimeoutError)"
    if not retry_on:
        return (
            f"retry_on is empty: list the exception types to retry, {example}, or leave it "
            "out to retry any Exception."
        )
    for item in retry_on:
        if isinstance(item, type) and issubclass(item, Exception):
            continue
        named = item.__name__ if isinstance(item, type) else repr(item)
        if isinstance(item, type) and issubclass(item, BaseException):
            return (
                f"retry_on lists {named}, which is not an Exception type (an interruption or "
                f"an exit is never retried): list exception types, {example}."
            )
        return (
            f"retry_on lists {named}, which is not an exception type: list exception types "
            f"(subclasses of Exception, not instances or names), {example}."
        )
    return None


def _check_retries(asset: Asset, issues: list[ValidationIssue]) -> None:
    problems = (
        ("retries", None if asset.retries is None else retries_problem(asset.retries)),
        ("retry_delay", retry_delay_problem(asset.retry_delay)),
        ("retry_backoff", retry_backoff_problem(asset.retry_backoff)),
        ("retry_on", _retry_on_problem(asset.retry_on)),
    )
    issues.extend(ValidationIssue(field, problem) for field, problem in problems if problem)


def asset_issues(
    asset: Asset, *, io_managers: Collection[str] | None = None
) -> list[ValidationIssue]:
    """Every problem with ``asset``'s definition, field by field; ``[]`` when it is valid.

    This is what :func:`flowstone_nb.validate` returns once it has the asset; ``io_managers``
    are the IO manager names to accept (default: every registered one).
    """
    issues: list[ValidationIssue] = []
    _check_name(asset, issues)
    _check_depends_on(asset, issues)
    _check_execute(asset, issues)
    _check_io_manager(asset, io_managers, issues)
    _check_partitions(asset, issues)
    _check_labels(asset, issues)
    if asset.checks:
        _check_data_checks(asset, issues)
    if asset.timeout is not None:
        _check_timeout(asset, issues)
    if (asset.retries, asset.retry_delay, asset.retry_backoff, asset.retry_on) != _NO_RETRIES:
        _check_retries(asset, issues)
    return issues


# The retry options' defaults: valid, so an asset that changes none of them needs no check.
_NO_RETRIES = tuple(
    Asset.model_fields[field].default
    for field in ("retries", "retry_delay", "retry_backoff", "retry_on")
)
