"""Named tuples built from their values in one C call: the storage layer's rows and results.

Reads build thousands of catalog rows from SQLite results at once, and every store returns a
:class:`~flowstone_nb._storage.io.StoredValue`; a named tuple's own constructor runs Python code
for each. :func:`from_values` is the one way storage skips it. It checks nothing: the values
must come in field order, from a query or a call that names the fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

__all__ = ["from_values"]

_TupleT = TypeVar("_TupleT", bound=tuple[Any, ...])

if TYPE_CHECKING:

    def from_values(kind: type[_TupleT], values: Iterable[Any]) -> _TupleT:
        """Build a ``kind`` named tuple from ``values`` in its field order."""

else:
    from_values = tuple.__new__
