"""Values are encoded straight into the temp file while a helper thread hashes and writes them.

The data version stays the blake2b hash (16 bytes) of the stored bytes, whatever path the bytes
took, so values stored before keep their versions and are found again by content.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.io import (
    FilesystemIOManager,
    StoredValue,
    atomic_write,
    formats,
    hashing,
)
from tests.resources.store_files import files_under


@pytest.fixture(params=["inline", "helper"])
def overlap(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Small payloads hashed in the encoding thread, or (threshold lowered) by the helper."""
    if request.param == "helper":
        monkeypatch.setattr(hashing, "_OVERLAP_FROM", 16)
    return str(request.param)


def stored_bytes(home: str, location: str) -> bytes:
    fs, root = fsspec.core.url_to_fs(home)
    data: bytes = fs.cat_file(f"{root.rstrip('/')}/{location}")
    return data


def content_hash(payload: bytes) -> str:
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def big_frame(rows: int = 60_000) -> pd.DataFrame:
    """Random numbers, so the Parquet payload is well above the overlap threshold."""
    rng = np.random.default_rng(7)
    return pd.DataFrame({"k": rng.integers(0, 1_000, rows), "x": rng.random(rows)})


def assert_stored(home: str, stored: StoredValue) -> bytes:
    """The file is at its location, nothing else is left, and its version hashes its bytes."""
    assert files_under(home) == [stored.location]
    payload = stored_bytes(home, stored.location)
    assert stored.data_version == content_hash(payload)
    assert stored.size_bytes == len(payload)
    assert stored.location.rsplit("/", 1)[-1].startswith(stored.data_version + ".")
    return payload


# --- every format, both homes, both paths ---------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}),
        pd.Series([1.5, 2.5], name="s"),
        {"a": [1, 2], "b": None},
        np.arange(1_000, dtype="int64").reshape(10, 100),
        {3, 4},
        [bytearray(b"xyz" * 100), b"abc"],
    ],
    ids=["frame", "series", "json", "npy", "pickle", "pickle-bytearray"],
)
def test_versions_hash_the_stored_bytes(store_home: str, overlap: str, value: object) -> None:
    manager = FilesystemIOManager(store_home)
    stored = manager.store("thing", "all", value)
    assert_stored(store_home, stored)
    loaded = manager.load(stored.location)
    assert repr(loaded) == repr(value)


def test_a_large_frame_overlaps_and_round_trips(store_home: str) -> None:
    frame = big_frame()
    manager = FilesystemIOManager(store_home)
    stored = manager.store("sales", "2024-01-01", frame)
    payload = assert_stored(store_home, stored)
    assert len(payload) > hashing._OVERLAP_FROM
    pd.testing.assert_frame_equal(manager.load(stored.location), frame)


def test_large_arrays_and_pickles_overlap_too(store_home: str) -> None:
    array = np.random.default_rng(3).random(100_000)
    blob = [bytearray(os.urandom(400_000)), "tail"]
    manager = FilesystemIOManager(store_home)
    stored_array = manager.store("matrix", "all", array)
    stored_blob = manager.store("blob", "all", blob)
    assert stored_array.size_bytes is not None
    assert stored_array.size_bytes > hashing._OVERLAP_FROM
    assert stored_array.data_version == content_hash(
        stored_bytes(store_home, stored_array.location)
    )
    assert stored_blob.data_version == content_hash(stored_bytes(store_home, stored_blob.location))
    np.testing.assert_array_equal(manager.load(stored_array.location), array)
    assert manager.load(stored_blob.location) == blob


def test_small_frames_convert_without_a_thread_pool_and_keep_their_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int | None] = []
    from_pandas = pa.Table.from_pandas

    def spy(frame: pd.DataFrame, **options: Any) -> pa.Table:
        threads.append(options.get("nthreads"))
        return from_pandas(frame, **options)

    class SpyArrow:
        """pyarrow, with ``Table.from_pandas`` watched."""

        Table = SimpleNamespace(from_pandas=spy)

        def __getattr__(self, name: str) -> Any:
            return getattr(pa, name)

    real_import = formats.lazy_import
    monkeypatch.setattr(
        formats,
        "lazy_import",
        lambda module: SpyArrow() if module == "pyarrow" else real_import(module),
    )
    frame = big_frame(30_000)
    alone = FilesystemIOManager(tmp_path / "alone").store("sales", "all", frame)
    monkeypatch.setattr(formats, "_THREADED_FROM_CELLS", frame.size - 1)
    pooled = FilesystemIOManager(tmp_path / "pooled").store("sales", "all", frame)
    assert threads == [1, None]
    assert alone.data_version == pooled.data_version


