"""IO managers: how values are stored, versioned and loaded under a store home.

This module owns value formats (Parquet, JSON, NumPy ``.npy``, pickle), data versions (a blake2b
hash of the stored bytes, so equal content gives an equal version), atomic writes (a temp file in
the same folder, then a rename) and the process-wide memory store. It must not touch the catalog:
the engine decides what to store and records where it went.

Values are encoded straight into a temp file of a local home (into memory for other homes),
through a writer that hashes the bytes on their way. Once a payload passes ``_OVERLAP_FROM`` bytes,
a helper thread hashes and writes the chunks that follow while the encoder produces the next ones
(hashlib and file writes release the GIL), so with a core to spare a large value costs about what
encoding it does.

Layout under a home (a local folder or an fsspec URL such as ``memory://x`` or ``s3://bucket/x``)::

    <home>/data/<asset>/<partition_slug>/<data_version>.<ext>

A version that already exists is not replaced (on a local home the new temp file is dropped; on
other homes nothing is uploaded), and older versions stay loadable by their location. Local homes
use plain ``os``/``pathlib`` calls; other URLs go through fsspec (where a rename is whatever the
filesystem's ``mv`` offers: atomic on local disks and in memory, a copy and delete on object
stores). Files are not fsynced: after an operating-system crash a value may be unreadable, and
loading it says so.

pandas, pyarrow, numpy and fsspec are imported only when a value of theirs is stored or loaded, or
a non-local home is used, so importing this module stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import io
import itertools
import json
import math
import os
import pickle
import queue
import secrets
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, ClassVar, NamedTuple

from flowstone_nb._core.errors import StoreError, did_you_mean
from flowstone_nb._core.io_managers import IOManagerFactory, get_io_manager_factory

__all__ = [
    "MAX_SEGMENT_LENGTH",
    "NO_CONFIG",
    "FilesystemIOManager",
    "IOManager",
    "MemoryIOManager",
    "ParquetIOManager",
    "StoredValue",
    "atomic_write",
    "check_segment",
    "describe",
    "make_io_manager",
]

#: The empty ``io_config``.
NO_CONFIG: Mapping[str, Any] = MappingProxyType({})

#: Longest asset name or partition slug that still fits in a file name with room to spare.
MAX_SEGMENT_LENGTH = 200

_SCHEMA_COLUMNS = 20
#: Bytes of a payload hashed in the encoding thread; what follows goes to a helper thread.
_OVERLAP_FROM = 64 * 1024
#: Frames of at most this many cells convert to Arrow in one thread: pyarrow's thread pool costs
#: more than it saves below it (0.3-0.4 ms of a 1.8 ms store of 1,000 rows; 2.4 against 2.9 ms
#: for 100,000 x 5; 13 against 9.5 ms for 400,000 x 5 on two cores).
_THREADED_FROM_CELLS = 1_000_000
_SERIES_KEY = b"flowstone_nb"
_READABLE_FORMATS = ("parquet", "json", "npy", "pkl")


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
    """

    location: str
    data_version: str
    io_manager: str
    rows: int | None
    schema: str | None
    size_bytes: int | None


# --- names that must stay inside the home ---------------------------------------------------------


def _segment_problem(text: str) -> str | None:
    if not text:
        return "is empty"
    if text in (".", ".."):
        return "is a relative path"
    if "/" in text or "\\" in text or "\0" in text:
        return "contains '/', '\\' or a NUL character"
    if len(text) > MAX_SEGMENT_LENGTH:
        return f"has {len(text)} characters; at most {MAX_SEGMENT_LENGTH} fit in a file name"
    return None


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def check_segment(kind: str, text: str) -> str:
    """Return ``text`` when it is safe as one folder name under the home, else raise.

    Parameters
    ----------
    kind
        What the text is, for the message (``"asset name"``, ``"partition slug"``).
    text
        The name to check.

    Raises
    ------
    StoreError
        For empty names, ``.``/``..``, separators, NUL characters and names over
        :data:`MAX_SEGMENT_LENGTH` characters.
    """
    problem = _segment_problem(text)
    if problem is not None:
        raise StoreError(
            f"The {kind} {_shown(text)} {problem}: it cannot be used as a folder name in the "
            "store. Use a name made of letters, digits, '_', '-' and '.'."
        )
    return text


