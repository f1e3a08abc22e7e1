"""Live views during a run: a redraw throttle and the graph that recolours itself as nodes run.

:class:`Throttle` runs a redraw at most once per interval and never drops the last request (a
request inside the interval arms one trailing timer); its clock and scheduler are injectable.
:class:`LiveGraph` displays the asset graph, listens to :mod:`~flowstone_nb._core.events` and
updates the same display with each node's status as it changes. This module imports IPython,
Graphviz and the storage layer only inside functions; it never runs or schedules materializations.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from flowstone_nb._core.events import Event, subscribe

if TYPE_CHECKING:
    from flowstone_nb._define.asset import Asset
    from flowstone_nb._define.registry import Registry
    from flowstone_nb._notebook.graph.render import GraphView
    from flowstone_nb._query.status import PartitionStatus, StatusReport

__all__ = ["LIVE_STATUS", "DisplayHandle", "LiveGraph", "Schedule", "Throttle", "start_timer"]

#: Calls ``callback`` after ``delay`` seconds; returns a function that cancels it.
Schedule = Callable[[float, Callable[[], None]], Callable[[], None]]

#: The status a node shows once an event of this kind arrives.
LIVE_STATUS = {"started": "running", "succeeded": "fresh", "reused": "fresh", "failed": "failed"}
REASONS = {"running": "materializing now", "fresh": "just materialized"}


def start_timer(delay: float, callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` on a daemon thread after ``delay`` seconds; returns the cancel function."""
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()
    return timer.cancel


class Throttle:
    """Run ``action`` at most once per ``interval`` seconds, always after the last request.

    A request inside the interval arms a single trailing timer for the rest of it, so the final
    state is always drawn. Actions never overlap; an action should read the newest state itself.

    Parameters
    ----------
    action
        The redraw.
    interval
        Minimum seconds between two actions (``0`` runs every request at once).
    clock
        Monotonic seconds (injectable for tests).
    schedule
        Starts a timer (injectable for tests); see :data:`Schedule`.
    """

    def __init__(
        self,
        action: Callable[[], None],
        *,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule = start_timer,
    ) -> None:
        self._action = action
        self._interval = interval
        self._clock = clock
        self._schedule = schedule
        self._lock = threading.Lock()
        self._action_lock = threading.Lock()
        self._pending = False
        self._last: float | None = None
        self._cancel: Callable[[], None] | None = None
        self._tokens = itertools.count()
        self._token = -1

    def request(self, *, now: bool = False) -> None:
        """Ask for a redraw: at once if the interval has passed (or ``now``), else soon."""
        with self._lock:
            self._pending = True
            wait = 0.0 if now or self._last is None else self._last + self._interval - self._clock()
            if wait > 0:
                if self._cancel is None:
                    token = self._token = next(self._tokens)
                    self._cancel = self._schedule(wait, lambda: self._fire(token))
                return
            self._take()
        self._run()

    def flush(self) -> None:
        """Run a pending redraw now and disarm the timer."""
        with self._lock:
            if not self._take():
                return
        self._run()

    def _fire(self, token: int) -> None:
        with self._lock:
            if token != self._token:
                return  # disarmed after this timer had already started
            self._cancel = None
            self._take()  # an armed timer always has a redraw pending
        self._run()

    def _take(self) -> bool:
        """Claim the pending redraw (lock held): disarm the timer, note the time."""
        if self._cancel is not None:
            self._cancel()
            self._cancel = None
        self._token = -1
        if not self._pending:
            return False
        self._pending = False
        self._last = self._clock()
        return True

    def _run(self) -> None:
        with self._action_lock:
            self._action()


class DisplayHandle(Protocol):
    """What ``IPython.display.display(..., display_id=True)`` returns: something to update."""

    def update(self, obj: Any) -> None:
        """Replace the displayed object."""


Display = Callable[..., DisplayHandle | None]


def _nothing() -> None:
    """Unsubscribe before subscribing: nothing to do."""


def _ipython_display(obj: Any, **kwargs: Any) -> DisplayHandle | None:
    from IPython import display as ipython_display

    # IPython's display() carries no annotations; name the type it is documented to have.
    show: Display = ipython_display.display
    return show(obj, **kwargs)


class LiveGraph:
    """Show the asset graph and recolour it as a run proceeds; a context manager.

    On entry the graph is displayed with a display id; while the block runs, every
    materialization event recolours its node (``running``, then ``fresh`` or ``failed``) and
    the display is updated in place, at most once per ``interval`` and always after the last
    event. A partitioned node's colour and summary come from its partitions, live ones first.

    Parameters
    ----------
    asset
        Focus on this asset (object or name) and its neighbourhood (default: the whole
        graph), as in ``fs.graph``.
    upstream, downstream
        With a focus: how many levels to show each way (default: all).
    cluster
        Group assets by their first tag.
    registry
        Where assets are defined (default: the kernel registry).
    home
        The store home (default: the configured one).
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
        display: Display = _ipython_display,
    ) -> None:
        self._focus = None if asset is None else str(getattr(asset, "name", asset))
        self._levels = (upstream, downstream)
        self._cluster = cluster
        self._registry = registry
        self._home = home
        self._display = display
        self._lock = threading.Lock()
        self._live: dict[tuple[str, str], PartitionStatus] = {}
        self._names: list[str] = []
        self._shown: frozenset[str] = frozenset()
        self._base: StatusReport | None = None
        self._unsubscribe: Callable[[], None] = _nothing
        self._throttle = Throttle(self._redraw, interval=interval, clock=clock, schedule=schedule)
        self.handle: DisplayHandle | None = None

    def __enter__(self) -> LiveGraph:
        from flowstone_nb._define.registry import get_registry
        from flowstone_nb._notebook.graph.build import select_assets
        from flowstone_nb._query.status import compute_status
        from flowstone_nb._storage.store import get_store

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
        status = LIVE_STATUS.get(event.kind)
        if status is None or event.asset not in self._shown:
            return
        from flowstone_nb._query.status import PartitionStatus

        reason = str(event.detail.get("error", REASONS.get(status, "")))
        row = PartitionStatus(event.asset, event.partition, status, reason)
        with self._lock:
            self._live[(event.asset, event.partition)] = row
        self._throttle.request()

    def report(self) -> StatusReport | None:
        """The status before the run with every live status laid over it."""
        from flowstone_nb._query.status import StatusReport

        if self._base is None:
            return None
        with self._lock:
            live = dict(self._live)
        rows = [live.pop((r.asset, r.partition), r) for r in self._base.rows]
        return StatusReport((*rows, *live.values()))

    def view(self) -> GraphView:
        """The graph as it should look now."""
        from flowstone_nb._notebook.graph.build import graph_nodes, graph_text
        from flowstone_nb._notebook.graph.dot_text import to_dot
        from flowstone_nb._notebook.graph.render import GraphView

        assert self._registry is not None, "enter the LiveGraph before drawing it"
        nodes, edges = graph_nodes(self._registry, self._names, self.report())
        source = to_dot(nodes, edges, cluster=self._cluster, highlight=self._focus)
        return GraphView(source, text=graph_text(nodes, edges), nodes=nodes)

    def _redraw(self) -> None:
        if self.handle is not None:
            self.handle.update(self.view())
