"""Live status lines: under each asset cell, a status that stays true as later cells run.

In a Jupyter kernel every ``%%asset`` cell ends with a status line, and so does every other cell
that defines assets (``@fs.asset`` functions, a ``Pipeline``, an import of a module of assets):
one :class:`AssetLine` per asset, shown with a display id. After each later cell the
:class:`LiveBoard` asks whether anything a status depends on moved:

* the registry's generation (a definition added, replaced or removed),
* the code versions of the registered assets (a helper edited in another cell; each version is
  re-checked by identity, microseconds),
* the catalog's change marker (a run here, from the command line, or from another process on
  the same home), and
* the run events heard during the cell.

When nothing moved the check ends there (a few comparisons). When something did, it recomputes
the status of the assets its lines show (``fs.status``'s rule) and updates in place
(``update_display``) each line whose status changed: fresh, stale, missing, failed, running, with
the reason and the cell after which it changed (``as of In [7]``). While a run of this kernel
computes an asset, its lines say ``running``. A line whose asset a later cell defines again
says so once and is then left alone; so does one whose asset is forgotten. A cell run again
drops its old lines (the front end cleared them).

Front ends apply display updates themselves (JupyterLab, Notebook 7, VS Code, nbclient): no
extension is needed. The board is installed in Jupyter kernels only (a terminal cannot update
what it printed); there the ``%%asset`` preview keeps its own status line. A failure of the
board is logged, never raised into the notebook. This module imports IPython only to display.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._core.html import CHECK_FLAG, badge, esc
from flowstone_nb._core.states import FORGOTTEN, EventKind, Freshness, Outcome
from flowstone_nb._core.throttle import Schedule, Throttle, start_timer
from flowstone_nb._define.definition_site import current_cell
from flowstone_nb._notebook.display import Display, DisplayHandle, show

if TYPE_CHECKING:  # (imported when first used: %load_ext stays quick)
    from flowstone_nb._define.asset import Asset
    from flowstone_nb._define.registry import Registry
    from flowstone_nb._query.status import StatusReport
    from flowstone_nb._storage.store import Store

__all__ = [
    "DEFINED",
    "REPLACED",
    "AssetLine",
    "LiveBoard",
    "LiveLines",
    "current_board",
    "install",
    "uninstall",
]

_log = logging.getLogger("flowstone_nb.live_status")

#: The state of an asset a cell defined without running it (``%%asset --no-run``).
DEFINED = "defined"
#: The state of an asset that a later cell defined again.
REPLACED = "replaced"
#: Seconds between two redraws of the lines of a run's ``running`` assets.
RUNNING_INTERVAL = 0.2
#: What each state compares as: a value just computed or reused is fresh, one only defined is
#: missing until the store says otherwise.
_SAME_AS = {Outcome.COMPUTED: Freshness.FRESH, Outcome.REUSED: Freshness.FRESH, DEFINED: "missing"}
#: States whose reason is worth a word (a fresh or missing asset needs none).
_EXPLAINED = frozenset({Freshness.STALE, Freshness.FAILED, REPLACED, FORGOTTEN})


@dataclass(frozen=True)
class AssetLine:
    """What a status line says of one asset.

    Attributes
    ----------
    name
        The asset.
    state
        ``computed``, ``reused`` or ``defined`` as its cell left it; later ``fresh``, ``stale``,
        ``missing``, ``failed``, ``running``, ``replaced`` or ``forgotten``.
    reason
        Why (stale, failed), or the partitions' counts of a partitioned asset shown whole.
    partition
        The partition the line follows, as text; ``None``: the asset as a whole.
    latest
        Whether that partition is the latest, which the cell ran because its line named none.
    shape
        The value's shape, as its cell saw it (dropped when the state changes).
    depends
        ``"depends on a, b"``, as the cell defined it.
    duration, data_version
        Of the run that made the value (HTML only; dropped when the state changes).
    since
        The ``In [n]`` of the cell after which the state changed.
    """

    name: str
    state: str
    reason: str = ""
    partition: str | None = None
    latest: bool = False
    shape: str = ""
    depends: str = ""
    duration: float | None = None
    data_version: str | None = None
    since: int | None = None

    def text(self, *, volatile: bool = False) -> str:
        """The line; ``volatile`` adds the run's duration and data version."""
        state = "defined (not run)" if self.state == DEFINED else self.state
        if self.reason:
            state = f"{state} ({self.reason})"
        parts = [f"{self.name}: {state}"]
        if self.since is not None:
            parts.append(f"as of In [{self.since}]")
        if volatile and self.duration is not None:
            parts.append(f"in {self.duration:.2f} s")
        if self.partition is not None:
            chosen = ", the latest (--partition KEY for another)" if self.latest else ""
            parts.append(f"partition {self.partition}{chosen}")
        if self.shape:
            parts.append(self.shape)
        if volatile and self.data_version:
            parts.append(f"data version {self.data_version[:12]}")
        if self.depends:
            parts.append(self.depends)
        return " · ".join(parts)

    def html(self) -> str:
        """The line with its state as a coloured badge (user text escaped)."""
        state = _SAME_AS.get(self.state, self.state)
        return (
            f"<div class='fs-asset-status fs-live'>{badge(state)} "
            f"{esc(self.text(volatile=True))}</div>"
        )

    @property
    def compared(self) -> tuple[str, str]:
        """The state and reason, as a later check compares them."""
        return _SAME_AS.get(self.state, self.state), self.reason

    def moved_to(self, state: str, reason: str, since: int | None) -> AssetLine:
        """The line in a new state: what the defining run saw (shape, timing) no longer holds."""
        return replace(
            self,
            state=state,
            reason=reason,
            since=since,
            shape="",
            duration=None,
            data_version=None,
        )


