"""IO managers: how values of assets are stored, versioned and loaded under a store home.

This module owns the :class:`IOManager` interface, the built-in managers (``filesystem`` picks
the format by value type, ``parquet`` stores only pandas objects, ``memory`` keeps values in this
process) and :func:`make_io_manager`, which builds each manager once per home. A file manager's
data version is a blake2b hash of the stored bytes, so equal content gives an equal version
(:mod:`.hashing`); formats live in :mod:`.formats`, files and their layout in :mod:`.files`. It
must not touch the catalog: the engine decides what to store and records where it went.

Pickle is for trusted data only: it reads files this store wrote, never files from elsewhere.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

from flowstone_nb._core.errors import StoreError, did_you_mean
from flowstone_nb._core.io_managers import IOManagerFactory, get_io_manager_factory
from flowstone_nb._partitioning.keys import NO_PARTITION_SLUG
from flowstone_nb._storage.io.files import (
    check_location,
    check_segment,
    describe_location,
    files_for,
    location_owner,
    value_folder,
)
from flowstone_nb._storage.io.formats import (
    Encoder,
    decoder_for,
    encoder_by_type,
    parquet_encoder,
)
from flowstone_nb._storage.io.hashing import content_version
from flowstone_nb._storage.io.stamps import (
    MISSING,
    ChangedValueError,
    StoredStamp,
    ValueStamp,
    stamp_of,
    stamp_problem,
)
from flowstone_nb._storage.io.summaries import describe
from flowstone_nb._storage.tuples import from_values

__all__ = [
    "NO_CONFIG",
    "FilesystemIOManager",
    "IOManager",
    "MemoryIOManager",
    "ParquetIOManager",
    "StoredValue",
    "make_io_manager",
]

#: The empty ``io_config``.
NO_CONFIG: Mapping[str, Any] = MappingProxyType({})


class StoredValue(NamedTuple):
    """Where and how a value was stored (an immutable named tuple: cheap to make).

    Attributes
    ----------
    location
        Path relative to the home (``data/<asset>/<slug>/<version>.<ext>``), or an opaque key for
        values kept in memory.
    data_version
        The content version of the value (hex).
    io_manager
        The name of the IO manager that stored it.
    rows
        ``len()`` of DataFrames, Series, arrays and sequences; ``None`` otherwise.
    schema
        A short summary such as ``"a:int64, b:float64"`` or ``"ndarray float64 (3, 4)"``.
    size_bytes
        Bytes written, or ``None`` for values kept in memory.
    modified_ns
        The modification time of its file, in nanoseconds, or ``None`` (in memory, on homes that
        are not local). With ``data_version`` and ``size_bytes``, what a
        :class:`~flowstone_nb._storage.io.stamps.ValueStamp` holds.
    """

    location: str
    data_version: str
    io_manager: str
    rows: int | None
    schema: str | None
    size_bytes: int | None
    modified_ns: int | None = None


# --- managers -------------------------------------------------------------------------------------


class IOManager(ABC):
    """Stores values of assets and loads them back by location.

    Subclasses set :attr:`name` and implement :meth:`store`, :meth:`load`, :meth:`exists` and
    :meth:`delete`; register a factory with ``fs.register_io_manager`` to use them by name.
    """

    #: The name definitions use in ``io_manager=...``.
    name: ClassVar[str]
    #: The ``io_config`` keys this manager understands.
    config_keys: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def store(
        self,
        asset: str,
        partition_slug: str,
        value: object,
        *,
        config: Mapping[str, Any] = NO_CONFIG,
    ) -> StoredValue:
        """Store ``value`` as the asset's value for one partition.

        Parameters
        ----------
        asset
            The asset name.
        partition_slug
            A filesystem-safe segment for the partition (given by the caller).
        value
            What the asset returned.
        config
            The asset's ``io_config``.

        Returns
        -------
        StoredValue
            Where it went and its data version.
        """

    @abstractmethod
    def load(self, location: str, *, config: Mapping[str, Any] = NO_CONFIG) -> object:
        """Load the value stored at ``location``.

        Raises
        ------
        StoreError
            When the value is missing or cannot be read.
        """

    @abstractmethod
    def exists(self, location: str) -> bool:
        """Whether a value is stored at ``location``."""

    @abstractmethod
    def delete(self, location: str) -> None:
        """Remove the value at ``location`` (nothing happens when it is already gone)."""

    def check(self, location: str, stamp: ValueStamp, *, rehash: bool = False) -> str | None:
        """How the value at ``location`` differs from the one stored with ``stamp``, or ``None``.

        Managers that write files compare the file's size and modification time to the stamp
        (and hash the file again when only the time differs); this one, for managers that
        record no stamp, only knows whether the value exists.

        Parameters
        ----------
        location
            Where the value is.
        stamp
            What was recorded when it was stored.
        rehash
            Hash the stored bytes again whatever their size and time (a full verification).

        Returns
        -------
        str or None
            ``"is missing"``, or what changed (for a message: ``"<file> <problem>"``).
        """
        return None if self.exists(location) else MISSING

    def check_many(self, values: Sequence[StoredStamp]) -> list[str | None]:
        """What :meth:`check` says of each of ``values`` (each a location with its stamp).

        Managers that can look at many values at once faster than one by one override it
        (a status report checks every partition's value); this one checks each in turn.
        """
        check = self.check
        return [check(str(value.location), stamp_of(value)) for value in values]

    def load_checked(
        self,
        location: str,
        stamp: ValueStamp,
        *,
        config: Mapping[str, Any] = NO_CONFIG,
        partition: str | None = None,
        known_problem: str | None = None,
    ) -> object:
        """Load the value at ``location`` once :meth:`check` finds it unchanged since stored.

        Parameters
        ----------
        location, config
            As for :meth:`load`.
        stamp
            What was recorded when the value was stored.
        partition
            The partition as the user names it, for the message (default: the folder's name;
            none for an unpartitioned asset).
        known_problem
            What a verification recorded wrong with the value (it is then not loaded).

        Raises
        ------
        ChangedValueError
            The value changed since it was stored: it is not loaded.
        StoreError
            It is missing or cannot be read.
        """
        problem = known_problem or self.check(location, stamp)
        if problem is not None and problem != MISSING:  # (a missing value: load says so)
            asset, slug = location_owner(location) or (location, NO_PARTITION_SLUG)
            if partition is None and slug != NO_PARTITION_SLUG:
                partition = slug
            raise ChangedValueError(asset, partition, self.where(location), problem)
        return self.load(location, config=config)

    def where(self, location: str) -> str:
        """Where the value at ``location`` is, for messages (a file's path, or the location)."""
        return location

    def metadata(self, value: object) -> dict[str, Any]:
        """Rows, schema summary and type name of ``value``, without storing it."""
        rows, schema = describe(value)
        return {"rows": rows, "schema": schema, "type": type(value).__name__}

    def check_store_arguments(
        self, asset: str, partition_slug: str, config: Mapping[str, Any]
    ) -> None:
        """Refuse names that could leave the store and ``io_config`` keys nobody understands."""
        check_segment("asset name", asset)
        check_segment("partition slug", partition_slug)
        if config:
            self.check_config(config, asset)

    def check_config(self, config: Mapping[str, Any], asset: str) -> None:
        """Refuse ``io_config`` keys this manager does not understand."""
        for key in config:
            if key not in self.config_keys:
                known = ", ".join(sorted(self.config_keys))
                what = f"understands: {known}" if known else "takes none"
                raise StoreError(
                    f"io_config key {key!r} of asset {asset!r} is not understood: the "
                    f"{self.name} IO manager {what}.{did_you_mean(key, self.config_keys)} "
                    "Remove or fix it in the asset's io_config."
                )


# "memory:<asset>/<slug>" -> (location, value) of the latest value kept for it: storing a new one
# replaces (and releases) the previous one in a single assignment.
_memory_kept: dict[str, tuple[str, object]] = {}
# Values whose summary is just their type's name (describe() gives the same, more slowly).
_SCALARS = frozenset({int, float, bool, str, bytes, type(None)})
_memory_lock = threading.Lock()
_memory_prefix = secrets.token_hex(6)
_memory_counter = itertools.count()


class MemoryIOManager(IOManager):
    """Keeps values in this process for the kernel's lifetime; nothing is written anywhere.

    The data version is a token unique to each store call (a per-process random prefix and a
    counter), not a content hash: hashing large values would cost more than computing them, and
    memory values are never shared across processes. Only the latest value of each asset
    partition is kept: storing a new one releases the previous one, so re-running a cell does
    not pile up copies (an older location then reports the value as gone).
    """

    name = "memory"

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        # The home is accepted so every manager is built the same way; memory ignores it.
        del home

    def store(
        self,
        asset: str,
        partition_slug: str,
        value: object,
        *,
        config: Mapping[str, Any] = NO_CONFIG,
    ) -> StoredValue:
        """Keep ``value`` in memory; see :meth:`IOManager.store`."""
        key = f"memory:{asset}/{partition_slug}"
        if config or key not in _memory_kept:  # names already kept were checked before
            self.check_store_arguments(asset, partition_slug, config)
        version = f"{_memory_prefix}{next(_memory_counter):08x}"
        location = f"{key}/{version}"
        kind = type(value)
        rows, schema = (None, kind.__name__) if kind in _SCALARS else describe(value)
        with _memory_lock:
            _memory_kept[key] = (location, value)
        return from_values(StoredValue, (location, version, self.name, rows, schema, None, None))

    def load(self, location: str, *, config: Mapping[str, Any] = NO_CONFIG) -> object:
        """The value kept at ``location``; see :meth:`IOManager.load`."""
        kept = _memory_kept.get(location.rpartition("/")[0])
        if kept is not None and kept[0] == location:
            return kept[1]
        if not location.startswith("memory:"):
            raise StoreError(
                f"{location!r} is not a memory location: load it with the IO manager that "
                "stored it (its name is in fs.history)."
            )
        raise StoreError(
            f"The value of {describe_location(location)} was kept in memory and is gone (the "
            "process that computed it ended, or a newer value replaced it). The next materialize "
            "will recompute it."
        )

    def exists(self, location: str) -> bool:
        """Whether a value is kept at ``location``."""
        kept = _memory_kept.get(location.rpartition("/")[0])
        return kept is not None and kept[0] == location

    def delete(self, location: str) -> None:
        """Release the value kept at ``location``."""
        key = location.rpartition("/")[0]
        with _memory_lock:
            kept = _memory_kept.get(key)
            if kept is not None and kept[0] == location:
                del _memory_kept[key]

    def __repr__(self) -> str:
        return "MemoryIOManager()"


class _FileIOManager(IOManager):
    """Shared machinery of the managers that write files under the home."""

    config_keys = frozenset({"compression"})

    def __init__(self, home: str | os.PathLike[str]) -> None:
        self.home = os.fspath(home)
        self._files = files_for(self.home)

    @abstractmethod
    def _encode(
        self, asset: str, slug: str, value: object, config: Mapping[str, Any]
    ) -> Encoder: ...

    def store(
        self,
        asset: str,
        partition_slug: str,
        value: object,
        *,
        config: Mapping[str, Any] = NO_CONFIG,
    ) -> StoredValue:
        """Serialize and hash while writing, then keep that version; see :meth:`IOManager.store`."""
        self.check_store_arguments(asset, partition_slug, config)
        encoder = self._encode(asset, partition_slug, value, config)
        folder = value_folder(asset, partition_slug)
        try:
            stored = self._files.store_new(folder, encoder)
        except OSError as error:
            raise StoreError(
                f"Could not write the value of asset {asset!r} partition {partition_slug!r} "
                f"to {self._files.path(folder)} ({error}). Check free space and permissions of "
                f"the store home {self.home!r}."
            ) from error
        rows, schema = describe(value)
        return StoredValue(
            stored.location,
            stored.data_version,
            self.name,
            rows,
            schema,
            stored.size,
            stored.modified_ns,
        )

    def check(self, location: str, stamp: ValueStamp, *, rehash: bool = False) -> str | None:
        """Compare the file's size, time and (when needed) content; see :meth:`IOManager.check`."""
        check_location(location)
        found = self._files.stat(location)
        if found is None:
            return MISSING
        if not rehash and found == (stamp.size_bytes, stamp.modified_ns):
            return None  # its stamp exactly (the common case: what stamp_problem says of it)
        try:
            return stamp_problem(
                stamp,
                found.size,
                found.modified_ns,
                lambda: self._content_version(location),
                always_rehash=rehash,
            )
        except FileNotFoundError:  # removed while it was read
            return MISSING
        except OSError as error:
            return f"cannot be read ({type(error).__name__}: {error})"

    def check_many(self, values: Sequence[StoredStamp]) -> list[str | None]:
        """See :meth:`IOManager.check_many`.

        The files that agree with their stamps at a glance are found in one pass; the others
        are checked one by one.
        """
        found: list[str | None] = [None] * len(values)
        for place in self._files.disagreeing(values):
            value = values[place]
            found[place] = self.check(str(value.location), stamp_of(value))
        return found

    def _content_version(self, location: str) -> str:
        with self._files.open_read(location) as source:
            return content_version(source)

    def where(self, location: str) -> str:
        """The path of the file at ``location``."""
        return self._files.path(location)

    def load(self, location: str, *, config: Mapping[str, Any] = NO_CONFIG) -> object:
        """Read the value at ``location``; see :meth:`IOManager.load`."""
        parts = check_location(location)
        if config:
            self.check_config(config, parts[1] if len(parts) > 1 else location)
        decoder = decoder_for(parts[-1], location, self.name)
        path = self._files.path(location)
        try:
            with self._files.open_read(location) as source:
                return decoder(source)
        except FileNotFoundError as error:
            raise StoreError(
                f"The stored value of {describe_location(location)} is missing at {path} "
                f"(location {location!r}): it was deleted or moved outside flowstone_nb. The "
                "next materialize will recompute it."
            ) from error
        except Exception as error:  # a decoder fails in its own way on bytes it cannot parse
            raise StoreError(
                f"The stored value of {describe_location(location)} at {path} is corrupt or "
                f"unreadable ({type(error).__name__}: {error}). Materialize it with force=True to "
                "recompute it."
            ) from error

    def exists(self, location: str) -> bool:
        """Whether a file is stored at ``location``."""
        check_location(location)
        return self._files.exists(location)

    def delete(self, location: str) -> None:
        """Remove the file at ``location`` (older versions are separate files)."""
        check_location(location)
        self._files.delete(location)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(home={self.home!r})"


class FilesystemIOManager(_FileIOManager):
    """Picks the format by value type: the default manager for persisted assets.

    DataFrames and Series go to Parquet (Series come back as Series with their name), JSON-able
    values (``None``, bools, ints, finite floats, strings, lists and string-keyed dicts of those)
    to ``.json``, NumPy arrays to ``.npy``, and anything else to pickle. DataFrames that Parquet
    cannot hold (mixed-type object columns, duplicate column names) are pickled too. Pickle is
    for trusted data only: it is meant for the store you own, never for files from elsewhere.

    ``io_config`` may set ``compression`` for Parquet (default ``"snappy"``).
    """

    name = "filesystem"

    def _encode(self, asset: str, slug: str, value: object, config: Mapping[str, Any]) -> Encoder:
        return encoder_by_type(value, asset, slug, self.name, config)


class ParquetIOManager(_FileIOManager):
    """Stores pandas DataFrames and Series as Parquet, and nothing else.

    ``io_config`` may set ``compression`` (default ``"snappy"``).
    """

    name = "parquet"

    def _encode(self, asset: str, slug: str, value: object, config: Mapping[str, Any]) -> Encoder:
        return parquet_encoder(value, asset, slug, config)


# --- construction ---------------------------------------------------------------------------------

_managers: dict[tuple[str, str, IOManagerFactory], IOManager] = {}
_managers_lock = threading.RLock()


def make_io_manager(name: str, home: str) -> IOManager:
    """The IO manager called ``name`` for ``home``, built once per (name, home).

    The memory manager is one per process, whatever the home. Re-registering a custom name
    with another factory builds a new manager.

    Parameters
    ----------
    name
        A built-in (``"filesystem"``, ``"parquet"``, ``"memory"``) or registered name.
    home
        The store home (local folder or fsspec URL).
    """
    factory = get_io_manager_factory(name)
    key = (name, "" if name == "memory" else home, factory)
    with _managers_lock:
        manager = _managers.get(key)
        if manager is None:
            manager = factory(home)
            if not isinstance(manager, IOManager):
                raise StoreError(
                    f"The factory of IO manager {name!r} returned {type(manager).__qualname__}, "
                    "not an IOManager: make it return an instance of a flowstone_nb IOManager "
                    "subclass."
                )
            _managers[key] = manager
    return manager
