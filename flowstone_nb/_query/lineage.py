"""Lineage and history as plain data: where a value came from and where it went.

:func:`compute_lineage` walks the catalog's lineage edges from one materialization, upstream
and/or downstream, to a bounded depth, in a few queries whatever the number of entries; the
entries are sorted by asset and partition key, and runs of one asset and status form
:class:`LineageGroup` rows in the views (expandable, a page of entries each). An entry names the
data checks failing on its value (read for all entries in one query), in a ``checks`` column the
views add when one does. Both answer from the catalog alone when the asset is not defined
(:func:`resolve_partition`). :func:`history_frame`
lists materializations newest first. Each result has a text and an HTML view (``__repr__``,
``_repr_html_``) built from its data; which widget shows it in a notebook is the notebook layer's
choice, never this module's.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from flowstone_nb._core.collection import collection_paused
from flowstone_nb._core.errors import FlowstoneError, did_you_mean
from flowstone_nb._core.html import (
    CHECK_FLAG,
    check_flag,
    esc,
    html_table,
    subject,
    text_table,
    when,
    with_failing_checks,
)
from flowstone_nb._core.states import FORGOTTEN
from flowstone_nb._define.asset import Asset, name_of
from flowstone_nb._define.registry import Registry
from flowstone_nb._partitioning.display import stored_key_text
from flowstone_nb._query.check_marks import failing_checks
from flowstone_nb._run.plan import target_node
from flowstone_nb._storage.store import Store

if TYPE_CHECKING:
    import pandas as pd

    from flowstone_nb._storage.catalog import Catalog, MaterializationRow

__all__ = [
    "HISTORY_COLUMNS",
    "KeyTexts",
    "Lineage",
    "LineageEntry",
    "LineageGroup",
    "compute_lineage",
    "history_frame",
    "resolve_partition",
    "row_filter",
]

DIRECTIONS = ("upstream", "downstream", "both")
#: The columns of a lineage's text and HTML tables.
_HEADERS = ("depth", "asset", "partition", "data version", "finished", "rows")


class LineageEntry(NamedTuple):
    """One materialization reached by walking lineage (an immutable named tuple).

    Attributes
    ----------
    direction
        ``"upstream"`` (consumed, directly or not) or ``"downstream"`` (consumed it).
    depth
        How many edges away from the start (1 = direct).
    asset, partition
        The materialization's asset and partition key (text).
    materialization_id
        Its catalog id (click targets in the widget).
    data_version
        Its data version.
    finished_at
        When it finished (UNIX seconds).
    rows
        Its row count, when known.
    status
        Its status in the catalog.
    via
        The materialization id on the side of the start that links to it.
    checks_failing
        The data checks whose latest outcome on its value is a failure (while its asset is
        defined, only its checks defined now).
    """

    direction: str
    depth: int
    asset: str
    partition: str
    materialization_id: str
    data_version: str | None
    finished_at: float | None
    rows: int | None
    status: str
    via: str
    checks_failing: tuple[str, ...] = ()


#: Runs of at least this many entries of one asset and status collapse into one row.
COLLAPSE_FROM = 3
#: Entries listed inside one collapsed row of the HTML view (the rest are counted).
PAGE = 100


@dataclass(frozen=True)
class LineageGroup:
    """Consecutive entries of one asset with one status, as a view shows them in one row.

    Attributes
    ----------
    direction
        ``"upstream"`` or ``"downstream"``.
    asset
        Their asset.
    status
        Their status in the catalog.
    entries
        The entries, sorted by partition key.
    """

    direction: str
    asset: str
    status: str
    entries: tuple[LineageEntry, ...]

    @property
    def first(self) -> str:
        """The first partition key (text)."""
        return self.entries[0].partition

    @property
    def last(self) -> str:
        """The last partition key (text)."""
        return self.entries[-1].partition

    @property
    def count(self) -> int:
        """How many entries it holds."""
        return len(self.entries)

    @property
    def collapsed(self) -> bool:
        """Whether a view shows it as one row (see :data:`COLLAPSE_FROM`)."""
        return self.count >= COLLAPSE_FROM

    @property
    def flagged(self) -> int:
        """How many of its entries some data check fails on."""
        return sum(1 for entry in self.entries if entry.checks_failing)

    @property
    def summary(self) -> str:
        """``"2024-01-01 … 2024-01-31 · 31 · success"``, and how many checks fail on."""
        text = f"{self.first} … {self.last} · {self.count:,} · {self.status}"
        flagged = self.flagged
        return f"{text} · {CHECK_FLAG} {with_failing_checks(flagged)}" if flagged else text

    @property
    def depths(self) -> str:
        """The depth of its entries: ``"1"``, or ``"1-3"`` when they differ."""
        low = min(e.depth for e in self.entries)
        high = max(e.depth for e in self.entries)
        return str(low) if low == high else f"{low}-{high}"


@dataclass(frozen=True)
class Lineage:
    """The lineage of one materialization (or of an asset partition never materialized).

    Entries are sorted by direction (upstream first), asset, then partition key, always.
    ``materialization_id`` is ``None`` when the asset partition was never materialized
    (:attr:`missing`).
    """

    asset: str
    partition: str
    materialization_id: str | None
    data_version: str | None
    entries: tuple[LineageEntry, ...]
    direction: str = "upstream"
    depth: int | None = None

    @property
    def missing(self) -> bool:
        """Whether the asset partition was never materialized (nothing to trace)."""
        return self.materialization_id is None

    @property
    def upstream(self) -> list[LineageEntry]:
        """Entries this materialization consumed, directly or transitively."""
        return [e for e in self.entries if e.direction == "upstream"]

    @property
    def downstream(self) -> list[LineageEntry]:
        """Entries that consumed this materialization, directly or transitively."""
        return [e for e in self.entries if e.direction == "downstream"]

    def directions(self) -> list[tuple[str, list[LineageEntry]]]:
        """``("upstream", entries)`` then ``("downstream", entries)``, each only if it has any."""
        pairs = [("upstream", self.upstream), ("downstream", self.downstream)]
        return [(label, entries) for label, entries in pairs if entries]

    def groups(self, direction: str) -> list[LineageGroup]:
        """The entries of one direction as runs of one asset and one status, in order."""
        found: list[LineageGroup] = []
        run: list[LineageEntry] = []
        for entry in [e for e in self.entries if e.direction == direction]:
            if run and (entry.asset, entry.status) != (run[0].asset, run[0].status):
                found.append(LineageGroup(direction, run[0].asset, run[0].status, tuple(run)))
                run = []
            run.append(entry)
        if run:
            found.append(LineageGroup(direction, run[0].asset, run[0].status, tuple(run)))
        return found

    @property
    def empty_text(self) -> str:
        """What the views say when no entry was found, in this lineage's direction."""
        if self.missing:
            return (
                "missing: never materialized (nothing to trace yet: materialize it with "
                "fs.materialize(...))"
            )
        if self.direction == "upstream":
            return (
                f"(no recorded inputs: {self.asset} consumed no other asset's value; "
                "direction='downstream' shows what consumed it)"
            )
        if self.direction == "downstream":
            return "(no recorded consumers yet)"
        return "(no recorded inputs or consumers)"

    def to_frame(self) -> pd.DataFrame:
        """The entries as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.entries, columns=list(LineageEntry._fields))

    @property
    def title(self) -> str:
        """``asset[partition] @ data version`` (no version when missing)."""
        if self.missing:
            return subject(self.asset, self.partition)
        return f"{subject(self.asset, self.partition)} @ {(self.data_version or '')[:12]}"

    @property
    def headers(self) -> tuple[str, ...]:
        """The columns of its tables: a ``checks`` column when some entry has failing checks."""
        flagged = any(entry.checks_failing for entry in self.entries)
        return (*_HEADERS, "checks") if flagged else _HEADERS

    def _text_rows(self, direction: str) -> list[list[object]]:
        rows: list[list[object]] = []
        checks = len(self.headers) > len(_HEADERS)
        for group in self.groups(direction):
            if group.collapsed:
                rows.append([group.depths, group.asset, group.summary, "", "", "", *[""] * checks])
            else:
                rows.extend(_cells(e, checks=checks) for e in group.entries)
        return rows

    def __repr__(self) -> str:
        parts = [f"Lineage of {self.title}"]
        for label, _entries in self.directions():
            parts.append(f"{label}:\n{text_table(self.headers, self._text_rows(label))}")
        if len(parts) == 1:
            parts.append(self.empty_text)
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        sections = [f'<h4 class="fs-lineage-title">Lineage of {esc(self.title)}</h4>']
        for label, _entries in self.directions():
            sections.append(f"<b>{esc(label)}</b>")
            sections.extend(_html_blocks(self.groups(label), self.headers))
        if len(sections) == 1:
            sections.append(f'<p class="fs-lineage-empty"><i>{esc(self.empty_text)}</i></p>')
        return '<div class="fs-lineage">' + "".join(sections) + "</div>"


def _cells(entry: LineageEntry, *, checks: bool = False, html: bool = False) -> list[object]:
    """An entry's row; with ``checks``, its failing checks last (flagged, as HTML if ``html``)."""
    cells: list[object] = [
        entry.depth,
        entry.asset,
        entry.partition or "—",
        (entry.data_version or "")[:12],
        when(entry.finished_at),
        "" if entry.rows is None else entry.rows,
    ]
    if checks:
        names = ", ".join(entry.checks_failing)
        flag = check_flag(names) if html else CHECK_FLAG
        cells.append(f"{flag} {esc(names) if html else names}" if names else "")
    return cells


