"""What each ``flowstone`` command does: load the source, call the public functions, report.

Each command takes the parsed arguments and a :class:`~flowstone_nb._cli.report.Reporter` and
returns the exit code. Nothing here parses arguments or formats output.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import flowstone_nb as fs
from flowstone_nb._cli.report import Outcome, Reporter
from flowstone_nb._core.errors import FlowstoneError, MaterializationError
from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._core.states import EventKind
from flowstone_nb._notebook.loader import LoadedSource, load_definitions

__all__ = [
    "backfill",
    "export",
    "graph",
    "history",
    "lineage",
    "materialize",
    "prepare",
    "prune",
    "status",
    "verify",
]

EXIT_OK, EXIT_FAILED = 0, 1
_ENDS = frozenset(
    {
        EventKind.SUCCEEDED,
        EventKind.REUSED,
        EventKind.FAILED,
        EventKind.SKIPPED,
        EventKind.CANCELLED,
    }
)
_OUTCOME: dict[str, str] = {EventKind.SUCCEEDED: "computed"}


def store_home(explicit: str | None, loaded: LoadedSource | None) -> str:
    """The home a command uses: ``--home``, ``$FLOWSTONE_HOME``, the source's, or beside it."""
    if explicit:
        return explicit
    from_env = os.environ.get("FLOWSTONE_HOME")
    if from_env:
        return from_env
    if loaded is None:
        return ".flowstone"
    return loaded.configured_home or str(loaded.folder / ".flowstone")


def prepare(source: str, home: str | None) -> LoadedSource:
    """Load ``source`` in definition mode and point the store at its home."""
    loaded = load_definitions(source)
    fs.configure(home=store_home(home, loaded), progress=False)
    return loaded


@contextmanager
def _outcomes(reporter: Reporter) -> Iterator[dict[tuple[str, str], Outcome]]:
    """Collect how every node of the runs inside the block ended (the last word wins)."""
    seen: dict[tuple[str, str], Outcome] = {}

    def listen(event: Event) -> None:
        if event.kind not in _ENDS:
            return
        outcome = Outcome(
            asset=event.asset,
            partition=event.partition,
            outcome=_OUTCOME.get(event.kind, str(event.kind)),
            duration=float(event.detail.get("duration") or 0.0),
            error=event.detail.get("error"),
        )
        seen[(event.asset, event.partition)] = outcome
        reporter.progress(outcome)

    unsubscribe = subscribe(listen)
    try:
        yield seen
    finally:
        unsubscribe()


def _partition_key(asset: fs.Asset, requested: str | None) -> Any:
    definition = asset.partitions
    assert definition is not None
    if requested is None or requested == "latest":
        return definition.latest()
    return definition.parse_key(requested)


def _finish(reporter: Reporter, command: str, seen: dict[tuple[str, str], Outcome]) -> int:
    results = sorted(seen.values(), key=lambda o: (o.asset, o.partition))
    reporter.outcomes(command, results)
    return EXIT_OK if all(o.ok for o in results) else EXIT_FAILED


def materialize(args: argparse.Namespace, reporter: Reporter) -> int:
    """``flowstone materialize``: bring the named assets (default: all) up to date."""
    loaded = prepare(args.source, args.home)
    registry = loaded.registry
    names = list(args.assets) or registry.names()
    assets = [registry.get(name) for name in names]
    partitioned = [a for a in assets if a.partitions is not None]
    plain = [str(a.name) for a in assets if a.partitions is None]
    if args.partition is not None and not partitioned:
        raise FlowstoneError(
            f"--partition {args.partition!r} was given, but none of {', '.join(names)} is "
            "partitioned: leave --partition out."
        )
    keys = {str(a.name): _partition_key(a, args.partition) for a in partitioned}
    with _outcomes(reporter) as seen:
        if plain:
            # A failure was heard as an event, and is reported with the rest.
            with contextlib.suppress(MaterializationError):
                fs.materialize(plain, force=args.force, timeout=args.timeout, retries=args.retries)
        for name, key in keys.items():
            fs.backfill(
                name,
                [key],
                max_workers=args.workers,
                executor=args.executor,
                force=args.force,
                timeout=args.timeout,
                retries=args.retries,
                progress=False,
            )
    return _finish(reporter, "materialize", seen)


def backfill(args: argparse.Namespace, reporter: Reporter) -> int:
    """``flowstone backfill``: materialize a range of partitions of one asset."""
    prepare(args.source, args.home)
    with _outcomes(reporter) as seen:
        fs.backfill(
            args.asset,
            args.range,
            max_workers=args.workers,
            executor=args.executor,
            force=args.force,
            timeout=args.timeout,
            retries=args.retries,
            progress=False,
        )
    return _finish(reporter, "backfill", seen)


