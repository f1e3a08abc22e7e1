"""The live graph: the asset graph that recolours itself, in place, as a run proceeds.

:class:`LiveGraph` displays the asset graph (drawn by :mod:`.build`, as ``fs.graph`` draws it),
listens to :mod:`~flowstone_nb._core.events` and updates the same display with each node's status
as it changes, through a :class:`~flowstone_nb._core.throttle.Throttle`; the outcomes of data checks
(``checked`` events) mark their partition as the status report does, so a node's badge counts
them as they come. It reaches IPython only
through :mod:`flowstone_nb._notebook.display`, when it shows the graph; it never runs or schedules
materializations.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING

from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._core.html import findings
from flowstone_nb._core.states import EventKind, Freshness
from flowstone_nb._core.throttle import Schedule, Throttle, start_timer
from flowstone_nb._define.registry import Registry, get_registry
from flowstone_nb._notebook.display import Display, DisplayHandle, show
from flowstone_nb._notebook.graph.build import draw, select_assets
from flowstone_nb._query.status import PartitionStatus, StatusReport, compute_status
from flowstone_nb._storage.store import get_store

if TYPE_CHECKING:
    from flowstone_nb._define.asset import Asset
    from flowstone_nb._notebook.graph.render import GraphView

__all__ = ["LIVE_STATUS", "LiveGraph"]

#: The status a node shows once an event of this kind arrives.
LIVE_STATUS: Mapping[str, Freshness] = MappingProxyType(
    {
        EventKind.STARTED: Freshness.RUNNING,
        EventKind.SUCCEEDED: Freshness.FRESH,
        EventKind.REUSED: Freshness.FRESH,
        EventKind.FAILED: Freshness.FAILED,
    }
)
REASONS: Mapping[str, str] = MappingProxyType(
    {Freshness.RUNNING: "materializing now", Freshness.FRESH: "just materialized"}
)


def _nothing() -> None:
    """Unsubscribe before subscribing: nothing to do."""


class LiveGraph:
    """Show the asset graph and recolour it as a run proceeds; a context manager.

    On entry the graph is displayed with a display id; while the block runs, every
    materialization event recolours its node (``running``, then ``fresh`` or ``failed``) and
    the display is updated in place, at most once per ``interval`` and always after the last
    event. A partitioned node's colour and summary come from its partitions, live ones first.

    Parameters
    ----------
    asset, upstream, downstream, cluster, registry, home
        What to draw, and from which registry and store, as in
        :func:`~flowstone_nb._notebook.graph.build.graph` (``fs.graph``).
    interval
        Minimum seconds between two redraws.
    clock, schedule
        Time and timers (injectable for tests).
    display
        Shows an object and returns an updatable handle (default: IPython's ``display``);
        when it returns ``None`` (outside a kernel) the graph is shown once and not updated.

    Attributes
    ----------
    handle
        The display handle, once entered.
    """

    def __init__(
        self,
        asset: Asset | str | None = None,
        *,
        upstream: int | None = None,
        downstream: int | None = None,
        cluster: bool = True,
        registry: Registry | None = None,
        home: str | None = None,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule = start_timer,
        display: Display = show,
    ) -> None:
        self._focus = None if asset is None else str(getattr(asset, "name", asset))
        self._levels = (upstream, downstream)
        self._cluster = cluster
        self._registry = registry
        self._home = home
        self._display = display
        self._lock = threading.Lock()
        self._live: dict[tuple[str, str], PartitionStatus] = {}
        # What the checks of this run found failing, per partition: check -> message.
        self._failing: dict[tuple[str, str], dict[str, str | None]] = {}
        self._names: list[str] = []
        self._shown: frozenset[str] = frozenset()
        self._base: StatusReport | None = None
        self._unsubscribe: Callable[[], None] = _nothing
        self._throttle = Throttle(self._redraw, interval=interval, clock=clock, schedule=schedule)
        self.handle: DisplayHandle | None = None

    def __enter__(self) -> LiveGraph:
        registry = self._registry = self._registry or get_registry()
        self._names = select_assets(registry, self._focus, *self._levels)
        self._shown = frozenset(self._names)
        store = get_store(self._home)
        self._base = compute_status(registry, store, self._names) if self._names else None
        self.handle = self._display(self.view(), display_id=True)
        self._unsubscribe = subscribe(self.on_event)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._unsubscribe()
        self._unsubscribe = _nothing
        self._throttle.flush()

    def on_event(self, event: Event) -> None:
        """Record the node's new status and ask for a redraw (called from worker threads)."""
        if event.asset not in self._shown:
            return
        if event.kind == EventKind.CHECKED:
            self._checked(event)
            return
        status = LIVE_STATUS.get(event.kind)
        if status is None:
            return
        reason = str(event.detail.get("error", REASONS.get(status, "")))
        row = PartitionStatus(event.asset, event.partition, status, reason)
        with self._lock:
            self._live[(event.asset, event.partition)] = row
            if event.kind == EventKind.STARTED:  # a new value: what checks said of the old goes
                self._failing.pop((event.asset, event.partition), None)
        self._throttle.request()

    def _checked(self, event: Event) -> None:
        """A data check judged a partition's value: mark it failing, or no longer."""
        detail = event.detail
        name = str(detail.get("check", ""))
        with self._lock:
            failing = self._failing.setdefault((event.asset, event.partition), {})
            if detail.get("passed"):
                failing.pop(name, None)
            else:
                failing[name] = detail.get("message")
        self._throttle.request()

    def _marked(self, row: PartitionStatus) -> PartitionStatus:
        """``row`` with the checks this run found failing on its value (lock held)."""
        failing = self._failing.get((row.asset, row.partition))
        if not failing:
            return row
        return dataclasses.replace(
            row, checks_failing=tuple(failing), check_message=findings(failing.items())
        )

    def report(self) -> StatusReport | None:
        """The status before the run with every live status laid over it."""
        if self._base is None:
            return None
        with self._lock:
            live = dict(self._live)
            rows = [live.pop((r.asset, r.partition), r) for r in self._base.rows]
            return StatusReport(tuple(map(self._marked, (*rows, *live.values()))))

    def view(self) -> GraphView:
        """The graph as it should look now."""
        assert self._registry is not None, "enter the LiveGraph before drawing it"
        return draw(
            self._registry, self._names, self.report(), cluster=self._cluster, focus=self._focus
        )

    def _redraw(self) -> None:
        if self.handle is not None:
            self.handle.update(self.view())
