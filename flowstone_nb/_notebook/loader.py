"""Definition mode: a notebook (or a ``.py`` file, or a module) as a source of asset definitions.

:func:`load_definitions` defines a source's assets in a fresh registry, as the kernel did, and
materializes nothing. A notebook's code cells run top to bottom in an in-process IPython shell
with the extension loaded, in the notebook's own folder, under their own cell ids. What runs is
decided cell by cell by :func:`plan_cells`, whose rules are these:

1. A cell tagged ``flowstone-skip`` is skipped whole; one tagged ``flowstone-keep`` runs exactly
   as written. Markdown and raw cells are not code.
2. An ``%%asset`` cell defines its asset without running it (as with ``--no-run``); a ``%%check``
   cell registers its check without judging anything (``--no-run`` too). Any other cell magic
   (``%%time``, ``%%bash``, ``%%capture`` ...) is skipped.
3. In every other cell each top-level statement runs unless it only looks or runs assets:
   a bare expression that is not a call (``df``, ``df.shape``); a call of ``display``,
   ``print`` or ``pprint``; a statement that calls ``fs.materialize``, ``backfill``, ``forget``,
   ``status``, ``graph``, ``lineage``, ``impact``, ``history``, ``load``, ``verify``, ``prune``,
   ``checks`` or ``check_all`` (however ``flowstone_nb`` was imported); a line magic other than
   ``%load_ext``, ``%reload_ext``, ``%config`` and ``%env``; a shell command (``!ls``); and a
   statement that reads a name only a skipped statement (or an ``%%asset`` cell's value) binds.
   Imports, functions, classes, assignments and other calls (``fs.configure(...)``) run.
4. A cell that fails while loading is an error naming the cell (its position and first line)
   and the exception; the registry it was filling is dropped, so nothing is half-registered.

Because the cells that define assets run unchanged, the code versions of the loaded assets are
the ones the kernel computed: what the notebook materialized is fresh here too. This module
never materializes, and it imports IPython only when a notebook is loaded.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._define.definition_site import cell_place
from flowstone_nb._define.registry import Registry, set_registry
from flowstone_nb._storage.config import settings

__all__ = [
    "Action",
    "CellPlan",
    "LoadedSource",
    "NotebookCell",
    "SourceError",
    "load_definitions",
    "plan_cells",
    "read_notebook",
]

SKIP_TAG = "flowstone-skip"
KEEP_TAG = "flowstone-keep"
#: Functions of flowstone_nb that look at or run assets: a statement that calls one is skipped.
LOOKING_FUNCTIONS = frozenset(
    {
        "materialize",
        "backfill",
        "forget",
        "status",
        "graph",
        "lineage",
        "impact",
        "history",
        "load",
        "verify",
        "prune",
        "checks",
        "check_all",
    }
)
#: Functions whose only job is to show something.
SHOWING_FUNCTIONS = frozenset({"display", "print", "pprint"})
#: Line magics that set a kernel up rather than look at something; every other one is skipped.
SETUP_LINE_MAGICS = frozenset({"load_ext", "reload_ext", "config", "env"})
#: Cell magics that define assets or their data checks.
DEFINING_CELL_MAGICS = frozenset({"asset", "check"})
_PACKAGE = "flowstone_nb"


class SourceError(FlowstoneError):
    """A source of definitions could not be found or loaded (the message names it and the cell)."""


class Action(StrEnum):
    """What definition mode does with one cell."""

    DEFINE = "define"  # an %%asset cell, defined without running
    CHECK = "check"  # a %%check cell, its check registered without judging anything
    RUN = "run"  # run (perhaps only some of its statements)
    SKIP = "skip"


@dataclass(frozen=True)
class NotebookCell:
    """One cell of a notebook file.

    Attributes
    ----------
    index
        Its position in the notebook, from 1 (markdown cells count).
    kind
        ``"code"``, ``"markdown"`` or ``"raw"``.
    source
        Its text.
    tags
        Its tags.
    cell_id
        Its id (notebook format 4.5 and later), or ``None``.
    """

    index: int
    kind: str
    source: str
    tags: frozenset[str] = frozenset()
    cell_id: str | None = None

    @property
    def first_line(self) -> str:
        """The cell's first non-empty line, for messages."""
        return next((line.strip() for line in self.source.splitlines() if line.strip()), "")


