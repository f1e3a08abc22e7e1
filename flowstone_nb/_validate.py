"""Definition-time validation of one asset (ADR-0001's Validator).

:func:`validate` looks at a single :class:`~flowstone_nb.Asset` and returns every problem it finds,
each naming the field and what to do. Checks that need other assets (unknown dependencies, cycles,
partition mappings) belong to the registry. This module never raises for a bad asset.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from ._asset import CONTEXT, Asset
from ._errors import did_you_mean
from ._io_registry import known_io_manager_names
from ._mappings import PreviousPartition
from ._partitions import partition_spec_issues

__all__ = ["ValidationIssue", "validate"]


@dataclass(frozen=True)
class ValidationIssue:
    """One problem with a definition.

    Attributes
    ----------
    field
        The field at fault: ``"name"``, ``"depends_on"``, ``"execute"``, ``"io_manager"``,
        ``"partitioned_by"``, ``"partition_mappings"``, ``"requires"``, ``"tags"`` or
        ``"code_version"``.
    message
        What is wrong and what to do about it.
    """

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _suggest_identifier(text: str) -> str:
    candidate = re.sub(r"\W+", "_", text.strip()).strip("_").lower()
    if not candidate:
        return "my_asset"
    if candidate[0].isdigit():
        candidate = f"_{candidate}"
    return f"{candidate}_" if keyword.iskeyword(candidate) else candidate


def _name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot name an asset, or ``None``."""
    if not name:
        return f"{what} is empty: give it a name such as 'daily_sales'."
    if not name.isidentifier():
        return (
            f"{what} {name!r} is not a valid Python identifier (letters, digits and underscores, "
            f"not starting with a digit): use e.g. {_suggest_identifier(name)!r}."
        )
    if keyword.iskeyword(name):
        return (
            f"{what} {name!r} is a Python keyword; assets are bound to parameters by name: "
            f"use e.g. {name + '_'!r}."
        )
    return None


def _check_name(asset: Asset) -> Iterable[ValidationIssue]:
    if asset.name is None:
        yield ValidationIssue(
            "name", "The asset has no name: pass name='...' or decorate a named function."
        )
        return
    problem = _name_problem(asset.name, "The asset name")
    if problem:
        yield ValidationIssue("name", problem)
    elif asset.name == CONTEXT:
        yield ValidationIssue(
            "name",
            "'context' is reserved for the AssetContext parameter: choose another asset name.",
        )


def _check_depends_on(asset: Asset) -> Iterable[ValidationIssue]:
    seen: set[str] = set()
    for entry in asset.depends_on:
        problem = _name_problem(entry, "The dependency")
        if problem:
            yield ValidationIssue("depends_on", problem)
            continue
        if entry in seen:
            yield ValidationIssue(
                "depends_on", f"{entry!r} is listed twice: list each upstream asset once."
            )
        if entry == asset.name and not _is_previous(asset):
            yield ValidationIssue(
                "depends_on",
                f"Asset {entry!r} depends on itself: remove it from depends_on "
                "(for the previous partition, use partition_mappings with fs.PreviousPartition()).",
            )
        seen.add(entry)


def _is_previous(asset: Asset) -> bool:
    """True when the asset consumes its own previous partition (a legal self-dependency)."""
    return isinstance(asset.partition_mappings.get(str(asset.name)), PreviousPartition)


def _describe_parameters(asset: Asset) -> str:
    signature = asset.signature
    assert signature is not None
    return ", ".join(signature.required) or "no required parameters"


def _check_execute(asset: Asset) -> Iterable[ValidationIssue]:
    fn = asset.execute_fn
    if fn is None:
        yield ValidationIssue(
            "execute",
            "The asset has no execute function: decorate a function with @fs.asset, "
            "or pass execute_fn=... taking (context, deps).",
        )
        return
    if not callable(fn):
        yield ValidationIssue(
            "execute",
            f"execute_fn must be callable, not {type(fn).__name__}: pass a function.",
        )
        return
    signature = asset.signature
    if signature is None:
        return  # Builtins and some C callables cannot be inspected: trust them.
    if signature.variadic:
        yield ValidationIssue(
            "execute",
            f"The execute function of {asset.name!r} takes *args or **kwargs: name each upstream "
            "asset as its own parameter, e.g. def clean(context, raw).",
        )
        return
    if CONTEXT in signature.required[1:]:
        yield ValidationIssue(
            "execute",
            f"'context' must be the first parameter of {asset.name!r}'s execute function.",
        )
        return
    if asset.style is None:
        unknown = [p for p in signature.required if p != CONTEXT and p not in asset.depends_on]
        yield ValidationIssue(
            "execute",
            f"The execute function of {asset.name!r} takes ({_describe_parameters(asset)}); "
            "expected either seed style (context, deps) or parameters named after its "
            f"upstream assets, optionally preceded by context. Parameter(s) {unknown} are not "
            "in depends_on: add them to depends_on or rename the parameters.",
        )


def _check_io_manager(
    asset: Asset, io_managers: Collection[str] | None
) -> Iterable[ValidationIssue]:
    if asset.io_manager is None:
        return
    known = known_io_manager_names() if io_managers is None else sorted(io_managers)
    if asset.io_manager not in known:
        yield ValidationIssue(
            "io_manager",
            f"Unknown IO manager {asset.io_manager!r}.{did_you_mean(asset.io_manager, known)} "
            f"Known: {', '.join(known)}; register your own with fs.register_io_manager().",
        )


def _check_partitions(asset: Asset) -> Iterable[ValidationIssue]:
    for message in partition_spec_issues(asset.partitioned_by, asset.partition_fn):
        yield ValidationIssue("partitioned_by", message)
    for upstream in asset.partition_mappings:
        if upstream not in asset.depends_on and upstream != asset.name:
            yield ValidationIssue(
                "partition_mappings",
                f"partition_mappings names {upstream!r}, which is not in depends_on "
                f"{asset.depends_on}: map only upstream assets.",
            )


def _check_labels(asset: Asset) -> Iterable[ValidationIssue]:
    seen: set[str] = set()
    for resource in asset.requires:
        problem = _name_problem(resource, "The required resource name")
        if problem:
            yield ValidationIssue("requires", problem)
        elif resource in seen:
            yield ValidationIssue("requires", f"Resource {resource!r} is listed twice.")
        seen.add(str(resource))
    for tag in asset.tags:
        if not isinstance(tag, str) or not tag.strip():
            yield ValidationIssue(
                "tags", f"Tags must be non-empty strings, not {tag!r}: e.g. tags=['sales']."
            )
    if asset.code_version is not None and not asset.code_version.strip():
        yield ValidationIssue(
            "code_version",
            "code_version is empty: give a version string or leave it out to derive it.",
        )


def validate(asset: Asset, *, io_managers: Collection[str] | None = None) -> list[ValidationIssue]:
    """Return every problem with ``asset``'s definition; ``[]`` when it is valid.

    Parameters
    ----------
    asset
        The definition to check.
    io_managers
        The IO manager names to accept (default: every registered one).

    Returns
    -------
    list of ValidationIssue
        Each names the field at fault and what to do.
    """
    return [
        *_check_name(asset),
        *_check_depends_on(asset),
        *_check_execute(asset),
        *_check_io_manager(asset, io_managers),
        *_check_partitions(asset),
        *_check_labels(asset),
    ]
