"""Values the IO manager tests store: a small frame, a plain user object, an unpicklable one."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd


def frame() -> pd.DataFrame:
    """Three rows of ints, floats and strings, with a named index."""
    return pd.DataFrame(
        {"a": [1, 2, 3], "b": [0.5, 1.5, 2.5], "c": ["x", "y", "z"]},
        index=pd.Index([10, 20, 30], name="row"),
    )


@dataclasses.dataclass(frozen=True)
class Point:
    """A plain user object: only pickle can store it."""

    x: int
    y: int


class Unpicklable:
    """A value whose serializer fails half-way through."""

    def __reduce__(self) -> Any:
        raise RuntimeError("cannot serialize this on purpose")
