"""Automatic code versions: a hash of what an asset's code does, not of how it is written.

This module owns :func:`code_version` (for an execute function) and :func:`source_version` (for a
cell body given as text, as the ``%%asset`` magic has it). A version combines

* the *normalised code object* of the function: its bytecode, constants, names, variable names,
  argument counts and flags, and those of its nested code objects (inner functions, lambdas,
  comprehensions, class bodies), recursively. Line numbers and column positions are left out, so
  comments, blank lines, indentation, moving the function and its decorator's options never
  change it. What the layout leaves in the bytecode is normalised away: ``NOP`` instructions
  that only mark a line of their own (``try:``, ``pass``) go, with jumps, ``EXTENDED_ARG``
  prefixes and the exception table re-targeted; docstrings (of the function, of nested functions
  and of nested classes) do not count;
* the function's default values: simple constants and lists, tuples, sets and dicts of them by
  value, anything else by its type;
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

No source is needed, so functions defined in notebook cells, by ``exec`` or in files edited
since they were imported all get the same version for the same code. What the compiler makes
equal is equal: ``2 * 3`` and ``6``, dead ``if False:`` branches; the function's annotations,
which do not change what it computes, do not count either. Bytecode differs between Python
versions, so the interpreter's version is part of every version: upgrading Python recomputes each
asset once. Over the standard library, removing every comment and docstring keeps all versions;
reformatting to 40 or 200 columns keeps all but 0.3 %: joining or splitting the lines of one
expression or assignment can change what the compiler optimises (jump threading, swaps), and so
can adding or removing a nested class's docstring (or, from Python 3.14 on, a function's). Such an
edit recomputes the asset once; a stale value never comes out.

Cost: a code object is read with the byte-level search of :class:`bytes`, hashed with its
constants and names through :mod:`marshal` and blake2b; only code with a docstring, a
line-marking ``NOP`` or a nested class walks its instructions. Results are cached per code object
in bounded maps (the oldest quarter goes when one is full).
Each computed version also remembers every lookup it was made from (global names, closure cells,
``__code__``, defaults, class bodies); a repeated call re-checks those by identity and returns the
remembered version when nothing moved, so it costs a few microseconds and still sees a helper
redefined in another cell. A cell given as text is parsed (:mod:`ast`) once per text.

This module must not import pandas, IPython (except to read IPython-only syntax in a cell) or
anything else heavy, must not run user code and must not touch the store.
"""

from __future__ import annotations
import __future__

import ast
import bisect
import dis
import functools
import hashlib
import importlib
import inspect
import itertools
import marshal
import sys
import textwrap
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from types import CellType, CodeType, FunctionType, MethodType, ModuleType
from typing import Any, Literal, NamedTuple, TypeVar, overload

from flowstone_nb._versioning.self_contained import (
    PLAIN_CONSTANTS,
    self_contained_code,
)

__all__ = ["MAX_CACHED", "PendingVersion", "code_version", "code_versions", "source_version"]

#: How many code objects (and, separately, cell texts) keep their normalised form; oldest go first.
MAX_CACHED = 4096

_SCHEME = f"flowstone-code-2/{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"
# The same, as blake2b's personalisation (at most 16 bytes) for code digests: it costs nothing,
# where a prefix would take a code digest of a small function past one 128-byte block.
_PERSON = f"fs2{sys.implementation.name[:7]}{sys.version_info[0]}.{sys.version_info[1]}".encode()
_SCALARS = frozenset({int, float, str, bool, type(None)})
_UNWRAP_LIMIT = 16
_MISSING = object()


# What never changes for a code object or a cell text: its digest and the names it reads.
_Parsed = tuple[str, tuple[str, ...]]


