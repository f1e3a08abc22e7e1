"""The backfill progress presenter: the notebook's answer to a backfill's announcements.

A backfill announces its start and end through :mod:`~flowstone_nb._core.events` (see
:mod:`flowstone_nb._core.progress`); it never imports a widget. :class:`ProgressPresenter` listens
for those two kinds only: when a backfill that wants its progress shown starts inside a kernel,
it displays a :class:`~flowstone_nb._notebook.widgets.progress.BackfillProgress` (whose Cancel
button sets the backfill's cancel event) and feeds it that asset's node events; when it ends, it
stops listening and takes the Cancel button away.

The progress is live; the backfill's result is the record. Once the cell that ran the backfill
has run, its output is updated once: blanked when the cell shows the result (its value is the
:class:`~flowstone_nb._run.backfill.BackfillResult`), so what the backfill did is shown
once; otherwise refreshed, so its static copy shows the final counts. :func:`install`
subscribes one presenter per process. Outside a kernel it shows nothing (the script's
plain-text progress is the core's).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._core.progress import ANNOUNCEMENTS, BackfillAnnouncement
from flowstone_nb._core.shell import in_notebook, running_shell
from flowstone_nb._core.states import EventKind
from flowstone_nb._notebook.display import BLANK, Display, DisplayHandle, show
from flowstone_nb._notebook.widgets.progress import BackfillProgress

__all__ = ["ProgressPresenter", "install"]


@dataclass(frozen=True)
class _Shown:
    """One backfill's widget on screen, its display handle and its event subscription."""

    widget: BackfillProgress
    handle: DisplayHandle | None
    unsubscribe: Callable[[], None]


class ProgressPresenter:
    """Show a progress widget for every backfill that announces itself in a kernel.

    Parameters
    ----------
    display
        Shows an object and returns an updatable handle (default: IPython's ``display``).
    shell
        Returns the running IPython shell, whose ``post_run_cell`` event says what the cell
        showed (default: the shell of this process).

    Attributes
    ----------
    shown
        The widgets of the backfills running now, by their announcement.
    """

    def __init__(
        self, *, display: Display = show, shell: Callable[[], Any] = running_shell
    ) -> None:
        self._display = display
        self._shell = shell
        self._lock = threading.Lock()
        self.shown: dict[BackfillAnnouncement, _Shown] = {}

    def on_event(self, event: Event) -> None:
        """Start or finish showing the backfill that ``event`` announces."""
        announcement = BackfillAnnouncement.of(event)
        if event.kind == EventKind.BACKFILL_STARTED:
            self._start(announcement)
        else:
            self._finish(announcement)

    def _start(self, announcement: BackfillAnnouncement) -> None:
        if not (announcement.show and in_notebook()):
            return
        widget = BackfillProgress(
            announcement.total,
            on_cancel=announcement.cancel.set,
            partitions=announcement.partitions,
            title=announcement.asset,
        )
        handle = self._display(widget, display_id=True)
        unsubscribe = subscribe(_of_asset(announcement.asset, widget.update))
        with self._lock:
            self.shown[announcement] = _Shown(widget, handle, unsubscribe)

    def _finish(self, announcement: BackfillAnnouncement) -> None:
        with self._lock:
            shown = self.shown.pop(announcement, None)
        if shown is None:
            return
        shown.unsubscribe()
        shown.widget.finish()
        if shown.handle is not None:
            self._settle(announcement, shown.widget, shown.handle)

    def _settle(
        self, announcement: BackfillAnnouncement, widget: BackfillProgress, handle: DisplayHandle
    ) -> None:
        """Once the running cell is done, blank the progress or refresh it, once.

        Blanked if the cell shows the result; else refreshed, so the output's static fallback
        (HTML copies, GitHub) has the final counts. One update either way: a page that renders
        one widget twice in quick succession can dispose a view while it still adds its
        children. Without a shell to wait for, the fallback is refreshed at once.
        """
        events = getattr(self._shell(), "events", None)
        if events is None:
            handle.update(widget)
            return

        def after_cell(outcome: Any) -> None:
            events.unregister("post_run_cell", after_cell)
            shown_result = _is_result_of(getattr(outcome, "result", None), announcement)
            handle.update(BLANK if shown_result else widget)

        events.register("post_run_cell", after_cell)


def _is_result_of(value: object, announcement: BackfillAnnouncement) -> bool:
    """Whether ``value`` is the result of the backfill ``announcement`` announced."""
    from flowstone_nb._run.backfill import BackfillResult

    return (
        isinstance(value, BackfillResult)
        and value.asset == announcement.asset
        and tuple(p.partition for p in value.partitions) == announcement.partitions
    )


def _of_asset(asset: str, update: Callable[[Event], None]) -> Callable[[Event], None]:
    def listener(event: Event) -> None:
        if event.asset == asset:
            update(event)

    return listener


_state: dict[str, ProgressPresenter] = {}
_install_lock = threading.Lock()


def install() -> ProgressPresenter:
    """Subscribe this process's presenter to backfill announcements, once; return it."""
    with _install_lock:
        presenter = _state.get("presenter")
        if presenter is None:
            presenter = _state["presenter"] = ProgressPresenter()
            subscribe(presenter.on_event, kinds=ANNOUNCEMENTS)
    return presenter
