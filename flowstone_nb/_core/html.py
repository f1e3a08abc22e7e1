"""Tiny helpers for the HTML and text views: escaping, states, tables, times and durations.

Every user string that reaches HTML goes through :func:`esc`. A state is drawn in its colour from
:mod:`~flowstone_nb._core.states` wherever it shows: as a label (:func:`badge`), a square
(:func:`square`), a legend of counts (:func:`legend`, :func:`counted` for text) or a share of a
bar (:func:`state_bar`). A value some data check fails on keeps its status colour and is marked:
a flag (:func:`check_flag`, :data:`CHECK_FLAG` in text) or a ring (:data:`FLAGGED_RING`), in the
failing colour, and its count reads :func:`checks_failing` or :func:`with_failing_checks`. Times
show in UTC, durations in seconds (:func:`duration`). Query and run results and widgets all use
these, so a value reads the same in every view.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence

from flowstone_nb._core.states import CheckState, strong_colour

__all__ = [
    "CHECK_FLAG",
    "FLAGGED_RING",
    "badge",
    "check_flag",
    "checks_failing",
    "counted",
    "duration",
    "esc",
    "findings",
    "html_table",
    "legend",
    "square",
    "state_bar",
    "subject",
    "text_table",
    "tooltip",
    "when",
    "with_failing_checks",
]

#: The mark of a value some data check fails on, in text (and, coloured, in HTML).
CHECK_FLAG = "\u2691"
#: The CSS of a cell or square whose value a data check fails on: a ring in the failing colour
#: inside it, so its status colour still shows.
FLAGGED_RING = f"box-shadow:inset 0 0 0 2px {strong_colour(CheckState.FAILING)}"


def esc(value: object) -> str:
    """HTML-escape ``value``'s text (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def badge(status: str) -> str:
    """A coloured status label."""
    colour = strong_colour(status)
    return (
        f'<span class="fs-status fs-status-{esc(status)}" style="background:{colour};'
        f'color:white;border-radius:3px;padding:0 4px">{esc(status)}</span>'
    )


def square(state: str, title: str, *, css: str = "fs-square", flagged: bool = False) -> str:
    """A small square in ``state``'s colour with a tooltip (``title`` is escaped here).

    Its CSS classes are ``css`` and ``css-state`` (the state's always last); a ``flagged`` square
    (a data check fails on its value) wears :data:`FLAGGED_RING` and the class
    ``fs-checks-failing`` between them.
    """
    ring = f";{FLAGGED_RING}" if flagged else ""
    mark = "fs-checks-failing " if flagged else ""
    return (
        f'<span class="{css} {mark}{css}-{esc(state)}" title="{esc(title)}" '
        f'style="display:inline-block;width:10px;height:10px;margin:1px;'
        f'border-radius:2px;background:{strong_colour(state)}{ring}"></span>'
    )


def check_flag(title: str = "") -> str:
    """:data:`CHECK_FLAG` in the failing colour, with ``title`` (escaped here) as its tooltip."""
    return (
        f'<span class="fs-check-flag" title="{esc(title)}" '
        f'style="color:{strong_colour(CheckState.FAILING)};font-weight:bold">{CHECK_FLAG}</span>'
    )


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def checks_failing(count: int) -> str:
    """``"1 check failing"``, ``"2 checks failing"``: how many checks fail (a DAG node's badge)."""
    return f"{_plural(count, 'check')} failing"


def findings(failed: Iterable[tuple[str, str | None]]) -> str:
    """What failing checks found, from ``(check, message)`` pairs: ``"positive: 2 negative"``.

    Each reads ``check: message`` (``check: failed`` when it said nothing), joined by ``"; "``.
    """
    return "; ".join(f"{check}: {message or 'failed'}" for check, message in failed)


def with_failing_checks(count: int) -> str:
    """``"3 partitions with failing checks"``: how many values some check fails on."""
    return f"{_plural(count, 'partition')} with failing checks"


def tooltip(subject: str, status: str, reason: str = "") -> str:
    """``subject: status — reason`` (unescaped; :func:`square` escapes it)."""
    return f"{subject}: {status} — {reason}" if reason else f"{subject}: {status}"


def counted(counts: Mapping[str, int]) -> str:
    """``"9 computed, 1 skipped"``: each state with a count, in the order given."""
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n)


def legend(counts: Mapping[str, int]) -> str:
    """:func:`counted` as HTML: a mark in each state's colour before its count."""
    return " · ".join(
        f'<span class="fs-count fs-count-{esc(state)}">'
        f'<span style="color:{strong_colour(state)}">■</span> {n} {esc(state)}</span>'
        for state, n in counts.items()
        if n
    )


def state_bar(counts: Mapping[str, int], *, label: str = "", width: str = "16em") -> str:
    """A bar with one segment per state, as long as its share of all counts, then ``label``.

    Each segment is drawn in its state's colour (classes ``fs-bar-segment fs-bar-<state>``, with
    the count in ``data-count``); the bar's tooltip is :func:`counted`.
    """
    total = sum(counts.values())
    segments = "".join(
        f'<span class="fs-bar-segment fs-bar-{esc(state)}" data-count="{n}" '
        f'style="width:{100 * n / total:.4g}%;background:{strong_colour(state)}"></span>'
        for state, n in counts.items()
        if n
    )
    text = f' <span class="fs-bar-label">{esc(label)}</span>' if label else ""
    return (
        f'<span class="fs-bar" title="{esc(counted(counts))}" style="display:inline-flex;'
        f"width:{width};height:12px;border-radius:3px;overflow:hidden;vertical-align:middle;"
        f'background:#eeeeee">{segments}</span>{text}'
    )


def subject(asset: str, partition: str) -> str:
    """``asset``, or ``asset[partition]`` when there is a partition (its key as text)."""
    return f"{asset}[{partition}]" if partition else asset


#: Cell spacing of every table, so columns never touch (a widget's HTML gets no notebook CSS).
_PAD = "padding:2px 8px"


def _align(column: int, right_columns: Sequence[int]) -> str:
    return "right" if column in right_columns else "left"


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    raw_columns: Sequence[int] = (),
    right_columns: Sequence[int] = (),
    css_class: str = "fs-table",
) -> str:
    """An HTML table; cells are escaped except in ``raw_columns`` (already-safe HTML).

    Headers sit over their cells: left-aligned, and right-aligned (with the cells) in
    ``right_columns`` (numbers); every cell is padded.
    """
    head = "".join(
        f'<th style="text-align:{_align(i, right_columns)};{_PAD}">{esc(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="text-align:{_align(i, right_columns)};{_PAD}">'
            f"{cell if i in raw_columns else esc(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="{esc(css_class)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, right_columns: Sequence[int] = ()
) -> str:
    """A plain-text table with aligned columns (``right_columns`` right-aligned)."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            c.rjust(w) if i in right_columns else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def when(moment: object) -> str:
    """A UNIX time or timestamp as ``YYYY-MM-DD HH:MM:SS`` (UTC); ``""`` when unknown."""
    if moment is None:
        return ""
    if isinstance(moment, int | float):
        moment = dt.datetime.fromtimestamp(moment, tz=dt.UTC)
    strftime = getattr(moment, "strftime", None)
    if strftime is None:
        return str(moment)
    return str(strftime("%Y-%m-%d %H:%M:%S"))


def duration(seconds: float) -> str:
    """``"0.10 s"``, ``"2 min 05 s"`` or ``"1 h 02 min"``."""
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
