"""Functions that read nothing but their arguments.

Such a function (no closure, no defaults, no global or attribute names, only plain constants) is
decided by its code object alone: the asset model notes that code object when an asset is
defined, and versioning digests it alone. This module imports nothing of the package.
"""

from __future__ import annotations

from types import CodeType, FunctionType

__all__ = ["PLAIN_CONSTANTS", "self_contained_code"]

#: Constants that are their value and nothing more (marshal writes them by value, the same in
#: every process).
PLAIN_CONSTANTS = frozenset({type(None), bool, int, float, complex, str, bytes, type(...)})


def self_contained_code(function: object) -> CodeType | None:
    """The code object of a plain function that reads nothing but its arguments, else ``None``.

    The code object alone then decides what the function does. Defaults can be set and the
    code object replaced later: whoever relies on a code object noted earlier checks both.
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
    return code if PLAIN_CONSTANTS.issuperset(map(type, code.co_consts)) else None
