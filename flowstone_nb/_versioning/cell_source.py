"""Cells given as text: what never changes for a cell's source, worked out once per text.

:func:`parsed_cell` turns a cell body (as the ``%%asset`` magic or a notebook has it; IPython
syntax such as magics and ``!`` commands allowed) into its digest and the names it reads from
outside itself (:func:`~flowstone_nb._versioning.free_names.free_names`). The digest is that of
its syntax tree without positions and without the docstrings of what it defines, so comments,
formatting and docstrings never change it. A cell that cannot be parsed is digested by its
non-blank lines. Results are cached per text.

This module imports IPython only to translate a cell that plain Python cannot parse (by name, so
importing it never loads IPython); it runs no user code.
"""

from __future__ import annotations

import ast
import importlib
import textwrap
from collections.abc import Iterator

from flowstone_nb._versioning.bytecode import text_digest
from flowstone_nb._versioning.cache import remember
from flowstone_nb._versioning.free_names import free_names

__all__ = ["ParsedCell", "parsed_cell"]

#: A cell's digest and the names it reads from outside itself.
ParsedCell = tuple[str, tuple[str, ...]]

_CELL_CACHE: dict[str, ParsedCell] = {}
_STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")


def parsed_cell(source: str) -> ParsedCell:
    """The digest of a cell body and the names it reads from outside itself.

    Parameters
    ----------
    source
        The cell body; IPython syntax is allowed.

    Returns
    -------
    tuple
        ``(digest, names)``: the digest starts with ``"cell:"`` (parsed) or ``"text:"`` (code
        that cannot be parsed, which reads no names); the names are sorted.
    """
    parsed = _CELL_CACHE.get(source)
    if parsed is not None:
        return parsed
    parsed = _parse(source)
    remember(_CELL_CACHE, source, parsed)
    return parsed


def _parse(source: str) -> ParsedCell:
    tree = _parse_cell(source)
    if tree is not None:
        _strip_docstrings(tree)
        try:
            names = free_names(tree.body)
        except SyntaxError:
            pass  # parsed, but no scope can hold it (a top-level nonlocal ...)
        else:
            return "cell:" + text_digest(ast.dump(tree, include_attributes=False)), names
    # It cannot run either; still, only real edits should change the version.
    lines = [line.rstrip() for line in source.splitlines() if line.strip()]
    return "text:" + text_digest(*lines), ()


def _parse_cell(source: str) -> ast.Module | None:
    text = textwrap.dedent(source)
    try:
        return ast.parse(text)
    except SyntaxError:
        pass
    # Only a cell with IPython syntax (magics, shell escapes) gets here: translate it to Python.
    # Imported here, by name, so importing this module never loads IPython.
    transformers = importlib.import_module("IPython.core.inputtransformer2")
    python: str = transformers.TransformerManager().transform_cell(text)
    try:
        return ast.parse(python)
    except SyntaxError:
        return None


def _statements(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node that sits in a statement list: definitions and docstrings live only there."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for name in _STATEMENT_LISTS:
            children = getattr(node, name, ())
            if isinstance(children, list):  # a lambda's body is one expression, not a list
                stack.extend(child for child in children if isinstance(child, ast.AST))


def _strip_docstrings(tree: ast.AST) -> None:
    for node in _statements(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            match node.body:
                case [ast.Expr(value=ast.Constant(value=str())), *rest]:
                    node.body = rest or [ast.Pass()]
                case _:
                    pass
