"""The checks of a definition against the definitions it depends on: its partition mappings.

:mod:`~flowstone_nb._define.checks` looks at one asset alone; whether a dependency's partitions
can be mapped needs the upstream's definition too. So these checks run wherever upstream
definitions are at hand: the registry runs them when an asset is defined (against the upstreams
known then), :func:`flowstone_nb.validate` against the registry, and planning over everything a
run needs, before anything runs (an upstream may be defined, or redefined, after its
downstream). Each problem is a :class:`~flowstone_nb._define.checks.ValidationIssue` of the field
``partition_mappings`` that names the asset, the upstream and the mapping (or, when none is
given, the two partitionings), and the fix.

This module owns that rule and nothing else: it never registers, stores or runs anything, and
only :func:`check_dependencies` raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from flowstone_nb._core.errors import PartitionError, PartitionMappingError
from flowstone_nb._define.asset import Asset
from flowstone_nb._define.checks import ValidationIssue, format_issues
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.mappings import (
    PartitionMapping,
    PreviousPartition,
    infer_mapping,
    mapping_issues,
)

__all__ = ["check_dependencies", "dependency_issues", "may_have_dependency_issues"]

_FIELD = "partition_mappings"


def may_have_dependency_issues(asset: Asset) -> bool:
    """Whether :func:`dependency_issues` can find anything (a cheap test, for hot paths).

    An unpartitioned asset without explicit mappings takes the single value, or every partition,
    of any upstream: nothing to check.
    """
    return bool(asset.partition_mappings) or asset.partitions is not None


def _side(name: str, definition: PartitionsDefinition | None) -> str:
    return f"{name!r} ({'unpartitioned' if definition is None else repr(definition)})"


def _another_asset(mapping: PreviousPartition, upstream: str) -> str:
    return (
        f"{mapping!r} gives an asset its own previous partition (a self dependency), not a "
        f"partition of another asset: for the matching partition of {upstream!r} and the one "
        "before it, use fs.TrailingWindow(2); for the matching one alone, leave the mapping out."
    )


def _explicit_problems(
    asset: Asset, upstream: str, up_def: PartitionsDefinition | None, mapping: PartitionMapping
) -> list[str]:
    if isinstance(mapping, PreviousPartition) and upstream != asset.name:
        return [_another_asset(mapping, upstream)]
    return mapping_issues(asset.partitions, up_def, mapping)


def dependency_issues(asset: Asset, upstream: Mapping[str, Asset]) -> list[ValidationIssue]:
    """Why some dependency of ``asset`` cannot be mapped; ``[]`` when every one can.

    Parameters
    ----------
    asset
        The definition.
    upstream
        Definitions by name; dependencies it lacks are not checked (an unknown dependency is
        reported on its own, and a self dependency is checked against ``asset`` itself).
    """
    if not may_have_dependency_issues(asset):
        return []
    name, down_def = str(asset.name), asset.partitions
    explicit = asset.partition_mappings
    issues = []
    for dep in dict.fromkeys(asset.depends_on):
        mapping = explicit.get(dep)
        if dep == name:
            if not isinstance(mapping, PreviousPartition):
                continue  # a self dependency without PreviousPartition is reported on its own
            up_def = down_def
        elif dep in upstream:
            up_def = upstream[dep].partitions
        else:
            continue
        if mapping is None:
            try:
                infer_mapping(down_def, up_def, downstream=name, upstream=dep)
            except PartitionError as error:
                issues.append(ValidationIssue(_FIELD, str(error)))
            continue
        issues.extend(
            ValidationIssue(
                _FIELD,
                f"{_side(name, down_def)} takes {_side(dep, up_def)} through {mapping!r}, "
                f"which cannot work: {problem}",
            )
            for problem in _explicit_problems(asset, dep, up_def, mapping)
        )
    return issues


def check_dependencies(
    assets: Iterable[Asset],
    known: Mapping[str, Asset],
    where: Callable[[str], str],
    *,
    note: str = "",
) -> None:
    """Refuse the first of ``assets`` whose dependencies cannot be mapped.

    Parameters
    ----------
    assets
        The definitions to check.
    known
        The definitions of their upstreams, by name (see :func:`dependency_issues`).
    where
        Where an asset was defined, for the message (e.g. ``"cell 3"``).
    note
        A last line for the message (e.g. that nothing was run).

    Raises
    ------
    PartitionMappingError
        Naming the asset, the upstream and the mapping, and the fix.
    """
    for asset in filter(may_have_dependency_issues, assets):
        issues = dependency_issues(asset, known)
        if issues:
            name = str(asset.name)
            message = format_issues(name, issues, where(name))
            raise PartitionMappingError(
                f"{message}\n{note}" if note else message, asset=name, issues=issues
            )
