"""The status grid: assets x partitions as coloured cells, or one compact strip per asset.

:class:`StatusGrid` renders a :class:`~flowstone_nb._query.status.StatusReport` (plain data) with
the colours of :data:`~flowstone_nb._core.states.PALETTE` and a tooltip per cell giving the
reason. Few partitions show as a grid with a column per key (an unpartitioned asset is one cell
in a column of its own); many show compactly: a square per partition while they fit on a line,
beyond that a bar of the report's runs (:meth:`~flowstone_nb._query.status.StatusReport.runs`)
with their key ranges, as the text view writes them. Cells carry no text, so nothing overflows;
the status is written once, in the status column. A partition some data check fails on keeps its
status colour and wears a ring in the failing colour (cells, squares and runs alike), and its
tooltip names the checks and what they found. ipywidgets is imported when a widget is built;
this module never computes a status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowstone_nb._core.html import (
    CHECK_FLAG,
    FLAGGED_RING,
    badge,
    check_flag,
    checks_failing,
    esc,
    square,
    subject,
    tooltip,
)
from flowstone_nb._core.states import strong_colour
from flowstone_nb._notebook.widgets.base import WidgetView

if TYPE_CHECKING:
    from flowstone_nb._query.status import PartitionStatus, StatusReport, StatusRun

__all__ = ["StatusGrid"]

VERTICAL = "writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal"
CELL = "min-width:12px;width:12px;height:14px;padding:0;border:1px solid white"
#: A line of text in the table's cells never wraps.
NOWRAP = "text-align:left;white-space:nowrap;padding:2px 8px"


def _tooltip(row: PartitionStatus) -> str:
    """``daily[2024-01-02]: fresh``, with the reason and the failing checks if there are any."""
    text = tooltip(subject(row.asset, row.partition), row.status, row.reason)
    if row.checks_failing:
        failing = checks_failing(len(row.checks_failing))
        text = f"{text} — {CHECK_FLAG} {failing}: {row.check_message}"
    return text


def _run_tooltip(asset: str, run: StatusRun) -> str:
    """``daily[2024-01-01..2024-01-31]: fresh (31)``, with the reason and failing checks."""
    text = tooltip(subject(asset, run.keys), f"{run.status} ({run.count})", run.reason)
    return f"{text} — {CHECK_FLAG} failing checks: {run.checks}" if run.checks else text


def _marks(flagged: bool) -> tuple[str, str]:
    """The class and the CSS that mark a partition some data check fails on (or nothing)."""
    return ("fs-checks-failing ", f";{FLAGGED_RING}") if flagged else ("", "")


def _cell(row: PartitionStatus) -> str:
    mark, ring = _marks(bool(row.checks_failing))
    return (
        f'<td class="fs-cell {mark}fs-cell-{esc(row.status)}" title="{esc(_tooltip(row))}" '
        f'style="background:{strong_colour(row.status)};{CELL}{ring}"></td>'
    )


class StatusGrid(WidgetView):
    """Status per asset and partition as coloured cells with the reason as a tooltip.

    Parameters
    ----------
    report
        The report from ``fs.status()``.
    compact
        Force the compact form (one strip per asset) or the grid; by default the grid is used up
        to ``compact_after`` distinct partition keys.
    compact_after
        How many partition columns the grid form shows before switching to compact.
    squares_up_to
        In the compact form, an asset with more partitions than this shows as a bar of runs of
        keys instead of a square per partition.

    Attributes
    ----------
    form
        ToggleButtons choosing ``"grid"`` or ``"compact"``.
    grid
        The HTML widget holding the cells.
    """

    def __init__(
        self,
        report: StatusReport,
        *,
        compact: bool | None = None,
        compact_after: int = 12,
        squares_up_to: int = 60,
    ) -> None:
        import ipywidgets as widgets

        self.report = report
        self._assets = report.assets()
        self._keys = report.keys()
        self._keyless = any(not report.partitioned(a) for a in self._assets)
        self._squares_up_to = squares_up_to
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
        keyless = '<th title="unpartitioned"></th>' if self._keyless else ""
        keys = "".join(f'<th><div style="{VERTICAL}">{esc(k)}</div></th>' for k in self._keys)
        return (
            f'<thead><tr><th style="{NOWRAP}">asset</th><th style="{NOWRAP}">status</th>'
            f"{keyless}{keys}</tr></thead>"
        )

    def _grid_row(self, asset: str) -> str:
        rows = self.report.for_asset(asset)
        if not self.report.partitioned(asset):
            return _cell(rows[0]) + "<td></td>" * len(self._keys)
        by_key = {row.partition: row for row in rows}
        cells = "".join(_cell(by_key[k]) if k in by_key else "<td></td>" for k in self._keys)
        return ("<td></td>" if self._keyless else "") + cells

    def _strip(self, asset: str) -> str:
        if self.report.size(asset) <= self._squares_up_to:
            rows = self.report.for_asset(asset)
            inner = "".join(
                square(r.status, _tooltip(r), flagged=bool(r.checks_failing)) for r in rows
            )
        else:
            inner = self._run_bar(asset)
        return f'<td class="fs-strip" style="line-height:8px;text-align:left">{inner}</td>'

    def _run_bar(self, asset: str) -> str:
        """A bar with a segment per run (as long as its share), then the runs as text."""
        runs = self.report.runs(asset)
        total = sum(run.count for run in runs)
        segments = "".join(
            f'<span class="fs-run {_marks(bool(run.checks))[0]}fs-run-{esc(run.status)}" '
            f'data-count="{run.count}" title="{esc(_run_tooltip(asset, run))}" '
            f'style="width:{100 * run.count / total:.4g}%;background:{strong_colour(run.status)}'
            f'{_marks(bool(run.checks))[1]}"></span>'
            for run in runs
        )
        return (
            '<span class="fs-runs" style="display:flex;width:24em;height:12px;border-radius:3px;'
            f'overflow:hidden">{segments}</span>'
            f'<div class="fs-run-list" style="line-height:1.6">{self.report.runs_html(asset)}</div>'
        )

    def _legend(self) -> str:
        present = self.report.statuses_present()
        items = [badge(s) for s in present]
        if self.report.flagged():
            flag = check_flag("a data check fails on the value: hover a cell for what it found")
            items.append(f'<span class="fs-legend-checks">{flag} failing checks</span>')
        return '<div class="fs-legend">' + " ".join(items) + "</div>"

    def _size(self) -> int:
        """How many partitions the report holds, of every asset."""
        return sum(self.report.size(asset) for asset in self._assets)

    def to_html(self) -> str:
        """The grid (or the compact strips) as static HTML, with a legend."""
        if not self._size():
            return '<div class="fs-status-grid"><i>no assets</i></div>'
        body = "".join(
            f'<tr><th style="{NOWRAP}">{esc(a)}</th>'
            f'<td style="{NOWRAP}">{esc(self.report.headline(a))}</td>'
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
        """The report's text: per asset its counts, then its partitions as runs of keys."""
        return "(no assets)" if not self._size() else repr(self.report)
