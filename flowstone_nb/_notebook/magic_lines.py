"""Parsing the ``%%asset`` and ``%flowstone`` magic lines into small frozen objects.

This module owns the magics' grammar: it turns a line of text into an :class:`AssetArgs` or one of
the ``%flowstone`` command objects, and turns every mistake into a one-line IPython ``UsageError``
that names the option and the fix. It must not look at the registry, run anything or display
anything. It imports IPython, so only the extension (``flowstone_nb._notebook.magics``)
imports it, and only when IPython is running.
"""

from __future__ import annotations

import argparse
import keyword
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from IPython.core.error import UsageError

from flowstone_nb._core.errors import did_you_mean
from flowstone_nb._define.checks import timeout_problem

__all__ = [
    "ASSET_PARSER",
    "COMMAND_PARSERS",
    "AssetArgs",
    "BackfillCommand",
    "Command",
    "ExportCommand",
    "ForgetCommand",
    "GraphCommand",
    "HistoryCommand",
    "LineageCommand",
    "MaterializeCommand",
    "StatusCommand",
    "flowstone_help",
    "parse_asset_line",
    "parse_flowstone_line",
]


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises ``UsageError`` instead of printing and exiting."""

    def __init__(self, prog: str, description: str | None = None) -> None:
        super().__init__(prog=prog, description=description, add_help=False, allow_abbrev=False)

    def error(self, message: str) -> NoReturn:
        """Raise the problem as a one-line ``UsageError`` pointing at the help."""
        raise UsageError(f"{self.prog}: {message}. See {self.prog.split()[0]}? for the options.")


def _split(line: str, prog: str) -> list[str]:
    """Split a magic line like a shell would (quotes group words, ``#`` starts a comment)."""
    try:
        return shlex.split(line, comments=True)
    except ValueError as error:
        raise UsageError(
            f"{prog}: cannot read the line {line.strip()!r}: {error} (close the quote)."
        ) from None


def _identifier(role: str) -> Callable[[str], str]:
    """An argparse type that accepts Python identifiers (asset names)."""

    def check(text: str) -> str:
        if not text.isidentifier() or keyword.iskeyword(text):
            raise argparse.ArgumentTypeError(
                f"{role} {text!r} is not a valid asset name: use a Python identifier "
                "such as daily_sales"
            )
        return text

    return check


def _count(role: str, minimum: int) -> Callable[[str], int]:
    """An argparse type for whole numbers of at least ``minimum``."""

    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{role} must be a whole number >= {minimum}, got {text!r}"
            )
        return value

    return check


def _seconds(text: str) -> float:
    """An argparse type for ``--timeout``: a positive number of seconds (the asset's rule)."""
    try:
        value: float | None = float(text)
    except ValueError:
        value = None
    if value is None or timeout_problem(value):
        raise argparse.ArgumentTypeError(timeout_problem(text, "--timeout"))
    return value


# -- %%asset --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetArgs:
    """The options of one ``%%asset`` line.

    Attributes
    ----------
    name
        The asset's name (a Python identifier).
    depends_on
        Upstream assets named with ``--depends-on``; ``None`` infers them from the cell body.
    partitioned_by
        The partition spec text (``daily:2024-01-01:2024-03-31``, ``static:eu,us`` …).
    io_manager
        The IO manager's name, or ``None`` for the configured default.
    tags
        Labels.
    description
        Free text; ``None`` uses the cell's docstring, if any.
    partition
        The partition to materialize; ``None`` picks the latest.
    run
        Materialize right away (``False`` with ``--no-run``).
    replace
        Replace an asset of the same name defined in another cell or module.
    timeout
        Seconds one materialization may run (``None``: no limit).
    """

    name: str
    depends_on: tuple[str, ...] | None = None
    partitioned_by: str | None = None
    io_manager: str | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    partition: str | None = None
    run: bool = True
    replace: bool = False
    timeout: float | None = None


def _asset_parser() -> _Parser:
    # No description: the magic's docstring, shown above the usage by %%asset?, gives it.
    parser = _Parser("%%asset")
    parser.add_argument("name", metavar="NAME", type=_identifier("NAME"), help="the asset's name")
    parser.add_argument(
        "--depends-on",
        nargs="*",
        metavar="ASSET",
        type=_identifier("--depends-on"),
        help="upstream assets (default: the registered assets the body reads); "
        "give the option alone for none",
    )
    parser.add_argument(
        "--partitioned-by",
        metavar="SPEC",
        help="daily:START[:END], hourly:START[:END], weekly:…, monthly:… or static:KEY1,KEY2",
    )
    parser.add_argument(
        "--io", dest="io_manager", metavar="MANAGER", help="the IO manager (e.g. memory)"
    )
    parser.add_argument("--tags", nargs="+", default=[], metavar="TAG", help="labels")
    parser.add_argument("--description", nargs="+", metavar="TEXT", help="free text")
    parser.add_argument(
        "--partition", metavar="KEY", help="the partition to materialize (default: the latest)"
    )
    parser.add_argument(
        "--no-run", dest="run", action="store_false", help="define the asset, do not run it"
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="replace an asset of the same name defined in another cell or module",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="how long one materialization may run before it is stopped and recorded failed",
    )
    return parser


