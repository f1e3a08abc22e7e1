"""Automatic code versions: a hash of what an asset's code does, not of how it is written.

This module owns :func:`code_version` (for an execute function) and :func:`source_version` (for a
cell body given as text, as the ``%%asset`` magic has it). A version combines

* the *normalised source*: the function's AST with its decorator list and every docstring removed,
  dumped without positions, so comments, blank lines, formatting, docstrings and the decorator's
  options never change it;
* the versions of the user's own helpers it reads, transitively and cycle-safe: plain functions and
  classes whose ``__module__`` is the asset function's module or ``__main__`` (notebook cells).
  Library code (pandas, numpy, the standard library, other packages or modules) is never followed.
  A class counts by its methods (also static/class methods and properties), its simple constants
  and its own base classes; its docstring and other attributes do not;
* the values of the simple constants it reads: ``int``, ``float``, ``str``, ``bool``, ``None`` and
  tuples of those, so ``THRESHOLD = 5 -> 6`` changes the version. Other values (lists, frames,
  modules, other assets) are data, not code, and do not count.

Helpers are found by the global names the code object and its nested code objects (lambdas,
comprehensions, inner functions) load, looked up in ``fn.__globals__``, and in closure cells.
Helpers reached through a module attribute (``utils.clean``) and dunder names (``__name__``) are
not followed. Wrapped helpers (``functools.wraps``, ``lru_cache``) count by the function they wrap.
Other execute callables: a ``functools.partial`` counts by its function plus its simple bound
arguments (a bound data argument counts by its presence only); a bound method by its function; a
class or callable object by its class; a builtin by its qualified name.

The source comes from :mod:`inspect` (IPython cells and the ``%%asset`` magic register theirs in
:mod:`linecache`). It is re-read from disk for code in files, and it must parse and define a
function of the code object's name, else it is not trusted. Where no trusted source exists
(``exec`` of a string, a file edited since import, two lambdas on one line), the *code object* is
hashed instead: bytecode, names, variable names and constants (recursively; frozensets sorted so
hash randomisation cannot leak in), plus the function's simple default values. That fallback is
stable within one interpreter version (bytecode changes between Python versions); so is the
normalised source, as ``ast.dump`` may change between Python versions.

Cost: parsing is done once per code object (and once per cell text) and cached in bounded maps
(oldest entries go first). Each computed version also remembers every lookup it was made from
(global names, closure cells, ``__code__``, class bodies); a repeated call re-checks those by
identity and returns the remembered version when nothing moved, so it costs a few microseconds
and still sees a helper redefined in another cell.

This module must not import pandas, IPython (except to read IPython-only syntax in a cell) or
anything else heavy, must not run user code and must not touch the store.
"""

from __future__ import annotations

import ast
import dis
import functools
import hashlib
import importlib
import inspect
import linecache
import sys
import textwrap
import threading
import tokenize
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import CellType, CodeType, FunctionType, MethodType, ModuleType
from typing import TypeVar

__all__ = ["MAX_CACHED", "code_version", "source_version"]

#: How many code objects (and, separately, cell texts) keep their parsed form; oldest go first.
MAX_CACHED = 4096

_SCHEME = "flowstone-code-1"
_SCALARS = frozenset({int, float, str, bool, type(None)})
_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"})
_UNWRAP_LIMIT = 16
_MISSING = object()
_SOURCE_ERRORS = (OSError, TypeError, SyntaxError, tokenize.TokenError)


@dataclass(frozen=True)
class _Parsed:
    """What never changes for a code object or a cell text: its digest and the names it reads."""

    digest: str
    names: tuple[str, ...]
    from_source: bool


_K = TypeVar("_K")
_V = TypeVar("_V")
_CODE_CACHE: dict[int, tuple[CodeType, _Parsed]] = {}
# The same code compiled again (a re-run cell, a re-imported module) is the same key here, so it
# is not parsed again: where it was defined, its bytecode, constants and names.
_COMPILED_CACHE: dict[tuple[object, ...], _Parsed] = {}
_CELL_CACHE: dict[str, _Parsed] = {}
_VERSION_CACHE: dict[int, tuple[FunctionType, str, _Observed]] = {}
_CELL_VERSION_CACHE: dict[tuple[str, int], tuple[Mapping[str, object], str, _Observed]] = {}
_LOCK = threading.Lock()
# Entries hold the objects whose ids key them, so an id in a cache is never reused by another.


