"""The grammar of the ``%%asset`` line, and what every magic line's parser shares.

This module turns the text after ``%%asset`` into an :class:`AssetArgs` (the decorator's
options, under the same names, plus what to run now) and every mistake into a one-line IPython
``UsageError`` that names the option and the fix: an unknown option lists the options there are
and the closest one. :class:`LineParser`, :func:`split_line` and :func:`identifier` are what the
``%flowstone`` grammar (:mod:`~flowstone_nb._notebook.flowstone_commands`) builds on. It must
not look at the registry, run anything or display anything. It imports IPython, so only the
extension (``flowstone_nb._notebook.magics``) imports it, and only when IPython is running.
"""

from __future__ import annotations

import argparse
import ast
import keyword
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from IPython.core.error import UsageError

from flowstone_nb._core.errors import did_you_mean
from flowstone_nb._partitioning.mapping_forms import MAPPING_FORMS

__all__ = [
    "ASSET_PARSER",
    "AssetArgs",
    "LineParser",
    "identifier",
    "option_names",
    "parse_asset_line",
    "retries",
    "seconds",
    "split_line",
]


class LineParser(argparse.ArgumentParser):
    """An argument parser that raises ``UsageError`` instead of printing and exiting."""

    def __init__(self, prog: str, description: str | None = None) -> None:
        super().__init__(prog=prog, description=description, add_help=False, allow_abbrev=False)

    def error(self, message: str) -> NoReturn:
        """Raise the problem as a one-line ``UsageError`` pointing at the help."""
        raise UsageError(f"{self.prog}: {message}. See {self.prog.split()[0]}? for the options.")


def split_line(line: str, prog: str) -> list[str]:
    """Split a magic line like a shell would (quotes group words, ``#`` starts a comment)."""
    try:
        return shlex.split(line, comments=True)
    except ValueError as error:
        raise UsageError(
            f"{prog}: cannot read the line {line.strip()!r}: {error} (close the quote)."
        ) from None


def identifier(role: str) -> Callable[[str], str]:
    """An argparse type that accepts Python identifiers (asset names)."""

    def check(text: str) -> str:
        if not text.isidentifier() or keyword.iskeyword(text):
            raise argparse.ArgumentTypeError(
                f"{role} {text!r} is not a valid asset name: use a Python identifier "
                "such as daily_sales"
            )
        return text

    return check


def seconds(text: str) -> float:
    """An argparse type for ``--timeout``: a positive number of seconds (the asset's rule)."""
    from flowstone_nb._define.checks import timeout_problem  # (with pydantic: when first used)

    try:
        value: float | None = float(text)
    except ValueError:
        value = None
    if value is None or timeout_problem(value):
        raise argparse.ArgumentTypeError(timeout_problem(text, "--timeout"))
    return value


def retries(text: str) -> int:
    """An argparse type for ``--retries``: a whole number, 0 or more (the asset's rule)."""
    from flowstone_nb._define.checks import retries_problem  # (with pydantic: when first used)

    try:
        value: int | None = int(text)
    except ValueError:
        value = None
    if value is None or retries_problem(value):
        raise argparse.ArgumentTypeError(retries_problem(text, "--retries"))
    return value


def _number(rule: str, option: str) -> Callable[[str], float]:
    """An argparse type for a number that the asset's rule ``rule`` accepts.

    The rules live in ``_define.checks``, imported (with pydantic) when a line first has one.
    """

    def check(text: str) -> float:
        from flowstone_nb._define import checks

        problem: Callable[[object, str], str | None] = getattr(checks, rule)
        try:
            value: float | None = float(text)
        except ValueError:
            value = None
        if value is None or problem(value, option):
            raise argparse.ArgumentTypeError(problem(text, option))
        return value

    return check


def _exception_names(text: str) -> list[str]:
    """An argparse type for ``--retry-on``: names of exception types, comma-separated.

    A name may be dotted (``requests.HTTPError``); the magic looks them up in the notebook.
    """
    names = text.split(",")
    for name in names:
        if not all(part.isidentifier() for part in name.split(".")):
            raise argparse.ArgumentTypeError(
                f"--retry-on {text!r} is not the name of an exception type (or several, "
                "comma-separated): e.g. --retry-on ConnectionError,requests.HTTPError"
            )
    return names