@dataclass(frozen=True)
class LiveLines:
    """What one cell's live display shows: a line per asset the cell defined."""

    lines: tuple[AssetLine, ...]

    def __repr__(self) -> str:
        return "\n".join(line.text() for line in self.lines)

    def _repr_html_(self) -> str:
        return "".join(line.html() for line in self.lines)


@dataclass
class _Shown:
    """A live display under one cell."""

    cell: str
    handle: DisplayHandle
    shown: LiveLines

    def follows(self, asset: str, partition: str) -> list[int]:
        """The positions of its lines that follow ``asset`` (and ``partition``, when set)."""
        return [
            i
            for i, line in enumerate(self.shown.lines)
            if line.name == asset
            and line.partition in (None, partition)
            and line.state not in (REPLACED, FORGOTTEN)
        ]


@dataclass
class _Seen:
    """What the last check saw, to tell whether anything moved since."""

    generation: int = -1
    definitions: dict[str, Asset] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    marker: object = None


class LiveBoard:
    """The live lines of one kernel, and the check after each cell that keeps them true.

    Parameters
    ----------
    show
        Shows an object with a display id and returns its handle (IPython's ``display``).
    registry
        Where assets are defined (default: the kernel registry, looked up at each check).
    interval
        At most one redraw of ``running`` lines per this many seconds during a run.
    clock, schedule
        The throttle's clock and timer (injectable for tests).
    """

    def __init__(
        self,
        show: Display = show,
        registry: Registry | None = None,
        *,
        interval: float = RUNNING_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule = start_timer,
    ) -> None:
        self._show = show
        self._registry = registry
        self._lock = threading.RLock()
        self._displays: list[_Shown] = []
        self._pending: dict[str, AssetLine] = {}
        self._seen = _Seen()
        self._heard = False
        self._unsubscribe: Callable[[], None] | None = None
        self._running: dict[tuple[str, str], None] = {}  # (asset, partition) started, not done
        self._made: dict[tuple[str, str], None] = {}  # computed or reused by this cell's runs
        self._throttle = Throttle(
            self._show_running, interval=interval, clock=clock, schedule=schedule
        )

    # -- what the magics and the shell's events call -------------------------------------------

    def expect(self, line: AssetLine) -> None:
        """Show ``line`` under the running cell when it ends (the ``%%asset`` magic's line).

        Expected again, the newer line replaces the older (defined, then computed).
        """
        with self._lock:
            self._pending[line.name] = line

    def before_cell(self, info: Any) -> None:
        """``pre_run_cell``: forget the lines of a cell run again; listen to this cell's runs."""
        cell_id = getattr(info, "cell_id", None)
        with self._lock:
            self._pending.clear()
            self._heard = False
            self._made.clear()
            if cell_id:
                self._displays = [d for d in self._displays if d.cell != cell_id]
            if self._displays and self._unsubscribe is None:
                self._unsubscribe = subscribe(self.on_event)

    def after_cell(self, result: Any = None) -> None:
        """``post_run_cell``: update the lines whose status moved, then show this cell's own."""
        del result
        try:
            self._after_cell()
        except Exception:  # noqa: BLE001  # a status line must never break the notebook
            _log.warning("Updating the live status lines failed.", exc_info=True)

    # -- the check -------------------------------------------------------------------------------

    def _after_cell(self) -> None:
        from flowstone_nb._define.registry import get_registry

        self._throttle.flush()  # a redraw still waiting: the runs have ended, it changes nothing
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            self._running.clear()
            registry = self._registry if self._registry is not None else get_registry()
            cell = current_cell()
            since = cell.number if cell is not None else None
            new = self._new_definitions(registry)
            pending, self._pending = self._pending, {}
            for name in [n for n in new if n not in pending and n in registry]:
                pending[name] = AssetLine(name, Freshness.MISSING, depends=_depends(registry, name))
            moved, code_moved = self._moved(bool(self._displays or pending))
            # What this cell's runs made is fresh, unless code or definitions moved too.
            made, self._made = ({} if code_moved or new else self._made), {}
            if not (moved or pending):
                return
            followed = [*pending.values()]
            if moved:
                shown = (line for d in self._displays for line in d.shown.lines)
                followed += [line for line in shown if _node(line) not in made]
            report = self._report(registry, [line.name for line in followed])
            if moved:
                self._refresh(registry, report, new, since, made)
            if pending:
                lines = tuple(self._first_state(line, report) for line in pending.values())
                key = (cell.cell_id or f"#{cell.number}") if cell is not None else "?"
                self._display(key, LiveLines(lines))

    def _new_definitions(self, registry: Registry) -> list[str]:
        """The assets defined (or defined again) since the last check."""
        seen = self._seen
        if registry.generation == seen.generation:
            return []
        _, definitions = registry.snapshot()
        new = [n for n, a in definitions.items() if seen.definitions.get(n) is not a]
        seen.generation, seen.definitions = registry.generation, definitions
        return new

    def _moved(self, lines: bool) -> tuple[bool, bool]:
        """Whether anything the lines depend on may have moved since the last check, and code.

        A definition added, replaced or removed changes the code versions compared here too.
        ``lines``: whether there are, or are about to be, lines (else nothing is read).
        """
        from flowstone_nb._define.code_version import asset_code_version
        from flowstone_nb._storage.store import get_store

        seen = self._seen
        if not lines:
            return False, False
        marker = get_store().catalog.change_marker()
        versions = {n: asset_code_version(a) for n, a in seen.definitions.items()}
        code = versions != seen.versions
        moved = self._heard or code or marker != seen.marker
        seen.marker, seen.versions, self._heard = marker, versions, False
        return moved and bool(self._displays), code

    def _report(self, registry: Registry, names: list[str]) -> StatusReport:
        from flowstone_nb._query.status import StatusReport
        from flowstone_nb._storage.store import get_store

        known = [name for name in dict.fromkeys(names) if name in registry]
        return compute_status(registry, get_store(), known) if known else StatusReport(())

    def _refresh(
        self,
        registry: Registry,
        report: StatusReport,
        new: list[str],
        since: int | None,
        made: dict[tuple[str, str], None],
    ) -> None:
        for display in self._displays:
            lines = []
            for line in display.shown.lines:
                if line.state in (REPLACED, FORGOTTEN):
                    lines.append(line)
                    continue
                fresh = _node(line) in made
                state, reason = (
                    (Freshness.FRESH, "") if fresh else _now(registry, report, line, new)
                )
                changed = (state, reason) != line.compared
                lines.append(line.moved_to(state, reason, since) if changed else line)
            self._update(display, LiveLines(tuple(lines)))
        self._displays = [d for d in self._displays if _still_followed(d.shown)]

    def _first_state(self, line: AssetLine, report: StatusReport) -> AssetLine:
        """A line as its cell shows it: what the run did, or the store's status."""
        if line.state in (Outcome.COMPUTED, Outcome.REUSED):
            return line
        state, reason = _status(report, line)
        if line.state == DEFINED and state == Freshness.MISSING:
            return line
        return replace(line, state=state, reason=reason)

    # -- displays --------------------------------------------------------------------------------

    def _display(self, cell: str, lines: LiveLines) -> None:
        handle = self._show(lines, display_id=True)
        if handle is not None:
            self._displays.append(_Shown(cell, handle, lines))

    def _update(self, display: _Shown, lines: LiveLines) -> None:
        if lines != display.shown:
            display.shown = lines
            display.handle.update(lines)

    def on_event(self, event: Event) -> None:
        """A run of this kernel: the lines of the assets it is computing are to say ``running``.

        The lines are redrawn through a throttle: at once for the first node, then at most once
        per interval, so a quick run costs no update per node.
        """
        if event.kind not in _NODE_KINDS:
            return
        node = (event.asset, event.partition)
        with self._lock:
            self._heard = True
            if event.kind == EventKind.STARTED:
                self._running[node] = None
            else:
                self._running.pop(node, None)
                if event.kind in (EventKind.SUCCEEDED, EventKind.REUSED):
                    self._made[node] = None
                else:  # failed, skipped or cancelled: the store says what it is now
                    self._made.pop(node, None)
                return
        self._throttle.request()

    def _show_running(self) -> None:
        """Redraw the lines of the nodes running now (what the throttle calls)."""
        with self._lock:
            cell = current_cell()
            since = cell.number if cell is not None else None
            for display in self._displays:
                lines = list(display.shown.lines)
                for asset, partition in self._running:
                    if asset in self._pending:
                        continue  # this cell defines it again: its older lines will say so
                    for i in display.follows(asset, partition):
                        if lines[i].state != Freshness.RUNNING:
                            lines[i] = lines[i].moved_to(Freshness.RUNNING, "", since)
                self._update(display, LiveLines(tuple(lines)))