def _hash(*parts: str) -> str:
    joined = "\x1f".join(parts).encode("utf-8", "backslashreplace")
    return hashlib.blake2b(joined, digest_size=16).hexdigest()


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
    with _LOCK:
        cache[key] = value
        while len(cache) > MAX_CACHED:
            del cache[next(iter(cache))]


# --- normalised source ----------------------------------------------------------------------


_STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")


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


def _definition(tree: ast.Module, name: str) -> ast.AST | None:
    """The function or lambda node that compiled to a code object called ``name``."""
    if name == "<lambda>":
        lambdas = [node for node in ast.walk(tree) if isinstance(node, ast.Lambda)]
        return lambdas[0] if len(lambdas) == 1 else None
    match tree.body:
        case [ast.FunctionDef() | ast.AsyncFunctionDef() as node, *_] if node.name == name:
            node.decorator_list = []
            return node
        case _:
            return None


_file_stamps: dict[str, tuple[int, int, int]] = {}


def _refresh_lines(filename: str) -> bool:
    """Re-read ``filename`` into linecache when it changed on disk; False when it is no file."""
    try:
        stat = Path(filename).stat()
    except OSError:
        return False
    # Nanosecond mtime, size and inode: a rewrite shows in at least one of them, so each file is
    # read once per change, not once per function (linecache's own check is coarser).
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    if _file_stamps.get(filename) != stamp:
        linecache.updatecache(filename)
        _file_stamps[filename] = stamp
    return True


def _fresh_source(code: CodeType) -> str | None:
    filename = code.co_filename
    if not _refresh_lines(filename) and not linecache.getlines(filename):
        return None  # exec'd text nobody registered: inspect would scan every module to fail
    try:
        return inspect.getsource(code)
    except _SOURCE_ERRORS:
        return None


_FILE_INDEX: dict[tuple[str, object], dict[tuple[int, str], str] | None] = {}


