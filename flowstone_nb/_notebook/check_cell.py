"""The ``%%check`` cell: a data check written in a cell, run at once on the stored values.

Its line is read by :mod:`.check_line` (which loading the extension imports: no definitions).
:func:`check_function` turns the cell body into the check function: the
asset's value is its parameter (named as the asset; ``context`` comes first when the body reads
it) and the last expression is the result, ``True``/``False`` or an ``fs.CheckResult``, as
``@fs.check`` expects. :func:`define_cell_check` registers it with ``fs.check`` (the cell's code
is the check's code, so its code version follows edits; a cell run again replaces the check it
defined), and :func:`run_cell_check` judges the latest stored value of every partition with
``fs.check_all``, which records the outcomes. What the cell shows is a :class:`CheckCellResult`:
passed or failing per partition, with the message, failures first.

It imports IPython (through the line grammar): only the magics, the exporter and definition mode
import it, when IPython runs.
"""

from __future__ import annotations

import keyword
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from flowstone_nb._core.errors import AssetDefinitionError, AssetNotFoundError
from flowstone_nb._core.html import badge, counted, esc, html_table, text_table
from flowstone_nb._core.states import CheckState
from flowstone_nb._define.asset import CONTEXT
from flowstone_nb._define.cell_function import Cell, parse_cell
from flowstone_nb._define.decorator import check
from flowstone_nb._define.definition_site import origin_of_cell
from flowstone_nb._define.registry import get_registry
from flowstone_nb._notebook.check_line import CheckArgs, parse_check_line
from flowstone_nb._notebook.tracebacks import usage_errors

if TYPE_CHECKING:
    from types import FunctionType

    from flowstone_nb._define.data_checks import Check

__all__ = [
    "CheckArgs",
    "CheckCellResult",
    "PartitionOutcome",
    "check_function",
    "check_name",
    "check_parameters",
    "define_cell_check",
    "parse_check_line",
    "run_cell_check",
]

#: Partitions listed under a ``%%check`` cell; the rest are counted.
ROWS_SHOWN = 20


def check_name(args: CheckArgs) -> str:
    """The check's name: ``--name``, or ``ASSET_check``."""
    name = args.name if args.name is not None else f"{args.asset}_check"
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(
            f"%%check {args.asset}: --name {name!r} is not a Python identifier: use letters, "
            "digits and underscores, e.g. --name no_negative_amounts."
        )
    return name


def check_function(args: CheckArgs, body: str, namespace: dict[str, Any]) -> FunctionType:
    """The cell body as the check function ``def NAME([context,] ASSET)``, globals ``namespace``.

    Raises
    ------
    SyntaxError
        The body is not valid Python (with the cell's own line numbers).
    UsageError
        The body has no value, or the name is not an identifier.
    """
    __tracebackhide__ = True
    name = check_name(args)
    try:
        cell = parse_cell(name, body)
    except SyntaxError as error:
        raise error.with_traceback(None) from None  # the cell's line, not the parser's frames
    try:
        return cell.function(_parameters(args, cell), namespace, context=False)
    except AssetDefinitionError:  # (the one error it raises: the body has no value)
        raise UsageError(
            f"%%check {args.asset}: the cell has no value: end it with an expression saying "
            f"whether {args.asset}'s value passes: True/False, or "
            "fs.CheckResult(passed, message) to say what it found."
        ) from None


def check_parameters(args: CheckArgs, body: str) -> tuple[str, ...]:
    """The check function's parameters, as :func:`check_function` compiles them (for an export).

    ``(ASSET,)``, or ``(context, ASSET)`` when the body reads ``context``.
    """
    return _parameters(args, parse_cell(check_name(args), body))


def _parameters(args: CheckArgs, cell: Cell) -> tuple[str, ...]:
    return (CONTEXT, args.asset) if CONTEXT in cell.reads else (args.asset,)


def define_cell_check(shell: Any, args: CheckArgs, body: str) -> Check:
    """Register (or replace) the check the cell defines, as ``fs.check`` does."""
    __tracebackhide__ = True
    registry = get_registry()
    with usage_errors():
        try:
            registry.get(args.asset)
        except AssetNotFoundError as error:
            error.add_note(
                f"%%check checks a defined asset: run the cell that defines {args.asset!r} first."
            )
            raise
    function = check_function(args, body, shell.user_ns)
    with usage_errors():
        try:
            made = check(args.asset, blocking=args.blocking, name=check_name(args))(function)
        except AssetDefinitionError as error:
            error.add_note("In a %%check cell, give the check another name with --name NAME.")
            raise
    registry.drop_checks_of(origin_of_cell(shell), keep=made)
    return made