@dataclass(frozen=True)
class CellPlan:
    """What definition mode does with one code cell, and why.

    Attributes
    ----------
    cell
        The cell.
    action
        Define, run or skip.
    reason
        Why, in a few words (``"only looks: line 3"``).
    code
        The code that runs (``""`` when skipped): the cell as written, or with the skipped
        statements' lines left blank so line numbers stay the cell's own.
    """

    cell: NotebookCell
    action: Action
    reason: str
    code: str = ""


@dataclass(frozen=True)
class LoadedSource:
    """What :func:`load_definitions` made of a source.

    Attributes
    ----------
    source
        The path or module name given.
    folder
        The folder the source lives in (a notebook's cells ran there).
    registry
        The loaded definitions (also this process's registry from now on).
    configured_home
        The store home the source set with ``fs.configure(home=...)``, if it set one.
    cells
        For a notebook, what happened to each code cell.
    """

    source: str
    folder: Path
    registry: Registry
    configured_home: str | None
    cells: tuple[CellPlan, ...] = ()


# -- reading a notebook ---------------------------------------------------------------------------


def read_notebook(path: str | os.PathLike[str]) -> list[NotebookCell]:
    """The cells of a ``.ipynb`` file (format 4)."""
    where = Path(path)
    try:
        document = json.loads(where.read_text(encoding="utf-8"))
        raw_cells = document["cells"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SourceError(
            f"Cannot read notebook {str(where)!r}: {error}. Give the path of a .ipynb file."
        ) from error
    cells = []
    for index, raw in enumerate(raw_cells, start=1):
        source = raw.get("source", "")
        cells.append(
            NotebookCell(
                index=index,
                kind=raw.get("cell_type", "code"),
                source="".join(source) if isinstance(source, list) else str(source),
                tags=frozenset(raw.get("metadata", {}).get("tags", ())),
                cell_id=raw.get("id"),
            )
        )
    return cells


# -- deciding what runs ---------------------------------------------------------------------------


@dataclass
class _Names:
    """What the plan knows about names while it walks the cells in order."""

    modules: set[str]  # names bound to the flowstone_nb module
    functions: set[str]  # names bound to one of its looking functions
    tainted: set[str]  # names only skipped statements bind


def plan_cells(
    cells: Sequence[NotebookCell], transform: Callable[[str], str] = lambda text: text
) -> list[CellPlan]:
    """Decide, cell by cell, what definition mode runs (the rules are in the module docstring).

    Parameters
    ----------
    cells
        The notebook's cells, in order.
    transform
        Turns a cell's text into Python (IPython's ``transform_cell``: magics and shell
        commands become calls); the default leaves it as it is.
    """
    names = _Names(modules={_PACKAGE}, functions=set(), tainted=set())
    plans = []
    for cell in cells:
        if cell.kind != "code" or not cell.source.strip():
            continue
        plans.append(_plan_cell(cell, transform, names))
    return plans


def _plan_cell(cell: NotebookCell, transform: Callable[[str], str], names: _Names) -> CellPlan:
    if SKIP_TAG in cell.tags:
        return CellPlan(cell, Action.SKIP, f"tagged {SKIP_TAG}")
    if KEEP_TAG in cell.tags:
        return CellPlan(cell, Action.RUN, f"tagged {KEEP_TAG}", cell.source)
    if cell.source.lstrip().startswith("%%"):
        return _plan_cell_magic(cell, names)
    return _plan_statements(cell, transform(cell.source), names)


def _plan_cell_magic(cell: NotebookCell, names: _Names) -> CellPlan:
    magic, _, rest = cell.source.lstrip()[2:].partition("\n")
    name, _, line = magic.partition(" ")
    if name not in DEFINING_CELL_MAGICS:
        return CellPlan(cell, Action.SKIP, f"cell magic %%{name} defines no asset")
    words = line.split()
    flag = "" if "--no-run" in words else " --no-run"
    if name == "check":  # binds nothing in the notebook
        return CellPlan(cell, Action.CHECK, "defines a data check", f"%%{magic}{flag}\n{rest}")
    if words:
        names.tainted.add(words[0])  # the asset's value is bound only when the cell runs
    return CellPlan(cell, Action.DEFINE, "defines an asset", f"%%{magic}{flag}\n{rest}")


def _plan_statements(cell: NotebookCell, code: str, names: _Names) -> CellPlan:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        # Let it run: the shell reports the error with the cell's own lines.
        return CellPlan(cell, Action.RUN, "does not parse", cell.source)
    skipped: list[tuple[ast.stmt, str]] = []
    for statement in tree.body:
        why = _why_skip(statement, names)
        if why:
            skipped.append((statement, why))
            names.tainted.update(_bound(statement))
        else:
            _learn(statement, names)
            names.tainted.difference_update(_bound(statement))
    if not skipped:
        return CellPlan(cell, Action.RUN, "defines or sets up", cell.source)
    reasons = "; ".join(f"line {s.lineno} {why}" for s, why in skipped)
    if len(skipped) == len(tree.body):
        return CellPlan(cell, Action.SKIP, reasons)
    return CellPlan(cell, Action.RUN, f"in part: {reasons}", _without(code, tree, skipped))


def _why_skip(statement: ast.stmt, names: _Names) -> str:
    """Why ``statement`` only looks or runs assets (``""``: it runs)."""
    if isinstance(statement, ast.Expr) and not isinstance(statement.value, ast.Call):
        return "only shows a value"
    for call in _calls(statement):
        why = _why_call(call, names)
        if why:
            return why
    read = sorted(_reads(statement) & names.tainted)
    if read:
        return f"reads {', '.join(read)}, which only skipped code binds"
    return ""


def _why_call(call: ast.Call, names: _Names) -> str:
    function = call.func
    if isinstance(function, ast.Name):
        if function.id in SHOWING_FUNCTIONS:
            return "only shows"
        return f"calls {function.id}" if function.id in names.functions else ""
    if not isinstance(function, ast.Attribute):
        return ""
    owner = function.value
    if isinstance(owner, ast.Name) and owner.id in names.modules:
        return f"calls {owner.id}.{function.attr}" if function.attr in LOOKING_FUNCTIONS else ""
    if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name):
        return _why_shell_call(owner.func.id, function.attr, call.args)
    return ""


