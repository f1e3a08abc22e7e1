"""The lineage widget: upstream and downstream materializations, navigable by clicking a row.

:class:`LineageWidget` renders a :class:`~flowstone_nb._query.lineage.Lineage` as two grids with one
button per materialization; a click asks the ``navigate`` callback for that materialization's
lineage and re-centres on it, keeping a trail for the back button. A row whose value a data check
fails on has a flag after its status, naming the checks. :func:`store_navigator` builds
that callback from the catalog. ipywidgets is imported when a widget is built, never at import
time; this module never walks the catalog itself (``compute_lineage`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.html import badge, check_flag, esc, subject, when
from flowstone_nb._core.states import FORGOTTEN
from flowstone_nb._notebook.widgets.base import WidgetView

if TYPE_CHECKING:
    from flowstone_nb._query.lineage import Lineage, LineageEntry

__all__ = ["LineageWidget", "Navigate", "navigator_for", "store_navigator"]

#: Called with the clicked entry; returns the lineage centred on it.
Navigate = Callable[["LineageEntry"], "Lineage"]

HEADERS = ("materialization", "depth", "data version", "finished", "rows", "status")


def store_navigator(
    *, direction: str = "upstream", depth: int | None = None, home: str | None = None
) -> Navigate:
    """A ``navigate`` callback that reads the lineage of the clicked row from the store.

    Parameters
    ----------
    direction
        ``"upstream"``, ``"downstream"`` or ``"both"``, as in ``fs.lineage``.
    depth
        How many edges to walk from each new centre (default: all).
    home
        The store home (default: the configured one).
    """

    def navigate(target: LineageEntry) -> Lineage:
        from flowstone_nb._define.registry import get_registry
        from flowstone_nb._query.lineage import compute_lineage
        from flowstone_nb._storage.store import get_store

        return compute_lineage(
            get_registry(),
            get_store(home),
            target.asset,
            direction=direction,
            depth=depth,
            materialization_id=target.materialization_id,
        )

    return navigate


def navigator_for(lineage: Lineage, *, home: str | None = None) -> Navigate:
    """A store navigator that repeats ``lineage``'s query (direction and depth) on each click."""
    return store_navigator(direction=lineage.direction, depth=lineage.depth, home=home)


def _label(entry: LineageEntry) -> str:
    return subject(entry.asset, entry.partition)


def _facts(entry: LineageEntry) -> list[str]:
    """The columns after the materialization, as text."""
    rows = "" if entry.rows is None else str(entry.rows)
    version = (entry.data_version or "")[:12]
    return [str(entry.depth), version, when(entry.finished_at), rows, entry.status]


def _cells(entry: LineageEntry) -> list[str]:
    """The non-button cells of a row, as safe HTML; the status flagged when checks fail."""
    *facts, status = _facts(entry)
    failing = entry.checks_failing
    flag = f" {check_flag('failing checks: ' + ', '.join(failing))}" if failing else ""
    return [*(esc(fact) for fact in facts), badge(status) + flag]


