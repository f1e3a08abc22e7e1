"""``fs.validate``: the problems of one definition, given as an asset or a registered name.

The checks themselves live in :mod:`flowstone_nb._define.checks` (the asset alone) and
:mod:`flowstone_nb._define.dependency_checks` (its partition mappings, against the upstream
definitions in the registry); this module only finds the asset a name stands for, in the registry
given or the kernel registry. It never changes a registry and never raises for a bad asset, only
for an unknown name.
"""

from __future__ import annotations

from collections.abc import Collection

from flowstone_nb._define.asset import Asset
from flowstone_nb._define.checks import ValidationIssue, asset_issues
from flowstone_nb._define.registry import Registry, resolve_registry

__all__ = ["validate"]


def validate(
    asset: Asset | str,
    *,
    io_managers: Collection[str] | None = None,
    registry: Registry | None = None,
) -> list[ValidationIssue]:
    """Return every problem with ``asset``'s definition; ``[]`` when it is valid.

    Parameters
    ----------
    asset
        The definition, or the name of a registered one.
    io_managers
        The IO manager names to accept (default: every registered one).
    registry
        Where a name is looked up (default: the kernel registry).

    Returns
    -------
    list of ValidationIssue
        Each names the field at fault and what to do. Partition mappings are checked against
        the upstream assets registered now (an upstream not defined yet is not checked).

    Raises
    ------
    AssetNotFoundError
        ``asset`` is a name no asset in the registry has; the message suggests close names.
    """
    found = resolve_registry(registry)
    if isinstance(asset, str):
        asset = found.get(asset)
    return [*asset_issues(asset, io_managers=io_managers), *found.dependency_issues(asset)]