def _why_shell_call(owner: str, method: str, arguments: Sequence[ast.expr]) -> str:
    """Why a ``get_ipython().METHOD(...)`` call (a magic or shell command) is skipped."""
    if owner != "get_ipython":
        return ""
    if method in ("system", "getoutput"):
        return "runs a shell command"
    magic = arguments[0] if arguments else None
    if method != "run_line_magic" or not isinstance(magic, ast.Constant):
        return ""
    return "" if magic.value in SETUP_LINE_MAGICS else f"runs %{magic.value!s}"


def _top_level_nodes(statement: ast.stmt) -> Iterator[ast.AST]:
    """The nodes that run when ``statement`` runs (function and class bodies run later)."""
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack.extend([*node.decorator_list, *node.args.defaults])
            stack.extend(d for d in node.args.kw_defaults if d is not None)
        elif isinstance(node, ast.ClassDef):
            stack.extend([*node.decorator_list, *node.bases, *node.keywords])
        elif isinstance(node, ast.Lambda):
            stack.extend(node.args.defaults)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _calls(statement: ast.stmt) -> Iterator[ast.Call]:
    return (node for node in _top_level_nodes(statement) if isinstance(node, ast.Call))


def _reads(statement: ast.stmt) -> set[str]:
    return {
        node.id
        for node in _top_level_nodes(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def _bound(statement: ast.stmt) -> set[str]:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    return {
        node.id
        for node in _top_level_nodes(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


def _learn(statement: ast.stmt, names: _Names) -> None:
    """Note the names a running statement binds to flowstone_nb or its looking functions."""
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.name == _PACKAGE:
                names.modules.add(alias.asname or _PACKAGE)
    elif isinstance(statement, ast.ImportFrom) and statement.module == _PACKAGE:
        names.functions.update(
            alias.asname or alias.name
            for alias in statement.names
            if alias.name in LOOKING_FUNCTIONS
        )


def _without(code: str, tree: ast.Module, skipped: list[tuple[ast.stmt, str]]) -> str:
    """``code`` with the skipped statements' lines blank (or re-written when lines are shared)."""
    lines = code.splitlines()
    blank: set[int] = set()
    for statement, _ in skipped:
        blank.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    kept = [s for s in tree.body if all(s is not t for t, _ in skipped)]
    shared = any(
        line in blank for s in kept for line in range(s.lineno, (s.end_lineno or s.lineno) + 1)
    )
    if shared:
        return ast.unparse(ast.Module(body=kept, type_ignores=[]))
    return "\n".join("" if n in blank else line for n, line in enumerate(lines, start=1))


# -- loading --------------------------------------------------------------------------------------


def load_definitions(source: str | os.PathLike[str]) -> LoadedSource:
    """Define the assets of a notebook, a ``.py`` file or a module, without materializing them.

    The definitions go into a fresh registry, which becomes this process's registry once the
    whole source has loaded (a failure leaves the previous one in place).

    Parameters
    ----------
    source
        A ``.ipynb`` path, a ``.py`` path, or a dotted module name importable from the current
        folder.

    Raises
    ------
    SourceError
        The source does not exist, cannot be read, or one of its cells fails to run.
    """
    text = os.fspath(source)
    path = Path(text)
    registry = Registry()
    before = settings().home
    previous = set_registry(registry)
    try:
        if path.suffix == ".ipynb":
            loaded = _load_notebook(path, registry)
        elif path.suffix == ".py":
            loaded = _load_file(path, registry)
        else:
            loaded = _load_module(text, registry)
    except BaseException:
        set_registry(previous)
        raise
    home = settings().home
    return LoadedSource(
        source=text,
        folder=loaded[0],
        registry=registry,
        configured_home=home if home != before else None,
        cells=loaded[1],
    )


def _missing(path: Path) -> SourceError:
    return SourceError(f"No such file: {str(path)!r}. Give the path of a notebook or a .py file.")


@contextlib.contextmanager
def _working_directory(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _load_notebook(path: Path, registry: Registry) -> tuple[Path, tuple[CellPlan, ...]]:
    if not path.is_file():
        raise _missing(path)
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    cells = read_notebook(path)
    folder = path.resolve().parent
    shell = InteractiveShell.instance()
    plans = plan_cells(cells, shell.transform_cell)
    with _working_directory(folder), capture_output():
        shell.run_line_magic("load_ext", "flowstone_nb")  # says so when it already is
        for plan in plans:
            if plan.action is Action.SKIP:
                continue
            with cell_place(f"cell {plan.cell.index} of {path.name}", plan.cell.first_line):
                result = shell.run_cell(plan.code, store_history=False, cell_id=plan.cell.cell_id)
            error = result.error_before_exec or result.error_in_exec
            if error is not None:
                raise SourceError(
                    f"{path.name}: cell {plan.cell.index} ({plan.cell.first_line!r}) failed "
                    f"while loading definitions: {type(error).__name__}: "
                    f"{str(error).rstrip('.')}. Fix the cell, "
                    f"or tag it {SKIP_TAG} if it only explores."
                ) from error
    del registry  # filled by the cells through the process registry
    return folder, tuple(plans)


def _load_file(path: Path, registry: Registry) -> tuple[Path, tuple[CellPlan, ...]]:
    if not path.is_file():
        raise _missing(path)
    folder = path.resolve().parent
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    _import(path.stem, str(path))
    del registry
    return folder, ()


def _load_module(name: str, registry: Registry) -> tuple[Path, tuple[CellPlan, ...]]:
    if not all(part.isidentifier() for part in name.split(".")):
        raise SourceError(
            f"{name!r} is neither a notebook (.ipynb), a Python file (.py) nor a module name."
        )
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    module = _import(name, name)
    del registry
    return Path(getattr(module, "__file__", None) or Path.cwd()).resolve().parent, ()


def _import(name: str, shown: str) -> Any:
    sys.modules.pop(name, None)  # a fresh registry needs the module's definitions run again
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name.split(".", maxsplit=1)[0] or error.name == name:
            raise SourceError(f"Cannot find module {shown!r}: {error}.") from error
        raise SourceError(f"Loading {shown!r} failed: {type(error).__name__}: {error}.") from error
    except FlowstoneError:
        raise
    except Exception as error:
        raise SourceError(f"Loading {shown!r} failed: {type(error).__name__}: {error}.") from error
