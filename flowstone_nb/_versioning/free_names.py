"""The free names of a cell: what it reads from outside itself.

A cell's statements are run as one scope (a notebook cell at top level, or the body of the
function an ``%%asset`` cell becomes): a name it reads counts when the cell uses it without
binding it, or before binding it (``raw = raw.dropna()``), or when a function, class, lambda or
comprehension it defines reads it as a global. Names it declares ``global`` and assigns are its
own. Dunder names (``__name__``) are module metadata, never the user's. The ``%%asset`` magic
infers dependencies from these names; versioning looks them up to follow helpers and constants.
This module only reads syntax trees: it runs and imports nothing.
"""

from __future__ import annotations

import ast
import symtable
from collections.abc import Iterable, Sequence

__all__ = ["free_names", "without_dunders"]


def free_names(statements: Sequence[ast.stmt]) -> tuple[str, ...]:
    """The names ``statements`` read from outside themselves, sorted, without dunder names.

    Parameters
    ----------
    statements
        The cell's statements, in order (the body of its parsed module or function).

    Raises
    ------
    SyntaxError
        Code no scope can hold (``nonlocal`` without a binding, ``yield`` in a comprehension).
    """
    # Analysed as the body of a function, as the %%asset magic runs a cell.
    scope = ast.parse("def _cell():\n    pass").body[0]
    assert isinstance(scope, ast.FunctionDef)
    scope.body = list(statements) or scope.body
    table = symtable.symtable(ast.unparse(scope), "<cell>", "exec").get_children()[0]
    outside, written_globals = _global_reads(table)
    first_use = _FirstUse()
    for statement in statements:
        first_use.visit(statement)
    return without_dunders((outside | first_use.read_first) - written_globals)


def without_dunders(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` sorted, without dunder names: module metadata (``__name__``) is not the user's."""
    return tuple(sorted(n for n in names if not (n.startswith("__") and n.endswith("__"))))


def _global_reads(table: symtable.SymbolTable) -> tuple[set[str], set[str]]:
    """Global names read anywhere in ``table``'s scopes, and those declared global and written."""
    reads: set[str] = set()
    written: set[str] = set()
    pending = [table]
    while pending:
        scope = pending.pop()
        pending.extend(scope.get_children())
        for symbol in scope.get_symbols():
            if not symbol.is_global():
                continue
            if symbol.is_referenced():
                reads.add(symbol.get_name())
            if symbol.is_declared_global() and symbol.is_assigned():
                written.add(symbol.get_name())
    return reads, written


class _FirstUse(ast.NodeVisitor):
    """Walks the cell's own scope in evaluation order; remembers names read before bound."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.read_first: set[str] = set()

    def _read(self, name: str) -> None:
        if name not in self.bound:
            self.read_first.add(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.bound.add(node.id)
        else:
            self._read(node.id)  # loads, and del (which needs the name bound)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._read(node.target.id)
        self.visit(node.value)
        self.visit(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    # NodeVisitor dispatches on the node's class name: these names are not ours to choose.
    visit_AsyncFor = visit_For  # noqa: N815  # (a notebook cell may await at its top level)

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
    ) -> None:
        # Only the first iterable is evaluated in this scope; a walrus inside binds here.
        self.visit(node.generators[0].iter)
        for inner in ast.walk(node):
            if isinstance(inner, ast.NamedExpr):
                self.visit(inner.target)

    visit_ListComp = visit_SetComp = _comprehension  # noqa: N815
    visit_DictComp = visit_GeneratorExp = _comprehension  # noqa: N815

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for expression in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if expression is not None:
                self.visit(expression)
        self.bound.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(expression)
        self.bound.add(node.name)

    def visit_alias(self, node: ast.alias) -> None:
        self.bound.add(node.asname or node.name.partition(".")[0])

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name is not None:
            self.bound.add(node.name)
        for statement in node.body:
            self.visit(statement)

    def _capture(self, node: ast.MatchAs | ast.MatchStar | ast.MatchMapping) -> None:
        self.generic_visit(node)
        captured = node.rest if isinstance(node, ast.MatchMapping) else node.name
        if captured is not None:
            self.bound.add(captured)

    visit_MatchAs = visit_MatchStar = visit_MatchMapping = _capture  # noqa: N815
