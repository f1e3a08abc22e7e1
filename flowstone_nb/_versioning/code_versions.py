"""Automatic code versions: a hash of what an asset's code does, not of how it is written.

This module owns :func:`code_version` (for an execute function), :func:`code_versions` (for many,
with the common case checked inline) and :func:`source_version` (for a cell body given as text).
A version combines the *normalised code object* of the function (:mod:`.bytecode`: bytecode,
constants, names and nested code, without line numbers, positions, docstrings or line-marking
``NOP`` instructions) with its default values, the versions of the user's own helpers it reads
and the values of the simple constants it reads (:mod:`.resolver`). Comments, blank lines,
indentation, moving the function, its decorator's options and its annotations never change it.

No source is needed, so functions defined in notebook cells, by ``exec`` or in files edited
since they were imported all get the same version for the same code. What the compiler makes
equal is equal: ``2 * 3`` and ``6``, dead ``if False:`` branches. Bytecode differs between Python
versions, so the interpreter's version is part of every version: upgrading Python recomputes each
asset once. Over the standard library, removing every comment and docstring keeps all versions;
reformatting to 40 or 200 columns keeps all but 0.3 %: joining or splitting the lines of one
expression or assignment can change what the compiler optimises (jump threading, swaps), and so
can adding or removing a nested class's docstring (or, from Python 3.14 on, a function's). Such an
edit recomputes the asset once; a stale value never comes out.

Each computed version remembers every lookup it was made from (global names, closure cells,
``__code__``, defaults, class bodies); a repeated call re-checks those by identity and returns the
remembered version when nothing moved, so it costs a few microseconds and still sees a helper
redefined in another cell. A function that reads nothing but its arguments is versioned by its
code object's digest alone. A cell given as text is parsed once per text (:mod:`.cell_source`).
Results are kept in bounded caches (:mod:`.cache`).

This module must not import pandas, IPython (except to read IPython-only syntax in a cell) or
anything else heavy, must not run user code and must not touch the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import CodeType, FunctionType
from typing import Literal, NamedTuple, overload

from flowstone_nb._versioning import bytecode
from flowstone_nb._versioning.bytecode import SCHEME, text_digest
from flowstone_nb._versioning.cache import remember
from flowstone_nb._versioning.cell_source import parsed_cell
from flowstone_nb._versioning.resolver import (
    Checks,
    Resolver,
    as_function,
    callable_parts,
    parsed_code,
    unchanged,
)
from flowstone_nb._versioning.self_contained import self_contained_code

__all__ = ["PendingVersion", "code_version", "code_versions", "source_version"]

# A function that reads no global and has no closure or defaults keeps its code object in place
# of the checks: its version can only change with a new code object, or new defaults.
_VERSION_CACHE: dict[int, tuple[FunctionType, str, Checks | CodeType]] = {}
_CELL_VERSION_CACHE: dict[tuple[str, int], tuple[Mapping[str, object], str, Checks]] = {}
_new_tuple = tuple.__new__  # a named tuple made without its Python-level constructor


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
    function = fn if type(fn) is FunctionType else as_function(fn)
    if function is None:
        return text_digest(SCHEME, *callable_parts(fn))
    key = id(function)
    bare = function.__defaults__ is None and function.__kwdefaults__ is None
    entry = _VERSION_CACHE.get(key)
    if entry is not None:
        checks = entry[2]
        if type(checks) is CodeType:  # (a closure cannot be added to a function later)
            if bare and function.__code__ is checks:
                return entry[1]
        elif unchanged(checks):
            return entry[1]
    if bare and function.__closure__ is None:
        version = _self_contained_version(function)
        if version is not None:
            return version
    resolver = Resolver({function.__module__, "__main__"})
    version = resolver.of_function(function)  # the scheme is part of every code digest
    remember(_VERSION_CACHE, key, (function, version, resolver.observed.checks()))
    return version


def _self_contained_version(function: FunctionType) -> str | None:
    """The version of a function without closure or defaults, when it reads no global either.

    Its digest is its version then, as the full walk finds, and it is remembered. A function
    that reads globals gets ``None``; its digest is kept for the full walk.
    """
    code = function.__code__
    digest, names = parsed_code(code)
    if names:
        return None
    remember(_VERSION_CACHE, id(function), (function, digest, code))
    return digest


class PendingVersion(NamedTuple):
    """The version of a function that reads nothing but its arguments, to be worked out later.

    Such a function (no closure, no defaults, no global or attribute names, only literals among
    its constants) is versioned by its code object alone, and a code object never changes: its
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
        version = bytecode.code_digest(code, set())  # reads no global: its digest is its version
        if (
            function.__code__ is code
            and function.__defaults__ is None
            and function.__kwdefaults__ is None
        ):
            remember(_VERSION_CACHE, id(function), (function, version, code))
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
        if entry is not None and entry[0] is item:  # a function, versioned before
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
    if entry is not None and unchanged(entry[2]):
        return entry[1]
    digest, names = parsed_cell(source)
    resolver = Resolver({"__main__", str(namespace.get("__name__", "__main__"))})
    version = text_digest(SCHEME, digest, *resolver.references(namespace, names))
    remember(_CELL_VERSION_CACHE, key, (namespace, version, resolver.observed.checks()))
    return version
