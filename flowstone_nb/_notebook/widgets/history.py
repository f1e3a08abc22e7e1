"""The history widget: the materializations table with asset and status filters.

:class:`HistoryWidget` renders the DataFrame of ``fs.history()`` (columns
:data:`~flowstone_nb._query.lineage.HISTORY_COLUMNS`) as an escaped HTML table under two dropdowns.
ipywidgets and pandas are imported when a widget is built, never at import time; this module
never reads the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.html import badge, duration, esc, html_table, text_table, when
from flowstone_nb._notebook.widgets.base import WidgetView

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HistoryWidget"]

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
            dropdown.observe(lambda _change: self._render(), names="value")
        self.widget: Any = widgets.VBox(
            [widgets.HBox([self.asset_filter, self.status_filter]), self.table]
        )
        self.widget.add_class("fs-history")
        self._render()

    def _choices(self, column: str, everything: str) -> list[tuple[str, str]]:
        values = sorted({str(v) for v in self.frame[column] if not _blank(v)})
        return [(everything, ""), *((v, v) for v in values)]

    def filtered(self) -> pd.DataFrame:
        """The rows matching the dropdowns."""
        frame = self.frame
        for column, dropdown in (("asset", self.asset_filter), ("status", self.status_filter)):
            if dropdown.value:
                frame = frame[frame[column].astype(str) == dropdown.value]
        return frame

    def _rows(self) -> tuple[list[list[str]], int]:
        frame = self.filtered()
        shown = frame.head(self._max_rows)
        rows = [
            [_cell(c, v) for c, v in zip(self._columns, values, strict=True)]
            for values in shown[self._columns].itertuples(index=False, name=None)
        ]
        return rows, len(frame)

    def _note(self, shown: int, matched: int) -> str:
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
        rows, matched = self._rows()
        status_at = self._columns.index("status")
        whole = {i for i, column in enumerate(self._columns) if column in _ONE_LINE}
        cells = [
            [
                badge(v) if i == status_at else _one_line(v) if i in whole and v else esc(v)
                for i, v in enumerate(row)
            ]
            for row in rows
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
        rows, matched = self._rows()
        note = self._note(len(rows), matched)
        table = text_table(self._headers(), rows, right_columns=self._numbers())
        return f"{table}\n({note})" if note else table