def _html_blocks(groups: Sequence[LineageGroup], headers: Sequence[str]) -> list[str]:
    """Single entries as tables; each collapsed run as an expandable block with a page of rows."""
    blocks: list[str] = []
    loose: list[list[object]] = []
    checks = len(headers) > len(_HEADERS)
    raw = (len(_HEADERS),) if checks else ()

    def table(rows: list[list[object]]) -> str:
        return html_table(headers, rows, raw_columns=raw, css_class="fs-lineage")

    for group in groups:
        if not group.collapsed:
            loose.extend(_cells(e, checks=checks, html=True) for e in group.entries)
            continue
        if loose:
            blocks.append(table(loose))
            loose = []
        shown = [_cells(e, checks=checks, html=True) for e in group.entries[:PAGE]]
        rest = group.count - len(shown)
        more = (
            f'<p class="fs-lineage-more">… and {rest:,} more (lineage.to_frame() lists '
            "them all)</p>"
            if rest
            else ""
        )
        blocks.append(
            '<details class="fs-lineage-group"><summary>'
            f"{esc(group.asset)} {esc(group.summary)}</summary>{table(shown)}{more}</details>"
        )
    if loose:
        blocks.append(table(loose))
    return blocks


def resolve_partition(
    registry: Registry, catalog: Catalog, asset: str, partition: Any
) -> tuple[str, str]:
    """The encoded and shown key of ``asset`` at ``partition``, with or without its definition.

    A defined asset parses the key as its partitions do. An asset that is not defined (after a
    restart, before its cell ran) is looked up in the catalog: the key is the recorded one that
    reads as ``partition``.

    Raises
    ------
    FlowstoneError
        The asset is neither defined nor recorded, or has no such partition recorded.
    """
    if asset in registry:
        node = target_node(registry.get(asset), partition)
        return node.encoded, node.text
    keys = catalog.partitions(asset)
    if not keys:
        raise FlowstoneError(
            f"Asset {asset!r} is not defined and has nothing recorded in the catalog "
            f"{catalog.path}: check the name, or run the cell that defines it."
            f"{did_you_mean(asset, catalog.assets())}"
        )
    shown = {stored_key_text(None, key): key for key in keys}
    wanted = "" if partition is None else str(partition)
    if wanted in shown:
        return shown[wanted], wanted
    if wanted:
        texts = [text for text in shown if text]
        raise FlowstoneError(
            f"Asset {asset!r} has no partition {wanted!r} recorded (it is not defined in this "
            f"kernel, so only recorded partitions are known: {len(texts)} of them)."
            f"{did_you_mean(wanted, texts)}"
        )
    raise FlowstoneError(
        f"Asset {asset!r} is partitioned: pass a partition key (one of the {len(shown)} recorded)."
    )


