"""The line of a ``%%check`` cell: ``%%check ASSET [--blocking] [--name NAME] [--no-run]``.

:func:`parse_check_line` reads it into a :class:`CheckArgs`. Loading the extension imports this
module (the magic's usage is built from :data:`CHECK_PARSER`), so it imports only the line
grammar: what the cell defines and runs is :mod:`.check_cell`'s, imported when a cell runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowstone_nb._notebook.magic_lines import LineParser, identifier, split_line

__all__ = ["CHECK_PARSER", "CheckArgs", "parse_check_line"]


@dataclass(frozen=True)
class CheckArgs:
    """The options of one ``%%check`` line.

    Attributes
    ----------
    asset
        The asset whose values the cell checks.
    blocking
        A failure fails the partition's materialization (see ``fs.check``).
    name
        The check's name (``None``: ``ASSET_check``).
    run
        Judge the stored values now (``False`` with ``--no-run``).
    """

    asset: str
    blocking: bool = False
    name: str | None = None
    run: bool = True


def _check_parser() -> LineParser:
    # No description: the magic's docstring, shown above the usage by %%check?, gives it.
    parser = LineParser("%%check")
    parser.usage = "%(prog)s ASSET [--blocking] [--name NAME] [--no-run]"  # as the docs write it
    parser.add_argument(
        "asset", metavar="ASSET", type=identifier("ASSET"), help="the asset whose values it checks"
    )
    parser.add_argument(
        "--blocking",
        action="store_true",
        help="a failure fails that partition's materialization: its downstream does not run",
    )
    parser.add_argument(
        "--name", metavar="NAME", help="the check's name (default: ASSET_check), unique per asset"
    )
    parser.add_argument(
        "--no-run",
        dest="run",
        action="store_false",
        help="register the check, do not judge the stored values now",
    )
    return parser


CHECK_PARSER = _check_parser()


def parse_check_line(line: str) -> CheckArgs:
    """Read a ``%%check`` line.

    Raises
    ------
    UsageError
        No asset, an asset name that is not an identifier, or an unknown option.
    """
    parsed = CHECK_PARSER.parse_args(split_line(line, CHECK_PARSER.prog))
    return CheckArgs(parsed.asset, parsed.blocking, parsed.name, parsed.run)
