"""The history widget: the materializations table with asset and status filters.

:class:`HistoryWidget` renders the DataFrame of ``fs.history()`` (columns
:data:`~flowstone_nb._query.lineage.HISTORY_COLUMNS`) as an escaped HTML table under two dropdowns.
Given :class:`HistoryPages` (:meth:`HistoryWidget.paged`), it shows a long history a page at a
time: each filter and each step asks for one page (``fs.history(limit=, offset=)``), so its cost
is the page's, not the catalog's. ipywidgets and pandas are imported when a widget is built, never
at import time; this module never reads the catalog (:class:`StorePages` asks the query layer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.html import badge, duration, esc, html_table, text_table, when
from flowstone_nb._notebook.widgets.base import WidgetView

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HistoryPages", "HistoryWidget", "StorePages"]

SHOWN = (
    "asset",
    "partition",
    "status",
    "finished",
    "duration_s",
    "rows",
    "data_version",
    "run_id",
    "error_message",
)
REQUIRED = ("asset", "status")
ERROR_WIDTH = 120
#: The header of a column, where it is not the column's name.
HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "duration_s": "duration",
        "data_version": "data version",
        "run_id": "run",
        "error_message": "error",
    }
)
#: Columns of numbers: aligned right, under a right-aligned header.
NUMBERS = frozenset({"duration_s", "rows"})


def _blank(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _error(value: Any) -> str:
    text = str(value)
    return text[:ERROR_WIDTH] + "…" if len(text) > ERROR_WIDTH else text


#: How a column's values are shown; other columns show as text.
FORMATS: dict[str, Callable[[Any], str]] = {
    "started": when,
    "finished": when,
    "duration_s": lambda value: duration(float(value)),
    "data_version": lambda value: str(value)[:12],
    "run_id": lambda value: str(value)[:12],
    "rows": lambda value: str(int(value)),
    "error_message": _error,
}


#: Columns whose values never wrap (at a date's hyphens or a time's space), however narrow a
#: long error message makes them.
_ONE_LINE = frozenset({"partition", "started", "finished"})


def _one_line(text: str) -> str:
    return f'<span class="fs-one-line" style="white-space:nowrap">{esc(text)}</span>'


def _cell(column: str, value: Any) -> str:
    """One value as text, the way the table shows it (blank when missing)."""
    if _blank(value):
        return ""
    return FORMATS.get(column, str)(value)


def _attempt_html(attempt: int) -> str:
    """Beside a status badge: which attempt a retried row was (nothing for a first attempt)."""
    return f' <span class="fs-attempt">attempt {attempt}</span>' if attempt > 1 else ""


class HistoryPages(Protocol):
    """Where a paged history widget gets its rows."""

    def assets(self) -> list[str]:
        """The assets the asset filter offers."""
        ...

    def page(self, asset: str | None, status: str | None, offset: int, limit: int) -> pd.DataFrame:
        """``limit`` rows of ``fs.history()``'s table after the ``offset`` newest.

        Only those of ``asset`` and of ``status`` when given.
        """
        ...


class StorePages:
    """:class:`HistoryPages` read from a store (``fs.history``'s table, a page at a time).

    Parameters
    ----------
    home
        The store home (default: the configured one).
    """

    def __init__(self, *, home: str | None = None) -> None:
        self.home = home

    def assets(self) -> list[str]:
        """The assets with recorded materializations, and those defined."""
        from flowstone_nb._define.registry import get_registry
        from flowstone_nb._storage.store import get_store

        defined = [str(asset.name) for asset in get_registry().list_all()]
        return sorted({*get_store(self.home).catalog.assets(), *defined})

    def page(self, asset: str | None, status: str | None, offset: int, limit: int) -> pd.DataFrame:
        """One page of the history, newest first."""
        from flowstone_nb._query.api import history_page

        statuses = None if status is None else [status]
        return history_page(asset, statuses=statuses, limit=limit, offset=offset, home=self.home)


#: The statuses a paged widget's status filter offers (those of catalog rows).
PAGE_STATUSES = ("success", "failed", "running", "pending", "skipped")


class HistoryWidget(WidgetView):
    """Materializations, newest first, filterable by asset and status.

    Parameters
    ----------
    frame
        The DataFrame from ``fs.history()``.
    max_rows
        Rows shown at most; the table says how many matched.
    asset
        The asset the filter starts on (default: the frame's one asset if it holds only one,
        else all assets).

    Attributes
    ----------
    asset_filter, status_filter
        Dropdowns; the value ``""`` means all.
    table
        The HTML widget holding the table.
    previous, next
        In a paged widget (:meth:`paged`), the buttons showing newer and older rows.
    """

    def __init__(
        self, frame: pd.DataFrame, *, max_rows: int = 200, asset: str | None = None
    ) -> None:
        import ipywidgets as widgets

        missing = [c for c in REQUIRED if c not in frame.columns]
        if missing:
            listed = ", ".join(repr(c) for c in missing)
            raise FlowstoneError(
                f"HistoryWidget shows the table of fs.history(), but this frame lacks "
                f"column(s) {listed}. Pass the frame that fs.history() returns."
            )
        self.frame = frame
        self._columns = [c for c in SHOWN if c in frame.columns]
        self._max_rows = max_rows
        self._pages: HistoryPages | None = None  # (set by paged, with the buttons)
        self._offset = 0
        self._more = False
        self.previous: Any = None
        self.next: Any = None
        assets = self._choices("asset", "all assets")
        if asset is None and len(assets) == 2:  # "all assets" and the one asset there is
            asset = assets[1][1]
        if asset is not None and (asset, asset) not in assets:
            assets.append((asset, asset))
        self.asset_filter: Any = widgets.Dropdown(
            options=assets, value=asset or "", description="asset"
        )
        self.status_filter: Any = widgets.Dropdown(
            options=self._choices("status", "all statuses"), value="", description="status"
        )
        self.table: Any = widgets.HTML()
        self.table.add_class("fs-history-table")
        for dropdown in (self.asset_filter, self.status_filter):
            dropdown.observe(lambda _change: self._filtered_again(), names="value")
        self.widget: Any = widgets.VBox(
            [widgets.HBox([self.asset_filter, self.status_filter]), self.table]
        )
        self.widget.add_class("fs-history")
        self._render()

    @classmethod
    def paged(
        cls, pages: HistoryPages, *, page_size: int = 100, asset: str | None = None
    ) -> HistoryWidget:
        """A widget showing ``pages`` one page of ``page_size`` rows at a time.

        The asset filter offers ``pages.assets()``, the status filter every status a row may
        have; changing either shows the first page again, and the buttons step a page.
        """
        import ipywidgets as widgets

        first = pages.page(asset, None, 0, page_size + 1)
        widget = cls(first.head(page_size), max_rows=page_size, asset=asset)
        widget.asset_filter.options = [("all assets", ""), *((a, a) for a in pages.assets())]
        widget.asset_filter.value = asset or ""
        statuses = [("all statuses", ""), *((s, s) for s in PAGE_STATUSES)]
        widget.status_filter.options = statuses
        widget.previous = widgets.Button(description="newer", icon="arrow-left")
        widget.next = widgets.Button(description="older", icon="arrow-right")
        widget.previous.on_click(lambda _button: widget.step(-1))
        widget.next.on_click(lambda _button: widget.step(1))
        widget.widget.children = (
            widgets.HBox([widget.asset_filter, widget.status_filter, widget.previous, widget.next]),
            widget.table,
        )
        widget._pages = pages  # (from here on, a filter or a step asks for a page)
        widget._more = len(first) > page_size
        widget._render()
        widget.previous.disabled, widget.next.disabled = True, not widget._more
        return widget

    def step(self, pages: int) -> None:
        """Show the page ``pages`` pages older (negative: newer); nothing before the newest."""
        if self._pages is None:
            return
        self._offset = max(0, self._offset + pages * self._max_rows)
        self._fetch()

    def _fetch(self) -> None:
        """Ask for the page at the offset under the filters (one row more: is there another?)."""
        assert self._pages is not None
        asset, status = self.asset_filter.value or None, self.status_filter.value or None
        found = self._pages.page(asset, status, self._offset, self._max_rows + 1)
        self._more = len(found) > self._max_rows
        self.frame = found.head(self._max_rows)
        self.table.value = self.to_html()
        self.previous.disabled = self._offset == 0
        self.next.disabled = not self._more

    def _filtered_again(self) -> None:
        """A filter changed: the first page under it (paged), or the rows kept (not paged)."""
        if self._pages is None:
            self._render()
            return
        self._offset = 0
        self._fetch()

    def _choices(self, column: str, everything: str) -> list[tuple[str, str]]:
        values = sorted({str(v) for v in self.frame[column] if not _blank(v)})
        return [(everything, ""), *((v, v) for v in values)]

    def filtered(self) -> pd.DataFrame:
        """The rows matching the dropdowns (paged: the page, asked for under them)."""
        frame = self.frame
        if self._pages is not None:
            return frame
        for column, dropdown in (("asset", self.asset_filter), ("status", self.status_filter)):
            if dropdown.value:
                frame = frame[frame[column].astype(str) == dropdown.value]
        return frame

    def _rows(self) -> tuple[list[list[str]], int, list[int]]:
        """The rows shown (text), how many match, and each row's attempt (1 when unknown)."""
        frame = self.filtered()
        shown = frame.head(self._max_rows)
        rows = [
            [_cell(c, v) for c, v in zip(self._columns, values, strict=True)]
            for values in shown[self._columns].itertuples(index=False, name=None)
        ]
        attempts = (
            [1 if _blank(a) else int(a) for a in shown["attempt"]]
            if "attempt" in shown.columns
            else [1] * len(rows)
        )
        return rows, len(frame), attempts

    def _note(self, shown: int, matched: int) -> str:
        if self._pages is not None:
            if not shown:
                return "no materializations match" if self._offset else "no materializations"
            more = ", older ones follow" if self._more else ""
            return f"rows {self._offset + 1:,}-{self._offset + shown:,}{more}"
        if not matched:
            return "no materializations match" if len(self.frame) else "no materializations yet"
        return f"showing {shown} of {matched}" if shown < matched else ""

    def _render(self) -> None:
        self.table.value = self.to_html()

    def _headers(self) -> list[str]:
        return [HEADERS.get(column, column) for column in self._columns]

    def _numbers(self) -> list[int]:
        return [i for i, column in enumerate(self._columns) if column in NUMBERS]

    def to_html(self) -> str:
        """The filtered table as static HTML (status as a coloured badge)."""
        rows, matched, attempts = self._rows()
        status_at = self._columns.index("status")
        whole = {i for i, column in enumerate(self._columns) if column in _ONE_LINE}
        cells = [
            [
                badge(v) + _attempt_html(attempt)
                if i == status_at
                else _one_line(v)
                if i in whole and v
                else esc(v)
                for i, v in enumerate(row)
            ]
            for row, attempt in zip(rows, attempts, strict=True)
        ]
        table = html_table(
            self._headers(),
            cells,
            raw_columns=range(len(self._columns)),
            right_columns=self._numbers(),
            css_class="fs-history",
        )
        note = self._note(len(rows), matched)
        return table + (f"<p><i>{esc(note)}</i></p>" if note else "")

    def to_text(self) -> str:
        """The filtered table as text."""
        rows, matched, attempts = self._rows()
        status_at = self._columns.index("status")
        for row, attempt in zip(rows, attempts, strict=True):
            if attempt > 1:  # (a retried row says which attempt it was)
                row[status_at] = f"{row[status_at]} (attempt {attempt})"
        note = self._note(len(rows), matched)
        table = text_table(self._headers(), rows, right_columns=self._numbers())
        return f"{table}\n({note})" if note else table