def _file_digests(filename: str) -> dict[tuple[int, str], str] | None:
    """Digests of every function in a source file or registered cell, by (first line, name).

    The text is parsed once per change (not once per function), so defining a module of many
    assets costs one parse. ``None`` when there is no source or it does not parse.
    """
    is_file = _refresh_lines(filename)
    lines = linecache.getlines(filename)
    if not lines:
        return None
    key = (filename, _file_stamps.get(filename) if is_file else hash(tuple(lines)))
    if key in _FILE_INDEX:
        return _FILE_INDEX[key]
    index: dict[tuple[int, str], str] | None = None
    try:
        tree = ast.parse("".join(lines))
    except SyntaxError:
        pass  # e.g. a cell written in IPython syntax: the per-function path handles it
    else:
        _strip_docstrings(tree)
        index = {}
        for node in _statements(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                # co_firstlineno of a decorated function is its first decorator's line.
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                decorators, node.decorator_list = node.decorator_list, []
                index[(first, node.name)] = "src:" + _hash(ast.dump(node, include_attributes=False))
                node.decorator_list = decorators
    _remember(_FILE_INDEX, key, index)
    return index


def _source_digest(code: CodeType) -> str | None:
    """The normalised-source digest, or ``None`` when the source is missing or does not match."""
    if code.co_name != "<lambda>":
        index = _file_digests(code.co_filename)
        digest = index.get((code.co_firstlineno, code.co_name)) if index else None
        if digest is not None:
            return digest
    source = _fresh_source(code)
    if source is None:
        return None
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None
    node = _definition(tree, code.co_name)
    if node is None:
        return None
    _strip_docstrings(node)
    return "src:" + _hash(ast.dump(node, include_attributes=False))


# --- the code-object fallback ---------------------------------------------------------------


def _const_key(value: object) -> str:
    if isinstance(value, CodeType):
        return _code_key(value)
    if isinstance(value, tuple):
        return "(" + ",".join(_const_key(item) for item in value) + ")"
    if isinstance(value, frozenset):
        return "frozenset(" + ",".join(sorted(_const_key(item) for item in value)) + ")"
    return f"{type(value).__name__}:{value!r}"


def _code_key(code: CodeType) -> str:
    consts = ",".join(_const_key(value) for value in code.co_consts)
    return f"code({code.co_code.hex()};{code.co_names};{code.co_varnames};{consts})"


def _code_digest(code: CodeType) -> str:
    interpreter = f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"
    return "code:" + _hash(interpreter, _code_key(code))


# --- names a code object reads --------------------------------------------------------------


def _code_objects(code: CodeType) -> Iterator[CodeType]:
    yield code
    for value in code.co_consts:
        if isinstance(value, CodeType):
            yield from _code_objects(value)


def _without_dunders(names: Iterable[str]) -> tuple[str, ...]:
    # Module metadata such as __name__ (which every class body reads) is not code.
    return tuple(sorted(n for n in names if not (n.startswith("__") and n.endswith("__"))))


def _global_names(code: CodeType) -> tuple[str, ...]:
    names = {
        str(instruction.argval)
        for nested in _code_objects(code)
        for instruction in dis.get_instructions(nested)
        if instruction.opname in _GLOBAL_LOADS
    }
    return _without_dunders(names)


def _parsed_code(code: CodeType) -> _Parsed:
    entry = _CODE_CACHE.get(id(code))
    if entry is not None:
        return entry[1]
    key = _compiled_key(code)
    parsed = _COMPILED_CACHE.get(key)
    if parsed is None:
        digest = _source_digest(code)
        parsed = _Parsed(digest or _code_digest(code), _global_names(code), digest is not None)
        _remember(_COMPILED_CACHE, key, parsed)
    _remember(_CODE_CACHE, id(code), (code, parsed))
    return parsed


def _compiled_key(code: CodeType) -> tuple[object, ...]:
    """What identifies compiled code: its source text's state, place, bytecode, names, nested too.

    The source's state (a file's stamp, or a registered cell's text) is part of the key, so an
    edit that compiles to the same bytecode (a default value, an annotation) is parsed again.
    """
    filename = code.co_filename
    source_state: object = (
        _file_stamps.get(filename)
        if _refresh_lines(filename)
        else hash(tuple(linecache.getlines(filename)))
    )
    return (
        source_state,
        *(
            (
                nested.co_filename,
                nested.co_firstlineno,
                nested.co_code,
                tuple(repr(c) for c in nested.co_consts if not isinstance(c, CodeType)),
                nested.co_names,
                nested.co_varnames,
                nested.co_freevars,
            )
            for nested in _code_objects(code)
        ),
    )


# --- values a version depends on ------------------------------------------------------------


def _constant_key(value: object) -> str | None:
    """A stable text for a simple constant, or ``None`` when ``value`` is not one."""
    kind = type(value)
    if kind in _SCALARS:
        return f"{kind.__name__}:{value!r}"
    if not isinstance(value, tuple):
        return None
    items = []
    for item in value:
        key = _constant_key(item)
        if key is None:
            return None
        items.append(key)
    return "(" + ",".join(items) + ")"


def _as_function(value: object) -> FunctionType | None:
    """The plain function behind ``value`` (bound methods, ``functools.wraps``), or ``None``."""
    for _ in range(_UNWRAP_LIMIT):
        if isinstance(value, FunctionType):
            return value
        if isinstance(value, MethodType):
            value = value.__func__
            continue
        if isinstance(value, type | ModuleType) or not callable(value):
            return None
        # getattr_static: a global's __getattr__ must never run just to compute a version.
        value = inspect.getattr_static(value, "__wrapped__", None)
    return None


def _class_members(cls: type) -> Iterator[tuple[str, object]]:
    """The members of a class body that are code or simple constants, in a stable order."""
    for name, member in sorted(vars(cls).items()):
        if isinstance(member, staticmethod | classmethod):
            yield name, member.__func__
        elif isinstance(member, property):
            yield from (
                (f"{name}.{part}", getattr(member, part)) for part in ("fget", "fset", "fdel")
            )
        elif isinstance(member, functools.cached_property):
            yield name, member.func
        elif isinstance(member, FunctionType) or not name.startswith("__"):
            yield name, member


def _cell_value(cell: CellType) -> object:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell: the variable was deleted or is not bound yet
        return _MISSING


@dataclass
class _Observed:
    """Everything a computed version was read from, so a later call can check nothing moved.

    Identity (``is``) is compared, never equality: a rebound name, a redefined helper, a new
    constant object or a changed class body all fail the check and the version is recomputed.
    """

    names: list[tuple[Mapping[str, object], str, object]] = field(default_factory=list)
    cells: list[tuple[CellType, object]] = field(default_factory=list)
    functions: list[tuple[FunctionType, CodeType, object, object]] = field(default_factory=list)
    classes: list[tuple[type, tuple[type, ...], list[tuple[str, object]]]] = field(
        default_factory=list
    )
    unwrapped: list[tuple[object, FunctionType | None]] = field(default_factory=list)

    def unchanged(self) -> bool:
        """Whether every recorded lookup still finds the very same object."""
        # Plain loops: this runs on every call with nothing changed, and must stay cheap.
        for space, name, value in self.names:
            if space.get(name, _MISSING) is not value:
                return False
        for fn, code, defaults, kwdefaults in self.functions:
            if fn.__code__ is not code or fn.__defaults__ is not defaults:
                return False
            if fn.__kwdefaults__ is not kwdefaults:
                return False
        for cell, value in self.cells:
            if _cell_value(cell) is not value:
                return False
        for value, function in self.unwrapped:
            if _as_function(value) is not function:
                return False
        return all(_same_class(*entry) for entry in self.classes)


def _same_class(cls: type, bases: tuple[type, ...], members: list[tuple[str, object]]) -> bool:
    body = vars(cls)
    return (
        cls.__bases__ is bases
        and len(body) == len(members)
        and all(body.get(name, _MISSING) is value for name, value in members)
    )


class _Resolver:
    """Computes versions for one call, remembering what it already did (and what is on the way).

    Parameters
    ----------
    modules
        The modules whose functions and classes are the user's own.
    """

    def __init__(self, modules: Iterable[str]) -> None:
        self.modules = frozenset(modules)
        self.done: dict[int, str] = {}
        self.active: set[int] = set()
        self.observed = _Observed()

    def references(self, namespace: Mapping[str, object], names: Iterable[str]) -> list[str]:
        """One part per name that resolves to the user's code or to a simple constant."""
        parts = []
        for name in names:
            value = namespace.get(name, _MISSING)
            self.observed.names.append((namespace, name, value))
            parts += self._parts(name, value)
        return parts

    def _parts(self, name: str, value: object) -> list[str]:
        part = None if value is _MISSING else self.value(value)
        return [] if part is None else [f"{name}={part}"]

    def value(self, value: object) -> str | None:
        """The part a referenced value contributes, or ``None`` when it does not count."""
        constant = _constant_key(value)
        if constant is not None:
            return constant
        if isinstance(value, type):
            return self.of_class(value) if value.__module__ in self.modules else None
        function = _as_function(value)
        if function is not value:
            self.observed.unwrapped.append((value, function))
        if function is None or function.__module__ not in self.modules:
            return None
        return self.of_function(function)

    def _guarded(self, key: object, label: str, compute: Callable[[], list[str]]) -> str:
        ident = id(key)
        if ident in self.done:
            return self.done[ident]
        if ident in self.active:
            return f"cycle:{label}"
        self.active.add(ident)
        version = _hash(*compute())
        self.active.discard(ident)
        self.done[ident] = version
        return version

    def of_function(self, fn: FunctionType) -> str:
        """The version of a plain function: its own digest, helpers, constants and cells."""
        return self._guarded(fn, fn.__qualname__, lambda: self._function_parts(fn))

    def _function_parts(self, fn: FunctionType) -> list[str]:
        code = fn.__code__
        self.observed.functions.append((fn, code, fn.__defaults__, fn.__kwdefaults__))
        parsed = _parsed_code(code)
        parts = [parsed.digest, *self.references(fn.__globals__, parsed.names)]
        for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=True):
            value = _cell_value(cell)
            self.observed.cells.append((cell, value))
            parts += self._parts(name, value)
        if not parsed.from_source:
            # Defaults live on the function, not in the code object the fallback hashed.
            parts.append(repr([_argument_key(v) for v in fn.__defaults__ or ()]))
            parts.append(repr(sorted(_keyword_keys(fn.__kwdefaults__ or {}))))
        return parts

    def of_class(self, cls: type) -> str:
        """The version of a user class: its methods, simple constants and user base classes."""
        return self._guarded(cls, cls.__qualname__, lambda: self._class_parts(cls))

    def _class_parts(self, cls: type) -> list[str]:
        self.observed.classes.append((cls, cls.__bases__, list(vars(cls).items())))
        parts = [f"class:{cls.__qualname__}"]
        for name, member in _class_members(cls):
            parts += self._parts(name, member)
        parts += [self.of_class(base) for base in cls.__bases__ if base.__module__ in self.modules]
        return parts


