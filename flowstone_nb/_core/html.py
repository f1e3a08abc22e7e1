"""Tiny helpers for the HTML and text views: escaping, status labels, tables and times.

Every user string that reaches HTML goes through :func:`esc`. Colours come from
:mod:`~flowstone_nb._core.states`; times show in UTC. Query results and widgets both use these, so
a value reads the same in every view.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

from flowstone_nb._core.states import strong_colour

__all__ = [
    "badge",
    "esc",
    "html_table",
    "subject",
    "text_table",
    "when",
]


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


def subject(asset: str, partition: str) -> str:
    """``asset``, or ``asset[partition]`` when there is a partition (its key as text)."""
    return f"{asset}[{partition}]" if partition else asset


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    raw_columns: Sequence[int] = (),
    css_class: str = "fs-table",
) -> str:
    """An HTML table; cells are escaped except in ``raw_columns`` (already-safe HTML)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{cell if i in raw_columns else esc(cell)}</td>" for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="{esc(css_class)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
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