def _check_location(location: str) -> list[str]:
    parts = location.split("/")
    for part in parts:
        problem = _segment_problem(part)
        if problem is not None:
            raise StoreError(
                f"Stored value location {_shown(location)} does not stay inside the store home: "
                f"its part {_shown(part)} {problem}. Use a location returned by an IO manager "
                "(fs.history shows them)."
            )
    return parts


def _where(location: str) -> str:
    parts = location.removeprefix("memory:").split("/")
    if len(parts) >= 3:
        return f"asset {parts[-3]!r} partition {parts[-2]!r}"
    return f"location {location!r}"


# --- summaries ------------------------------------------------------------------------------------


def _pandas_kind(value: object) -> str | None:
    pandas = sys.modules.get("pandas")  # no DataFrame can exist before pandas is imported
    if pandas is not None and isinstance(value, pandas.DataFrame):
        return "frame"
    if pandas is not None and isinstance(value, pandas.Series):
        return "series"
    return None


def _is_ndarray(value: object) -> bool:
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
    kind = _pandas_kind(value)
    data: Any = value
    if kind == "frame":
        return len(data), _frame_schema(data)
    if kind == "series":
        return len(data), f"Series {data.name}:{_dtype_name(data.dtype)}"
    if _is_ndarray(value):
        shape = data.shape
        return (shape[0] if shape else None), f"ndarray {_dtype_name(data.dtype)} {shape}"
    rows = None
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        rows = len(value)
    return rows, type(value).__name__


_IMPORT_LOCK = threading.Lock()


def _import(module: str) -> Any:
    """Import a heavy dependency on first use, so that importing flowstone_nb stays fast.

    Serialised: backfill workers may all reach their first store at once, and a package
    imported from two threads at the same time can be seen half-initialised.
    """
    with _IMPORT_LOCK:
        return importlib.import_module(module)


# --- formats --------------------------------------------------------------------------------------


