"""Lineage, impact and history as plain data: where a value came from and where it went.

:func:`compute_lineage` walks the catalog's lineage edges from one materialization, upstream
and/or downstream, to a bounded depth. :func:`compute_impact` walks the *definitions* to list what
would become stale if a partition changed. :func:`history_frame` lists materializations newest
first. Each result has a text and an HTML view (``__repr__``, ``_repr_html_``) built from its data;
which widget shows it in a notebook is the notebook layer's choice, never this module's.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.html import esc, html_table, subject, text_table, when
from flowstone_nb._core.states import FORGOTTEN
from flowstone_nb._define.registry import Registry
from flowstone_nb._partitioning.display import stored_key_text
from flowstone_nb._partitioning.mappings import infer_mapping
from flowstone_nb._run.plan import Node, make_node, target_node
from flowstone_nb._storage.store import Store

if TYPE_CHECKING:
    import pandas as pd

    from flowstone_nb._storage.catalog import MaterializationRow

__all__ = [
    "HISTORY_COLUMNS",
    "Impact",
    "Lineage",
    "LineageEntry",
    "compute_impact",
    "compute_lineage",
    "history_frame",
]

DIRECTIONS = ("upstream", "downstream", "both")
#: The columns of a lineage's text and HTML tables.
_HEADERS = ("depth", "asset", "partition", "data version", "finished", "rows")


@dataclass(frozen=True)
class LineageEntry:
    """One materialization reached by walking lineage.

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


@dataclass(frozen=True)
class Lineage:
    """The lineage of one materialization."""

    asset: str
    partition: str
    materialization_id: str
    data_version: str | None
    entries: tuple[LineageEntry, ...]
    direction: str = "upstream"
    depth: int | None = None

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

    def to_frame(self) -> pd.DataFrame:
        """The entries as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(
            [e.__dict__ for e in self.entries], columns=list(LineageEntry.__dataclass_fields__)
        )

    @property
    def title(self) -> str:
        """``asset[partition] @ data version``."""
        return f"{subject(self.asset, self.partition)} @ {(self.data_version or '')[:12]}"

    def _rows(self, entries: Sequence[LineageEntry]) -> list[list[object]]:
        return [
            [
                e.depth,
                e.asset,
                e.partition or "—",
                (e.data_version or "")[:12],
                when(e.finished_at),
                "" if e.rows is None else e.rows,
            ]
            for e in entries
        ]

    def __repr__(self) -> str:
        parts = [f"Lineage of {self.title}"]
        for label, entries in self.directions():
            parts.append(f"{label}:\n{text_table(_HEADERS, self._rows(entries))}")
        if len(parts) == 1:
            parts.append("(no recorded inputs or consumers)")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        sections = [f"<h4 class='fs-lineage-title'>Lineage of {esc(self.title)}</h4>"]
        for label, entries in self.directions():
            sections.append(f"<b>{esc(label)}</b>")
            sections.append(html_table(_HEADERS, self._rows(entries), css_class="fs-lineage"))
        return "<div class='fs-lineage'>" + "".join(sections) + "</div>"


def _resolve_start(
    registry: Registry, store: Store, asset: str, partition: Any
) -> MaterializationRow:
    node = target_node(registry.get(asset), partition)
    row = store.catalog.latest_success(node.asset, node.encoded)
    if row is None:
        raise FlowstoneError(
            f"Asset {node.describe()!r} has no successful materialization to trace: "
            "materialize it first with fs.materialize(...)."
        )
    return row


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
    """Walk the recorded lineage of an asset partition's latest success (or a given row)."""
    if direction not in DIRECTIONS:
        raise FlowstoneError(f"direction={direction!r} is not one of {', '.join(DIRECTIONS)}.")
    catalog = store.catalog
    if materialization_id is not None:
        start = catalog.get(materialization_id)
        if start is None:
            raise FlowstoneError(f"No materialization with id {materialization_id!r}.")
    else:
        start = _resolve_start(registry, store, asset, partition)
    entries: list[LineageEntry] = []
    if direction in ("upstream", "both"):
        for level, edge in catalog.upstream(start.id, depth):
            row = catalog.get(edge.upstream_id)
            entries.append(
                _entry(
                    "upstream",
                    level,
                    edge.upstream_id,
                    row,
                    via=edge.materialization_id,
                    asset=edge.upstream_asset,
                    partition=edge.upstream_partition,
                    data_version=edge.upstream_data_version,
                )
            )
    if direction in ("downstream", "both"):
        for level, edge in catalog.downstream(start.id, depth):
            row = catalog.get(edge.materialization_id)
            asset_name = row.asset if row else "?"
            part = row.partition if row else ""
            entries.append(
                _entry(
                    "downstream",
                    level,
                    edge.materialization_id,
                    row,
                    via=edge.upstream_id,
                    asset=asset_name,
                    partition=part,
                    data_version=row.data_version if row else None,
                )
            )
    shown = tuple(replace(e, partition=_text(registry, e.asset, e.partition)) for e in entries)
    return Lineage(
        start.asset,
        _text(registry, start.asset, start.partition),
        start.id,
        start.data_version,
        shown,
        direction,
        depth,
    )


