"""The ``flowstone`` command line (also ``python -m flowstone_nb``): a notebook's assets, headless.

Every command loads its SOURCE in definition mode (:mod:`flowstone_nb._notebook.loader`) and then
calls the same public functions a notebook calls, so what the notebook made is reused. The store
home is ``--home``, else ``$FLOWSTONE_HOME``, else what the source set with
``fs.configure(home=...)``, else ``.flowstone`` beside the source (where a kernel started in the
notebook's folder put it).

Exit codes: 0 when everything asked for is fresh, 1 when a materialization failed (each failure
is named on standard error), 2 for usage errors and sources that cannot be found or loaded.
Argument parsing is the standard library's :mod:`argparse`; tables and progress are ``rich``'s,
imported only here. This module owns the command line's words and exit codes, nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from flowstone_nb._cli import commands
from flowstone_nb._cli.report import Reporter
from flowstone_nb._core.errors import FlowstoneError

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_EXECUTORS = "threads, processes, dask or a scheduler address such as tcp://host:8786"


def _source(parser: argparse.ArgumentParser, *, optional: bool = False) -> None:
    parser.add_argument(
        "source",
        nargs="?" if optional else None,
        metavar="SOURCE",
        help="a notebook (.ipynb), a Python file (.py) or a module name",
    )


def _home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home", metavar="DIR", help="the store home (default: $FLOWSTONE_HOME, the source's own)"
    )


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document and no more")


def _running(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="recompute even what is fresh")
    parser.add_argument("--workers", type=int, metavar="N", help="partitions computed at once")
    parser.add_argument("--executor", metavar="KIND", help=f"where partitions run: {_EXECUTORS}")
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="a partition running longer fails (default: the asset's own, else none)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        metavar="N",
        help="times a failed partition is tried again (default: the asset's own, else none)",
    )


def _add_upkeep(sub: Any) -> None:
    """The commands that look after the stored values: ``verify`` and ``prune``."""
    verify = sub.add_parser("verify", help="re-hash stored values; name the damaged ones")
    _source(verify, optional=True)
    verify.add_argument("asset", nargs="?", metavar="ASSET", help="one asset (default: all)")
    _home(verify)
    _json(verify)

    prune = sub.add_parser("prune", help="remove stored values that nothing kept needs")
    _source(prune, optional=True)
    prune.add_argument("asset", nargs="?", metavar="ASSET", help="one asset (default: all)")
    prune.add_argument(
        "--keep", type=int, default=1, metavar="N", help="successes kept per partition (default 1)"
    )
    _home(prune)
    _json(prune)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(
        prog="flowstone",
        description="Run and inspect a notebook's assets from the command line.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("materialize", help="bring assets up to date (all of them by default)")
    _source(run)
    run.add_argument("assets", nargs="*", metavar="ASSET", help="assets (default: every asset)")
    run.add_argument(
        "--partition", metavar="KEY", help="the partition of partitioned assets (default: latest)"
    )
    _running(run)
    _home(run)
    _json(run)

    fill = sub.add_parser("backfill", help="materialize many partitions of one asset")
    _source(fill)
    fill.add_argument("asset", metavar="ASSET")
    fill.add_argument("range", nargs="?", metavar="RANGE", help="FIRST..LAST (default: all)")
    _running(fill)
    _home(fill)
    _json(fill)

    status = sub.add_parser("status", help="fresh / stale / missing / failed per partition")
    _source(status)
    status.add_argument("asset", nargs="?", metavar="ASSET")
    _home(status)
    _json(status)

    lineage = sub.add_parser("lineage", help="what a value was made from, and what used it")
    _source(lineage)
    lineage.add_argument("asset", metavar="ASSET")
    lineage.add_argument("partition", nargs="?", metavar="PARTITION")
    lineage.add_argument(
        "--direction", choices=("upstream", "downstream", "both"), default="upstream"
    )
    _home(lineage)
    _json(lineage)

    history = sub.add_parser("history", help="materializations, newest first")
    _source(history, optional=True)
    history.add_argument("asset", nargs="?", metavar="ASSET")
    history.add_argument("--limit", type=int, default=50, metavar="N", help="rows (default 50)")
    _home(history)
    _json(history)

    graph = sub.add_parser("graph", help="the asset graph as DOT text, SVG or PNG")
    _source(graph)
    graph.add_argument(
        "-o", "--output", metavar="FILE", help="FILE.svg, FILE.png or FILE.dot (default: DOT text)"
    )
    _home(graph)

    _add_upkeep(sub)

    export = sub.add_parser("export", help="write a notebook's definitions as a Python module")
    export.add_argument("notebook", metavar="NOTEBOOK", help="the notebook (.ipynb)")
    export.add_argument("-o", "--output", required=True, metavar="MODULE.py")
    return parser


_COMMANDS: dict[str, Callable[[argparse.Namespace, Reporter], int]] = {
    "materialize": commands.materialize,
    "backfill": commands.backfill,
    "status": commands.status,
    "lineage": commands.lineage,
    "history": commands.history,
    "graph": commands.graph,
    "verify": commands.verify,
    "prune": commands.prune,
    "export": commands.export,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args = build_parser().parse_args(argv)
    reporter = Reporter(json_output=getattr(args, "json", False))
    try:
        return _COMMANDS[args.command](args, reporter)
    except FlowstoneError as error:
        reporter.error(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        reporter.error("interrupted")
        return 130


def run() -> None:
    """The console script's entry point."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    code: Any = main()
    sys.exit(code)
