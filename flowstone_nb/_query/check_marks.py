"""Which data checks fail on recorded values: the marks of the views that list values.

:func:`failing_checks` answers for many materializations in one query (lineage rows ask it): the
latest outcome of each check on each value, failing, counted by the one rule of
:func:`~flowstone_nb._run.checks.failing_outcomes` (while an asset is defined, only its checks
defined now; after a restart, the recorded ones). It reads and never runs a check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from flowstone_nb._define.registry import Registry
from flowstone_nb._run.checks import failing_outcomes

if TYPE_CHECKING:
    from flowstone_nb._storage.catalog import Catalog

__all__ = ["failing_checks"]


class _Recorded(Protocol):
    """A recorded materialization as a view lists it (a catalog row, a lineage walk's row)."""

    @property
    def id(self) -> str: ...

    @property
    def asset(self) -> str: ...


def failing_checks(
    registry: Registry, catalog: Catalog, rows: Iterable[_Recorded]
) -> dict[str, tuple[str, ...]]:
    """The checks failing on each of ``rows``' values, by id, in one query.

    No query at all when every asset is defined and none has checks: nothing can fail then.
    """
    values = list(rows)
    assets = {row.asset for row in values}
    known = {asset for asset in assets if asset in registry}
    checked = registry.checks_for(known)
    if known == assets and not checked:
        return {}
    defined = {asset: [check.name for check in checked.get(asset, ())] for asset in known}
    found = failing_outcomes(catalog.latest_checks(row.id for row in values), defined)
    return {mat_id: tuple(o.check_name for o in failed) for mat_id, failed in found.items()}
