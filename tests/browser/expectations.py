"""What each notebook under test must show once JupyterLab has run it.

The browser tests run every notebook found in ``notebooks/`` and ``tests/browser/notebooks/``. The
checks every notebook gets (no error output, widgets render live, nothing fetched from outside
the machine) need no entry here; the checks of particular outputs (graph nodes and colours, a
lineage click, backfill progress, the status grid and the history table) run for the notebooks
whose :class:`Expected` entry asks for them. A notebook without an entry fails
``test_every_notebook_states_what_it_shows``, so a new notebook cannot slip in unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The folders whose notebooks are run, in this order.
NOTEBOOK_DIRS = (REPO / "notebooks", Path(__file__).resolve().parent / "notebooks")

#: Node name -> status.
Graph = Mapping[str, str]
#: Asset -> the status of every cell, or how many cells show each status.
StatusGrid = Mapping[str, str | Mapping[str, int]]
#: Asset -> the partitions whose cell is marked for failing checks.
FlaggedCells = Mapping[str, tuple[str, ...]]
#: Node name -> its badge (nodes not named have none).
Badges = Mapping[str, str]


@dataclass(frozen=True)
class Expected:
    """The outputs one notebook must show after Run All Cells.

    Attributes
    ----------
    graphs
        Every static (Graphviz SVG) graph output, in order: node name -> status.
    interactive_graphs
        Every interactive graph (graphviz-anywidget) output, in order: node name -> status.
    lineage_click
        The label of a lineage row to click (the first lineage widget must re-centre on it).
    backfills
        The number of partitions of each backfill, in order (its result, or its progress when
        the cell does not show the result).
    backfill_texts
        Texts the backfill outputs must show (e.g. why a partition was skipped).
    status_grids
        Every status grid widget, in order: asset -> the status of all its cells, or how many
        cells show each status.
    history_assets
        Assets that must have rows in the history widget.
    history_filter
        What the history widget's asset filter shows.
    flagged_cells
        Every status grid widget, in order: the cells marked for failing data checks.
    graph_badges
        Every static graph, in order: the nodes with a failing-checks badge, and its text.
    large_grid
        An asset with many partitions whose ``fs.status(asset)`` cell is run again: its grid
        must be painted within a second, and the history widget must page.
    """

    graphs: tuple[Graph, ...] = ()
    interactive_graphs: tuple[Graph, ...] = ()
    lineage_click: str | None = None
    backfills: tuple[int, ...] = ()
    backfill_texts: tuple[str, ...] = ()
    status_grids: tuple[StatusGrid, ...] = ()
    history_assets: frozenset[str] = frozenset()
    history_filter: str = "all assets"
    flagged_cells: tuple[FlaggedCells, ...] = ()
    graph_badges: tuple[Badges, ...] = ()
    large_grid: str | None = None

    def aspects(self) -> frozenset[str]:
        """The names of the particular checks this notebook asks for."""
        wanted = {
            "graph": bool(self.graphs),
            "interactive_graph": bool(self.interactive_graphs),
            "lineage": self.lineage_click is not None,
            "backfill": bool(self.backfills),
            "status_grid": bool(self.status_grids),
            "history": bool(self.history_assets),
            "check_marks": bool(self.flagged_cells or self.graph_badges),
            "large_grid": self.large_grid is not None,
        }
        return frozenset(name for name, on in wanted.items() if on)


_TOUR_GRAPH = {
    "audit": "failed",
    "customers": "fresh",
    "dashboard": "missing",
    "forecast": "fresh",
    "orders": "fresh",
    "regions": "fresh",
    "revenue": "fresh",
}
_QUICKSTART_FRESH = {"orders": "fresh", "clean_orders": "fresh", "revenue_by_region": "fresh"}
_QUICKSTART_EDITED = {"orders": "fresh", "clean_orders": "stale", "revenue_by_region": "stale"}
_MONTHS = {"fresh": 1, "missing": 2}
_SHOP = {"orders": "fresh", "revenue": "fresh"}
_SHOP_GRID: StatusGrid = {"orders": {"fresh": 7}, "revenue": "fresh"}

#: Keyed by the notebook's file name.
EXPECTED: Mapping[str, Expected] = {
    "01_quickstart.ipynb": Expected(
        graphs=(_QUICKSTART_FRESH, _QUICKSTART_EDITED),
        interactive_graphs=(_QUICKSTART_FRESH,),
        lineage_click="clean_orders",
        status_grids=(_QUICKSTART_FRESH, _QUICKSTART_EDITED),
        history_assets=frozenset(_QUICKSTART_FRESH),
    ),
    "02_partitions_and_backfill.ipynb": Expected(
        # Some partitions fresh, the rest missing: the node reads fresh, its label says how many.
        graphs=({"daily_sales": "fresh", "monthly_revenue": "fresh"},),
        interactive_graphs=({"daily_sales": "fresh", "monthly_revenue": "fresh"},),
        lineage_click="daily_sales[2024-01-15]",
        backfills=(60,),
        status_grids=(
            {"monthly_revenue": _MONTHS},
            {"daily_sales": {"fresh": 60, "missing": 31}, "monthly_revenue": _MONTHS},
        ),
        history_assets=frozenset({"monthly_revenue"}),
        history_filter="monthly_revenue",  # %flowstone history monthly_revenue
    ),
    "03_lineage_and_debugging.ipynb": Expected(
        graphs=({"readings": "fresh", "daily_mean": "fresh", "overall_mean": "fresh"},),
        interactive_graphs=({"readings": "fresh", "daily_mean": "fresh", "overall_mean": "fresh"},),
        lineage_click="daily_mean[2024-05-04]",
        backfills=(10, 10),
        backfill_texts=(
            "9 computed",
            "1 skipped",
            "upstream readings[2024-05-04] raised ValueError",
        ),
        status_grids=(
            {"readings": {"fresh": 10}, "daily_mean": {"fresh": 10}, "overall_mean": "fresh"},
        ),
        history_assets=frozenset({"readings", "daily_mean", "overall_mean"}),
    ),
    # The command line's tables and the exported module are text; the common checks cover them.
    "04_to_production.ipynb": Expected(),
    "05_checks.ipynb": Expected(
        graphs=(_SHOP, _SHOP),
        backfills=(7, 7),
        backfill_texts=(
            "1 partition with failing checks",
            "no_negative_quantities: 2 line(s) with a negative quantity",
        ),
        status_grids=(_SHOP_GRID, _SHOP_GRID),
        # A failing check leaves 2024-03-04 fresh and flagged; after the fix nothing is.
        flagged_cells=({"orders": ("2024-03-04",)}, {}),
        graph_badges=({"orders": "⚑ 1 check failing"}, {}),
    ),
    "scale.ipynb": Expected(
        status_grids=({"wide": {"fresh": 9_982, "missing": 18}},),
        history_assets=frozenset({"wide"}),
        history_filter="wide",  # %flowstone history wide
        large_grid="wide",
    ),
    "tour.ipynb": Expected(
        graphs=(_TOUR_GRAPH,),
        interactive_graphs=(_TOUR_GRAPH,),
        lineage_click="orders[2024-01-03]",
        backfills=(6,),
        status_grids=(_TOUR_GRAPH,),
        history_assets=frozenset(_TOUR_GRAPH) - {"dashboard"},
    ),
}


def notebooks() -> list[Path]:
    """Every notebook under test, maintainers' examples first."""
    return [path for folder in NOTEBOOK_DIRS for path in sorted(folder.glob("*.ipynb"))]


def expected(notebook: Path) -> Expected:
    """The entry of ``notebook`` (no particular checks when it has none)."""
    return EXPECTED.get(notebook.name, Expected())