_NODE_KINDS = frozenset(
    {
        EventKind.STARTED,
        EventKind.SUCCEEDED,
        EventKind.REUSED,
        EventKind.FAILED,
        EventKind.SKIPPED,
        EventKind.CANCELLED,
    }
)


def _node(line: AssetLine) -> tuple[str, str]:
    """The run events' name of what ``line`` follows (a whole asset: its only, unnamed key)."""
    return line.name, line.partition or ""


def _still_followed(lines: LiveLines) -> bool:
    return any(line.state not in (REPLACED, FORGOTTEN) for line in lines.lines)


def compute_status(registry: Registry, store: Store, names: list[str]) -> StatusReport:
    """``fs.status``'s report of ``names`` (the status module is imported on first use)."""
    from flowstone_nb._query.status import compute_status as compute

    return compute(registry, store, names)


def _depends(registry: Registry, name: str) -> str:
    upstream = registry.get(name).upstream
    return f"depends on {', '.join(upstream)}" if upstream else ""


def _now(
    registry: Registry, report: StatusReport, line: AssetLine, new: list[str]
) -> tuple[str, str]:
    """The state and reason a shown line should have now."""
    if line.name not in registry:
        return FORGOTTEN, "no longer defined"
    if line.name in new:
        return REPLACED, f"defined again in {registry.origin(line.name).label}"
    return _status(report, line)