@dataclass(frozen=True)
class PartitionOutcome:
    """What the check said of one partition's latest stored value."""

    partition: str
    passed: bool
    message: str | None

    @property
    def state(self) -> CheckState:
        """Passed or failing."""
        return CheckState.PASSED if self.passed else CheckState.FAILING


def run_cell_check(made: Check) -> tuple[PartitionOutcome, ...]:
    """Judge the latest stored value of every partition with ``made``; failures first."""
    import flowstone_nb as fs

    with usage_errors():
        frame = fs.check_all(made.asset, check=made.name, force=True)
    outcomes = [
        PartitionOutcome(str(row.partition), bool(row.passed), _text(row.message))
        for row in frame.itertuples()
    ]
    return tuple(sorted(outcomes, key=lambda o: (o.passed, o.partition)))


def _text(message: object) -> str | None:
    return message if isinstance(message, str) else None


@dataclass(frozen=True)
class CheckCellResult:
    """What a ``%%check`` cell shows: the check and what it said of each stored value.

    Attributes
    ----------
    asset, check, blocking
        The check.
    outcomes
        Per partition (failures first), the latest stored value's outcome; ``()`` when nothing
        is stored yet, or with ``--no-run``.
    ran
        Whether the stored values were judged (``False`` with ``--no-run``).
    """

    asset: str
    check: str
    blocking: bool = False
    outcomes: tuple[PartitionOutcome, ...] = ()
    ran: bool = True

    @property
    def failing(self) -> list[PartitionOutcome]:
        """The partitions the check fails on."""
        return [outcome for outcome in self.outcomes if not outcome.passed]

    def headline(self) -> str:
        """``Check 'positive' of sales: failing on 1 of 3 partitions`` (and the like)."""
        title = f"Check {self.check!r} of {self.asset}{' (blocking)' if self.blocking else ''}"
        if not self.ran:
            return f"{title} registered (not run: --no-run); it runs at the next materialization."
        if not self.outcomes:
            return (
                f"{title} registered: {self.asset} has no stored value yet; "
                "it runs at the next materialization."
            )
        if self._keyless:
            [outcome] = self.outcomes
            said = f" — {outcome.message}" if outcome.message and not outcome.passed else ""
            return f"{title}: {outcome.state}{said}"
        failing, total = len(self.failing), len(self.outcomes)
        if not failing:
            return f"{title}: passed on all {total} partition{'' if total == 1 else 's'}"
        return f"{title}: failing on {failing} of {total} partition{'' if total == 1 else 's'}"

    @property
    def _keyless(self) -> bool:
        return len(self.outcomes) == 1 and not self.outcomes[0].partition

    def _shown(self) -> tuple[list[PartitionOutcome], str]:
        """The rows listed, and what is left out (``"… and 11 more: 11 passed"``)."""
        shown, rest = list(self.outcomes[:ROWS_SHOWN]), self.outcomes[ROWS_SHOWN:]
        if not rest:
            return shown, ""
        counts = Counter(str(outcome.state) for outcome in rest)
        return shown, f"… and {len(rest)} more: {counted(counts)}"

    def __repr__(self) -> str:
        if not self.outcomes or self._keyless:
            return self.headline()
        shown, more = self._shown()
        rows = [[o.partition, o.state, o.message or ""] for o in shown]
        table = text_table(["partition", "result", "message"], rows)
        return "\n".join(line for line in (self.headline(), table, more) if line)

    def _repr_html_(self) -> str:
        head = f'<div class="fs-check-title"><b>{esc(self.headline())}</b></div>'
        if not self.outcomes:
            return f'<div class="fs-check-result">{head}</div>'
        shown, more = self._shown()
        rows = [[esc(o.partition), badge(o.state), esc(o.message or "")] for o in shown]
        table = html_table(
            ["partition", "result", "message"],
            rows,
            raw_columns=(0, 1, 2),
            css_class="fs-check-outcomes",
        )
        tail = f"<i>{esc(more)}</i>" if more else ""
        return f'<div class="fs-check-result">{head}{table}{tail}</div>'
