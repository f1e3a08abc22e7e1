"""Stamps: what a stored value looked like when it was stored, and the check that it still does.

A value is stored with its stamp: its data version (the hash of its bytes), its size and its
file's modification time. Before a value is loaded as good, :func:`stamp_problem` compares the
file to its stamp: a size that differs means the file changed; a modification time that differs
alone (a store copied without its times, a file touched) is settled by hashing the file again,
so an unchanged value still loads and a changed one never does. A change that keeps both the size
and the time is found only by hashing every file (``rehash=True``, what a full verification
does). This module owns the stamp, the rule and :class:`ChangedValueError`; it must not know
where files live nor read them itself: the IO managers hand in what they found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

from flowstone_nb._core.errors import StoreError

__all__ = [
    "MISSING",
    "PRUNED",
    "ChangedValueError",
    "Stamped",
    "StoredStamp",
    "ValueStamp",
    "stamp_of",
    "stamp_problem",
]

#: What :func:`stamp_problem` says of a value whose file is gone.
MISSING = "is missing"
#: What is recorded of a value that ``fs.prune`` removed (no kept materialization needed it).
PRUNED = "was removed by fs.prune()"
_REHASHED = "was modified: its content no longer gives its data version"


class ValueStamp(NamedTuple):
    """What a stored value looked like when it was stored (each part ``None`` when unknown).

    Attributes
    ----------
    data_version
        The hash of its bytes.
    size_bytes
        Its size.
    modified_ns
        Its file's modification time, in nanoseconds (``None`` for homes that keep none).
    """

    data_version: str | None
    size_bytes: int | None
    modified_ns: int | None


class Stamped(Protocol):
    """What records a stored value (a catalog row, a candidate, a run's result)."""

    @property
    def data_version(self) -> str | None:
        """The hash of its bytes."""
        ...

    @property
    def size_bytes(self) -> int | None:
        """Its size when stored."""
        ...

    @property
    def modified_ns(self) -> int | None:
        """Its file's modification time when stored."""
        ...


class StoredStamp(Stamped, Protocol):
    """A stored value as a record names it: where it is, with its stamp."""

    @property
    def location(self) -> str | None:
        """Where the value is stored."""
        ...


def stamp_of(record: Stamped) -> ValueStamp:
    """The stamp ``record`` holds of its stored value."""
    return ValueStamp(record.data_version, record.size_bytes, record.modified_ns)


def stamp_problem(
    stamp: ValueStamp,
    size: int,
    modified_ns: int | None,
    rehash: Callable[[], str],
    *,
    always_rehash: bool = False,
) -> str | None:
    """How the file of a value differs from its ``stamp``, or ``None`` when it is the stored one.

    Parameters
    ----------
    stamp
        What was recorded when the value was stored.
    size, modified_ns
        What the file's size and modification time are now.
    rehash
        Hashes the file's bytes again (called only when needed).
    always_rehash
        Hash the file even when its size and time agree with the stamp.
    """
    if stamp.size_bytes is not None and size != stamp.size_bytes:
        return f"has {size} bytes, not the {stamp.size_bytes} recorded"
    if stamp.data_version is None:
        return None
    moved = stamp.modified_ns is not None and modified_ns != stamp.modified_ns
    if (moved or always_rehash) and rehash() != stamp.data_version:
        return _REHASHED
    return None


class ChangedValueError(StoreError):
    """A stored value is not what was stored: it changed, or is gone, since.

    Attributes
    ----------
    asset
        The asset whose value it is.
    partition
        Its partition as the caller named it, or ``None`` for an unpartitioned asset.
    path
        The file (or location) of the value.
    problem
        What is wrong with it (``"is missing"``, ``"has 12 bytes, not the 10 recorded"`` ...).
    """

    def __init__(self, asset: str, partition: str | None, path: str, problem: str) -> None:
        self.asset = asset
        self.partition = partition
        self.path = path
        self.problem = problem
        where = (
            f"asset {asset!r}" if partition is None else f"asset {asset!r} partition {partition!r}"
        )
        if problem == PRUNED:
            message = (
                f"The stored value of {where} ({path}) {problem}: no kept materialization "
                "needed it. Pick a kept version from fs.history(), or materialize it again."
            )
        else:
            message = (
                f"The stored value of {where} changed on disk since it was stored: {path} "
                f"{problem}. It was not loaded: materialize it again with force=True, or run "
                "fs.verify() to check every stored value."
            )
        super().__init__(message)
