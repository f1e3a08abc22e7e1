"""Data versions: the blake2b hash (16 bytes) of a value's stored bytes, taken as they are written.

This module owns the writer that encoders write into: it hashes the bytes on their way and passes
them on, from a helper thread once a payload is large enough for the overlap to pay (hashlib and
file writes release the GIL, so with a core to spare a large value costs about what encoding it
does). The helper is handed at most :data:`_CHUNKS_IN_FLIGHT` chunks at a time: an encoder that
runs ahead waits, so a value is never held twice in memory (once encoded, once queued). Equal
content gives an equal version, whatever path the bytes took. It must not know formats or where
the bytes end up.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

__all__ = ["HashingWriter", "content_version", "encode_into"]

#: Bytes of a payload hashed in the encoding thread; what follows goes to a helper thread.
_OVERLAP_FROM = 64 * 1024
#: Chunks handed to the helper and not yet written, at most: beyond that the encoder waits. A
#: 400,000-row frame is ~80 chunks of Parquet (of ~160 KB); unbounded, a helper slowed by a busy
#: machine had nearly all of them queued, one more copy of the value per worker. Fewer than 32
#: made the encoder wait often enough to slow a 100,000-row store by 10-15 %.
_CHUNKS_IN_FLIGHT = 32
#: Bytes read at a time when a stored file is hashed again.
_READ_CHUNK = 1024 * 1024


def _new_hash() -> hashlib.blake2b:
    """The hash of a data version (blake2b, 16 bytes): written values and re-read files alike."""
    return hashlib.blake2b(digest_size=16)


def content_version(source: BinaryIO) -> str:
    """The data version of the bytes ``source`` holds from where it is to its end.

    The version a value got when it was written, as long as its file is unchanged.
    """
    digest = _new_hash()
    while chunk := source.read(_READ_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class HashingWriter:
    """The binary file encoders write into: it hashes the bytes and passes them on.

    The first :data:`_OVERLAP_FROM` bytes are hashed in the calling thread and kept in memory,
    so a small value whose version is already stored is never written. When a payload grows
    past that, ``open_out`` is called, the kept bytes go to what it returned, and a helper
    thread hashes and passes on the chunks that follow, in order, while the encoder produces
    the next ones (waiting while :data:`_CHUNKS_IN_FLIGHT` are not passed on yet). Chunks are
    kept as ``bytes``: a buffer the encoder may reuse (pickle passes a value's own
    ``bytearray``) is copied first.

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
        self._hash = _new_hash()
        self._chunks: queue.Queue[bytes | None] | None = None
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
            chunks = self._chunks = queue.Queue(_CHUNKS_IN_FLIGHT)
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

    def _drain(self, chunks: queue.Queue[bytes | None]) -> None:
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


def encode_into(
    open_out: Callable[[], Callable[[Any], object]], encode: Callable[[HashingWriter], object]
) -> HashingWriter:
    """Run ``encode`` through a hashing writer; return the writer once everything is hashed.

    Parameters
    ----------
    open_out
        Where the bytes go, opened when they must be written (see :class:`HashingWriter`).
    encode
        Writes a value into the file it is given.

    Raises
    ------
    BaseException
        Whatever ``encode`` raised, or what passing the bytes on raised.
    """
    writer = HashingWriter(open_out)
    try:
        encode(writer)
    finally:
        writer.close()
    writer.version()  # raises what the helper met
    return writer