class _HashingWriter:
    """The binary file encoders write into: it hashes the bytes and passes them on.

    The first :data:`_OVERLAP_FROM` bytes are hashed in the calling thread and kept in memory,
    so a small value whose version is already stored is never written. When a payload grows
    past that, ``open_out`` is called, the kept bytes go to what it returned, and a helper
    thread hashes and passes on the chunks that follow, in order, while the encoder produces
    the next ones. Chunks are kept as ``bytes``: a buffer the encoder may reuse (pickle passes
    a value's own ``bytearray``) is copied first.

    A failure while passing bytes on is recorded in :attr:`failure` and raised by the next
    :meth:`write` and by :meth:`version`. Call :meth:`close` whatever happens: it waits for the
    helper.

    Parameters
    ----------
    open_out
        Called at most once; returns a function that writes all of a chunk (a buffered file's
        ``write``, ``BytesIO.write``).
    """

    #: pyarrow checks it before writing into a Python file.
    closed = False

    def __init__(self, open_out: Callable[[], Callable[[Any], object]]) -> None:
        self._open_out = open_out
        self._out: Callable[[Any], object] | None = None
        self._head: list[bytes] = []
        self._hash = hashlib.blake2b(digest_size=16)
        self._chunks: queue.SimpleQueue[bytes | None] | None = None
        self._helper: threading.Thread | None = None
        #: Bytes written so far.
        self.size = 0
        #: What passing the bytes on raised, if it failed.
        self.failure: BaseException | None = None

    def write(self, data: Any) -> int:
        """Hash and pass on ``data`` (any bytes-like object); return its length in bytes."""
        if self.failure is not None:
            raise self.failure
        size = memoryview(data).nbytes
        self.size += size
        chunk = data if type(data) is bytes else bytes(data)
        chunks = self._chunks
        if chunks is None and self.size <= _OVERLAP_FROM:
            self._hash.update(chunk)
            self._head.append(chunk)
            return size
        if chunks is None:
            self.spill()
            chunks = self._chunks = queue.SimpleQueue()
            self._helper = threading.Thread(
                target=self._drain, args=(chunks,), name="flowstone_nb-hash", daemon=True
            )
            self._helper.start()
        chunks.put(chunk)
        return size

    def flush(self) -> None:
        """Nothing to do: the helper passes chunks on as they come."""

    def spill(self) -> None:
        """Open the output (once) and pass on the bytes kept in memory."""
        if self._out is not None:
            return
        try:
            self._out = out = self._open_out()
            for chunk in self._head:
                out(chunk)
        except BaseException as error:  # raised here, and again by version()
            self.failure = error
            raise
        self._head = []

    def _drain(self, chunks: queue.SimpleQueue[bytes | None]) -> None:
        out = self._out
        assert out is not None  # spill() ran before the helper started
        while (chunk := chunks.get()) is not None:
            if self.failure is None:
                try:
                    self._hash.update(chunk)
                    out(chunk)
                except BaseException as error:  # noqa: BLE001  # raised by version()
                    self.failure = error

    def close(self) -> None:
        """Wait until the helper (if any) has hashed and passed on every chunk."""
        helper, chunks = self._helper, self._chunks
        if helper is not None and chunks is not None:
            chunks.put(None)
            helper.join()
            self._helper = None

    def version(self) -> str:
        """The hex blake2b (16 bytes) of everything written; call after :meth:`close`."""
        if self.failure is not None:
            raise self.failure
        return self._hash.hexdigest()


@dataclass(frozen=True)
class _Encoder:
    """A value's format and how to write it: ``write`` encodes it into the file it is given."""

    ext: str
    write: Callable[[_HashingWriter], object]


