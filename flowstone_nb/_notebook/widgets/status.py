"""The status grid: assets x partitions as coloured cells, or one strip of squares per asset.

:class:`StatusGrid` renders a :class:`~flowstone_nb._query.status.StatusReport` (plain data) with
the colours of :data:`~flowstone_nb._core.states.PALETTE` and a tooltip per cell giving the
reason. Few partitions show as a grid with a column per key; many show compactly. ipywidgets is
imported when a widget is built; this module never computes a status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.html import badge, esc, square, subject, tooltip
from flowstone_nb._core.states import Freshness, strong_colour
from flowstone_nb._notebook.widgets.base import WidgetView

if TYPE_CHECKING:
    from flowstone_nb._query.status import PartitionStatus, StatusReport

__all__ = ["StatusGrid"]

#: One character per status in the text strip.
TEXT_MARKS: Mapping[str, str] = {
    Freshness.FRESH: "#",
    Freshness.STALE: "~",
    Freshness.MISSING: ".",
    Freshness.FAILED: "x",
    Freshness.RUNNING: ">",
}
VERTICAL = "writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal"


def _subject(row: PartitionStatus) -> str:
    return subject(row.asset, row.partition)


def _cell(row: PartitionStatus, colspan: int = 1) -> str:
    span = f' colspan="{colspan}"' if colspan > 1 else ""
    label = esc(row.status) if not row.partition else ""
    return (
        f'<td class="fs-cell fs-cell-{esc(row.status)}"{span} '
        f'title="{esc(tooltip(_subject(row), row.status, row.reason))}" '
        f'style="background:{strong_colour(row.status)};color:white;min-width:12px;height:14px">'
        f"{label}</td>"
    )


class StatusGrid(WidgetView):
    """Status per asset and partition as coloured cells with the reason as a tooltip.

    Parameters
    ----------
    report
        The report from ``fs.status()``.
    compact
        Force the compact form (one strip of squares per asset) or the grid; by default the
        grid is used up to ``compact_after`` distinct partition keys.
    compact_after
        How many partition columns the grid form shows before switching to compact.

    Attributes
    ----------
    form
        ToggleButtons choosing ``"grid"`` or ``"compact"``.
    grid
        The HTML widget holding the cells.
    """

    def __init__(
        self, report: StatusReport, *, compact: bool | None = None, compact_after: int = 12
    ) -> None:
        import ipywidgets as widgets

        self.report = report
        self._assets = list(dict.fromkeys(row.asset for row in report.rows))
        self._keys = list(dict.fromkeys(row.partition for row in report.rows if row.partition))
        start = len(self._keys) > compact_after if compact is None else compact
        self.form: Any = widgets.ToggleButtons(
            options=["grid", "compact"], value="compact" if start else "grid"
        )
        self.form.observe(lambda _change: self._render(), names="value")
        self.grid: Any = widgets.HTML()
        self.grid.add_class("fs-status-cells")
        self.widget: Any = widgets.VBox([self.form, self.grid])
        self.widget.add_class("fs-status-grid")
        self._render()

    @property
    def compact(self) -> bool:
        """Whether the compact form is shown."""
        return bool(self.form.value == "compact")

    def _render(self) -> None:
        self.grid.value = self.to_html()

    def _head(self) -> str:
        keys = (
            "".join(f'<th><div style="{VERTICAL}">{esc(k)}</div></th>' for k in self._keys)
            or "<th></th>"
        )
        return f"<thead><tr><th>asset</th><th>status</th>{keys}</tr></thead>"

    def _grid_row(self, asset: str) -> str:
        rows = self.report.for_asset(asset)
        if len(rows) == 1 and not rows[0].partition:
            return _cell(rows[0], colspan=max(1, len(self._keys)))
        by_key = {row.partition: row for row in rows}
        return "".join(_cell(by_key[k]) if k in by_key else "<td></td>" for k in self._keys)

    def _strip(self, asset: str) -> str:
        squares = "".join(
            square(r.status, tooltip(_subject(r), r.status, r.reason))
            for r in self.report.for_asset(asset)
        )
        return f'<td class="fs-strip" style="line-height:8px">{squares}</td>'

    def _legend(self) -> str:
        present = dict.fromkeys(row.status for row in self.report.rows)
        return '<div class="fs-legend">' + " ".join(badge(s) for s in present) + "</div>"

    def to_html(self) -> str:
        """The grid (or the compact strips) as static HTML, with a legend."""
        if not self.report.rows:
            return '<div class="fs-status-grid"><i>no assets</i></div>'
        body = "".join(
            f'<tr><th style="text-align:left">{esc(a)}</th>'
            f"<td>{esc(self.report.summary(a))}</td>"
            f"{self._strip(a) if self.compact else self._grid_row(a)}</tr>"
            for a in self._assets
        )
        head = "" if self.compact else self._head()
        form = "compact" if self.compact else "grid"
        return (
            f'<div class="fs-status-grid fs-status-form-{form}"><table>{head}<tbody>{body}</tbody>'
            f"</table>{self._legend()}</div>"
        )

    def to_text(self) -> str:
        """One line per asset: name, summary and a character per partition."""
        if not self.report.rows:
            return "(no assets)"
        width = max(len(a) for a in self._assets)
        summaries = {a: self.report.summary(a) for a in self._assets}
        gap = max(len(s) for s in summaries.values())
        lines = []
        for asset in self._assets:
            rows = self.report.for_asset(asset)
            strip = "".join(TEXT_MARKS.get(r.status, "?") for r in rows if r.partition)
            lines.append(f"{asset.ljust(width)}  {summaries[asset].ljust(gap)}  {strip}".rstrip())
        legend = ", ".join(f"{mark} {status}" for status, mark in TEXT_MARKS.items())
        return "\n".join([*lines, f"legend: {legend}, ? other"])
