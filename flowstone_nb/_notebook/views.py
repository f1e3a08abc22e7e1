"""The notebook's widgets, and the functions that pick a widget or the plain object.

Re-exports the widget classes (lineage, history, status grid, backfill progress) and offers
:func:`lineage_view`, :func:`status_view` and :func:`history_view`: inside a Jupyter kernel they
return the widget, elsewhere the plain object, which renders itself as text and HTML. Importing
this module does not import ipywidgets (each widget does when it is built); the module is itself
imported only from display hooks and the backfill progress. It must not compute any status,
lineage or history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowstone_nb._notebook.progress import in_notebook
from flowstone_nb._notebook.widgets.base import WidgetView
from flowstone_nb._notebook.widgets.history import HistoryWidget
from flowstone_nb._notebook.widgets.lineage import (
    LineageWidget,
    Navigate,
    navigator_for,
    store_navigator,
)
from flowstone_nb._notebook.widgets.progress import BackfillProgress
from flowstone_nb._notebook.widgets.status import StatusGrid

if TYPE_CHECKING:
    import pandas as pd

    from flowstone_nb._query.lineage import Lineage
    from flowstone_nb._query.status import StatusReport

__all__ = [
    "BackfillProgress",
    "HistoryWidget",
    "LineageWidget",
    "Navigate",
    "StatusGrid",
    "WidgetView",
    "history_view",
    "lineage_view",
    "navigator_for",
    "status_view",
    "store_navigator",
]


def lineage_view(
    lineage: Lineage, *, navigate: Navigate | None = None, home: str | None = None
) -> LineageWidget | Lineage:
    """In a kernel, a navigable :class:`LineageWidget`; elsewhere ``lineage`` itself.

    Parameters
    ----------
    lineage
        The lineage to show.
    navigate
        What a row click calls (default: read the clicked materialization's lineage from the
        store, walking the same directions ``lineage`` shows).
    home
        The store home for the default navigation (default: the configured one).
    """
    if not in_notebook():
        return lineage
    return LineageWidget(lineage, navigate=navigate or navigator_for(lineage, home=home))


def status_view(report: StatusReport) -> StatusGrid | StatusReport:
    """In a kernel, a :class:`StatusGrid`; elsewhere ``report`` itself."""
    return StatusGrid(report) if in_notebook() else report


def history_view(frame: pd.DataFrame) -> HistoryWidget | pd.DataFrame:
    """In a kernel, a filterable :class:`HistoryWidget`; elsewhere ``frame`` itself."""
    return HistoryWidget(frame) if in_notebook() else frame
