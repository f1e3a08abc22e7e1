"""The normalised code object: a digest of what code does, not of how it is laid out.

:func:`code_digest` hashes a code object's bytecode, constants, names, variable names, argument
counts and flags, and those of its nested code objects (inner functions, lambdas, comprehensions,
class bodies), recursively, and collects the global names they load. Line numbers and column
positions are left out. What the layout leaves in the bytecode is normalised away
(:func:`normalised`): ``NOP`` instructions that only mark a line of their own (``try:``, ``pass``)
go, with jumps, ``EXTENDED_ARG`` prefixes and the exception table re-targeted; docstrings (of the
function, of nested functions and of nested classes) and a class body's first line do not count.
Bytecode differs between Python versions, so the interpreter's version is part of every digest
(:data:`SCHEME`). :func:`text_digest` hashes the other parts a version is made of.

Cost: a code object is read with the byte-level search of :class:`bytes`, hashed with its
constants and names through :mod:`marshal` and blake2b; only code with a docstring, a
line-marking ``NOP`` or a nested class walks its instructions.

This module caches nothing, runs no code, and does not decide which names a version follows.
"""

from __future__ import annotations
import __future__

import bisect
import dis
import hashlib
import marshal
import sys
from collections.abc import Iterable
from types import CodeType
from typing import Any

from flowstone_nb._versioning.self_contained import LITERAL_TYPES

__all__ = [
    "SCHEME",
    "code_digest",
    "exception_entries",
    "exception_table",
    "normalised",
    "text_digest",
]

#: The versioning scheme and interpreter every version is made under: part of every version.
SCHEME = f"flowstone-code-2/{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"
# The same, as blake2b's personalisation (at most 16 bytes) for code digests: it costs nothing,
# where a prefix would take a code digest of a small function past one 128-byte block.
_PERSON = f"fs2{sys.implementation.name[:7]}{sys.version_info[0]}.{sys.version_info[1]}".encode()


def text_digest(*parts: str) -> str:
    """32 hex digits for ``parts`` taken together, in order."""
    joined = "\x1f".join(parts).encode("utf-8", "backslashreplace")
    return hashlib.blake2b(joined, digest_size=16).hexdigest()


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
# Python 3.11 calls ``name.attr(...)`` in two ways: ``LOAD_GLOBAL name; LOAD_METHOD attr`` when
# ``name`` is any global, ``LOAD_GLOBAL (NULL + name); LOAD_ATTR attr`` when the same compilation
# unit imports ``name``. Which one a function gets depends on where its module's imports stand
# (the same cell or not, a notebook or a module), not on what it does, so the first is read as
# the second: the NULL bit set, LOAD_ATTR, and LOAD_METHOD's extra cache units dropped.
_LOAD_GLOBAL = dis.opmap["LOAD_GLOBAL"]
_LOAD_METHOD = dis.opmap.get("LOAD_METHOD")  # 3.11 only: later versions flag LOAD_ATTR instead
_CACHES: Any = getattr(dis, "_inline_cache_entries", None)
_GLOBAL_METHOD = (
    bytes((_LOAD_GLOBAL, *bytes(_CACHES[_LOAD_GLOBAL]), _LOAD_METHOD))
    if _LOAD_METHOD is not None and _CACHES is not None
    else None
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


def exception_entries(table: bytes) -> list[list[int]]:
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


def exception_table(entries: list[list[int]]) -> bytes:
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
        for start, end, target, depth in exception_entries(table)
    ]
    keep = [position for position, opcode in enumerate(ops) if opcode != _NOP]
    return (
        bytes(ops[p] for p in keep),
        bytearray(args[p] for p in keep),
        exception_table(entries),
    )


def _methods_of_globals_as_attributes(ops: bytes, args: bytearray) -> bytes:
    """``ops`` with each ``LOAD_GLOBAL name; LOAD_METHOD attr`` read as the imported-name form.

    ``args`` is changed in place; the cache units LOAD_METHOD has beyond LOAD_ATTR's become
    ``NOP`` units, which :func:`_without_nops` removes with the jumps that pass over them.
    """
    assert _GLOBAL_METHOD is not None
    marked = bytearray(ops)
    attr_caches = _CACHES[dis.opmap["LOAD_ATTR"]]
    method_caches = _CACHES[_LOAD_METHOD]
    start = ops.find(_GLOBAL_METHOD)
    while start >= 0:
        method = start + len(_GLOBAL_METHOD) - 1
        args[start] |= 1  # push the NULL, as the imported-name form does
        marked[method] = dis.opmap["LOAD_ATTR"]
        marked[method + 1 + attr_caches : method + 1 + method_caches] = bytes((_NOP,)) * (
            method_caches - attr_caches
        )
        start = ops.find(_GLOBAL_METHOD, method)
    return bytes(marked)


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


def normalised(code: CodeType) -> tuple[bytes, bytes, tuple[object, ...]]:
    """Bytecode, exception table and constants of ``code`` without docstrings and line marks."""
    raw = code.co_code
    table = code.co_exceptiontable
    consts = code.co_consts
    ops = raw[::2]
    documented = bool(consts) and type(consts[0]) is str and not _loads_const(ops, raw[1::2], 0)
    marked = _NOP_UNIT in ops
    layout = not _CLASS_LAYOUT_NAMES.isdisjoint(code.co_names)
    methods = _GLOBAL_METHOD is not None and _GLOBAL_METHOD in ops
    if not (documented or marked or layout or methods):
        return raw, table, consts  # the usual case: nothing to rewrite
    args = bytearray(raw[1::2])
    if methods:
        ops = _methods_of_globals_as_attributes(ops, args)
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
        return ("code", code_digest(value, names))
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


def code_digest(code: CodeType, names: set[str]) -> str:
    """The digest of what ``code`` does: no line numbers, no positions, no addresses.

    The global names ``code`` and its nested code objects load are added to ``names``.
    """
    raw, table, consts, used = code.co_code, code.co_exceptiontable, code.co_consts, code.co_names
    ops = raw[::2]
    if (
        _NOP_UNIT in ops
        or (_GLOBAL_METHOD is not None and _GLOBAL_METHOD in ops)
        or (consts and type(consts[0]) is str)
        or (used and not _CLASS_LAYOUT_NAMES.isdisjoint(used))
    ):
        raw, table, consts = normalised(code)  # else there is nothing to normalise
    if used:
        _add_global_names(code, names)
    if not LITERAL_TYPES.issuperset(map(type, consts)):
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