def row_filter(
    registry: Registry, catalog: Catalog, asset: Asset | str | None, partition: Any
) -> tuple[str | None, str | None]:
    """The asset name and encoded partition that rows asked for by ``asset``/``partition`` have.

    ``None`` for what is not asked; a partition is read only with an asset (see
    :func:`resolve_partition`).
    """
    name = None if asset is None else name_of(asset)
    if name is None or partition is None:
        return name, None
    return name, resolve_partition(registry, catalog, name, partition)[0]


def compute_lineage(
    registry: Registry,
    store: Store,
    asset: str,
    partition: Any = None,
    *,
    direction: str = "upstream",
    depth: int | None = None,
    materialization_id: str | None = None,
) -> Lineage:
    """Walk the recorded lineage of an asset partition's latest success (or a given row).

    Answers from the catalog alone when the asset is not defined (see
    :func:`resolve_partition`); an asset partition never materialized gives a lineage that
    says it is missing.
    """
    if direction not in DIRECTIONS:
        raise FlowstoneError(f"direction={direction!r} is not one of {', '.join(DIRECTIONS)}.")
    catalog = store.catalog
    if materialization_id is not None:
        start = catalog.get(materialization_id)
        if start is None:
            raise FlowstoneError(f"No materialization with id {materialization_id!r}.")
    else:
        encoded, text = resolve_partition(registry, catalog, asset, partition)
        found = catalog.latest_success(asset, encoded)
        if found is None:
            return Lineage(asset, text, None, None, (), direction, depth)
        start = found
    texts = KeyTexts(registry)
    sides = [side for side in ("upstream", "downstream") if direction in (side, "both")]
    with collection_paused():  # (thousands of rows, no cycles: see _core.collection)
        reached = [catalog.walk(start.id, depth, upstream=side == "upstream") for side in sides]
        failing = failing_checks(registry, catalog, itertools.chain.from_iterable(reached))
        entries = tuple(
            [
                LineageEntry(
                    side,
                    row.depth,
                    row.asset,
                    texts(row.asset, row.partition),
                    row.id,
                    row.data_version,
                    row.finished_at,
                    row.rows,
                    row.status or FORGOTTEN,
                    row.via,
                    failing.get(row.id, ()),
                )
                for side, rows in zip(sides, reached, strict=True)
                for row in rows
            ]
        )
        del reached  # (freed now, so that the collection resumed after skips them)
    return Lineage(
        start.asset,
        texts(start.asset, start.partition),
        start.id,
        start.data_version,
        entries,
        direction,
        depth,
    )