def _is_json_value(value: object) -> bool:
    """True when JSON gives back exactly this value (same types, finite floats, str keys)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    data: Any = value
    if kind is float:
        return math.isfinite(data)
    if kind is list:
        return all(_is_json_value(item) for item in data)
    if kind is dict:
        return all(type(k) is str and _is_json_value(v) for k, v in data.items())
    return False


def _json_name(name: object) -> Any:
    """The JSON form of a Series name that comes back exactly, or raise ValueError."""
    if type(name) is tuple and all(_is_json_value(part) for part in name):
        return {"tuple": list(name)}
    if type(name) in (str, int, float, bool) or name is None:
        return {"name": name}
    raise ValueError(
        f"Series name {name!r} of type {type(name).__name__} cannot be stored in Parquet: "
        "name the Series with a string, number or tuple"
    )


def _arrow_table(value: Any, kind: str) -> Any:
    pa = _import("pyarrow")
    if kind == "frame":
        return pa.Table.from_pandas(
            value, nthreads=None if value.size > _THREADED_FROM_CELLS else 1
        )
    name = _json_name(value.name)
    column = value.name if isinstance(value.name, str) else "values"
    table = pa.Table.from_pandas(value.to_frame(name=column))
    metadata = {**(table.schema.metadata or {}), _SERIES_KEY: json.dumps(name).encode()}
    return table.replace_schema_metadata(metadata)


#: What pyarrow raises when a pandas object does not fit Parquet (ArrowInvalid is a ValueError,
#: ArrowTypeError a TypeError, ArrowNotImplementedError a NotImplementedError).
_NOT_PARQUET = (ValueError, TypeError, NotImplementedError)


def _parquet(table: Any, asset: str, slug: str, config: Mapping[str, Any]) -> _Encoder:
    pa, pq = _import("pyarrow"), _import("pyarrow.parquet")
    compression = config.get("compression", "snappy")

    def write(out: _HashingWriter) -> None:
        try:
            pq.write_table(table, out, compression=compression)
        except (pa.ArrowException, *_NOT_PARQUET) as error:
            raise StoreError(
                f"Asset {asset!r} partition {slug!r}: Parquet could not write the value with "
                f"compression {compression!r} ({error}). Set io_config compression to one of "
                "'snappy', 'zstd', 'gzip', 'brotli', 'lz4' or 'none'."
            ) from error

    return _Encoder("parquet", write)


def _npy(array: Any) -> _Encoder:
    numpy = _import("numpy")
    return _Encoder("npy", lambda out: numpy.save(out, array, allow_pickle=False))


def _json(value: object) -> _Encoder:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    payload = text.encode("utf-8")
    return _Encoder("json", lambda out: out.write(payload))


def _pickle(value: object, asset: str, slug: str, manager: str) -> _Encoder:
    def write(out: _HashingWriter) -> None:
        try:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # user objects may raise anything from __reduce__/__getstate__
            if error is out.failure:
                raise  # writing failed, not pickling
            raise StoreError(
                f"Asset {asset!r} partition {slug!r}: the {manager} IO manager cannot store a "
                f"value of type {type(value).__qualname__}: pickling it failed "
                f"({type(error).__name__}: {error}). Return a picklable value (or a DataFrame), "
                'or keep it in memory with io_manager="memory".'
            ) from error

    return _Encoder("pkl", write)


def _load_parquet(source: BinaryIO) -> Any:
    table = _import("pyarrow.parquet").read_table(source)
    marker = (table.schema.metadata or {}).get(_SERIES_KEY)
    frame = table.to_pandas()
    if marker is None:
        return frame
    spec = json.loads(marker)
    series = frame.iloc[:, 0]
    series.name = tuple(spec["tuple"]) if "tuple" in spec else spec["name"]
    return series


def _load_npy(source: BinaryIO) -> Any:
    return _import("numpy").load(source, allow_pickle=False)


def _load_json(source: BinaryIO) -> Any:
    return json.loads(source.read())


def _load_pickle(source: BinaryIO) -> Any:
    return pickle.load(source)  # only files this store wrote: trusted data, see the module doc


_DECODERS: dict[str, Callable[[BinaryIO], Any]] = {
    "parquet": _load_parquet,
    "json": _load_json,
    "npy": _load_npy,
    "pkl": _load_pickle,
}


# --- where the bytes go ---------------------------------------------------------------------------


def _temp_name(name: str) -> str:
    return f".{name}.{secrets.token_hex(6)}.tmp"


def _encode_into(
    open_out: Callable[[], Callable[[Any], object]], encoder: _Encoder
) -> _HashingWriter:
    """Run ``encoder`` through a hashing writer; return the writer once everything is hashed."""
    writer = _HashingWriter(open_out)
    try:
        encoder.write(writer)
    finally:
        writer.close()
    writer.version()  # raises what the helper met
    return writer


class _LocalFiles:
    """Files under a local folder, through plain ``pathlib`` calls (the fast path)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)

    def path(self, location: str) -> str:
        return os.path.join(self._root, *location.split("/"))  # noqa: PTH118  # hot, no pathlib

    def exists(self, location: str) -> bool:
        return os.path.exists(self.path(location))  # noqa: PTH110  # hot path: no Path object

    def open_read(self, location: str) -> BinaryIO:
        return Path(self.path(location)).open("rb")

    def store_new(self, folder: str, encoder: _Encoder) -> tuple[str, str, int]:
        """Encode into a temp file in ``folder``, then rename it to ``<version>.<ext>``.

        A large payload streams into the temp file while it is encoded; a small one is written
        only when its version is new. When the version is already stored, the stored file stays
        untouched. Returns ``(location, data_version, size)``.
        """
        directory = self.root.joinpath(*folder.split("/"))
        temp = directory / _temp_name(encoder.ext)
        opened: list[BinaryIO] = []

        def open_temp() -> Callable[[Any], object]:
            try:
                out = temp.open("wb")
            except FileNotFoundError:  # the first value of this asset partition
                directory.mkdir(parents=True, exist_ok=True)
                out = temp.open("wb")
            opened.append(out)
            return out.write

        try:
            try:
                writer = _encode_into(open_temp, encoder)
                version = writer.version()
                final = directory / f"{version}.{encoder.ext}"
                new = not final.exists()
                if new:
                    writer.spill()
            finally:
                for out in opened:
                    out.close()
            if new:
                temp.replace(final)
            elif opened:
                temp.unlink()
        except BaseException:
            if opened:
                temp.unlink(missing_ok=True)
            raise
        return f"{folder}/{version}.{encoder.ext}", version, writer.size

    def write_atomic(self, location: str, write: Callable[[BinaryIO], object]) -> None:
        final = Path(self.path(location))
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(_temp_name(final.name))
        try:
            with temp.open("wb") as out:
                write(out)
            temp.replace(final)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def delete(self, location: str) -> None:
        Path(self.path(location)).unlink(missing_ok=True)


