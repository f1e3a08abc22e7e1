"""The grammar of the ``%flowstone`` line magic: one frozen command object per subcommand.

:func:`parse_flowstone_line` reads ``%flowstone graph | status | history | lineage | materialize
| backfill | forget | verify | prune | export ...`` into the command's object, and
:func:`flowstone_help` writes every subcommand's usage for ``%flowstone?``. Mistakes are one-line
IPython ``UsageError`` messages (an unknown subcommand suggests a close one). It must not look at
the registry, run anything or display anything; like :mod:`~flowstone_nb._notebook.magic_lines`,
whose parser it uses, it imports IPython and is imported only by the magics.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from IPython.core.error import UsageError

from flowstone_nb._core.errors import did_you_mean
from flowstone_nb._notebook.magic_lines import (
    LineParser,
    identifier,
    retries,
    seconds,
    split_line,
)

__all__ = [
    "COMMAND_PARSERS",
    "BackfillCommand",
    "Command",
    "ExportCommand",
    "ForgetCommand",
    "GraphCommand",
    "HistoryCommand",
    "LineageCommand",
    "MaterializeCommand",
    "PruneCommand",
    "StatusCommand",
    "VerifyCommand",
    "flowstone_help",
    "parse_flowstone_line",
]


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
    """``%flowstone backfill NAME [FIRST..LAST] [--workers N --timeout S --retries N --force]``.

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
    timeout
        Seconds one partition may run (``None``: each asset's own, if any).
    retries
        How many more times a failed partition is tried (``None``: each asset's own, if any).
    """

    asset: str
    partitions: str | None = None
    workers: int | None = None
    force: bool = False
    timeout: float | None = None
    retries: int | None = None


@dataclass(frozen=True)
class ForgetCommand:
    """``%flowstone forget NAME [--purge]``."""

    asset: str
    purge: bool = False


@dataclass(frozen=True)
class VerifyCommand:
    """``%flowstone verify [NAME]``."""

    asset: str | None = None


@dataclass(frozen=True)
class PruneCommand:
    """``%flowstone prune [NAME] [--keep N]``."""

    asset: str | None = None
    keep: int = 1


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
    | VerifyCommand
    | PruneCommand
    | ExportCommand
)


def _command_parser(command: str, description: str) -> LineParser:
    return LineParser(f"%flowstone {command}", description)


def _graph_parser() -> LineParser:
    parser = _command_parser("graph", "Draw the asset graph, coloured by status.")
    parser.add_argument(
        "asset", nargs="?", metavar="NAME", type=identifier("NAME"), help="focus on this asset"
    )
    parser.add_argument(
        "--upstream", type=_count("--upstream", 0), metavar="N", help="levels upstream"
    )
    parser.add_argument(
        "--downstream", type=_count("--downstream", 0), metavar="N", help="levels downstream"
    )
    return parser


def _status_parser() -> LineParser:
    parser = _command_parser("status", "Missing / fresh / stale / failed per asset and partition.")
    parser.add_argument(
        "asset", nargs="?", metavar="NAME", type=identifier("NAME"), help="one asset"
    )
    return parser


def _history_parser() -> LineParser:
    parser = _command_parser("history", "Materializations, newest first.")
    parser.add_argument(
        "asset", nargs="?", metavar="NAME", type=identifier("NAME"), help="one asset"
    )
    return parser


def _lineage_parser() -> LineParser:
    parser = _command_parser("lineage", "Where a value came from.")
    parser.add_argument("asset", metavar="NAME", type=identifier("NAME"), help="the asset")
    parser.add_argument("partition", nargs="?", metavar="PARTITION", help="its partition key")
    return parser


def _materialize_parser() -> LineParser:
    parser = _command_parser("materialize", "Compute (or reuse) a value and show it.")
    parser.add_argument("asset", metavar="NAME", type=identifier("NAME"), help="the asset")
    parser.add_argument("partition", nargs="?", metavar="PARTITION", help="its partition key")
    parser.add_argument("--force", action="store_true", help="recompute even when fresh")
    return parser


def _backfill_parser() -> LineParser:
    parser = _command_parser("backfill", "Materialize many partitions, skipping fresh ones.")
    parser.add_argument(
        "asset", metavar="NAME", type=identifier("NAME"), help="a partitioned asset"
    )
    parser.add_argument(
        "partitions", nargs="?", metavar="FIRST..LAST", help="a range or one key (default: all)"
    )
    parser.add_argument(
        "--workers", type=_count("--workers", 1), metavar="N", help="partitions at once"
    )
    parser.add_argument("--force", action="store_true", help="recompute fresh partitions too")
    parser.add_argument(
        "--timeout", type=seconds, metavar="SECONDS", help="a partition running longer fails"
    )
    parser.add_argument(
        "--retries", type=retries, metavar="N", help="times a failed partition is tried again"
    )
    return parser


def _forget_parser() -> LineParser:
    parser = _command_parser("forget", "Remove an asset's definition (its history stays).")
    parser.add_argument("asset", metavar="NAME", type=identifier("NAME"), help="the asset")
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
    return BackfillCommand(ns.asset, ns.partitions, ns.workers, ns.force, ns.timeout, ns.retries)


def _build_forget(ns: argparse.Namespace) -> Command:
    return ForgetCommand(ns.asset, ns.purge)


def _verify_parser() -> LineParser:
    parser = _command_parser("verify", "Re-hash stored values; name and mark the damaged ones.")
    parser.add_argument(
        "asset", nargs="?", metavar="NAME", type=identifier("NAME"), help="one asset"
    )
    return parser


def _build_verify(ns: argparse.Namespace) -> Command:
    return VerifyCommand(ns.asset)


def _prune_parser() -> LineParser:
    parser = _command_parser("prune", "Remove stored values that nothing kept needs.")
    parser.add_argument(
        "asset", nargs="?", metavar="NAME", type=identifier("NAME"), help="one asset"
    )
    parser.add_argument(
        "--keep", type=_count("--keep", 1), default=1, metavar="N", help="successes kept"
    )
    return parser


def _build_prune(ns: argparse.Namespace) -> Command:
    return PruneCommand(ns.asset, ns.keep)


def _export_parser() -> LineParser:
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
COMMAND_PARSERS: dict[str, tuple[LineParser, _Builder]] = {
    "graph": (_graph_parser(), _build_graph),
    "status": (_status_parser(), _build_status),
    "history": (_history_parser(), _build_history),
    "lineage": (_lineage_parser(), _build_lineage),
    "materialize": (_materialize_parser(), _build_materialize),
    "backfill": (_backfill_parser(), _build_backfill),
    "forget": (_forget_parser(), _build_forget),
    "verify": (_verify_parser(), _build_verify),
    "prune": (_prune_parser(), _build_prune),
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
    words = split_line(line, "%flowstone")
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
        f"{' '.join(parser.format_usage().split())}\n    {parser.description}"
        for parser, _ in COMMAND_PARSERS.values()
    )