class KeyTexts:
    """How stored keys read, for one answer: each asset's definition and each key looked up once.

    Parameters
    ----------
    registry
        Where the assets are defined (an asset not defined reads its keys plainly).
    """

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._definitions: dict[str, Any] = {}
        # by asset, then key: (keyed by strings, the cache holds nothing the collector tracks)
        self._texts: dict[str, dict[str, str]] = {}

    def __call__(self, asset: str, encoded: str) -> str:
        """The text of ``asset``'s stored key ``encoded``."""
        texts = self._texts.get(asset)
        if texts is None:
            known = asset in self._registry
            self._definitions[asset] = self._registry.get(asset).partitions if known else None
            texts = self._texts[asset] = {}
        text = texts.get(encoded)
        if text is None:
            text = texts[encoded] = stored_key_text(self._definitions[asset], encoded)
        return text


HISTORY_COLUMNS = [
    "asset",
    "partition",
    "status",
    "attempt",
    "started",
    "finished",
    "duration_s",
    "rows",
    "code_version",
    "data_version",
    "io_manager",
    "location",
    "run_id",
    "error_type",
    "error_message",
    "materialization_id",
]


def history_frame(registry: Registry, rows: Sequence[MaterializationRow]) -> pd.DataFrame:
    """Materializations as a DataFrame, newest first, timestamps as UTC datetimes."""
    import pandas as pd

    text = KeyTexts(registry)
    frame = pd.DataFrame(
        [
            [
                r.asset,
                text(r.asset, r.partition),
                r.status,
                r.attempt,
                r.started_at,
                r.ended_at,
                r.duration,
                r.rows,
                r.code_version,
                r.data_version,
                r.io_manager,
                r.location,
                r.run_id,
                r.error_type,
                r.error_message,
                r.id,
            ]
            for r in rows
        ],
        columns=HISTORY_COLUMNS,
    )
    for column in ("started", "finished"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame
