"""What kind of value an asset returned, and its one-line summary (rows and schema).

This module owns :func:`describe` and the type tests the formats choose by. It looks a value's
type up without importing pandas or numpy (no DataFrame can exist before pandas is imported), and
must not store anything.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["describe", "is_ndarray", "pandas_kind"]

_SCHEMA_COLUMNS = 20


def pandas_kind(value: object) -> str | None:
    """``"frame"`` for a pandas DataFrame, ``"series"`` for a Series, else ``None``."""
    pandas = sys.modules.get("pandas")  # no DataFrame can exist before pandas is imported
    if pandas is not None and isinstance(value, pandas.DataFrame):
        return "frame"
    if pandas is not None and isinstance(value, pandas.Series):
        return "series"
    return None


def is_ndarray(value: object) -> bool:
    """Whether ``value`` is a NumPy array."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


# str() of a NumPy dtype runs Python code that costs microseconds, and the same few dtypes come
# back all the time. Extension dtypes (categories, strings) are cheap to print but may be costly
# to hash, so they are not cached.
_numpy_dtype_name = functools.lru_cache(maxsize=64)(str)


def _dtype_name(dtype: Any) -> str:
    if type(dtype).__module__ == "numpy.dtypes":
        return _numpy_dtype_name(dtype)
    return str(dtype)


def _frame_schema(frame: Any) -> str:
    dtypes = frame.dtypes.tolist()
    columns = [
        f"{name}:{_dtype_name(dtype)}" for name, dtype in zip(frame.columns, dtypes, strict=True)
    ]
    if len(columns) > _SCHEMA_COLUMNS:
        hidden = len(columns) - _SCHEMA_COLUMNS
        columns = [*columns[:_SCHEMA_COLUMNS], f"… (+{hidden} more)"]
    return ", ".join(columns)


def describe(value: object) -> tuple[int | None, str]:
    """Return ``(rows, schema)`` of a value without storing it.

    Parameters
    ----------
    value
        Any value an asset returned.

    Returns
    -------
    tuple
        ``rows`` is ``len()`` for DataFrames, Series, arrays of rank 1 or more and sequences
        (not strings or bytes), else ``None``; ``schema`` is a one-line summary.
    """
    kind = pandas_kind(value)
    data: Any = value
    if kind == "frame":
        return len(data), _frame_schema(data)
    if kind == "series":
        return len(data), f"Series {data.name}:{_dtype_name(data.dtype)}"
    if is_ndarray(value):
        shape = data.shape
        return (shape[0] if shape else None), f"ndarray {_dtype_name(data.dtype)} {shape}"
    rows = None
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        rows = len(value)
    return rows, type(value).__name__
