"""Turning a ``%%asset`` cell body into a real Python function.

The body becomes ``def NAME(context, <upstream...>):`` whose value is the cell's last expression.
The generated source is registered in :mod:`linecache` under a file name of its own
(``<flowstone-cell NAME-N>``), so tracebacks show the cell's lines and :func:`inspect.getsource`
works (automatic code versions rely on it). Line 1 of that source is the ``def`` line, standing in
for the ``%%asset`` line, so line numbers are the notebook cell's own. The function's globals are
the namespace given (the notebook's user namespace). The names a cell reads from outside itself,
from which the magic infers dependencies, are those :mod:`flowstone_nb._versioning.free_names`
finds. This module must not look at the registry, run the function or import IPython.
"""

from __future__ import annotations

import ast
import copy
import io
import itertools
import linecache
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import CodeType, FunctionType
from typing import Any

from flowstone_nb._core.errors import AssetDefinitionError
from flowstone_nb._define.asset import CONTEXT
from flowstone_nb._versioning.free_names import free_names

__all__ = ["CELL_FILE_PREFIX", "Cell", "function_source", "parse_cell"]

#: How the file names of cell functions begin (``<flowstone-cell NAME-N>``).
CELL_FILE_PREFIX = "<flowstone-cell "
_INDENT = "    "
_counter = itertools.count(1)


@dataclass(frozen=True)
class Cell:
    """A parsed ``%%asset`` cell body.

    Attributes
    ----------
    name
        The asset's (and the function's) name.
    body
        The cell body as typed.
    filename
        The unique file name its source is registered under in :mod:`linecache`.
    reads
        The names the body reads from outside itself (sorted): names it uses without binding
        them, and names it uses before binding them (``raw = raw.dropna()``).
    """

    name: str
    body: str
    filename: str
    reads: tuple[str, ...]
    _tree: ast.Module = field(repr=False, compare=False)
    _indented: frozenset[int] = field(repr=False, compare=False)

    def function(
        self, parameters: Sequence[str], namespace: dict[str, Any], *, context: bool = True
    ) -> FunctionType:
        """Compile the body into ``def NAME(context, *parameters)`` with ``namespace`` as globals.

        Parameters
        ----------
        parameters
            The upstream assets' names, in order (for a ``%%check`` cell: the asset's).
        namespace
            The function's globals (the notebook's user namespace).
        context
            Whether ``context`` comes first (an asset's always does; a check's, when it reads
            it).

        Raises
        ------
        AssetDefinitionError
            The body has no value: it neither ends with an expression nor returns one.
        """
        arguments = [CONTEXT, *parameters] if context else list(parameters)
        header = f"def {self.name}({', '.join(arguments)}):"
        _register_source(self.filename, header, self.body, self._indented)
        definition = _function_node(self.name, arguments, self._tree, self._indented)
        if not _has_value(definition):
            raise AssetDefinitionError(
                f"The %%asset cell {self.name!r} has no value: end it with an expression "
                f"whose value is the asset (e.g. a DataFrame's name on the last line), or return "
                "one.",
                asset=self.name,
            )
        module = compile(ast.Module([definition], []), self.filename, "exec", dont_inherit=True)
        code = next(c for c in module.co_consts if isinstance(c, CodeType))
        # The globals must be the very namespace (not a copy): helpers redefined later resolve.
        return FunctionType(code, namespace, self.name)


def parse_cell(name: str, body: str) -> Cell:
    """Parse a ``%%asset`` cell body.

    Parameters
    ----------
    name
        The asset's name (a Python identifier).
    body
        The cell body.

    Raises
    ------
    SyntaxError
        The body is not valid Python (in a function); the error names the cell's file and line.
    """
    filename = f"{CELL_FILE_PREFIX}{name}-{next(_counter)}>"
    indented = _indented_rows(body)
    _register_source(filename, f"def {name}():", body, indented)
    try:
        tree = ast.parse(body, filename)
    except SyntaxError as error:
        # The body's lines are counted from the def line, which stands for the %%asset line.
        error.lineno = _next_line(error.lineno)
        error.end_lineno = _next_line(error.end_lineno)
        raise
    probe = _function_node(name, [], tree, indented)
    # Errors only the compiler finds (nonlocal, return outside ...), already at the right lines.
    compile(ast.Module([probe], []), filename, "exec", dont_inherit=True)
    return Cell(name, body, filename, free_names(probe.body), tree, indented)


def _next_line(number: int | None) -> int | None:
    return None if number is None else number + 1


# -- the generated source -------------------------------------------------------------------------


def _indented_rows(body: str) -> frozenset[int]:
    """The body's rows (1-based) that get indented: all but those inside a multi-line token."""
    rows = body.splitlines()
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(body).readline):
            inside.update(range(token.start[0] + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass  # invalid code: ast.parse reports it; any indentation will do for the message
    return frozenset(
        number for number, text in enumerate(rows, start=1) if number not in inside and text.strip()
    )


def _source_lines(header: str, body: str, indented: frozenset[int]) -> list[str]:
    lines = [f"{header}\n"]
    for number, text in enumerate(body.splitlines(), start=1):
        lines.append(f"{_INDENT if number in indented else ''}{text}\n")
    return lines


def _register_source(filename: str, header: str, body: str, indented: frozenset[int]) -> None:
    lines = _source_lines(header, body, indented)
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)


def function_source(name: str, arguments: Sequence[str], body: str) -> str:
    """The cell as module source: ``def name(arguments):``, the body, its last value returned.

    It compiles to the code :meth:`Cell.function` makes of the same body (comments and layout
    kept), so a function written out this way has the cell's code version.

    Raises
    ------
    SyntaxError
        The body is not valid Python.
    """
    tree = ast.parse(body)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        rows = body.splitlines()
        row = rows[last.lineno - 1]
        rows[last.lineno - 1] = f"{row[: last.col_offset]}return {row[last.col_offset :]}"
        body = "\n".join(rows)
    header = f"def {name}({', '.join(arguments)}):"
    return "".join(_source_lines(header, body, _indented_rows(body)))


def _function_node(
    name: str, arguments: Sequence[str], tree: ast.Module, indented: frozenset[int]
) -> ast.FunctionDef:
    """``def name(arguments): <body>`` with positions that match the registered source."""
    definition = ast.parse(f"def {name}({', '.join(arguments)}):\n    pass").body[0]
    assert isinstance(definition, ast.FunctionDef)
    statements = copy.deepcopy(tree.body)
    for node in _positioned(statements):
        if node.lineno in indented:
            node.col_offset += len(_INDENT)
        if node.end_lineno in indented:
            node.end_col_offset += len(_INDENT)
    if statements and isinstance(statements[-1], ast.Expr):
        statements[-1] = ast.copy_location(ast.Return(statements[-1].value), statements[-1])
    definition.body = statements or definition.body  # an empty cell keeps the parsed `pass`
    for statement in statements:
        ast.increment_lineno(statement, 1)
    return definition


def _positioned(statements: Sequence[ast.stmt]) -> Iterator[Any]:
    for statement in statements:
        for node in ast.walk(statement):
            if hasattr(node, "lineno") and hasattr(node, "col_offset"):
                yield node


def _has_value(definition: ast.FunctionDef) -> bool:
    """Whether the function ends with a return or returns somewhere in its own scope."""
    return any(isinstance(node, ast.Return) for node in _own_scope(definition.body))


def _own_scope(statements: Sequence[ast.AST]) -> Iterator[ast.AST]:
    """Every node in the function's own scope (nested functions and classes excluded)."""
    pending = list(statements)
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))