class _FsspecFiles:
    """Files under an fsspec URL; the rename is the filesystem's ``mv``."""

    def __init__(self, url: str) -> None:
        self.fs, root = _import("fsspec.core").url_to_fs(url)
        self.root = str(root).rstrip("/")

    def path(self, location: str) -> str:
        return f"{self.root}/{location}"

    def exists(self, location: str) -> bool:
        return bool(self.fs.exists(self.path(location)))

    def open_read(self, location: str) -> BinaryIO:
        opened: BinaryIO = self.fs.open(self.path(location), "rb")
        return opened

    def store_new(self, folder: str, encoder: _Encoder) -> tuple[str, str, int]:
        """Encode into memory, then write ``<version>.<ext>`` unless that version is stored.

        Returns ``(location, data_version, size)``.
        """
        buffer = io.BytesIO()
        writer = _encode_into(lambda: buffer.write, encoder)
        writer.spill()
        version = writer.version()
        location = f"{folder}/{version}.{encoder.ext}"
        if not self.exists(location):
            payload = buffer.getbuffer()
            self.write_atomic(location, lambda out: out.write(payload))
        return location, version, writer.size

    def write_atomic(self, location: str, write: Callable[[BinaryIO], object]) -> None:
        final = self.path(location)
        folder, name = final.rsplit("/", 1)
        self.fs.makedirs(folder, exist_ok=True)
        temp = f"{folder}/{_temp_name(name)}"
        try:
            with self.fs.open(temp, "wb") as out:
                write(out)
            self.fs.mv(temp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(temp)
            raise

    def delete(self, location: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self.path(location))


def _is_local(home: str) -> bool:
    return "://" not in home or home.startswith("file://")


def _files_for(home: str) -> _LocalFiles | _FsspecFiles:
    if _is_local(home):
        return _LocalFiles(Path(home.removeprefix("file://")))
    return _FsspecFiles(home)


def atomic_write(home: str, location: str, write: Callable[[BinaryIO], object]) -> None:
    """Write a file under ``home`` so that no reader ever sees it half-written.

    ``write`` receives a binary file in the same folder as the target; when it returns, the file
    is renamed to ``location``. If anything raises, the temp file is removed and the target is
    untouched.

    Parameters
    ----------
    home
        A local folder or an fsspec URL.
    location
        The target, relative to ``home`` (``/``-separated, no ``..``).
    write
        Writes the content into the file it is given.
    """
    _files_for(home).write_atomic("/".join(_check_location(location)), write)


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
_new_tuple = tuple.__new__  # named tuples made from a tuple, without their Python-level __new__
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
        return _new_tuple(StoredValue, (location, version, self.name, rows, schema, None))

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
            f"The value of {_where(location)} was kept in memory and is gone (the process that "
            "computed it ended, or a newer value replaced it). The next materialize will "
            "recompute it."
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
        self._files = _files_for(self.home)

    @abstractmethod
    def _encode(
        self, asset: str, slug: str, value: object, config: Mapping[str, Any]
    ) -> _Encoder: ...

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
        folder = f"data/{asset}/{partition_slug}"
        try:
            location, version, size = self._files.store_new(folder, encoder)
        except OSError as error:
            raise StoreError(
                f"Could not write the value of asset {asset!r} partition {partition_slug!r} "
                f"to {self._files.path(folder)} ({error}). Check free space and permissions of "
                f"the store home {self.home!r}."
            ) from error
        rows, schema = describe(value)
        return StoredValue(location, version, self.name, rows, schema, size)

    def load(self, location: str, *, config: Mapping[str, Any] = NO_CONFIG) -> object:
        """Read the value at ``location``; see :meth:`IOManager.load`."""
        parts = _check_location(location)
        if config:
            self.check_config(config, parts[1] if len(parts) > 1 else location)
        ext = parts[-1].rsplit(".", 1)[-1]
        decoder = _DECODERS.get(ext)
        if decoder is None:
            raise StoreError(
                f"The value at {location!r} has format '.{ext}', which the {self.name} IO "
                f"manager cannot read (it reads {', '.join(_READABLE_FORMATS)}): load it with "
                "the IO manager that stored it."
            )
        path = self._files.path(location)
        try:
            with self._files.open_read(location) as source:
                return decoder(source)
        except FileNotFoundError as error:
            raise StoreError(
                f"The stored value of {_where(location)} is missing at {path} (location "
                f"{location!r}): it was deleted or moved outside flowstone_nb. The next "
                "materialize will recompute it."
            ) from error
        except Exception as error:  # a decoder fails in its own way on bytes it cannot parse
            raise StoreError(
                f"The stored value of {_where(location)} at {path} is corrupt or unreadable "
                f"({type(error).__name__}: {error}). Materialize it with force=True to recompute "
                "it."
            ) from error

    def exists(self, location: str) -> bool:
        """Whether a file is stored at ``location``."""
        _check_location(location)
        return self._files.exists(location)

    def delete(self, location: str) -> None:
        """Remove the file at ``location`` (older versions are separate files)."""
        _check_location(location)
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

    def _encode(self, asset: str, slug: str, value: object, config: Mapping[str, Any]) -> _Encoder:
        kind = _pandas_kind(value)
        if kind is not None:
            try:
                table = _arrow_table(value, kind)
            except _NOT_PARQUET:
                return _pickle(value, asset, slug, self.name)
            return _parquet(table, asset, slug, config)
        array: Any = value
        if _is_ndarray(value) and not array.dtype.hasobject:
            return _npy(value)
        if _is_json_value(value):
            return _json(value)
        return _pickle(value, asset, slug, self.name)


class ParquetIOManager(_FileIOManager):
    """Stores pandas DataFrames and Series as Parquet, and nothing else.

    ``io_config`` may set ``compression`` (default ``"snappy"``).
    """

    name = "parquet"

    def _encode(self, asset: str, slug: str, value: object, config: Mapping[str, Any]) -> _Encoder:
        kind = _pandas_kind(value)
        if kind is None:
            raise StoreError(
                f"Asset {asset!r} partition {slug!r} returned a {type(value).__qualname__}, but "
                "the parquet IO manager stores only pandas DataFrames and Series: return a "
                'DataFrame, or use io_manager="filesystem", which picks the format by type.'
            )
        try:
            table = _arrow_table(value, kind)
        except _NOT_PARQUET as error:
            raise StoreError(
                f"Asset {asset!r} partition {slug!r}: Parquet cannot hold this {kind} ({error}). "
                "Give each column one type (e.g. df[col].astype(str)), or use "
                'io_manager="filesystem", which pickles what Parquet cannot hold.'
            ) from error
        return _parquet(table, asset, slug, config)


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