# -- %%asset --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetArgs:
    """The options of one ``%%asset`` line: the decorator's options, and what to run.

    Options that name something of the notebook (a partitions definition, a mapping, a partition
    function) are kept as the text typed: the magic resolves them in the notebook's namespace.

    Attributes
    ----------
    name
        The asset's name (a Python identifier).
    depends_on
        Upstream assets named with ``--depends-on``; ``None`` infers them from the cell body.
    partitioned_by
        The partition spec (``daily:2024-01-01:2024-03-31``, ``static:eu,us`` …), or the name of
        a partitions definition in the notebook.
    partition_fn
        The name of a function in the notebook that returns the partition keys (seed style).
    partition_mappings
        ``(upstream, spec)`` pairs: a mapping spelling (``trailing:7``) or a mapping's name in the
        notebook.
    io_manager
        The IO manager's name, or ``None`` for the configured default.
    io_config
        ``(key, value)`` options for the IO manager.
    requires
        Resources the cell needs.
    metadata
        ``(key, value)`` pairs of free-form data.
    tags
        Labels.
    description
        Free text; ``None`` uses the cell's docstring, if any.
    code_version
        A fixed code version; ``None`` derives it from the cell's code.
    concat
        Upstream assets whose many partitions arrive as one DataFrame (as a parameter annotated
        ``pd.DataFrame`` does), their keys in a ``partition`` column.
    partition
        The partition to materialize; ``None`` picks the latest.
    run
        Materialize right away (``False`` with ``--no-run``).
    replace
        Replace an asset of the same name defined in another cell or module.
    timeout
        Seconds one materialization may run (``None``: no limit).
    checks
        Names of data checks in the notebook (functions taking the value, or pandera schemas).
    retries
        How many more times a failed materialization is tried (``None``: none of its own).
    retry_delay, retry_backoff
        Seconds before the first retry, and what each later wait is multiplied by (``None``:
        the defaults).
    retry_on
        Names of the exception types to retry, as typed (built-in, or of the notebook; dotted
        for a module's); empty: any exception.
    """

    name: str
    depends_on: tuple[str, ...] | None = None
    partitioned_by: str | None = None
    partition_fn: str | None = None
    partition_mappings: tuple[tuple[str, str], ...] = ()
    io_manager: str | None = None
    io_config: tuple[tuple[str, Any], ...] = ()
    requires: tuple[str, ...] = ()
    metadata: tuple[tuple[str, Any], ...] = ()
    tags: tuple[str, ...] = ()
    description: str | None = None
    code_version: str | None = None
    concat: tuple[str, ...] = ()
    partition: str | None = None
    run: bool = True
    replace: bool = False
    timeout: float | None = None
    checks: tuple[str, ...] = ()
    retries: int | None = None
    retry_delay: float | None = None
    retry_backoff: float | None = None
    retry_on: tuple[str, ...] = ()


def _key_value(role: str) -> Callable[[str], tuple[str, Any]]:
    """An argparse type for ``KEY=VALUE``; the value is a Python literal when it reads as one."""

    def check(text: str) -> tuple[str, Any]:
        key, equals, raw = text.partition("=")
        if not equals or not key.strip():
            raise argparse.ArgumentTypeError(
                f"{role} takes KEY=VALUE pairs (e.g. {role} compression=zstd level=3), got {text!r}"
            )
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw  # plain text: no quotes needed
        return key.strip(), value

    return check


def _mapping_item(text: str) -> tuple[str, str]:
    """An argparse type for ``UPSTREAM=SPEC`` (``sales=trailing:7``)."""
    upstream, equals, spec = text.partition("=")
    if not equals or not spec.strip():
        raise argparse.ArgumentTypeError(
            f"--map takes UPSTREAM=MAPPING pairs (e.g. --map sales=trailing:7), got {text!r}"
        )
    return identifier("--map")(upstream.strip()), spec.strip()


