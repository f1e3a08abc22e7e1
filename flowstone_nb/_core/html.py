"""Tiny helpers for the HTML and text views: escaping and tables.

Every user string that reaches HTML goes through :func:`esc`. This module has no dependencies.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = [
    "STATUS_COLOURS",
    "UNKNOWN_COLOUR",
    "badge",
    "esc",
    "html_table",
    "status_colour",
    "text_table",
]

#: The strong colour of each status: labels, tables and widgets fill with it, the graph draws
#: its outlines with it (and fills with a light tint of it).
STATUS_COLOURS: dict[str, str] = {
    "fresh": "#2e7d32",
    "stale": "#ef6c00",
    "missing": "#9e9e9e",
    "failed": "#c62828",
    "running": "#1565c0",
    "computed": "#2e7d32",
    "reused": "#558b2f",
    "success": "#2e7d32",
    "skipped": "#9e9e9e",
    "pending": "#9e9e9e",
}


def esc(value: object) -> str:
    """HTML-escape ``value``'s text (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


#: The colour of a status :data:`STATUS_COLOURS` does not know.
UNKNOWN_COLOUR = "#616161"


def status_colour(status: str) -> str:
    """The strong colour of ``status`` (:data:`UNKNOWN_COLOUR` for one it does not know)."""
    return STATUS_COLOURS.get(status, UNKNOWN_COLOUR)


def badge(status: str) -> str:
    """A coloured status label."""
    colour = status_colour(status)
    return (
        f'<span class="fs-status fs-status-{esc(status)}" style="background:{colour};'
        f'color:white;border-radius:3px;padding:0 4px">{esc(status)}</span>'
    )


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