def _text(registry: Registry, asset: str, encoded: str) -> str:
    definition = registry.get(asset).partitions if asset in registry else None
    return _partition_text(definition, encoded)


@functools.lru_cache(maxsize=65536)
def _partition_text(definition: Any, encoded: str) -> str:
    # Histories repeat the same keys many times; definitions are immutable and hashable.
    return stored_key_text(definition, encoded)


def _entry(
    direction: str,
    level: int,
    mat_id: str,
    row: MaterializationRow | None,
    *,
    via: str,
    asset: str,
    partition: str,
    data_version: str | None,
) -> LineageEntry:
    return LineageEntry(
        direction=direction,
        depth=level,
        asset=asset,
        partition=partition,
        materialization_id=mat_id,
        data_version=data_version,
        finished_at=row.ended_at if row else None,
        rows=row.rows if row else None,
        status=row.status if row else FORGOTTEN,
        via=via,
    )


@dataclass(frozen=True)
class Impact:
    """What would become stale if one asset partition changed."""

    asset: str
    partition: str
    affected: tuple[tuple[str, str], ...]

    def __iter__(self) -> Any:
        return iter(self.affected)

    def __len__(self) -> int:
        return len(self.affected)

    def __repr__(self) -> str:
        start = subject(self.asset, self.partition)
        if not self.affected:
            return f"Impact of {start}: nothing downstream"
        listed = "\n".join(f"  {subject(a, p)}" for a, p in self.affected)
        return f"Impact of {start}: {len(self.affected)} partition(s)\n{listed}"

    def _repr_html_(self) -> str:
        rows = [[a, p or "—"] for a, p in self.affected]
        return html_table(["asset", "partition"], rows, css_class="fs-impact")


def compute_impact(registry: Registry, asset: str, partition: Any = None) -> Impact:
    """Every downstream asset partition whose inputs include ``asset[partition]``."""
    start = target_node(registry.get(asset), partition)
    dag = registry.dag()
    affected: dict[Node, None] = {}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        up_def = registry.get(node.asset).partitions
        itself = node.asset in registry.get(node.asset).depends_on  # its next partition
        for child_name in [*dag.children(node.asset), *([node.asset] if itself else [])]:
            child = registry.get(child_name)
            down_def = child.partitions
            if down_def is None:
                children = [make_node(child_name, None, None)]
            else:
                mapping = child.partition_mappings.get(node.asset) or infer_mapping(
                    down_def, up_def
                )
                keys = mapping.downstream_keys(up_def, node.key, down_def) if up_def else None
                keys = down_def.keys() if keys is None else keys
                children = [make_node(child_name, down_def, k) for k in keys]
            for child_node in children:
                if child_node not in affected:
                    affected[child_node] = None
                    frontier.append(child_node)
    rank = {n: i for i, n in enumerate(dag.topological_order())}
    ordered = sorted(affected, key=lambda n: (rank[n.asset], n.encoded))
    return Impact(start.asset, start.text, tuple((n.asset, n.text) for n in ordered))


HISTORY_COLUMNS = [
    "asset",
    "partition",
    "status",
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

    frame = pd.DataFrame(
        [
            [
                r.asset,
                _text(registry, r.asset, r.partition),
                r.status,
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
