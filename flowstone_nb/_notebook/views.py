"""Which widget shows which result: the one place the notebook layer decides it.

Inside a Jupyter kernel a :class:`~flowstone_nb._query.status.StatusReport` shows as a
:class:`StatusGrid`, a :class:`~flowstone_nb._query.lineage.Lineage` as a navigable
:class:`LineageWidget`, and the history table of ``%flowstone history`` as a filterable
:class:`HistoryWidget`; elsewhere each stays the plain object, which renders itself as text and
HTML. :func:`lineage_view`, :func:`status_view` and :func:`history_view` make that choice;
:func:`install` hands the first two to a shell's IPython display formatters (by class name, so
installing imports no result module), which is how ``fs.status()`` as a cell's last expression
shows the grid. The results themselves know nothing of widgets.

Importing this module does not import ipywidgets (each widget does when it is built). It must not
compute any status, lineage or history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.shell import in_notebook
from flowstone_nb._notebook.widgets.base import WidgetView
from flowstone_nb._notebook.widgets.history import HistoryPages, HistoryWidget, StorePages
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
    "RESULT_VIEWS",
    "BackfillProgress",
    "HistoryWidget",
    "LineageWidget",
    "Navigate",
    "StatusGrid",
    "WidgetView",
    "history_view",
    "install",
    "lineage_view",
    "navigator_for",
    "paged_history_view",
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


def history_view(frame: pd.DataFrame, *, asset: str | None = None) -> HistoryWidget | pd.DataFrame:
    """In a kernel, a filterable :class:`HistoryWidget`; elsewhere ``frame`` itself.

    Parameters
    ----------
    frame
        The table of ``fs.history()``.
    asset
        The asset the widget's filter starts on (default: the frame's one asset, if it holds
        only one).
    """
    return HistoryWidget(frame, asset=asset) if in_notebook() else frame


def paged_history_view(
    asset: str | None = None, *, pages: HistoryPages | None = None, page_size: int = 100
) -> HistoryWidget | pd.DataFrame:
    """What ``%flowstone history`` shows: a widget that asks for one page at a time.

    In a kernel, a paged :class:`HistoryWidget`; elsewhere the whole table of
    ``fs.history(asset)``.

    Parameters
    ----------
    asset
        The asset the filter starts on (default: all).
    pages
        Where the pages come from (default: the configured store, :class:`StorePages`).
    page_size
        Rows per page.
    """
    if not in_notebook():
        from flowstone_nb._query.api import history

        return history(asset)
    return HistoryWidget.paged(pages or StorePages(), page_size=page_size, asset=asset)


#: The results a shell shows through their view: (module, class name) -> the view's choice.
#: ``fs.history()`` stays a DataFrame (a formatter for every DataFrame would be too much).
RESULT_VIEWS: Mapping[tuple[str, str], Callable[[Any], object]] = MappingProxyType(
    {
        ("flowstone_nb._query.status", "StatusReport"): status_view,
        ("flowstone_nb._query.lineage", "Lineage"): lineage_view,
    }
)


def _printer(view: Callable[[Any], object]) -> Callable[[Any], dict[str, Any] | None]:
    def bundle(result: Any) -> dict[str, Any] | None:
        """The mime bundle of ``result``'s widget; ``None`` leaves it to its text and HTML."""
        shown = view(result)
        return shown._repr_mimebundle_() if isinstance(shown, WidgetView) else None

    return bundle


_PRINTERS = {where: _printer(view) for where, view in RESULT_VIEWS.items()}


def install(shell: Any) -> None:
    """Let ``shell`` show each result of :data:`RESULT_VIEWS` through its view (idempotent).

    Parameters
    ----------
    shell
        The running ``InteractiveShell``; its mime-bundle formatter gets one printer per result
        class, looked up by name when a result is first shown.
    """
    formatter = shell.display_formatter.mimebundle_formatter
    for (module, name), printer in _PRINTERS.items():
        formatter.for_type_by_name(module, name, printer)