def _asset_parser() -> LineParser:
    # No description: the magic's docstring, shown above the usage by %%asset?, gives it.
    # Every option of the decorator is here, under its own name (io_config: --io-config) and,
    # for a few, a shorter one first (--io, --map).
    parser = LineParser("%%asset")
    parser.add_argument("name", metavar="NAME", type=identifier("NAME"), help="the asset's name")
    parser.add_argument(
        "--depends-on",
        nargs="*",
        metavar="ASSET",
        type=identifier("--depends-on"),
        help="upstream assets (default: the registered assets the body reads); "
        "give the option alone for none",
    )
    parser.add_argument(
        "--partitioned-by",
        metavar="SPEC",
        help="daily:START[:END], hourly:START[:END], weekly:…, monthly:… or static:KEY1,KEY2; "
        "or the name of a partitions definition in the notebook",
    )
    parser.add_argument(
        "--partition-fn",
        metavar="FUNCTION",
        type=identifier("--partition-fn"),
        help="a notebook function returning the partition keys (partitioned by 'custom', "
        "or 'date'/'datetime' given with --partitioned-by)",
    )
    parser.add_argument(
        "--map",
        "--partition-mappings",
        dest="partition_mappings",
        nargs="+",
        action="extend",
        default=[],
        metavar="UPSTREAM=MAPPING",
        type=_mapping_item,
        help=f"how partitions map onto an upstream's: {MAPPING_FORMS}; or a mapping's name in "
        "the notebook",
    )
    parser.add_argument(
        "--io",
        "--io-manager",
        dest="io_manager",
        metavar="MANAGER",
        help="the IO manager (e.g. memory)",
    )
    parser.add_argument(
        "--io-config",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        type=_key_value("--io-config"),
        help="options of the IO manager (values read as Python literals when they are ones)",
    )
    parser.add_argument(
        "--requires",
        nargs="+",
        action="extend",
        default=[],
        metavar="RESOURCE",
        help="resources the cell needs (fs.configure(resources=...))",
    )
    parser.add_argument(
        "--metadata",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        type=_key_value("--metadata"),
        help="free-form data about the asset",
    )
    parser.add_argument("--tags", nargs="+", default=[], metavar="TAG", help="labels")
    parser.add_argument("--description", nargs="+", metavar="TEXT", help="free text")
    parser.add_argument(
        "--code-version", metavar="VERSION", help="a fixed code version (default: from the code)"
    )
    parser.add_argument(
        "--concat",
        nargs="+",
        action="extend",
        default=[],
        metavar="UPSTREAM",
        type=identifier("--concat"),
        help="receive these upstreams' many partitions as one DataFrame with a 'partition' "
        "column, as a parameter annotated pd.DataFrame does (default: {partition: value})",
    )
    parser.add_argument(
        "--partition",
        metavar="KEY",
        help="the partition to materialize now (default: the latest)",
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
        type=seconds,
        metavar="SECONDS",
        help="how long one materialization may run before it is stopped and recorded failed",
    )
    parser.add_argument(
        "--checks",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME",
        type=identifier("--checks"),
        help="data checks of every value: names of functions taking the value, or of pandera "
        "schemas, in the notebook (non-blocking; @fs.check makes blocking ones)",
    )
    parser.add_argument(
        "--retries",
        type=retries,
        metavar="N",
        help="how many more times a failed materialization is tried (each attempt recorded)",
    )
    parser.add_argument(
        "--retry-delay",
        type=_number("retry_delay_problem", "--retry-delay"),
        metavar="SECONDS",
        help="seconds before the first retry (default 1); other partitions run meanwhile",
    )
    parser.add_argument(
        "--retry-backoff",
        type=_number("retry_backoff_problem", "--retry-backoff"),
        metavar="FACTOR",
        help="what each later wait is multiplied by (default 2)",
    )
    parser.add_argument(
        "--retry-on",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME[,NAME]",
        type=_exception_names,
        help="the exception types worth retrying: built-in, of the notebook, or dotted "
        "(requests.HTTPError); default: any exception",
    )
    return parser


ASSET_PARSER = _asset_parser()


def option_names(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string of ``parser`` (``--depends-on``, ``--io``, ``--io-manager`` …)."""
    return [name for action in parser._actions for name in action.option_strings]


def _unknown_options(parser: LineParser, extra: list[str]) -> NoReturn:
    """Refuse words the parser does not know, listing the options and the closest one."""
    names = option_names(parser)
    option = next((word for word in extra if word.startswith("-")), None)
    if option is None:
        parser.error(f"unexpected {' '.join(map(repr, extra))} after the name")
    spelled = option.partition("=")[0]
    started = [name for name in names if name.startswith(spelled)]
    hint = f" Did you mean {', '.join(map(repr, started))}?" if started else ""
    raise UsageError(
        f"{parser.prog}: unknown option {spelled!r}.{hint or did_you_mean(spelled, names)} "
        f"The options are: {', '.join(names)}. See {parser.prog}? for what each does."
    )


def parse_asset_line(line: str) -> AssetArgs:
    """Read a ``%%asset`` line.

    Parameters
    ----------
    line
        The text after ``%%asset``.

    Raises
    ------
    UsageError
        A missing or invalid name, an unknown option (listing the options), or an option
        without its value.
    """
    parsed, extra = ASSET_PARSER.parse_known_args(split_line(line, ASSET_PARSER.prog))
    if extra:
        _unknown_options(ASSET_PARSER, extra)
    return AssetArgs(
        name=parsed.name,
        depends_on=None if parsed.depends_on is None else tuple(dict.fromkeys(parsed.depends_on)),
        partitioned_by=parsed.partitioned_by,
        partition_fn=parsed.partition_fn,
        partition_mappings=tuple(parsed.partition_mappings),
        io_manager=parsed.io_manager,
        io_config=tuple(parsed.io_config),
        requires=tuple(parsed.requires),
        metadata=tuple(parsed.metadata),
        tags=tuple(parsed.tags),
        description=None if parsed.description is None else " ".join(parsed.description),
        code_version=parsed.code_version,
        concat=tuple(dict.fromkeys(parsed.concat)),
        partition=parsed.partition,
        run=parsed.run,
        replace=parsed.replace,
        timeout=parsed.timeout,
        checks=tuple(dict.fromkeys(parsed.checks)),
        retries=parsed.retries,
        retry_delay=parsed.retry_delay,
        retry_backoff=parsed.retry_backoff,
        retry_on=tuple(dict.fromkeys(name for names in parsed.retry_on for name in names)),
    )
