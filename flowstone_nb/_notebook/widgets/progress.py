"""The backfill progress widget: a bar of states, their counts, a square per partition, Cancel.

:class:`BackfillProgress` consumes :class:`~flowstone_nb._core.events.Event` objects from worker
threads (its counters are guarded by a lock) and knows nothing of the backfill itself: the Cancel
button only calls the ``on_cancel`` function it was given. A partition's state is named with the
words of the backfill's result (:class:`~flowstone_nb._core.states.Outcome`: computed, reused,
failed, skipped, cancelled; and running, pending while it runs) and drawn in that state's colour
from :data:`~flowstone_nb._core.states.PALETTE`, in the bar, its legend and the strip alike. The
bar, counts and problems update on every event; the per-partition strip is redrawn through a
:class:`~flowstone_nb._core.throttle.Throttle`. A partition some data check fails on (a
``checked`` event that did not pass) keeps its state and is marked as the status grid marks it: a
ring around its square, a count after the legend, and a line naming the checks among the
problems. ipywidgets is imported when a widget is built, never at import time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.events import Event
from flowstone_nb._core.html import (
    CHECK_FLAG,
    check_flag,
    counted,
    esc,
    findings,
    legend,
    square,
    state_bar,
    tooltip,
    with_failing_checks,
)
from flowstone_nb._core.states import EventKind, Outcome, RecordStatus
from flowstone_nb._core.throttle import Schedule, Throttle, start_timer
from flowstone_nb._notebook.widgets.base import WidgetView

__all__ = ["BackfillProgress"]

#: Every state a partition shows, in display order: the result's outcomes, then the live ones.
STATES = (*Outcome, RecordStatus.RUNNING, RecordStatus.PENDING)
#: The state a partition is in once an event of this kind arrives.
KIND_STATE: Mapping[str, str] = MappingProxyType(
    {
        EventKind.STARTED: RecordStatus.RUNNING,
        EventKind.SUCCEEDED: Outcome.COMPUTED,
        EventKind.REUSED: Outcome.REUSED,
        EventKind.FAILED: Outcome.FAILED,
        EventKind.SKIPPED: Outcome.SKIPPED,
        EventKind.CANCELLED: Outcome.CANCELLED,
    }
)
#: The states whose reason is listed under the strip (a cancel is said once, for all).
PROBLEMS = (Outcome.FAILED, Outcome.SKIPPED)
#: How many problems are listed; the rest are counted.
PROBLEMS_SHOWN = 3
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
    bar, counts, strip, problems, state
        HTML widgets: the bar of states with ``done/total``, the counts per state, one square per
        partition, the reasons of failed and skipped partitions, the cancel note.
    cancel_button
        The Cancel button (gone once the backfill has ended, see :meth:`finish`).
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
        # What the data checks found failing on each partition's value: check -> message.
        self._failing: dict[str, dict[str, str | None]] = {}
        self._on_cancel = on_cancel
        self._cancelled = False
        self.bar: Any = widgets.HTML()
        self.counts: Any = widgets.HTML()
        self.strip: Any = widgets.HTML()
        self.problems: Any = widgets.HTML()
        self.state: Any = widgets.HTML()
        self.cancel_button: Any = widgets.Button(
            description="Cancel",
            button_style="warning",
            disabled=on_cancel is None,
            tooltip="Stop starting new partitions; running ones finish",
        )
        self.cancel_button.on_click(lambda _button: self.cancel())
        self._header: Any = widgets.HBox(
            [widgets.HTML(f"<b>{esc(title)}</b>"), self.bar, self.cancel_button],
            layout=widgets.Layout(align_items="center", grid_gap="8px"),
        )
        self.widget: Any = widgets.VBox(
            [self._header, self.counts, self.strip, self.problems, self.state]
        )
        self.widget.add_class("fs-backfill")
        self._throttle = Throttle(
            self._draw_strip, interval=interval, clock=clock, schedule=schedule
        )
        with self._lock:
            self._refresh()
        self._draw_strip()

    @property
    def done(self) -> int:
        """How many partitions have finished, whatever their outcome."""
        with self._lock:
            return self._tally()[1]

    @property
    def total(self) -> int:
        """How many partitions the backfill has (those announced, or seen in events)."""
        with self._lock:
            return self._tally()[2]

    def update(self, event: Event) -> None:
        """Take one run event (thread-safe); events of other kinds are ignored."""
        if event.kind == EventKind.CHECKED:
            self._checked(event)
            return
        state = KIND_STATE.get(event.kind)
        if state is None:
            return
        with self._lock:
            if event.kind == EventKind.STARTED:  # a new value: what checks said of the old goes
                self._failing.pop(event.partition, None)
            self._states[event.partition] = state
            error = event.detail.get("error")
            if error:
                self._reasons[event.partition] = str(error)
            else:
                self._reasons.pop(event.partition, None)
            finished = self._refresh()
        self._throttle.request(now=finished)

    def _checked(self, event: Event) -> None:
        """A data check judged a partition's value: mark the partition failing, or no longer."""
        detail = event.detail
        with self._lock:
            failing = self._failing.setdefault(event.partition, {})
            if detail.get("passed"):
                failing.pop(str(detail.get("check")), None)
            else:
                failing[str(detail.get("check"))] = detail.get("message")
            if not failing:
                del self._failing[event.partition]
            self._refresh()
        self._throttle.request()

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

    def finish(self) -> None:
        """The backfill has ended: the Cancel button goes, and every square is drawn."""
        with self._lock:
            self.cancel_button.disabled = True
            self._header.children = tuple(
                child for child in self._header.children if child is not self.cancel_button
            )
        self._throttle.flush()
        self._draw_strip()

    def _tally(self) -> tuple[dict[str, int], int, int]:
        """Counts per state, partitions done, and slots (lock held)."""
        counts: dict[str, int] = dict.fromkeys(STATES, 0)
        for state in self._states.values():
            counts[state] += 1
        slots = max(self._total, len(self._states))
        counts[RecordStatus.PENDING] += slots - len(self._states)
        return counts, sum(counts[s] for s in Outcome), slots

    def _problems(self) -> list[str]:
        """What went wrong, one line per partition (lock held).

        ``partition state: reason`` of each failed or skipped partition, then
        ``partition ⚑ check: message`` of each one some check fails on.
        """
        problems = [
            f"{partition} {state}: {self._reasons[partition]}"
            if partition in self._reasons
            else f"{partition} {state}"
            for partition, state in self._states.items()
            if state in PROBLEMS
        ]
        problems += [
            f"{partition} {CHECK_FLAG} {_said(failing)}"
            for partition, failing in self._failing.items()
        ]
        return problems

    def _legend(self, counts: dict[str, int]) -> str:
        """The legend of the states, then how many partitions checks fail on (lock held)."""
        if not self._failing:
            return legend(counts)
        flagged = with_failing_checks(len(self._failing))
        return f'{legend(counts)} · <span class="fs-count-checks">{check_flag()} {flagged}</span>'

    def _refresh(self) -> bool:
        """Update bar, counts and problems (lock held); True when every partition is done."""
        counts, done, slots = self._tally()
        self.bar.value = state_bar(counts, label=f"{done}/{slots}")
        self.counts.value = self._legend(counts)
        self.problems.value = _problems_html(self._problems())
        finished = done >= slots
        if finished:
            self.cancel_button.disabled = True
        return finished

    def _strip_html(self) -> str:
        with self._lock:
            states = list(self._states.items())
            reasons = dict(self._reasons)
            failing = {p: _said(found) for p, found in self._failing.items()}
            _, _, slots = self._tally()
        squares = [
            square(s, _tooltip(p, s, reasons.get(p, ""), failing.get(p)), flagged=p in failing)
            for p, s in states
        ]
        blank = square(RecordStatus.PENDING, "not started yet")
        squares += [blank] * (slots - len(states))
        return f'<div class="fs-strip" style="line-height:8px">{"".join(squares)}</div>'

    def _draw_strip(self) -> None:
        self.strip.value = self._strip_html()

    def to_text(self) -> str:
        """``title: done/total done (counts)``, a character per partition, and the problems."""
        with self._lock:
            counts, done, slots = self._tally()
            states = list(self._states.values())
            problems = self._problems()
            cancelled = self._cancelled
            flagged = len(self._failing)
        strip = "".join(TEXT_MARKS[s] for s in states) + "." * (slots - len(states))
        checks = f"; {with_failing_checks(flagged)}" if flagged else ""
        head = f"{self._title or 'backfill'}: {done}/{slots} done ({counted(counts)}){checks}"
        lines = [head, strip]
        lines += _shown_problems(problems)
        if cancelled:
            lines.append(CANCEL_NOTE)
        return "\n".join(line for line in lines if line)

    def to_html(self) -> str:
        """The bar, counts, strip and problems as static HTML (the same pieces as the widget)."""
        with self._lock:
            counts, done, slots = self._tally()
            problems = self._problems()
            shown = self._legend(counts)
        return (
            f'<div class="fs-backfill"><b>{esc(self._title)}</b> '
            f"{state_bar(counts, label=f'{done}/{slots}')}<div>{shown}</div>"
            f"{self._strip_html()}{_problems_html(problems)}<div>{self.state.value}</div></div>"
        )


def _said(failing: Mapping[str, str | None]) -> str:
    """What the failing checks of one partition found: ``positive: 2 negative`` (in name order)."""
    return findings(sorted(failing.items()))


def _tooltip(partition: str, state: str, reason: str, failing: str | None) -> str:
    """A square's tooltip: ``partition: state — reason``, and what failing checks found."""
    text = tooltip(partition, state, reason)
    return f"{text} — {CHECK_FLAG} {failing}" if failing else text


def _shown_problems(problems: list[str]) -> list[str]:
    """The first :data:`PROBLEMS_SHOWN` problems, and how many more there are."""
    hidden = len(problems) - PROBLEMS_SHOWN
    more = [f"… and {hidden} more"] if hidden > 0 else []
    return problems[:PROBLEMS_SHOWN] + more


def _problems_html(problems: list[str]) -> str:
    lines = "".join(f"<li>{esc(line)}</li>" for line in _shown_problems(problems))
    return f'<ul class="fs-problems" style="margin:2px 0">{lines}</ul>' if lines else ""