_K = TypeVar("_K")
_V = TypeVar("_V")
_T = TypeVar("_T", FunctionType, type)  # what a walk versions by identity
_CODE_CACHE: dict[int, tuple[CodeType, _Parsed]] = {}
_CELL_CACHE: dict[str, _Parsed] = {}
# A function that reads no global and has no closure or defaults keeps its code object in place
# of the checks: its version can only change with a new code object, or new defaults.
_VERSION_CACHE: dict[int, tuple[FunctionType, str, _Checks | CodeType]] = {}
_CELL_VERSION_CACHE: dict[tuple[str, int], tuple[Mapping[str, object], str, _Checks]] = {}
_LOCK = threading.Lock()
_new_tuple = tuple.__new__  # a named tuple made without its Python-level constructor
# Entries hold the objects whose ids key them, so an id in a cache is never reused by another.


def _hash(*parts: str) -> str:
    joined = "\x1f".join(parts).encode("utf-8", "backslashreplace")
    return hashlib.blake2b(joined, digest_size=16).hexdigest()


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
    cache[key] = value  # one assignment: atomic, no lock needed
    if len(cache) > MAX_CACHED:
        with _LOCK:  # the oldest quarter goes at once: one scan, not one per entry
            excess = max(len(cache) - MAX_CACHED, 0)  # 0: another thread evicted meanwhile
            for old in list(itertools.islice(cache, excess + MAX_CACHED // 4)):
                cache.pop(old, None)


# --- the normalised code object -------------------------------------------------------------
#
# Bytecode is a sequence of two-byte code units (opcode, argument). ``co_code`` shows inline
# cache units as zeros, so ``raw[::2]`` holds exactly the opcodes and ``raw[1::2]`` the arguments;
# an argument above 255 is spread over ``EXTENDED_ARG`` units just before its instruction.
# Positions below count code units, as jumps and the exception table do.

_NOP = dis.opmap["NOP"]
_NOP_UNIT = bytes((_NOP,))
_CACHE_UNIT = bytes((dis.opmap["CACHE"],))
_MAX_CACHE_UNITS = 32  # more than any instruction has (LOAD_ATTR: 9 in 3.12)
_EXTENDED_ARG = dis.EXTENDED_ARG
_LOAD_CONST = dis.opmap["LOAD_CONST"]
_STORE_NAME = dis.opmap["STORE_NAME"]
_CONST_OPS = tuple(dis.hasconst)
_JUMP_OPS = tuple(dis.hasjrel)  # Python 3.11 and later have relative jumps only
_BACKWARD_OPS = frozenset(op for op in dis.hasjrel if "BACKWARD" in dis.opname[op])
# LOAD_GLOBAL's argument is the name's index shifted left by one (the low bit pushes a NULL).
_GLOBAL_LOADS = tuple(
    (dis.opmap[name], shift)
    for name, shift in (("LOAD_GLOBAL", 1), ("LOAD_NAME", 0), ("LOAD_FROM_DICT_OR_GLOBALS", 0))
    if name in dis.opmap
)
# ``from __future__`` imports show in every code object's flags; what they change shows in the code.
_FLAGS = ~sum(getattr(__future__, name).compiler_flag for name in __future__.all_feature_names)
# What a class body stores that is layout, not code: its docstring and (3.13+) its first line.
_CLASS_LAYOUT_NAMES = frozenset({"__doc__", "__firstlineno__"})


def _positions(ops: bytes, opcodes: Iterable[int]) -> list[int]:
    """The positions of every instruction whose opcode is one of ``opcodes``, in order."""
    found: list[int] = []
    for opcode in opcodes:
        marker = bytes((opcode,))
        position = ops.find(marker)
        while position >= 0:
            found.append(position)
            position = ops.find(marker, position + 1)
    found.sort()
    return found


def _argument(ops: bytes, args: bytes | bytearray, position: int) -> int:
    """The full argument of the instruction at ``position``, ``EXTENDED_ARG`` units included."""
    value = args[position]
    shift = 8
    position -= 1
    while position >= 0 and ops[position] == _EXTENDED_ARG:
        value |= args[position] << shift
        shift += 8
        position -= 1
    return value


def _set_argument(ops: bytes, args: bytearray, position: int, value: int) -> None:
    """Write ``value`` (never larger than the argument there) back into the same code units."""
    args[position] = value & 0xFF
    position -= 1
    while position >= 0 and ops[position] == _EXTENDED_ARG:
        value >>= 8
        args[position] = value & 0xFF
        position -= 1


def _loads_const(ops: bytes, args: bytes, index: int) -> bool:
    """Whether any instruction reads constant ``index``."""
    return any(_argument(ops, args, p) == index for p in _positions(ops, _CONST_OPS))


def _exception_entries(table: bytes) -> list[list[int]]:
    """The exception table as ``[start, end, target, depth_and_lasti]`` entries, in code units."""
    values: list[int] = []
    position = 0
    while position < len(table):
        # Varints of 6-bit chunks, most significant first; bit 6 says another chunk follows
        # (bit 7 only marks an entry's first byte).
        value = table[position] & 63
        while table[position] & 64:
            position += 1
            value = (value << 6) | (table[position] & 63)
        values.append(value)
        position += 1
    entries = [values[i : i + 4] for i in range(0, len(values), 4)]
    for entry in entries:
        entry[1] += entry[0]  # the table stores a size; an end is easier to shift
    return entries


def _varint(value: int, marker: int) -> bytes:
    chunks = [value & 63]
    value >>= 6
    while value:
        chunks.append(value & 63 | 64)
        value >>= 6
    chunks.reverse()
    chunks[0] |= marker
    return bytes(chunks)


def _exception_table(entries: list[list[int]]) -> bytes:
    """Encode entries the way the compiler does."""
    return b"".join(
        _varint(start, 128) + _varint(end - start, 0) + _varint(target, 0) + _varint(depth, 0)
        for start, end, target, depth in entries
    )


def _without_nops(ops: bytes, args: bytearray, table: bytes) -> tuple[bytes, bytearray, bytes]:
    """The code as the compiler emits it where no ``NOP`` marks a line of its own.

    Every jump and exception-table offset is shortened by the ``NOP`` units it passes over.
    (A ``NOP`` shares its neighbours' exception handler, so no table entry ends up empty or
    next to one for the same handler: checked over the standard library.)
    """
    removed = _positions(ops, (_NOP,))

    def before(position: int) -> int:
        return position - bisect.bisect_left(removed, position)

    for position in _positions(ops, _JUMP_OPS):
        distance = _argument(ops, args, position)
        # A jump counts from after its own inline cache units (zeros in co_code).
        caches = ops[position + 1 : position + 1 + _MAX_CACHE_UNITS]
        end = position + 1 + len(caches) - len(caches.lstrip(_CACHE_UNIT))
        target = end - distance if ops[position] in _BACKWARD_OPS else end + distance
        _set_argument(ops, args, position, abs(before(target) - before(end)))
    entries = [
        [before(start), before(end), before(target), depth]
        for start, end, target, depth in _exception_entries(table)
    ]
    keep = [position for position, opcode in enumerate(ops) if opcode != _NOP]
    return (
        bytes(ops[p] for p in keep),
        bytearray(args[p] for p in keep),
        _exception_table(entries),
    )


def _without_docstring(
    ops: bytes, args: bytearray, consts: tuple[object, ...]
) -> tuple[object, ...]:
    """Constants as the compiler makes them without the docstring; ``args`` renumbered.

    ``None`` takes the docstring's place (first); the function's own ``None``, if any, merges
    into it and the constants after it move up; unused constants at the end go, as the compiler
    drops them (3.11 at the end only, later versions anywhere).
    """
    consts = (None, *consts[1:])
    again = next((i for i, value in enumerate(consts) if i and value is None), 0)
    positions = _positions(ops, _CONST_OPS)
    if again:
        consts = consts[:again] + consts[again + 1 :]
        for position in positions:
            index = _argument(ops, args, position)
            if index >= again:
                _set_argument(ops, args, position, 0 if index == again else index - 1)
    used = max((_argument(ops, args, position) for position in positions), default=0)
    return consts[: used + 1]


def _empty_prefixes_marked(ops: bytes, args: bytes | bytearray) -> bytes:
    """``ops`` with every leading ``EXTENDED_ARG 0`` as a ``NOP``: the compiler never emits one."""
    marked = bytearray(ops)
    for position in _positions(ops, (_EXTENDED_ARG,)):
        if not args[position] and ops[position - 1] != _EXTENDED_ARG:
            marked[position] = _NOP
    return bytes(marked)


def _layout_consts(code: CodeType, ops: bytes, args: bytes | bytearray) -> set[int]:
    """Constants a class body stores as its docstring or first line number."""
    names = code.co_names
    found = set()
    for position in _positions(ops, (_STORE_NAME,)):
        stored = names[_argument(ops, args, position)]
        if stored in _CLASS_LAYOUT_NAMES and position and ops[position - 1] == _LOAD_CONST:
            found.add(_argument(ops, args, position - 1))
    return found


def _normalised(code: CodeType) -> tuple[bytes, bytes, tuple[object, ...]]:
    """Bytecode, exception table and constants of ``code`` without docstrings and line marks."""
    raw = code.co_code
    table = code.co_exceptiontable
    consts = code.co_consts
    ops = raw[::2]
    documented = bool(consts) and type(consts[0]) is str and not _loads_const(ops, raw[1::2], 0)
    marked = _NOP_UNIT in ops
    layout = not _CLASS_LAYOUT_NAMES.isdisjoint(code.co_names)
    if not (documented or marked or layout):
        return raw, table, consts  # the usual case: nothing to rewrite
    args = bytearray(raw[1::2])
    if layout:
        hidden = _layout_consts(code, ops, args)
        consts = tuple(... if i in hidden else value for i, value in enumerate(consts))
    if documented:
        consts = _without_docstring(ops, args, consts)
        ops = _empty_prefixes_marked(ops, args)
    # Renumbering can leave a prefix with nothing to carry, removing units can shorten a jump
    # below 256: the compiler sizes every argument to fit, so repeat until nothing is left.
    while _NOP_UNIT in ops:
        ops, args, table = _without_nops(ops, args, table)
        ops = _empty_prefixes_marked(ops, args)
    units = bytearray(2 * len(ops))
    units[0::2] = ops
    units[1::2] = args
    return bytes(units), table, consts


def _const_part(value: object, names: set[str]) -> object:
    """A constant as something :mod:`marshal` writes the same in every process."""
    if isinstance(value, CodeType):
        return ("code", _digest(value, names))
    if isinstance(value, tuple):
        return ("tuple", tuple(_const_part(item, names) for item in value))
    if isinstance(value, frozenset):
        # Sorted: the iteration order of a set of strings changes with hash randomisation.
        return ("frozenset", tuple(sorted(repr(_const_part(item, names)) for item in value)))
    return value  # None, numbers, strings, bytes, Ellipsis


def _add_global_names(code: CodeType, names: set[str]) -> None:
    """Add the global (in a class body: outer) names ``code`` loads to ``names``."""
    raw = code.co_code
    ops, args = raw[::2], raw[1::2]
    for opcode, shift in _GLOBAL_LOADS:
        for position in _positions(ops, (opcode,)):
            names.add(code.co_names[_argument(ops, args, position) >> shift])


def _digest(code: CodeType, names: set[str]) -> str:
    """The digest of what ``code`` does: no line numbers, no positions, no addresses.

    The global names ``code`` and its nested code objects load are added to ``names``.
    """
    raw, table, consts, used = code.co_code, code.co_exceptiontable, code.co_consts, code.co_names
    if (
        _NOP_UNIT in raw[::2]
        or (consts and type(consts[0]) is str)
        or (used and not _CLASS_LAYOUT_NAMES.isdisjoint(used))
    ):
        raw, table, consts = _normalised(code)  # else there is nothing to normalise
    if used:
        _add_global_names(code, names)
    if not PLAIN_CONSTANTS.issuperset(map(type, consts)):
        consts = tuple(_const_part(value, names) for value in consts)
    fields: tuple[Any, ...] = (
        code.co_name,
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags & _FLAGS,
        raw,
        table,
        code.co_names,
        code.co_varnames,
        code.co_cellvars,
        code.co_freevars,
        consts,
    )
    # marshal format 0 writes no references and no interning marks: the same fields give the
    # same bytes in every process.
    return hashlib.blake2b(marshal.dumps(fields, 0), digest_size=16, person=_PERSON).hexdigest()


def _without_dunders(names: Iterable[str]) -> tuple[str, ...]:
    # Module metadata such as __name__ (which every class body reads) is not code.
    return tuple(sorted(n for n in names if not (n.startswith("__") and n.endswith("__"))))


def _parsed_code(code: CodeType) -> _Parsed:
    entry = _CODE_CACHE.get(id(code))
    if entry is not None:
        return entry[1]
    names: set[str] = set()
    digest = _digest(code, names)
    parsed = (digest, _without_dunders(names) if names else ())
    _remember(_CODE_CACHE, id(code), (code, parsed))
    return parsed


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


# Everything a computed version was read from, so a later call can check nothing moved: the
# names looked up, closure cells, functions (code, defaults), class bodies and wrappers unwrapped.
# Identity (``is``) is compared, never equality: a rebound name, a redefined helper, a new
# constant object or a changed class body all fail the check and the version is recomputed.
# Plain tuples: a cache holds thousands of these, and empty tuples cost the garbage collector
# nothing.
_Checks = tuple[
    tuple[tuple[Mapping[str, object], str, object], ...],
    tuple[tuple[CellType, object], ...],
    tuple[tuple[FunctionType, CodeType, object, object], ...],
    tuple[tuple[type, tuple[type, ...], tuple[tuple[str, object], ...]], ...],
    tuple[tuple[object, FunctionType | None], ...],
]


def _unchanged(checks: _Checks) -> bool:
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
        if _as_function(value) is not function:
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

    def checks(self) -> _Checks:
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


class _Resolver:
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
        function = _as_function(value)
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
        digest, names = _parsed_code(code)
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
        return parts[0] if len(parts) == 1 else _hash(*parts)

    def of_class(self, cls: type) -> str:
        """The version of a user class: its methods, simple constants and user base classes."""
        return self._once(cls, self._class_version)

    def _class_version(self, cls: type) -> str:
        self.observed.classes.append((cls, cls.__bases__, tuple(vars(cls).items())))
        parts = [f"class:{cls.__qualname__}"]
        for name, member in _class_members(cls):
            parts += self._parts(name, member)
        parts += [self.of_class(base) for base in cls.__bases__ if base.__module__ in self.modules]
        return _hash(*parts)


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


# --- cells given as text --------------------------------------------------------------------

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
        parsed = ("text:" + _hash(*lines), ())
    else:
        _strip_docstrings(tree)
        digest = "cell:" + _hash(ast.dump(tree, include_attributes=False))
        parsed = (digest, _free_names(tree))
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
        32 hex digits. Equal for cosmetic edits (comments, formatting, docstrings, decorators,
        annotations); different when the function, its defaults, a helper it uses
        (transitively) or a simple constant it reads changes. See the module documentation for
        the rules and their limits.
    """
    function = fn if type(fn) is FunctionType else _as_function(fn)
    if function is None:
        return _hash(_SCHEME, *_root_parts(fn))
    key = id(function)
    bare = function.__defaults__ is None and function.__kwdefaults__ is None
    entry = _VERSION_CACHE.get(key)
    if entry is not None:
        checks = entry[2]
        if type(checks) is CodeType:  # (a closure cannot be added to a function later)
            if bare and function.__code__ is checks:
                return entry[1]
        elif _unchanged(checks):
            return entry[1]
    if bare and function.__closure__ is None:
        version = _self_contained_version(function)
        if version is not None:
            return version
    resolver = _Resolver({function.__module__, "__main__"})
    version = resolver.of_function(function)  # the scheme is part of every code digest
    _remember(_VERSION_CACHE, key, (function, version, resolver.observed.checks()))
    return version


def _self_contained_version(function: FunctionType) -> str | None:
    """The version of a function without closure or defaults, when it reads no global either.

    Its digest is its version then, as the full walk finds, and it is remembered. A function
    that reads globals gets ``None``; its digest is kept for the full walk.
    """
    code = function.__code__
    cached = _CODE_CACHE.get(id(code))
    if cached is None:  # digested here, and kept for the full walk when it reads globals
        found: set[str] = set()
        digest = _digest(code, found)
        names = _without_dunders(found) if found else ()
        if names:
            _remember(_CODE_CACHE, id(code), (code, (digest, names)))
    else:
        digest, names = cached[1]
    if names:
        return None
    _remember(_VERSION_CACHE, id(function), (function, digest, code))
    return digest


class PendingVersion(NamedTuple):
    """The version of a function that reads nothing but its arguments, to be worked out later.

    Such a function (no closure, no defaults, no global or attribute names, only plain
    constants) is versioned by its code object alone, and a code object never changes: its
    digest can be taken at any time, on any thread, and is the version of the code that ran.
    """

    function: FunctionType
    code: CodeType

    def resolve(self) -> str:
        """The version (remembered for the function while it still has this code)."""
        function, code = self
        entry = _VERSION_CACHE.get(id(function))
        if entry is not None and entry[0] is function and entry[2] is code:
            return entry[1]  # this code was digested for the function before
        version = _digest(code, set())  # reads no global: its digest is its version
        if (
            function.__code__ is code
            and function.__defaults__ is None
            and function.__kwdefaults__ is None
        ):
            _remember(_VERSION_CACHE, id(function), (function, version, code))
        return version


@overload
def code_versions(
    items: Iterable[Callable[..., object] | str], *, later: Literal[False] = False
) -> list[str]: ...


@overload
def code_versions(
    items: Iterable[Callable[..., object] | str], *, later: bool
) -> list[str | PendingVersion]: ...


def code_versions(
    items: Iterable[Callable[..., object] | str], *, later: bool = False
) -> list[str] | list[str | PendingVersion]:
    """:func:`code_version` of each function; a string (a version given explicitly) as it is.

    The same results as one call per function, with the common case checked inline: a function
    without closure, defaults or global reads whose code object is the one it was versioned
    from. With ``later``, a function that reads nothing but its arguments and has no version
    yet gets a :class:`PendingVersion` instead, for whoever needs the version to work it out.
    """
    cache = _VERSION_CACHE
    versions: list[str | PendingVersion] = []
    for item in items:
        if isinstance(item, str):
            versions.append(item)
            continue
        entry = cache.get(id(item))
        if entry is not None and entry[0] is item:  # a plain function, versioned before
            function, version, checks = entry
            if (
                checks is function.__code__
                and function.__defaults__ is None
                and function.__kwdefaults__ is None
            ):
                versions.append(version)
                continue
        if later and (code := self_contained_code(item)) is not None:
            versions.append(_new_tuple(PendingVersion, (item, code)))
        else:
            versions.append(code_version(item))
    return versions


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
    if entry is not None and _unchanged(entry[2]):
        return entry[1]
    digest, names = _parsed_cell(source)
    resolver = _Resolver({"__main__", str(namespace.get("__name__", "__main__"))})
    version = _hash(_SCHEME, digest, *resolver.references(namespace, names))
    _remember(_CELL_VERSION_CACHE, key, (namespace, version, resolver.observed.checks()))
    return version