def _keyword_keys(values: Mapping[str, object]) -> Iterator[str]:
    for name, value in values.items():
        yield f"{name}={_argument_key(value)}"


def _argument_key(value: object) -> str:
    # A bound data argument (a frame, a list) counts by its presence, not by its value.
    return _constant_key(value) or "<data>"


# --- cells given as text --------------------------------------------------------------------


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


def _bound_name(node: ast.AST) -> str | None:
    """The name ``node`` binds in the cell, if it binds one."""
    match node:
        case ast.Name(id=name, ctx=ast.Store() | ast.Del()):
            return name
        case ast.FunctionDef(name=name) | ast.AsyncFunctionDef(name=name) | ast.ClassDef(name=name):
            return name
        case ast.alias(name=name, asname=asname):
            return asname or name.partition(".")[0]
        case ast.arg(arg=name):
            return name
        case (
            ast.ExceptHandler(name=str() as name)
            | ast.MatchAs(name=str() as name)
            | ast.MatchStar(name=str() as name)
            | ast.MatchMapping(rest=str() as name)
        ):
            return name
        case _:
            return None


def _free_names(tree: ast.Module) -> tuple[str, ...]:
    """Names the cell reads but never binds itself: those come from the notebook namespace."""
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loaded.add(node.id)
        else:
            name = _bound_name(node)
            if name is not None:
                bound.add(name)
    return _without_dunders(loaded - bound)