ASSET_PARSER = _asset_parser()


def parse_asset_line(line: str) -> AssetArgs:
    """Read a ``%%asset`` line.

    Parameters
    ----------
    line
        The text after ``%%asset``.

    Raises
    ------
    UsageError
        A missing or invalid name, an unknown option, or an option without its value.
    """
    parsed = ASSET_PARSER.parse_args(_split(line, ASSET_PARSER.prog))
    return AssetArgs(
        name=parsed.name,
        depends_on=None if parsed.depends_on is None else tuple(dict.fromkeys(parsed.depends_on)),
        partitioned_by=parsed.partitioned_by,
        io_manager=parsed.io_manager,
        tags=tuple(parsed.tags),
        description=None if parsed.description is None else " ".join(parsed.description),
        partition=parsed.partition,
        run=parsed.run,
        replace=parsed.replace,
        timeout=parsed.timeout,
    )


# -- %flowstone -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphCommand:
    """``%flowstone graph [NAME] [--upstream N] [--downstream N]``."""

    asset: str | None = None
    upstream: int | None = None
    downstream: int | None = None


@dataclass(frozen=True)
class StatusCommand:
    """``%flowstone status [NAME]``."""

    asset: str | None = None


@dataclass(frozen=True)
class HistoryCommand:
    """``%flowstone history [NAME]``."""

    asset: str | None = None


@dataclass(frozen=True)
class LineageCommand:
    """``%flowstone lineage NAME [PARTITION]``."""

    asset: str
    partition: str | None = None


@dataclass(frozen=True)
class MaterializeCommand:
    """``%flowstone materialize NAME [PARTITION] [--force]``."""

    asset: str
    partition: str | None = None
    force: bool = False


@dataclass(frozen=True)
class BackfillCommand:
    """``%flowstone backfill NAME [FIRST..LAST] [--workers N] [--force]``.

    Attributes
    ----------
    asset
        The partitioned asset.
    partitions
        A range ``FIRST..LAST`` or one key, as typed; ``None`` means every partition.
    workers
        Partitions computed at once (``None``: the default of ``fs.backfill``).
    force
        Recompute fresh partitions too.
    """

    asset: str
    partitions: str | None = None
    workers: int | None = None
    force: bool = False


@dataclass(frozen=True)
class ForgetCommand:
    """``%flowstone forget NAME [--purge]``."""

    asset: str
    purge: bool = False


@dataclass(frozen=True)
class ExportCommand:
    """``%flowstone export MODULE.py [--notebook PATH]``."""

    module: str
    notebook: str | None = None


Command = (
    GraphCommand
    | StatusCommand
    | HistoryCommand
    | LineageCommand
    | MaterializeCommand
    | BackfillCommand
    | ForgetCommand
    | ExportCommand
)


def _command_parser(command: str, description: str) -> _Parser:
    return _Parser(f"%flowstone {command}", description)


def _graph_parser() -> _Parser:
    parser = _command_parser("graph", "Draw the asset graph, coloured by status.")
    parser.add_argument(
        "asset", nargs="?", metavar="NAME", type=_identifier("NAME"), help="focus on this asset"
    )
    parser.add_argument(
        "--upstream", type=_count("--upstream", 0), metavar="N", help="levels upstream"
    )
    parser.add_argument(
        "--downstream", type=_count("--downstream", 0), metavar="N", help="levels downstream"
    )
    return parser


def _status_parser() -> _Parser:
    parser = _command_parser("status", "Missing / fresh / stale / failed per asset and partition.")
    parser.add_argument(
        "asset", nargs="?", metavar="NAME", type=_identifier("NAME"), help="one asset"
    )
    return parser


def _history_parser() -> _Parser:
    parser = _command_parser("history", "Materializations, newest first.")
    parser.add_argument(
        "asset", nargs="?", metavar="NAME", type=_identifier("NAME"), help="one asset"
    )
    return parser


