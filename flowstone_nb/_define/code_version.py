"""The code version of an asset: the one it was given, or the one its function's code has.

This module owns the rule "an explicit ``code_version`` wins; otherwise the version is derived
from the execute function" (:mod:`flowstone_nb._versioning.code_versions` derives it). Runs record
it and the status report compares it; neither decides it. It reads definitions only: no store,
no run.
"""

from __future__ import annotations

from collections.abc import Iterable

from flowstone_nb._define.asset import Asset
from flowstone_nb._versioning.code_versions import PendingVersion, code_version, code_versions

__all__ = ["asset_code_version", "asset_code_versions"]


def asset_code_version(asset: Asset) -> str:
    """The asset's code version now.

    Parameters
    ----------
    asset
        The definition.

    Returns
    -------
    str
        Its explicit ``code_version``, or the version derived from its execute function.
    """
    return asset.code_version or code_version(asset.execute_fn)


def asset_code_versions(
    assets: Iterable[Asset], *, later: bool = False
) -> list[str | PendingVersion]:
    """:func:`asset_code_version` of each asset, in one pass.

    Parameters
    ----------
    assets
        The definitions.
    later
        Leave the version of a function that reads nothing but its arguments pending (see
        :class:`~flowstone_nb._versioning.code_versions.PendingVersion`), for whoever needs it.

    Returns
    -------
    list
        One version (or pending version) per asset, in order.
    """
    given = [asset.code_version or asset.execute_fn for asset in assets]
    return code_versions(given, later=later)