def _parsed_cell(source: str) -> _Parsed:
    parsed = _CELL_CACHE.get(source)
    if parsed is not None:
        return parsed
    tree = _parse_cell(source)
    if tree is None:
        # It cannot run either; still, only real edits should change the version.
        lines = [line.rstrip() for line in source.splitlines() if line.strip()]
        parsed = _Parsed("text:" + _hash(*lines), (), from_source=False)
    else:
        _strip_docstrings(tree)
        digest = "cell:" + _hash(ast.dump(tree, include_attributes=False))
        parsed = _Parsed(digest, _free_names(tree), from_source=True)
    _remember(_CELL_CACHE, source, parsed)
    return parsed


# --- the public functions -------------------------------------------------------------------


def _partial_parts(partial: functools.partial[object]) -> list[str]:
    positional = [_argument_key(value) for value in partial.args]
    keywords = sorted(_keyword_keys(partial.keywords))
    return [f"args={positional!r}", f"keywords={keywords!r}"]


def _root_parts(fn: object) -> list[str]:
    """The parts of an execute function's version, whatever kind of callable it is."""
    if isinstance(fn, functools.partial):
        return [*_root_parts(fn.func), *_partial_parts(fn)]
    function = _as_function(fn)
    if function is not None:
        return [_Resolver({function.__module__, "__main__"}).of_function(function)]
    cls = fn if isinstance(fn, type) else type(fn)
    if isinstance(inspect.getattr_static(cls, "__call__", None), FunctionType) or cls is fn:
        return [_Resolver({cls.__module__, "__main__"}).of_class(cls)]
    # Builtins and other compiled callables: their name is all there is to go by.
    module = getattr(fn, "__module__", None) or type(fn).__module__
    return [f"named:{module}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"]


def code_version(fn: Callable[..., object]) -> str:
    """The automatic code version of an execute function.

    Parameters
    ----------
    fn
        The function (or partial, bound method, callable object) that computes an asset.

    Returns
    -------
    str
        32 hex digits. Equal for cosmetic edits (comments, formatting, docstrings, decorators);
        different when the function, a helper it uses (transitively) or a simple constant it
        reads changes. See the module documentation for the rules and the fallback.
    """
    function = _as_function(fn)
    if function is None:
        return _hash(_SCHEME, *_root_parts(fn))
    entry = _VERSION_CACHE.get(id(function))
    if entry is not None and entry[2].unchanged():
        return entry[1]
    resolver = _Resolver({function.__module__, "__main__"})
    version = _hash(_SCHEME, resolver.of_function(function))
    _remember(_VERSION_CACHE, id(function), (function, version, resolver.observed))
    return version


def source_version(source: str, namespace: Mapping[str, object]) -> str:
    """The automatic code version of a cell body given as text (the ``%%asset`` magic).

    Parameters
    ----------
    source
        The cell body; IPython syntax (magics, ``!`` commands) is allowed.
    namespace
        Where the body's free names are looked up (the notebook's user namespace): the user's own
        helpers there (``__main__`` or the namespace's ``__name__``) and simple constants count.
        Names the body binds itself never come from the namespace.

    Returns
    -------
    str
        32 hex digits, insensitive to comments and formatting.
    """
    key = (source, id(namespace))
    entry = _CELL_VERSION_CACHE.get(key)
    if entry is not None and entry[2].unchanged():
        return entry[1]
    parsed = _parsed_cell(source)
    resolver = _Resolver({"__main__", str(namespace.get("__name__", "__main__"))})
    version = _hash(_SCHEME, parsed.digest, *resolver.references(namespace, parsed.names))
    _remember(_CELL_VERSION_CACHE, key, (namespace, version, resolver.observed))
    return version