class LineageWidget(WidgetView):
    """Where a materialization came from and where it went, one clickable row per entry.

    Parameters
    ----------
    lineage
        The lineage to show first (from ``fs.lineage``).
    navigate
        Called with the clicked :class:`LineageEntry`; returns the lineage centred on it.
        Without it the rows are not clickable (:func:`lineage_view` supplies one).
    max_rows
        Rows shown per direction; the rest are counted (narrow with ``depth=``).

    Attributes
    ----------
    lineage
        The lineage shown now.
    trail
        The lineages visited before, oldest first (the back button pops it).
    row_buttons
        One button per shown entry (CSS classes ``fs-lineage-row`` and
        ``fs-lineage-upstream``/``fs-lineage-downstream``).
    """

    def __init__(
        self, lineage: Lineage, *, navigate: Navigate | None = None, max_rows: int = 100
    ) -> None:
        import ipywidgets as widgets

        self._widgets: Any = widgets
        self._navigate = navigate
        self._max_rows = max_rows
        self.lineage = lineage
        self.trail: list[Lineage] = []
        self.row_buttons: list[Any] = []
        self.back_button: Any = widgets.Button(
            description="← back",
            tooltip="Return to the previous materialization",
            disabled=True,
            layout=widgets.Layout(width="auto"),
        )
        self.back_button.add_class("fs-lineage-back")
        self.back_button.on_click(lambda _button: self.back())
        self.breadcrumb: Any = self._html("fs-lineage-breadcrumb")
        self.title: Any = self._html("fs-lineage-title")
        self.message: Any = self._html("fs-lineage-message")
        self.sections: Any = widgets.VBox()
        self.widget: Any = widgets.VBox(
            [
                widgets.HBox([self.back_button, self.breadcrumb]),
                self.title,
                self.message,
                self.sections,
            ]
        )
        self.widget.add_class("fs-lineage")
        self._render()

    def open(self, target: LineageEntry) -> None:
        """Re-centre on ``target`` (what a row click does); errors are shown, not raised."""
        if self._navigate is None:
            self._error(
                f"Cannot open {_label(target)!r}: this view has no navigate callback. "
                "Show the lineage with lineage_view(...) or pass navigate=..."
            )
            return
        try:
            lineage = self._navigate(target)
        except FlowstoneError as error:
            self._error(str(error))
            return
        self.trail.append(self.lineage)
        self.lineage = lineage
        self._render()

    def back(self) -> None:
        """Return to the previous centre, if any."""
        if self.trail:
            self.lineage = self.trail.pop()
            self._render()

    def _html(self, css: str) -> Any:
        widget = self._widgets.HTML()
        widget.add_class(css)
        return widget

    def _error(self, text: str) -> None:
        self.message.value = f'<span class="fs-error" style="color:#c62828">{esc(text)}</span>'

    def _render(self) -> None:
        self.message.value = ""
        self.title.value = f"<b>Lineage of {esc(self.lineage.title)}</b>"
        self.breadcrumb.value = self._trail_html()
        self.back_button.disabled = not self.trail
        self.row_buttons = []
        children: list[Any] = []
        for label, entries in self.lineage.directions():
            children.append(self._widgets.HTML(f"<b>{esc(label)}</b>"))
            children.append(self._grid(entries))
            children.extend(self._more(entries))
        if not children:
            children.append(self._widgets.HTML(f"<i>{esc(self.lineage.empty_text)}</i>"))
        self.sections.children = tuple(children)

    def _trail_html(self) -> str:
        return " → ".join(esc(previous.title) for previous in self.trail)

    def _grid(self, entries: Sequence[LineageEntry]) -> Any:
        widgets = self._widgets
        cells: list[Any] = [widgets.HTML(f"<b>{esc(h)}</b>") for h in HEADERS]
        for entry in entries[: self._max_rows]:
            cells.append(self._button(entry))
            cells.extend(widgets.HTML(cell) for cell in _cells(entry))
        layout = widgets.Layout(
            grid_template_columns="auto auto auto auto auto auto", grid_gap="2px 12px"
        )
        grid = widgets.GridBox(cells, layout=layout)
        grid.add_class("fs-lineage-grid")
        return grid

    def _more(self, entries: Sequence[LineageEntry]) -> list[Any]:
        hidden = len(entries) - self._max_rows
        if hidden <= 0:
            return []
        return [self._widgets.HTML(f"<i>… and {hidden} more (narrow with depth=…)</i>")]

    def _button(self, entry: LineageEntry) -> Any:
        label = _label(entry)
        if entry.status == FORGOTTEN:
            tip, disabled = "This materialization was forgotten: its catalog row is gone", True
        elif self._navigate is None:
            tip, disabled = "Show this with lineage_view(...) to make rows clickable", True
        else:
            tip, disabled = f"Open the lineage of {label}", False
        button = self._widgets.Button(
            description=label,
            tooltip=tip,
            disabled=disabled,
            layout=self._widgets.Layout(width="auto"),
        )
        button.add_class("fs-lineage-row")
        button.add_class(f"fs-lineage-{entry.direction}")
        button.on_click(lambda _button: self.open(entry))
        self.row_buttons.append(button)
        return button

    def to_html(self) -> str:
        """The current centre as the lineage's own static HTML (runs collapsed), with the trail."""
        trail = (
            f'<div class="fs-lineage-breadcrumb">back: {self._trail_html()}</div>'
            if self.trail
            else ""
        )
        return trail + self.lineage._repr_html_()

    def to_text(self) -> str:
        """The current centre as the lineage's own text (runs collapsed), with the trail."""
        trail = [f"back: {' → '.join(p.title for p in self.trail)}"] if self.trail else []
        return "\n".join([*trail, repr(self.lineage)])
