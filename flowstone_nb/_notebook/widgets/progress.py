"""The backfill progress widget: a bar, counts per state, a strip per partition, a Cancel button.

:class:`BackfillProgress` consumes :class:`~flowstone_nb._core.events.Event` objects from worker
threads (its counters are guarded by a lock) and knows nothing of the backfill itself: the Cancel
button only calls the ``on_cancel`` function it was given. The bar and counts update on every event;
the per-partition strip is redrawn through a :class:`~flowstone_nb._core.throttle.Throttle`. Each
state is drawn in its colour from :data:`~flowstone_nb._core.states.PALETTE`. ipywidgets is
imported when a widget is built, never at import time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.events import Event
from flowstone_nb._core.html import esc
from flowstone_nb._core.states import EventKind, RecordStatus, strong_colour
from flowstone_nb._core.throttle import Schedule, Throttle, start_timer
from flowstone_nb._notebook.widgets.base import WidgetView, square, tooltip

__all__ = ["BackfillProgress"]

#: The states of a finished partition: the kind of the event that finished it.
DONE = (
    EventKind.SUCCEEDED,
    EventKind.REUSED,
    EventKind.FAILED,
    EventKind.SKIPPED,
    EventKind.CANCELLED,
)
#: Every state a partition shows, in display order.
STATES = (*DONE, RecordStatus.RUNNING, RecordStatus.PENDING)
#: The state a partition is in once an event of this kind arrives.
KIND_STATE: Mapping[str, str] = MappingProxyType(
    {EventKind.STARTED: RecordStatus.RUNNING, **{kind: kind for kind in DONE}}
)
TEXT_MARKS: Mapping[str, str] = MappingProxyType(
    dict(zip(STATES, ("#", "=", "x", "-", "/", ">", "."), strict=True))
)
CANCEL_NOTE = "Cancel requested: running partitions finish, no new ones start."


class BackfillProgress(WidgetView):
    """Progress of a backfill of ``total`` partitions, fed by run events.

    Parameters
    ----------
    total
        How many partitions the backfill runs.
    on_cancel
        Called (once) when the Cancel button is clicked; without it there is no cancelling.
    partitions
        The partition keys, if known, to show them pending in order from the start.
    title
        Shown before the bar (e.g. the asset name).
    interval, clock, schedule
        Redraw throttle for the strip (see :class:`~flowstone_nb._core.throttle.Throttle`).

    Attributes
    ----------
    progress
        The ``IntProgress`` bar (partitions done).
    counts, strip, state
        HTML widgets: counts per status, one square per partition, cancel note.
    cancel_button
        The Cancel button.
    """

    def __init__(
        self,
        total: int,
        *,
        on_cancel: Callable[[], None] | None = None,
        partitions: Iterable[str] = (),
        title: str = "",
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule = start_timer,
    ) -> None:
        if total < 0:
            raise FlowstoneError(
                f"BackfillProgress(total={total}): total is the number of partitions the "
                "backfill runs and cannot be negative."
            )
        import ipywidgets as widgets

        self._lock = threading.Lock()
        self._total = total
        self._title = title
        self._states: dict[str, str] = dict.fromkeys(partitions, RecordStatus.PENDING)
        self._reasons: dict[str, str] = {}
        self._on_cancel = on_cancel
        self._cancelled = False
        self.progress: Any = widgets.IntProgress(min=0, max=total, value=0)
        self.counts: Any = widgets.HTML()
        self.strip: Any = widgets.HTML()
        self.state: Any = widgets.HTML()
        self.cancel_button: Any = widgets.Button(
            description="Cancel",
            button_style="warning",
            disabled=on_cancel is None,
            tooltip="Stop starting new partitions; running ones finish",
        )
        self.cancel_button.on_click(lambda _button: self.cancel())
        self.widget: Any = widgets.VBox(
            [
                widgets.HBox(
                    [widgets.HTML(f"<b>{esc(title)}</b>"), self.progress, self.cancel_button]
                ),
                self.counts,
                self.strip,
                self.state,
            ]
        )
        self.widget.add_class("fs-backfill")
        self._throttle = Throttle(
            self._draw_strip, interval=interval, clock=clock, schedule=schedule
        )
        with self._lock:
            self._refresh()
        self._draw_strip()

    def update(self, event: Event) -> None:
        """Take one run event (thread-safe); events of other kinds are ignored."""
        state = KIND_STATE.get(event.kind)
        if state is None:
            return
        with self._lock:
            self._states[event.partition] = state
            error = event.detail.get("error")
            if error:
                self._reasons[event.partition] = str(error)
            else:
                self._reasons.pop(event.partition, None)
            finished = self._refresh()
        self._throttle.request(now=finished)

    def cancel(self) -> None:
        """What the Cancel button does: call ``on_cancel`` once and say so."""
        with self._lock:
            if self._cancelled or self._on_cancel is None or self.cancel_button.disabled:
                return
            self._cancelled = True
            self.cancel_button.disabled = True
            self.cancel_button.description = "Cancelling…"
            self.state.value = f"<i>{esc(CANCEL_NOTE)}</i>"
        self._on_cancel()

    def _tally(self) -> tuple[dict[str, int], int, int]:
        """Counts per state, partitions done, and slots (lock held)."""
        counts: dict[str, int] = dict.fromkeys(STATES, 0)
        for state in self._states.values():
            counts[state] += 1
        slots = max(self._total, len(self._states))
        counts[RecordStatus.PENDING] += slots - len(self._states)
        return counts, sum(counts[s] for s in DONE), slots

    def _refresh(self) -> bool:
        """Update bar and counts (lock held); True when every partition is done."""
        counts, done, slots = self._tally()
        self.progress.max = slots
        self.progress.value = done
        self.progress.description = f"{done}/{slots}"
        finished = done >= slots
        if counts[EventKind.FAILED] or counts[EventKind.SKIPPED]:
            self.progress.bar_style = "danger"
        elif finished:
            self.progress.bar_style = "success"
        if finished:
            self.cancel_button.disabled = True
        self.counts.value = " · ".join(
            f'<span class="fs-count fs-count-{s}"><span style="color:{strong_colour(s)}">'
            f"■</span> {n} {s}</span>"
            for s, n in counts.items()
            if n
        )
        return finished

    def _strip_html(self) -> str:
        with self._lock:
            states = list(self._states.items())
            reasons = dict(self._reasons)
            _, _, slots = self._tally()
        squares = [square(s, tooltip(p, s, reasons.get(p, ""))) for p, s in states]
        blank = square(RecordStatus.PENDING, "not started yet")
        squares += [blank] * (slots - len(states))
        return f'<div class="fs-strip" style="line-height:8px">{"".join(squares)}</div>'

    def _draw_strip(self) -> None:
        self.strip.value = self._strip_html()

    def to_text(self) -> str:
        """``title: done/total done (counts)`` and a character per partition."""
        with self._lock:
            counts, done, slots = self._tally()
            states = list(self._states.values())
            cancelled = self._cancelled
        listed = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        strip = "".join(TEXT_MARKS[s] for s in states) + "." * (slots - len(states))
        lines = [f"{self._title or 'backfill'}: {done}/{slots} done ({listed})", strip]
        if cancelled:
            lines.append(CANCEL_NOTE)
        return "\n".join(line for line in lines if line)

    def to_html(self) -> str:
        """The bar, counts and strip as static HTML."""
        with self._lock:
            _, done, slots = self._tally()
        return (
            f'<div class="fs-backfill"><b>{esc(self._title)}</b> '
            f'<progress value="{done}" max="{slots}"></progress> {done}/{slots}'
            f"<div>{self.counts.value}</div>{self._strip_html()}<div>{self.state.value}</div></div>"
        )
