"""What a version depends on besides the code itself: helpers, constants, defaults, cells.

A version combines the digest of the function's code object (:mod:`.bytecode`) with

* the function's default values: simple constants and lists, tuples, sets and dicts of them by
  value, anything else by its type;
* the versions of the user's own helpers it reads, transitively and cycle-safe: functions and
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
Other execute callables (:func:`callable_parts`): a ``functools.partial`` counts by its function
plus its simple bound arguments (a bound data argument counts by its presence only); a bound
method by its function; a class or callable object by its class; a builtin by its qualified name.

A :class:`Resolver` also records every lookup a version was made from (:data:`Checks`), so that a
remembered version can be trusted again after :func:`unchanged` repeats them by identity. The
digest and global names of each code object are cached (:func:`parsed_code`). This module runs
no user code: attributes are read with :func:`inspect.getattr_static`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from types import CellType, CodeType, FunctionType, MethodType, ModuleType
from typing import TypeVar

from flowstone_nb._versioning import bytecode
from flowstone_nb._versioning.bytecode import text_digest
from flowstone_nb._versioning.cache import remember
from flowstone_nb._versioning.free_names import without_dunders

__all__ = [
    "Checks",
    "ParsedCode",
    "Resolver",
    "as_function",
    "callable_parts",
    "parsed_code",
    "unchanged",
]

#: A code object's digest and the global names it (and its nested code) loads.
ParsedCode = tuple[str, tuple[str, ...]]

_SCALARS = frozenset({int, float, str, bool, type(None)})
_UNWRAP_LIMIT = 16
_MISSING = object()
_T = TypeVar("_T", FunctionType, type)  # what a walk versions by identity
_CODE_CACHE: dict[int, tuple[CodeType, ParsedCode]] = {}


def parsed_code(code: CodeType) -> ParsedCode:
    """The digest of ``code`` and the global names it loads, without dunders (cached)."""
    entry = _CODE_CACHE.get(id(code))
    if entry is not None:
        return entry[1]
    names: set[str] = set()
    digest = bytecode.code_digest(code, names)
    parsed = (digest, without_dunders(names) if names else ())
    remember(_CODE_CACHE, id(code), (code, parsed))
    return parsed


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


def as_function(value: object) -> FunctionType | None:
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


# Everything a computed version was read from, so a later call can check nothing moved: the
# names looked up, closure cells, functions (code, defaults), class bodies and wrappers unwrapped.
# Identity (``is``) is compared, never equality: a rebound name, a redefined helper, a new
# constant object or a changed class body all fail the check and the version is recomputed.
# Plain tuples: a cache holds thousands of these, and empty tuples cost the garbage collector
# nothing.
Checks = tuple[
    tuple[tuple[Mapping[str, object], str, object], ...],
    tuple[tuple[CellType, object], ...],
    tuple[tuple[FunctionType, CodeType, object, object], ...],
    tuple[tuple[type, tuple[type, ...], tuple[tuple[str, object], ...]], ...],
    tuple[tuple[object, FunctionType | None], ...],
]


def unchanged(checks: Checks) -> bool:
    """Whether every recorded lookup still finds the very same object."""
    # Plain loops: this runs on every call with nothing changed, and must stay cheap.
    names, cells, functions, classes, unwrapped = checks
    for space, name, value in names:
        if space.get(name, _MISSING) is not value:
            return False
    for fn, code, defaults, kwdefaults in functions:
        if fn.__code__ is not code or fn.__defaults__ is not defaults:
            return False
        if fn.__kwdefaults__ is not kwdefaults:
            return False
    for cell, value in cells:
        if _cell_value(cell) is not value:
            return False
    for value, function in unwrapped:
        if as_function(value) is not function:
            return False
    return not classes or all(_same_class(*entry) for entry in classes)


class _Observed:
    """The lookups a version is being computed from, collected as they happen."""

    __slots__ = ("cells", "classes", "functions", "names", "unwrapped")

    def __init__(self) -> None:
        self.names: list[tuple[Mapping[str, object], str, object]] = []
        self.cells: list[tuple[CellType, object]] = []
        self.functions: list[tuple[FunctionType, CodeType, object, object]] = []
        self.classes: list[tuple[type, tuple[type, ...], tuple[tuple[str, object], ...]]] = []
        self.unwrapped: list[tuple[object, FunctionType | None]] = []

    def checks(self) -> Checks:
        """The lookups to repeat before a remembered version is trusted again."""
        return (
            tuple(self.names),
            tuple(self.cells),
            tuple(self.functions),
            tuple(self.classes),
            tuple(self.unwrapped),
        )


def _same_class(
    cls: type, bases: tuple[type, ...], members: tuple[tuple[str, object], ...]
) -> bool:
    body = vars(cls)
    return (
        cls.__bases__ is bases
        and len(body) == len(members)
        and all(body.get(name, _MISSING) is value for name, value in members)
    )


class Resolver:
    """Computes versions for one call, remembering what it already did (and what is on the way).

    Parameters
    ----------
    modules
        The modules whose functions and classes are the user's own.
    """

    def __init__(self, modules: Collection[str]) -> None:
        self.modules = modules
        # Versions by id; "" while one is being computed (a cycle leads back to it).
        self.done: dict[int, str] = {}
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
        function = as_function(value)
        if function is not value:
            self.observed.unwrapped.append((value, function))
        if function is None or function.__module__ not in self.modules:
            return None
        return self.of_function(function)

    def _once(self, obj: _T, compute: Callable[[_T], str]) -> str:
        """``compute(obj)`` once per walk; an object met again while computed is a cycle."""
        ident = id(obj)
        version = self.done.get(ident)
        if version is None:
            self.done[ident] = ""  # in progress
            version = self.done[ident] = compute(obj)
        return version or f"cycle:{obj.__qualname__}"

    def of_function(self, fn: FunctionType) -> str:
        """The version of a plain function: its own digest, helpers, constants and cells."""
        return self._once(fn, self._function_version)

    def _function_version(self, fn: FunctionType) -> str:
        code, defaults, keyword_defaults = fn.__code__, fn.__defaults__, fn.__kwdefaults__
        self.observed.functions.append((fn, code, defaults, keyword_defaults))
        digest, names = parsed_code(code)
        parts = [digest]
        if names:
            parts += self.references(fn.__globals__, names)
        closure = fn.__closure__
        if closure:
            for name, cell in zip(code.co_freevars, closure, strict=True):
                value = _cell_value(cell)
                self.observed.cells.append((cell, value))
                parts += self._parts(name, value)
        # Defaults live on the function, not in its code object.
        if defaults:
            parts.append(f"defaults={[_default_key(value) for value in defaults]!r}")
        if keyword_defaults:
            keys = sorted(f"{k}={_default_key(v)}" for k, v in keyword_defaults.items())
            parts.append(f"keyword_defaults={keys!r}")
        # Code that reads nothing else is versioned by its digest alone.
        return parts[0] if len(parts) == 1 else text_digest(*parts)

    def of_class(self, cls: type) -> str:
        """The version of a user class: its methods, simple constants and user base classes."""
        return self._once(cls, self._class_version)

    def _class_version(self, cls: type) -> str:
        self.observed.classes.append((cls, cls.__bases__, tuple(vars(cls).items())))
        parts = [f"class:{cls.__qualname__}"]
        for name, member in _class_members(cls):
            parts += self._parts(name, member)
        parts += [self.of_class(base) for base in cls.__bases__ if base.__module__ in self.modules]
        return text_digest(*parts)


def _keyword_keys(values: Mapping[str, object]) -> Iterator[str]:
    for name, value in values.items():
        yield f"{name}={_argument_key(value)}"


def _default_key(value: object) -> str:
    """A default value: literals by value (also flat containers of them), else by its type."""
    key = _constant_key(value)
    if key is not None or not isinstance(value, list | tuple | set | frozenset | dict):
        return key or f"<{type(value).__qualname__}>"
    items = [*value.items()] if isinstance(value, dict) else list(value)
    keys = [_constant_key(item) or f"<{type(item).__qualname__}>" for item in items]
    if isinstance(value, set | frozenset | dict):
        keys.sort()
    return f"{type(value).__qualname__}[{','.join(keys)}]"


def _argument_key(value: object) -> str:
    # A bound data argument (a frame, a list) counts by its presence, not by its value.
    return _constant_key(value) or "<data>"


def _partial_parts(partial: functools.partial[object]) -> list[str]:
    positional = [_argument_key(value) for value in partial.args]
    keywords = sorted(_keyword_keys(partial.keywords))
    return [f"args={positional!r}", f"keywords={keywords!r}"]


def callable_parts(fn: object) -> list[str]:
    """The parts of an execute function's version, whatever kind of callable it is."""
    if isinstance(fn, functools.partial):
        return [*callable_parts(fn.func), *_partial_parts(fn)]
    function = as_function(fn)
    if function is not None:
        return [Resolver({function.__module__, "__main__"}).of_function(function)]
    cls = fn if isinstance(fn, type) else type(fn)
    if isinstance(inspect.getattr_static(cls, "__call__", None), FunctionType) or cls is fn:
        return [Resolver({cls.__module__, "__main__"}).of_class(cls)]
    # Builtins and other compiled callables: their name is all there is to go by.
    module = getattr(fn, "__module__", None) or type(fn).__module__
    return [f"named:{module}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"]
