"""Issue 19, at scale: catalogs of many partitions and deep histories, filled untimed.

The catalogs are written through the catalog's own bulk path (``Catalog.write``: a batch of rows
and edges per transaction), never by running assets: a million materializations would take
hours that way. The newest value of every partition that a status report judges is a real file
with its real stamp (size and modification time), so the report checks files as it would in a
store that runs filled. Each catalog lives in a home of its own under the scratch folder.

* :func:`status_home`: one asset of ``scale_partitions`` daily partitions; a root ``src``
  consumed by the ``scale_fanout`` partitions of ``fan``.
* :func:`deep_home`: two daily assets of ``scale_days`` partitions (``right`` consumes ``left``)
  and one unpartitioned asset, each partition materialized ``scale_runs`` times: 2,001
  partitions and ~100,000 rows.
* :func:`million_home`: ``million_assets`` daily assets in a chain, ``million_days`` partitions,
  ``million_runs`` runs: 1,000,000 rows and 900,000 lineage edges at full size.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import flowstone_nb as fs
from flowstone_nb._storage.store import get_store

from . import ours
from ._sizes import Sizes

_START = dt.date(2000, 1, 1)
_BATCH = 50_000
CODE = "v1"  # every asset's code version here (given: nothing is digested)


def days(count: int) -> list[dt.date]:
    """``count`` consecutive days from 2000-01-01."""
    return [_START + dt.timedelta(days=i) for i in range(count)]


def daily(count: int) -> fs.DailyPartitions:
    """A daily definition of ``count`` days from 2000-01-01."""
    found = days(count)
    return fs.DailyPartitions(found[0].isoformat(), found[-1].isoformat())


def define(name: str, partitions: Any, depends_on: Sequence[str] = ()) -> None:
    """Register one asset of the catalogs (seed style, given code version)."""
    fs.get_registry().register(
        fs.Asset(
            name=name,
            depends_on=list(depends_on),
            partitioned_by=partitions,
            execute_fn=_step,
            code_version=CODE,
        )
    )


def _step(context: Any, deps: Any) -> int:
    return len(deps)


class Made(NamedTuple):
    """A materialization written, as a downstream one's lineage edge names it."""

    id: str
    asset: str
    partition: str
    data_version: str


class Filler:
    """Rows and edges of one catalog, written a batch at a time; some values get files."""

    def __init__(self, home: str) -> None:
        from flowstone_nb._partitioning.keys import encode_key

        self.home = home
        self.catalog = get_store(home).catalog
        self.encode = encode_key
        self.rows: list[Any] = []
        self.edges: list[Any] = []
        self.ids = itertools.count()
        self.clock = itertools.count(1_700_000_000_000)  # milliseconds: each row starts later
        self.run_id = self.catalog.start_run(kind="backfill", targets=["fill"])

    def add(
        self, asset: str, day: dt.date | None, *, file: bool = False, consumed: Made | None = None
    ) -> Made:
        """One success of ``asset`` at ``day`` (with a file holding its value, if ``file``)."""
        from flowstone_nb._storage.catalog import LineageEdge, MaterializationRow

        row_id = f"{next(self.ids):032x}"
        key = "" if day is None else self.encode(day)
        slug = "__all__" if day is None else day.isoformat()
        location = f"data/{asset}/{slug}/{row_id}.json"
        size = modified = None
        if file:
            path = Path(self.home, *location.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"1")
            found = path.stat()
            size, modified = found.st_size, found.st_mtime_ns
        started = next(self.clock) / 1e3
        self.rows.append(
            MaterializationRow(
                row_id, self.run_id, asset, key, "success", started, started + 0.0005, 0.0005,
                CODE, row_id, "filesystem", location, 1, "int", None, None, None, size, modified,
            )
        )  # fmt: skip
        if consumed is not None:
            self.edges.append(LineageEdge(row_id, *consumed))
        if len(self.rows) >= _BATCH:
            self.flush()
        return Made(row_id, asset, key, row_id)

    def flush(self) -> None:
        """Write the rows and edges gathered (one transaction)."""
        if self.rows or self.edges:
            self.catalog.write(self.rows, self.edges)
        self.rows, self.edges = [], []


@contextmanager
def filling(work: Path) -> Iterator[tuple[str, Filler]]:
    """A new home made the default, and a filler of its catalog (written when the block ends)."""
    with ours.isolated(work) as (_registry, home):
        filler = Filler(home)
        yield home, filler
        filler.flush()
        filler.catalog.end_run(filler.run_id, "success")


# --- the catalogs ---------------------------------------------------------------------------------


def define_status(sizes: Sizes) -> None:
    """The assets of :func:`status_home`."""
    define("wide_daily", daily(sizes.scale_partitions))
    define("src", None)
    define("fan", daily(sizes.scale_fanout), ["src"])


def status_home(sizes: Sizes, work: Path) -> str:
    """A home with ``wide_daily`` (a file per partition) and ``src`` consumed by ``fan``."""
    with filling(work) as (home, filler):
        define_status(sizes)
        for day in days(sizes.scale_partitions):
            filler.add("wide_daily", day, file=True)
        root = filler.add("src", None)
        for day in days(sizes.scale_fanout):
            filler.add("fan", day, consumed=root)
    return home


def define_deep(sizes: Sizes) -> None:
    """The assets of :func:`deep_home`."""
    define("left", daily(sizes.scale_days))
    define("right", daily(sizes.scale_days), ["left"])
    define("whole", None)


def deep_home(sizes: Sizes, work: Path) -> str:
    """2,001 partitions, each materialized ``scale_runs`` times (the newest with a file)."""
    with filling(work) as (home, filler):
        define_deep(sizes)
        for run in range(sizes.scale_runs):
            newest = run == sizes.scale_runs - 1
            for day in days(sizes.scale_days):
                left = filler.add("left", day, file=newest)
                filler.add("right", day, file=newest, consumed=left)
            filler.add("whole", None, file=newest)
    return home


def million_names(sizes: Sizes) -> list[str]:
    """The assets of :func:`million_home`, upstream first."""
    return [f"m{index:02d}" for index in range(sizes.million_assets)]


def define_million(sizes: Sizes) -> None:
    """The chain of :func:`million_home`."""
    names = million_names(sizes)
    for index, name in enumerate(names):
        define(name, daily(sizes.million_days), names[index - 1 : index])


def million_home(sizes: Sizes, work: Path) -> str:
    """``million_assets`` x ``million_days`` x ``million_runs`` rows, each consuming the same
    partition of the asset before it; the first asset's newest values are files."""
    names = million_names(sizes)
    with filling(work) as (home, filler):
        define_million(sizes)
        for run in range(sizes.million_runs):
            newest = run == sizes.million_runs - 1
            for day in days(sizes.million_days):
                made = None
                for name in names:
                    first = name == names[0]
                    made = filler.add(name, day, file=newest and first, consumed=made)
    return home


def bytes_per_row(home: str) -> float:
    """The catalog file's size (its log folded in) over its materializations."""
    get_store(home).catalog.close()
    path = Path(home, "catalog.sqlite")
    with sqlite3.connect(path) as conn:
        rows = int(conn.execute("SELECT count(*) FROM materializations").fetchone()[0])
    return path.stat().st_size / max(1, rows)


def newest_id(conn: sqlite3.Connection, asset: str, partition: str) -> str:
    """The id of one partition's newest success (what the floor's walks start from)."""
    found = conn.execute(
        "SELECT id FROM materializations WHERE asset = ? AND partition_key = ? "
        "AND status = 'success' ORDER BY started_at DESC LIMIT 1",
        (asset, partition),
    ).fetchone()
    return str(found[0])
