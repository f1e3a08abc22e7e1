"""IO managers: how values are stored, versioned and loaded under a store home.

The package owns the managers and their interface (:mod:`.managers`), value formats
(:mod:`.formats`), value summaries (:mod:`.summaries`), data versions as content hashes
(:mod:`.hashing`), the stamp a value is stored with and checked against before it loads
(:mod:`.stamps`), files, their layout and atomic writes (:mod:`.files`), and the lazy import of
pandas, pyarrow, numpy and fsspec (:mod:`.imports`): importing it stays fast. It must not touch
the catalog: the engine decides what to store and records where it went.
"""

from __future__ import annotations

from flowstone_nb._storage.io.files import MAX_NAME_BYTES, atomic_write, check_segment
from flowstone_nb._storage.io.managers import (
    NO_CONFIG,
    FilesystemIOManager,
    IOManager,
    MemoryIOManager,
    ParquetIOManager,
    StoredValue,
    make_io_manager,
)
from flowstone_nb._storage.io.stamps import ChangedValueError, ValueStamp
from flowstone_nb._storage.io.summaries import describe

__all__ = [
    "MAX_NAME_BYTES",
    "NO_CONFIG",
    "ChangedValueError",
    "FilesystemIOManager",
    "IOManager",
    "MemoryIOManager",
    "ParquetIOManager",
    "StoredValue",
    "ValueStamp",
    "atomic_write",
    "check_segment",
    "describe",
    "make_io_manager",
]