# --- values stored before -------------------------------------------------------------------------


def test_values_stored_by_earlier_versions_load_and_are_found_by_content(store_home: str) -> None:
    frame = big_frame(30_000)
    sink = pa.BufferOutputStream()  # how a whole payload was encoded and hashed before
    pq.write_table(pa.Table.from_pandas(frame), sink, compression="snappy")
    old_payload = sink.getvalue().to_pybytes()
    old_location = f"data/sales/all/{content_hash(old_payload)}.parquet"
    atomic_write(store_home, old_location, lambda out: out.write(old_payload))

    manager = FilesystemIOManager(store_home)
    pd.testing.assert_frame_equal(manager.load(old_location), frame)
    stored = manager.store("sales", "all", frame)
    assert stored.location == old_location
    assert files_under(store_home) == [old_location]


def test_an_existing_version_is_not_replaced(tmp_path: Path) -> None:
    manager = FilesystemIOManager(tmp_path)
    stored = manager.store("sales", "all", big_frame(30_000))
    path = tmp_path / stored.location
    os.utime(path, ns=(0, 0))
    inode = path.stat().st_ino
    # (the stored value it gives is the kept file's: its modification time too)
    assert manager.store("sales", "all", big_frame(30_000)) == stored._replace(modified_ns=0)
    assert path.stat().st_mtime_ns == 0
    assert path.stat().st_ino == inode
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_small_value_already_stored_is_not_written_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spills: list[int] = []

    class Counting(hashing.HashingWriter):
        def spill(self) -> None:
            spills.append(self.size)
            super().spill()

    manager = FilesystemIOManager(tmp_path)
    monkeypatch.setattr(hashing, "HashingWriter", Counting)
    first = manager.store("config", "all", {"a": 1})
    assert spills == [first.size_bytes]
    assert manager.store("config", "all", {"a": 1}) == first
    assert spills == [first.size_bytes]  # the stored version was found before any file opened


def test_a_temp_file_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the data folder should be")
    with pytest.raises(StoreError, match=r"asset 'sales' partition 'all'.*free space") as info:
        FilesystemIOManager(tmp_path).store("sales", "all", big_frame(20_000))
    assert isinstance(info.value.__cause__, OSError)


# --- atomicity ------------------------------------------------------------------------------------


class Peek:
    """Pickled by calling ``look`` while the store is writing it."""

    def __init__(self, look: Callable[[], None]) -> None:
        self.look = look

    def __reduce__(self) -> Any:
        self.look()
        return (int, (1,))


def test_readers_never_see_a_value_while_it_is_encoded(store_home: str, overlap: str) -> None:
    seen: list[list[str]] = []
    manager = FilesystemIOManager(store_home)
    stored = manager.store("odd", "p1", [Peek(lambda: seen.append(files_under(store_home)))])
    assert len(seen) == 1
    assert not any(manager.exists(f"data/odd/p1/{name}") for name in seen[0])
    assert all(name.rsplit("/", 1)[-1].startswith(".") for name in seen[0])
    assert files_under(store_home) == [stored.location]


def test_a_failing_encoder_leaves_no_file_and_stops_the_helper(
    store_home: str, overlap: str
) -> None:
    before = threading.active_count()

    def fail() -> None:
        raise RuntimeError("cannot serialize this on purpose")

    manager = FilesystemIOManager(store_home)
    with pytest.raises(
        StoreError, match=r"'broken' partition 'p1'.*pickling it failed.*on purpose"
    ):
        manager.store("broken", "p1", [b"x" * 100_000, Peek(fail)])
    assert files_under(store_home) == []
    assert threading.active_count() == before


def test_an_os_error_of_the_value_itself_is_a_pickling_error(store_home: str) -> None:
    def fail() -> None:
        raise OSError("the value's own resource is gone")

    with pytest.raises(StoreError, match=r"pickling it failed.*resource is gone"):
        FilesystemIOManager(store_home).store("odd", "all", Peek(fail))
    assert files_under(store_home) == []


class FailingWriter(hashing.HashingWriter):
    """Writes ``room`` bytes, then fails like a full disk."""

    room = 1_000

    def __init__(self, open_out: Callable[[], Callable[[Any], object]]) -> None:
        written = [0]

        def open_limited() -> Callable[[Any], object]:
            out = open_out()

            def limited(data: Any) -> object:
                written[0] += memoryview(data).nbytes
                if written[0] > self.room:
                    raise OSError(28, "No space left on device")
                return out(data)

            return limited

        super().__init__(open_limited)


