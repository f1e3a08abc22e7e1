"""Functions that read nothing but their arguments.

Such a function (no closure, no defaults, no global or attribute names, only literals among its
constants) is decided by its code object alone: the asset model notes that code object when an
asset is defined, and versioning digests it alone. This module imports nothing of the package.
"""

from __future__ import annotations

from types import CodeType, FunctionType

__all__ = ["LITERAL_TYPES", "self_contained_code"]

#: The types of literals (what :class:`ast.Constant` holds): each is its value and nothing more,
#: holds no code, and :mod:`marshal` writes it by value, the same in every process.
LITERAL_TYPES = frozenset({type(None), bool, int, float, complex, str, bytes, type(...)})


def self_contained_code(function: object) -> CodeType | None:
    """The code object of a function that reads nothing but its arguments, else ``None``.

    The code object alone then decides what the function does. Only a function made by
    ``def`` or ``lambda`` qualifies (not a partial, method or callable object). Defaults can be
    set and the code object replaced later: whoever relies on a code object noted earlier
    checks both.
    """
    if type(function) is not FunctionType:
        return None
    code = function.__code__
    if (
        code.co_names
        or function.__closure__ is not None
        or function.__defaults__ is not None
        or function.__kwdefaults__ is not None
    ):
        return None
    return code if LITERAL_TYPES.issuperset(map(type, code.co_consts)) else None