def _status(report: StatusReport, line: AssetLine) -> tuple[str, str]:
    """The store's status of what ``line`` follows, with the reason worth showing."""
    rows = report.for_asset(line.name)
    if line.partition is not None:
        rows = [row for row in rows if row.partition == line.partition]
    if not rows:
        return Freshness.MISSING, ""
    if line.partition is not None or (len(rows) == 1 and rows[0].partition == ""):
        row = rows[0]
        reason = row.reason if row.status in _EXPLAINED else ""
        if row.checks_failing:  # (a fresh value some check fails on says so)
            flagged = f"{CHECK_FLAG} {row.check_message}"
            reason = f"{reason}; {flagged}" if reason else flagged
        return row.status, reason
    return report.overall(line.name), report.summary(line.name)


#: The board of each shell (a shell that is gone takes its board with it).
_boards: weakref.WeakKeyDictionary[Any, LiveBoard] = weakref.WeakKeyDictionary()


def install(shell: Any, show: Display = show, *, interval: float = RUNNING_INTERVAL) -> LiveBoard:
    """Keep live status lines in ``shell`` (idempotent); return its board.

    Parameters
    ----------
    shell
        The running ``InteractiveShell`` (a Jupyter kernel's: a terminal cannot update lines).
    show
        What displays a line (default: IPython's ``display``).
    interval
        At most one redraw of ``running`` lines per this many seconds during a run.
    """
    board = _boards.get(shell)
    if board is None:
        board = _boards[shell] = LiveBoard(show, interval=interval)
        shell.events.register("pre_run_cell", board.before_cell)
        shell.events.register("post_run_cell", board.after_cell)
    return board


def uninstall(shell: Any) -> None:
    """Stop keeping live status lines in ``shell`` (idempotent); shown lines stay as they are."""
    board = _boards.pop(shell, None)
    if board is not None:
        shell.events.unregister("pre_run_cell", board.before_cell)
        shell.events.unregister("post_run_cell", board.after_cell)


def current_board() -> LiveBoard | None:
    """The board of the running IPython shell, when one is installed."""
    from flowstone_nb._core.shell import running_shell

    shell = running_shell()
    return _boards.get(shell) if shell is not None else None