@pytest.mark.parametrize(
    "value",
    [
        big_frame(20_000),
        [b"x" * 5_000, "pickled"],
        [b"y" * 2_000, b"x" * 100_000],
        np.zeros(5_000),
        np.zeros(50_000),
    ],
    ids=["parquet", "pickle", "pickle-while-pickling", "npy", "npy-large"],
)
def test_a_full_disk_names_the_asset_and_leaves_nothing(
    store_home: str, overlap: str, monkeypatch: pytest.MonkeyPatch, value: object
) -> None:
    monkeypatch.setattr(hashing, "HashingWriter", FailingWriter)
    manager = FilesystemIOManager(store_home)
    with pytest.raises(
        StoreError, match=r"asset 'sales' partition 'p1'.*No space left.*free space"
    ) as info:
        manager.store("sales", "p1", value)
    assert isinstance(info.value.__cause__, OSError)
    assert files_under(store_home) == []


# --- the writer itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0, 10, 1 << 30])
def test_the_writer_hashes_and_forwards_every_chunk_in_order(
    monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    monkeypatch.setattr(hashing, "_OVERLAP_FROM", threshold)
    received: list[bytes] = []
    opened: list[bool] = []

    def open_out() -> Callable[[Any], object]:
        opened.append(True)
        return lambda data: received.append(bytes(data))

    writer = hashing.HashingWriter(open_out)
    reused = bytearray(b"first")
    chunks: list[Any] = [b"a" * 7, reused, memoryview(b"view"), b"", b"z" * 3]
    try:
        for chunk in chunks:
            assert writer.write(chunk) == len(chunk)
        reused[:] = b"XXXXX"  # the writer kept what it was given, not the buffer
    finally:
        writer.close()
    assert bool(opened) == (threshold < 15)  # a small payload stays in memory until spilled
    writer.spill()
    writer.spill()
    assert opened == [True]
    expected = b"a" * 7 + b"first" + b"view" + b"z" * 3
    assert b"".join(received) == expected
    assert writer.version() == content_hash(expected)
    assert writer.size == len(expected)
    assert writer.closed is False
    writer.flush()
    writer.close()  # closing twice is harmless


def test_a_helper_failure_stops_the_next_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "_OVERLAP_FROM", 0)
    failed = threading.Event()

    def out(data: Any) -> None:
        failed.set()
        raise OSError(5, "Input/output error")

    writer = hashing.HashingWriter(lambda: out)
    writer.write(b"one")
    assert failed.wait(10)
    writer.close()  # the helper has finished with the failure recorded
    with pytest.raises(OSError, match="Input/output"):
        writer.write(b"two")
    with pytest.raises(OSError, match="Input/output"):
        writer.version()


class Interrupted(BaseException):
    """Not an Exception: the helper must still hand it over rather than lose chunks."""


def test_the_helper_hands_over_even_base_exceptions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "_OVERLAP_FROM", 0)

    def out(data: Any) -> None:
        raise Interrupted

    writer = hashing.HashingWriter(lambda: out)
    writer.write(b"one")
    writer.close()
    with pytest.raises(Interrupted):
        writer.version()


def test_an_encoder_ahead_of_the_helper_waits_instead_of_queueing_the_whole_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Unbounded, the chunks of a large value waiting for a slow helper were one more copy of it.
    monkeypatch.setattr(hashing, "_OVERLAP_FROM", 0)
    release = threading.Event()
    received: list[bytes] = []

    def out(data: Any) -> None:
        release.wait(30)
        received.append(bytes(data))

    writer = hashing.HashingWriter(lambda: out)
    chunks = [bytes([n]) * 10 for n in range(4 * hashing._CHUNKS_IN_FLIGHT)]
    written: list[int] = []

    def encode() -> None:
        for chunk in chunks:
            writer.write(chunk)
            written.append(len(chunk))

    encoder = threading.Thread(target=encode)
    encoder.start()
    encoder.join(0.5)  # (ends at once when nothing makes it wait)
    try:
        assert encoder.is_alive()
        # the helper holds one chunk (stuck in out), the queue the others it may hold
        assert len(written) <= hashing._CHUNKS_IN_FLIGHT + 2
    finally:
        release.set()
        encoder.join(30)
        writer.close()
    assert b"".join(received) == b"".join(chunks)
    assert writer.version() == content_hash(b"".join(chunks))
