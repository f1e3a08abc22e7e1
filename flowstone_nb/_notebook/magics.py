"""The ``%%asset`` and ``%%check`` cell magics, the ``%flowstone`` line magic, their settings.

The magics are thin: they parse their line (``_magic_args``), turn the cell body into a function
(``_cell``), and call the same functions a ``.py`` user calls (``fs.materialize``, ``fs.graph``,
``fs.status`` …). Library errors become one-line ``UsageError`` messages; errors raised by the
user's own code keep their traceback, which points at the cell's lines. What ``%%asset`` shows is
an :class:`AssetPreview`: the value (a DataFrame's head) and one status line, whose text form has
no volatile details (durations and data versions are in the HTML form only). This module imports
IPython: only the extension imports it, lazily, when IPython runs. It imports at the top only
what parsing a magic line needs, so that ``%load_ext`` stays quick; definitions, the status
report and the stores' formats are imported when a cell first uses them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.getipython import get_ipython
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from traitlets import TraitError, Unicode, observe, validate

from flowstone_nb._core.errors import FlowstoneError, did_you_mean
from flowstone_nb._core.events import Event, subscribe
from flowstone_nb._core.html import esc
from flowstone_nb._core.io_managers import known_io_manager_names
from flowstone_nb._core.shell import in_notebook
from flowstone_nb._core.states import EventKind, Outcome
from flowstone_nb._define.definition_site import origin_of_cell
from flowstone_nb._notebook.check_line import CHECK_PARSER, parse_check_line
from flowstone_nb._notebook.flowstone_commands import (
    BackfillCommand,
    Command,
    ExportCommand,
    ForgetCommand,
    GraphCommand,
    HistoryCommand,
    LineageCommand,
    MaterializeCommand,
    PruneCommand,
    StatusCommand,
    VerifyCommand,
    flowstone_help,
    parse_flowstone_line,
)
from flowstone_nb._notebook.live_status import DEFINED, AssetLine, current_board
from flowstone_nb._notebook.magic_lines import ASSET_PARSER, AssetArgs, parse_asset_line
from flowstone_nb._notebook.tracebacks import usage_errors

if TYPE_CHECKING:
    from flowstone_nb._define.asset import Asset
    from flowstone_nb._notebook.check_cell import CheckCellResult

__all__ = ["AssetPreview", "FlowstoneMagics"]

#: Rows of a DataFrame shown under an ``%%asset`` cell.
PREVIEW_ROWS = 10


# -- what %%asset shows ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AssetPreview:
    """The output of an ``%%asset`` cell: the value and one status line.

    Attributes
    ----------
    name
        The asset.
    value
        Its value (``None`` when not run).
    status
        ``"computed"``, ``"reused"`` or ``"defined"`` (``--no-run``).
    partition
        The partition key materialized, as text.
    latest
        Whether that partition is the latest, chosen because the line named none.
    dependencies
        The upstream assets.
    inferred
        Whether the dependencies were inferred from the cell body.
    duration
        Seconds spent computing (computed values only).
    data_version
        The stored value's content version.
    live
        A live status line under the cell says the status (in a kernel): the preview shows
        the value alone.
    """

    name: str
    value: Any = None
    status: str = DEFINED
    partition: str | None = None
    latest: bool = False
    dependencies: tuple[str, ...] = ()
    inferred: bool = False
    duration: float | None = None
    data_version: str | None = None
    live: bool = False

    def line(self) -> AssetLine:
        """What the status line says, as the live line under the cell first shows it."""
        depends = ""
        if self.dependencies:
            how = " (inferred)" if self.inferred else ""
            depends = f"depends on {', '.join(self.dependencies)}{how}"
        return AssetLine(
            self.name,
            self.status,
            partition=self.partition,
            latest=self.latest,
            shape=_shape_text(self.value),
            depends=depends,
            duration=self.duration,
            data_version=self.data_version,
        )

    def status_line(self, *, volatile: bool = False) -> str:
        """One line saying what happened; ``volatile`` adds duration and data version."""
        return self.line().text(volatile=volatile)

    def _shown(self) -> Any:
        head = getattr(self.value, "head", None)
        if callable(head) and _shape_text(self.value):
            return head(PREVIEW_ROWS)
        return _plain_scalar(self.value)

    def __repr__(self) -> str:
        if self.status == DEFINED:
            return self.status_line()
        shown = repr(self._shown())
        return shown if self.live else f"{shown}\n{self.status_line()}"

    def _repr_html_(self) -> str:
        line = f"<div class='fs-asset-status'>{esc(self.status_line(volatile=True))}</div>"
        if self.status == DEFINED:
            return line
        line = "" if self.live else line
        shown = self._shown()
        html_of = getattr(shown, "_repr_html_", None)
        html = html_of() if callable(html_of) else None
        body = html if isinstance(html, str) else f"<pre>{esc(repr(shown))}</pre>"
        return f"<div class='fs-asset'>{body}{line}</div>"


def _plain_scalar(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds (``35.0``, not ``np.float64(35.0)``)."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == () and hasattr(value, "dtype"):
        return item()
    return value


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _shape_text(value: Any) -> str:
    """``"3 rows x 2 columns"`` for tables, ``"3 rows"`` for series, ``""`` otherwise."""
    shape = getattr(value, "shape", None)
    if not isinstance(shape, tuple) or not all(isinstance(n, int) for n in shape):
        return ""
    if len(shape) == 2:
        return f"{_plural(shape[0], 'row')} x {_plural(shape[1], 'column')}"
    return _plural(shape[0], "row") if len(shape) == 1 else ""


# -- %%asset --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellDefinition:
    """An asset a cell registered, and how its dependencies were found."""

    asset: Asset
    dependencies: tuple[str, ...]
    inferred: bool


def _dependencies(args: AssetArgs, reads: Sequence[str]) -> tuple[tuple[str, ...], bool]:
    from flowstone_nb._define.asset import CONTEXT
    from flowstone_nb._define.registry import get_registry

    if args.depends_on is not None:
        if CONTEXT in args.depends_on:
            raise UsageError(
                f"%%asset {args.name}: --depends-on names {CONTEXT!r}, which in a cell is the "
                "AssetContext: rename that asset."
            )
        return args.depends_on, False
    registry = get_registry()
    names = [n for n in reads if n in registry and n not in (args.name, CONTEXT)]
    return tuple(names), True


def define_cell_asset(shell: Any, args: AssetArgs, body: str) -> CellDefinition:
    """Compile the cell body and register (or replace) the asset it defines."""
    __tracebackhide__ = True
    # (definitions, pydantic included, are imported by the first cell that defines an asset:
    # loading the extension imports only what parsing a line needs)
    from flowstone_nb._define.cell_function import parse_cell
    from flowstone_nb._define.decorator import build_asset
    from flowstone_nb._define.registry import get_registry
    from flowstone_nb._notebook.cell_options import asset_options

    try:
        cell = parse_cell(args.name, body)
    except SyntaxError as error:
        # Only the cell's own line matters: leave out the parser's frames.
        raise error.with_traceback(None) from None
    dependencies, inferred = _dependencies(args, cell.reads)
    with usage_errors():
        function = cell.function(dependencies, shell.user_ns)
        options, annotations = asset_options(args, dependencies, shell.user_ns)
        function.__annotations__ = annotations
        built = build_asset(function, options)
        get_registry().register(built, origin=origin_of_cell(shell), replace=args.replace)
    return CellDefinition(built, dependencies, inferred)


def _partition(asset: Asset, requested: str | None) -> tuple[Any, str | None]:
    """The partition to materialize (default: the latest) and its text."""
    definition = asset.partitions
    if definition is None:
        return requested, requested
    key = definition.parse_key(requested) if requested is not None else definition.latest()
    return key, definition.key_str(key)


def materialize_cell_asset(definition: CellDefinition, requested: str | None) -> AssetPreview:
    """Materialize the asset a cell defined and describe what happened."""
    __tracebackhide__ = True
    import flowstone_nb as fs

    name = str(definition.asset.name)
    seen: list[Event] = []

    def listen(event: Event) -> None:
        if event.asset == name and event.kind in (EventKind.SUCCEEDED, EventKind.REUSED):
            seen.append(event)

    with usage_errors():
        key, label = _partition(definition.asset, requested)
        latest = requested is None and label is not None
        unsubscribe = subscribe(listen)
        try:
            value = fs.materialize(name, key)
        except FlowstoneError as error:  # a failure, or the latest key has no upstream yet
            if latest:
                error.add_note(_latest_note(name, str(label)))
            raise
        finally:
            unsubscribe()
    outcome = seen[-1]
    computed = outcome.kind == EventKind.SUCCEEDED
    data_version = outcome.detail.get("data_version") if computed else None
    if not computed:
        from flowstone_nb._storage.store import get_store

        row = get_store().catalog.latest_success(name, outcome.partition)
        data_version = row.data_version if row is not None else None
    return AssetPreview(
        name=name,
        value=value,
        status=Outcome.COMPUTED if computed else Outcome.REUSED,
        partition=label,
        latest=latest,
        dependencies=definition.dependencies,
        inferred=definition.inferred,
        duration=outcome.detail.get("duration") if computed else None,
        data_version=data_version,
    )


def _latest_note(name: str, partition: str) -> str:
    return (
        f"%%asset {name} ran its latest partition, {partition}, as a line without --partition "
        "does. Run another with --partition KEY, or define the asset without running it with "
        "--no-run (%%asset? lists the options)."
    )


# -- %flowstone -----------------------------------------------------------------------------------


def _graph(command: GraphCommand) -> Any:
    import flowstone_nb as fs

    return fs.graph(command.asset, upstream=command.upstream, downstream=command.downstream)


def _status(command: StatusCommand) -> Any:
    import flowstone_nb as fs

    return fs.status(command.asset)


def _history(command: HistoryCommand) -> Any:
    from flowstone_nb._notebook.views import paged_history_view

    return paged_history_view(command.asset)


def _live(asset: str) -> Any:
    """In a notebook, a graph of ``asset`` and its upstream that recolours during the run."""
    from contextlib import nullcontext

    from flowstone_nb._notebook.graph.live import LiveGraph

    return LiveGraph(asset, downstream=0) if in_notebook() else nullcontext()


def _lineage(command: LineageCommand) -> Any:
    import flowstone_nb as fs

    return fs.lineage(command.asset, command.partition)


def _materialize(command: MaterializeCommand) -> Any:
    import flowstone_nb as fs

    with _live(command.asset):
        return fs.materialize(command.asset, command.partition, force=command.force)


def _backfill(command: BackfillCommand) -> Any:
    import flowstone_nb as fs

    with _live(command.asset):
        return fs.backfill(
            command.asset,
            command.partitions,
            max_workers=command.workers,
            force=command.force,
            timeout=command.timeout,
            retries=command.retries,
        )


def _forget(command: ForgetCommand) -> None:
    import flowstone_nb as fs

    fs.forget(command.asset, purge=command.purge)
    kept = "and its history" if command.purge else "(its history stays in the store)"
    print(f"Forgot asset {command.asset!r} {kept}.")


def _verify(command: VerifyCommand) -> Any:
    import flowstone_nb as fs

    return fs.verify(command.asset)


def _prune(command: PruneCommand) -> Any:
    import flowstone_nb as fs

    return fs.prune(command.asset, keep=command.keep)


def _export(command: ExportCommand) -> None:
    import os
    from pathlib import Path

    from flowstone_nb._notebook.export import export_notebook

    shell = get_ipython()
    namespace = getattr(shell, "user_ns", {})
    notebook = (
        command.notebook or namespace.get("__session__") or os.environ.get("JPY_SESSION_NAME")
    )
    if not notebook:
        raise UsageError(
            "%flowstone export: this kernel does not know its notebook's path: "
            "name it with --notebook PATH."
        )
    written = export_notebook(notebook, command.module)
    print(f"Wrote {written} from the saved {Path(notebook).name}.")


_RUNNERS: dict[type, Callable[[Any], Any]] = {
    GraphCommand: _graph,
    StatusCommand: _status,
    HistoryCommand: _history,
    LineageCommand: _lineage,
    MaterializeCommand: _materialize,
    BackfillCommand: _backfill,
    ForgetCommand: _forget,
    VerifyCommand: _verify,
    PruneCommand: _prune,
    ExportCommand: _export,
}


def run_command(command: Command) -> Any:
    """Run a parsed ``%flowstone`` command through the public functions; return their result."""
    __tracebackhide__ = True
    with usage_errors():
        return _RUNNERS[type(command)](command)


# -- the magics -----------------------------------------------------------------------------------


@magics_class
class FlowstoneMagics(Magics):
    """The flowstone_nb magics, and the per-kernel settings ``%config`` can change.

    ``%config FlowstoneMagics.home = "/data/store"`` moves the store;
    ``%config FlowstoneMagics.default_io_manager = "memory"`` keeps values in memory. Both call
    ``fs.configure``; ``None`` (the default) leaves what ``fs.configure`` set.
    """

    home = Unicode(
        None, allow_none=True, help="The store home: a folder or an fsspec URL (fs.configure)."
    ).tag(config=True)
    default_io_manager = Unicode(
        None,
        allow_none=True,
        help="The IO manager of assets that name none: filesystem, parquet, memory, …",
    ).tag(config=True)

    @validate("default_io_manager")
    def _known_io_manager(self, proposal: Any) -> Any:
        value = proposal["value"]
        known = known_io_manager_names()
        if value is not None and value not in known:
            raise TraitError(
                f"Unknown IO manager {value!r} for FlowstoneMagics.default_io_manager."
                f"{did_you_mean(value, known)} Known: {', '.join(known)}."
            )
        return value

    @observe("home", "default_io_manager")
    def _apply(self, change: Any) -> None:
        from flowstone_nb._storage.config import configure

        if change["new"] is not None:
            configure(**{change["name"]: change["new"]})

    @cell_magic
    def asset(self, line: str, cell: str) -> AssetPreview | None:
        """Define the asset NAME from this cell, materialize it and show a preview.

        The body is the asset's code: upstream assets are bound by name (inferred from the
        registered assets the body reads, unless ``--depends-on`` names them), ``context`` is
        the AssetContext, and the value of the last expression is the asset's value. Running
        the cell registers (or replaces) the asset, materializes it, binds the value to NAME
        and shows its head and one status line.

        A partitioned asset materializes its latest partition, and the status line says which;
        ``--partition KEY`` materializes another, ``--no-run`` defines the asset without running
        anything (``%flowstone backfill NAME`` then runs many partitions). The options are
        those of ``@fs.asset``, under the same names (``--map`` and ``--io`` are short for
        ``--partition-mappings`` and ``--io-manager``).
        """
        __tracebackhide__ = True
        shell = self.shell
        assert shell is not None, "IPython gives registered magics their shell"
        args = parse_asset_line(line)
        definition = define_cell_asset(shell, args, cell)
        defined = AssetPreview(
            str(definition.asset.name),
            dependencies=definition.dependencies,
            inferred=definition.inferred,
        )
        board = current_board()  # in a kernel: the status goes on a live line under the cell
        if board is not None:
            board.expect(defined.line())  # if the run fails, the store says what became of it
        if not args.run:
            return defined if board is None else None
        preview = materialize_cell_asset(definition, args.partition)
        shell.user_ns[args.name] = preview.value
        if board is None:
            return preview
        board.expect(preview.line())
        return replace(preview, live=True)

    @cell_magic
    def check(self, line: str, cell: str) -> CheckCellResult:
        """Define a data check of ASSET from this cell and judge its stored values at once.

        The body is the check: the asset's value is bound to its name (one partition at a
        time), ``context`` is the AssetContext, and the last expression is the result: True or
        False, or ``fs.CheckResult(passed, message)``. Running the cell registers the check as
        ``@fs.check`` does (a cell run again replaces it; its code version follows the cell),
        judges the latest stored value of every partition, records the outcomes (``fs.checks``)
        and shows them, failures first. From then on it runs after every materialization of the
        asset; with nothing stored yet, it first runs at the next one.
        """
        __tracebackhide__ = True
        from flowstone_nb._notebook.check_cell import (  # (with the definitions)
            CheckCellResult,
            define_cell_check,
            run_cell_check,
        )

        args = parse_check_line(line)
        made = define_cell_check(self.shell, args, cell)
        result = CheckCellResult(str(made.asset), made.name, made.blocking, ran=args.run)
        return replace(result, outcomes=run_cell_check(made)) if args.run else result

    @line_magic
    def flowstone(self, line: str) -> Any:
        """Look at and run assets: the same functions as ``fs.graph``, ``fs.status`` and so on.

        ``graph``, ``status``, ``history``, ``lineage``, ``materialize`` and ``backfill`` return
        what the function returns (shown as the cell's output); ``forget`` removes a definition.
        """
        __tracebackhide__ = True
        return run_command(parse_flowstone_line(line))


def _with_usage(function: Any, usage: str) -> None:
    function.__doc__ = f"{inspect.cleandoc(function.__doc__)}\n\n{usage}"


_with_usage(FlowstoneMagics.asset, ASSET_PARSER.format_help())
_with_usage(FlowstoneMagics.check, CHECK_PARSER.format_help())
_with_usage(FlowstoneMagics.flowstone, flowstone_help())
