"""Value formats: which format a value is stored in, how it is encoded, and how it is read back.

This module owns the choice by value type (DataFrames and Series to Parquet, JSON-able values to
``.json``, NumPy arrays to ``.npy``, anything else to pickle), the encoders that write a value
into a :class:`~.hashing.HashingWriter`, and the decoders that read a stored file back. It must not
know where the bytes go. pandas, pyarrow and numpy are imported only when a value of theirs is
stored or loaded.
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.io.hashing import HashingWriter
from flowstone_nb._storage.io.imports import lazy_import
from flowstone_nb._storage.io.summaries import is_ndarray, pandas_kind

__all__ = ["Encoder", "decoder_for", "encoder_by_type", "parquet_encoder"]

#: Frames of at most this many cells convert to Arrow in one thread: pyarrow's thread pool costs
#: more than it saves below it (0.3-0.4 ms of a 1.8 ms store of 1,000 rows; 2.4 against 2.9 ms
#: for 100,000 x 5; 13 against 9.5 ms for 400,000 x 5 on two cores).
_THREADED_FROM_CELLS = 1_000_000
_SERIES_KEY = b"flowstone_nb"
#: What pyarrow raises when a pandas object does not fit Parquet (ArrowInvalid is a ValueError,
#: ArrowTypeError a TypeError, ArrowNotImplementedError a NotImplementedError).
_NOT_PARQUET = (ValueError, TypeError, NotImplementedError)


@dataclass(frozen=True)
class Encoder:
    """A value's format and how to write it: ``write`` encodes it into the file it is given."""

    ext: str
    write: Callable[[HashingWriter], object]


def _failure(asset: str, slug: str, text: str) -> StoreError:
    """An error about the value of one asset partition (it names them first)."""
    return StoreError(f"Asset {asset!r} partition {slug!r}{text}")


# --- the choice -----------------------------------------------------------------------------------


def encoder_by_type(
    value: object, asset: str, slug: str, manager: str, config: Mapping[str, Any]
) -> Encoder:
    """Parquet for pandas objects it can hold, JSON, ``.npy`` for arrays, else pickle.

    Parameters
    ----------
    value
        What the asset returned.
    asset, slug
        Whose value it is, for messages.
    manager
        The IO manager's name, for messages.
    config
        The asset's ``io_config`` (``compression`` for Parquet).
    """
    kind = pandas_kind(value)
    if kind is not None:
        try:
            table = _arrow_table(value, kind)
        except _NOT_PARQUET:
            return _pickle(value, asset, slug, manager)
        return _parquet(table, asset, slug, config)
    array: Any = value
    if is_ndarray(value) and not array.dtype.hasobject:
        return _npy(value)
    if _is_json_value(value):
        return _json(value)
    return _pickle(value, asset, slug, manager)


def parquet_encoder(value: object, asset: str, slug: str, config: Mapping[str, Any]) -> Encoder:
    """Parquet for a pandas DataFrame or Series; anything else is refused.

    Raises
    ------
    StoreError
        For values that are not pandas objects, or that Parquet cannot hold.
    """
    kind = pandas_kind(value)
    if kind is None:
        raise _failure(
            asset,
            slug,
            f" returned a {type(value).__qualname__}, but the parquet IO manager stores only "
            'pandas DataFrames and Series: return a DataFrame, or use io_manager="filesystem", '
            "which picks the format by type.",
        )
    try:
        table = _arrow_table(value, kind)
    except _NOT_PARQUET as error:
        raise _failure(
            asset,
            slug,
            f": Parquet cannot hold this {kind} ({error}). Give each column one type (e.g. "
            'df[col].astype(str)), or use io_manager="filesystem", which pickles what Parquet '
            "cannot hold.",
        ) from error
    return _parquet(table, asset, slug, config)


# --- encoders -------------------------------------------------------------------------------------


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
    pa = lazy_import("pyarrow")
    if kind == "frame":
        return pa.Table.from_pandas(
            value, nthreads=None if value.size > _THREADED_FROM_CELLS else 1
        )
    name = _json_name(value.name)
    column = value.name if isinstance(value.name, str) else "values"
    table = pa.Table.from_pandas(value.to_frame(name=column))
    metadata = {**(table.schema.metadata or {}), _SERIES_KEY: json.dumps(name).encode()}
    return table.replace_schema_metadata(metadata)