def status(args: argparse.Namespace, reporter: Reporter) -> int:
    """``flowstone status``: fresh, stale, missing, failed or running, and the failing checks."""
    loaded = prepare(args.source, args.home)
    report = fs.status(args.asset)
    partitioned = {str(a.name) for a in loaded.registry.list_all() if a.partitions is not None}
    document: dict[str, Any] = {}
    for row in report.rows:
        # A status, or with failing data checks {"status", "checks_failing", "check_message"}.
        entry: Any = str(row.status)
        if row.checks_failing:
            entry = {
                "status": entry,
                "checks_failing": list(row.checks_failing),
                "check_message": row.check_message,
            }
        if row.asset in partitioned:
            document.setdefault(row.asset, {})[row.partition or ""] = entry
        else:
            document[row.asset] = entry
    headers = ["asset", "partition", "status", "reason"]
    rows = [[r.asset, r.partition or "", str(r.status), r.reason] for r in report.rows]
    if any(r.checks_failing for r in report.rows):
        headers.append("checks failing")
        for shown, r in zip(rows, report.rows, strict=True):
            shown.append(r.check_message)
    reporter.table(document, headers, rows)
    return EXIT_OK


def lineage(args: argparse.Namespace, reporter: Reporter) -> int:
    """``flowstone lineage``: the materializations a value consumed (or that consumed it)."""
    prepare(args.source, args.home)
    found = fs.lineage(args.asset, args.partition, direction=args.direction)
    entries = [
        {
            "direction": e.direction,
            "depth": e.depth,
            "asset": e.asset,
            "partition": e.partition,
            "data_version": e.data_version,
            "status": e.status,
        }
        for e in sorted(found.entries, key=lambda e: (e.direction, e.depth, e.asset, e.partition))
    ]
    document = {
        "asset": found.asset,
        "partition": found.partition,
        "data_version": found.data_version,
        "entries": entries,
    }
    headers = ["direction", "depth", "asset", "partition", "data_version", "status"]
    rows = [[e[h] for h in headers] for e in entries]
    reporter.table(document, headers, rows)
    return EXIT_OK


def _prepare_optional(args: argparse.Namespace) -> None:
    """Load the source when one is given; else only point the store at the home."""
    if args.source:
        prepare(args.source, args.home)
    else:
        fs.configure(home=store_home(args.home, None), progress=False)


def history(args: argparse.Namespace, reporter: Reporter) -> int:
    """``flowstone history``: materializations, newest first (the source is optional)."""
    _prepare_optional(args)
    frame = fs.history(args.asset, limit=args.limit)
    records = frame.to_dict(orient="records")
    rows = [
        [
            record.get("asset"),
            record.get("partition"),
            record.get("status"),
            str(record.get("attempt") or ""),
            str(record.get("started") or "")[:19],
            _seconds(record.get("duration_s")),
            record.get("error_message") or "",
        ]
        for record in records
    ]
    headers = ["asset", "partition", "status", "attempt", "started", "took", "error"]
    reporter.table(records, headers, rows)
    return EXIT_OK


def _seconds(value: Any) -> str:
    try:
        return f"{float(value):.2f} s"
    except (TypeError, ValueError):
        return ""


def verify(args: argparse.Namespace, reporter: Reporter) -> int:
    """``flowstone verify``: re-hash stored values; exit 1 when one is damaged."""
    _prepare_optional(args)
    report = fs.verify(args.asset)
    for damaged in report.damaged:
        where = f"{damaged.asset}[{damaged.partition}]" if damaged.partition else damaged.asset
        reporter.error(f"{where} is damaged: {damaged.path} {damaged.problem}")
    if reporter.json_output:
        reporter.document(
            {
                "home": report.home,
                "checked": report.checked,
                "damaged": [asdict(damaged) for damaged in report.damaged],
            }
        )
    else:
        reporter.text(repr(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def prune(args: argparse.Namespace, reporter: Reporter) -> int:
    """``flowstone prune``: remove stored values that nothing kept needs."""
    _prepare_optional(args)
    report = fs.prune(args.asset, keep=args.keep)
    if reporter.json_output:
        reporter.document(asdict(report))
    else:
        reporter.text(repr(report))
    return EXIT_OK


def graph(args: argparse.Namespace, reporter: Reporter) -> int:
    """``flowstone graph``: DOT text on standard output, or a drawing written to ``-o FILE``."""
    prepare(args.source, args.home)
    view = fs.graph()
    if args.output is None:
        reporter.text(view.source)
        return EXIT_OK
    target = Path(args.output)
    if target.suffix == ".dot":
        target.write_text(view.source, encoding="utf-8")
    elif target.suffix == ".svg":
        target.write_text(view.svg(), encoding="utf-8")
    elif target.suffix == ".png":
        import graphviz

        target.write_bytes(graphviz.Source(view.source).pipe(format="png"))
    else:
        raise FlowstoneError(
            f"Cannot write a graph to {str(target)!r}: name a .svg, .png or .dot file."
        )
    reporter.note(f"wrote {target}")
    return EXIT_OK


def export(args: argparse.Namespace, reporter: Reporter) -> int:
    """``flowstone export``: write the notebook's definitions as a module (nothing runs)."""
    from flowstone_nb._notebook.export import export_notebook

    written = export_notebook(args.notebook, args.output)
    reporter.note(f"wrote {written}")
    return EXIT_OK