def _lineage_parser() -> _Parser:
    parser = _command_parser("lineage", "Where a value came from.")
    parser.add_argument("asset", metavar="NAME", type=_identifier("NAME"), help="the asset")
    parser.add_argument("partition", nargs="?", metavar="PARTITION", help="its partition key")
    return parser


def _materialize_parser() -> _Parser:
    parser = _command_parser("materialize", "Compute (or reuse) a value and show it.")
    parser.add_argument("asset", metavar="NAME", type=_identifier("NAME"), help="the asset")
    parser.add_argument("partition", nargs="?", metavar="PARTITION", help="its partition key")
    parser.add_argument("--force", action="store_true", help="recompute even when fresh")
    return parser


def _backfill_parser() -> _Parser:
    parser = _command_parser("backfill", "Materialize many partitions, skipping fresh ones.")
    parser.add_argument(
        "asset", metavar="NAME", type=_identifier("NAME"), help="a partitioned asset"
    )
    parser.add_argument(
        "partitions", nargs="?", metavar="FIRST..LAST", help="a range or one key (default: all)"
    )
    parser.add_argument(
        "--workers", type=_count("--workers", 1), metavar="N", help="partitions at once"
    )
    parser.add_argument("--force", action="store_true", help="recompute fresh partitions too")
    return parser


def _forget_parser() -> _Parser:
    parser = _command_parser("forget", "Remove an asset's definition (its history stays).")
    parser.add_argument("asset", metavar="NAME", type=_identifier("NAME"), help="the asset")
    parser.add_argument("--purge", action="store_true", help="delete its history too")
    return parser


def _build_graph(ns: argparse.Namespace) -> Command:
    return GraphCommand(ns.asset, ns.upstream, ns.downstream)


def _build_status(ns: argparse.Namespace) -> Command:
    return StatusCommand(ns.asset)


def _build_history(ns: argparse.Namespace) -> Command:
    return HistoryCommand(ns.asset)


def _build_lineage(ns: argparse.Namespace) -> Command:
    return LineageCommand(ns.asset, ns.partition)


def _build_materialize(ns: argparse.Namespace) -> Command:
    return MaterializeCommand(ns.asset, ns.partition, ns.force)


def _build_backfill(ns: argparse.Namespace) -> Command:
    return BackfillCommand(ns.asset, ns.partitions, ns.workers, ns.force)


def _build_forget(ns: argparse.Namespace) -> Command:
    return ForgetCommand(ns.asset, ns.purge)


def _export_parser() -> _Parser:
    parser = _command_parser("export", "Write the saved notebook's definitions as a module.")
    parser.add_argument("module", metavar="MODULE.py", help="the module to write")
    parser.add_argument(
        "--notebook", metavar="PATH", help="the notebook (default: this kernel's notebook)"
    )
    return parser


def _build_export(ns: argparse.Namespace) -> Command:
    return ExportCommand(ns.module, ns.notebook)


_Builder = Callable[[argparse.Namespace], Command]

#: Every ``%flowstone`` subcommand: its parser and how to build its command object.
COMMAND_PARSERS: dict[str, tuple[_Parser, _Builder]] = {
    "graph": (_graph_parser(), _build_graph),
    "status": (_status_parser(), _build_status),
    "history": (_history_parser(), _build_history),
    "lineage": (_lineage_parser(), _build_lineage),
    "materialize": (_materialize_parser(), _build_materialize),
    "backfill": (_backfill_parser(), _build_backfill),
    "forget": (_forget_parser(), _build_forget),
    "export": (_export_parser(), _build_export),
}


def parse_flowstone_line(line: str) -> Command:
    """Read a ``%flowstone`` line into its command object.

    Parameters
    ----------
    line
        The text after ``%flowstone``, e.g. ``"materialize sales 2024-01-31 --force"``.

    Raises
    ------
    UsageError
        No or an unknown subcommand (the message lists them and suggests a close one), or
        arguments that do not fit the subcommand.
    """
    words = _split(line, "%flowstone")
    names = list(COMMAND_PARSERS)
    if not words:
        raise UsageError(f"%flowstone needs a subcommand: one of {', '.join(names)}.")
    command, rest = words[0], words[1:]
    if command not in COMMAND_PARSERS:
        raise UsageError(
            f"Unknown %flowstone subcommand {command!r}.{did_you_mean(command, names)} "
            f"The subcommands are: {', '.join(names)}."
        )
    parser, build = COMMAND_PARSERS[command]
    return build(parser.parse_args(rest))


def flowstone_help() -> str:
    """The usage of every ``%flowstone`` subcommand with what it does, for ``%flowstone?``."""
    return "\n".join(
        f"{parser.format_usage().strip()}\n    {parser.description}"
        for parser, _ in COMMAND_PARSERS.values()
    )