def _guarded(
    ext: str,
    asset: str,
    slug: str,
    *,
    encode: Callable[[HashingWriter], object],
    caught: tuple[type[Exception], ...],
    explain: Callable[[Exception], str],
) -> Encoder:
    """An encoder whose encoding failures (``caught``) become a StoreError about the value.

    ``explain`` says what went wrong and how to fix it. A failure to pass the bytes on (a full
    disk) is not the encoder's: it is raised as it is, for the manager to report.
    """

    def write(out: HashingWriter) -> None:
        try:
            encode(out)
        except caught as error:
            if error is out.failure:
                raise
            raise _failure(asset, slug, explain(error)) from error

    return Encoder(ext, write)


def _parquet(table: Any, asset: str, slug: str, config: Mapping[str, Any]) -> Encoder:
    pa, pq = lazy_import("pyarrow"), lazy_import("pyarrow.parquet")
    compression = config.get("compression", "snappy")
    return _guarded(
        "parquet",
        asset,
        slug,
        encode=lambda out: pq.write_table(table, out, compression=compression),
        caught=(pa.ArrowException, *_NOT_PARQUET),
        explain=lambda error: (
            f": Parquet could not write the value with compression {compression!r} ({error}). "
            "Set io_config compression to one of 'snappy', 'zstd', 'gzip', 'brotli', 'lz4' or "
            "'none'."
        ),
    )


def _npy(array: Any) -> Encoder:
    numpy = lazy_import("numpy")
    return Encoder("npy", lambda out: numpy.save(out, array, allow_pickle=False))


def _json(value: object) -> Encoder:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    payload = text.encode("utf-8")
    return Encoder("json", lambda out: out.write(payload))


def _pickle(value: object, asset: str, slug: str, manager: str) -> Encoder:
    return _guarded(
        "pkl",
        asset,
        slug,
        encode=lambda out: pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL),
        caught=(Exception,),  # user objects may raise anything from __reduce__/__getstate__
        explain=lambda error: (
            f": the {manager} IO manager cannot store a value of type "
            f"{type(value).__qualname__}: pickling it failed ({type(error).__name__}: {error}). "
            "Return a picklable value (or a DataFrame), or keep it in memory with "
            'io_manager="memory".'
        ),
    )


# --- decoders -------------------------------------------------------------------------------------


def _load_parquet(source: BinaryIO) -> Any:
    table = lazy_import("pyarrow.parquet").read_table(source)
    marker = (table.schema.metadata or {}).get(_SERIES_KEY)
    frame = table.to_pandas()
    if marker is None:
        return frame
    spec = json.loads(marker)
    series = frame.iloc[:, 0]
    series.name = tuple(spec["tuple"]) if "tuple" in spec else spec["name"]
    return series


def _load_npy(source: BinaryIO) -> Any:
    return lazy_import("numpy").load(source, allow_pickle=False)


def _load_json(source: BinaryIO) -> Any:
    return json.loads(source.read())


def _load_pickle(source: BinaryIO) -> Any:
    return pickle.load(source)  # only files this store wrote: trusted data (see the managers)


_DECODERS: dict[str, Callable[[BinaryIO], Any]] = {
    "parquet": _load_parquet,
    "json": _load_json,
    "npy": _load_npy,
    "pkl": _load_pickle,
}


def decoder_for(file_name: str, location: str, manager: str) -> Callable[[BinaryIO], Any]:
    """How to read the stored file ``file_name`` (by its extension).

    Parameters
    ----------
    file_name
        The last part of ``location``.
    location, manager
        Where the file is and which IO manager reads it, for the message.

    Raises
    ------
    StoreError
        For a format none of these decoders reads.
    """
    ext = file_name.rsplit(".", 1)[-1]
    decoder = _DECODERS.get(ext)
    if decoder is None:
        raise StoreError(
            f"The value at {location!r} has format '.{ext}', which the {manager} IO "
            f"manager cannot read (it reads {', '.join(_DECODERS)}): load it with "
            "the IO manager that stored it."
        )
    return decoder
