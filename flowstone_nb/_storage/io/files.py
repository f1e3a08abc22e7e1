"""Where stored bytes go: files under a home, written atomically, named by their data version.

This module owns the layout under a home (a local folder or an fsspec URL such as ``memory://x``
or ``s3://bucket/x``)::

    <home>/data/<asset>/<partition_slug>/<data_version>.<ext>

the names that may appear in it (each part stays inside the home), and atomic writes: a temp file
in the same folder, then a rename. A temp file's name carries its writer (host, pid and mark), so
that the temp files of writers killed half-way can be told from those being written, and removed
(:meth:`LocalFiles.remove_stale_temp_files`). A version that already exists is not replaced when
its file still holds that version (on a local home the new temp file is dropped; on other homes
nothing is uploaded); a file of that name that was damaged since is written again. Older versions
stay loadable by their location. Local homes use plain ``os``/``pathlib`` calls; other URLs go
through fsspec (where a rename is whatever the filesystem's ``mv`` offers: atomic on local disks
and in memory, a copy and delete on object stores). Files are not fsynced: after an operating-
system crash a value may be unreadable, and loading it says so. It must not know formats: encoders
are handed in.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from flowstone_nb._core.errors import StoreError
from flowstone_nb._core.io_managers import MAX_NAME_BYTES
from flowstone_nb._storage.config import local_folder
from flowstone_nb._storage.io.formats import Encoder
from flowstone_nb._storage.io.hashing import HashingWriter, content_version, encode_into
from flowstone_nb._storage.io.imports import lazy_import
from flowstone_nb._storage.io.stamps import StoredStamp
from flowstone_nb._storage.processes import host_name, host_token, own_mark, writer_alive
from flowstone_nb._storage.tuples import from_values

__all__ = [
    "MAX_NAME_BYTES",
    "FileStat",
    "FsspecFiles",
    "LocalFiles",
    "StoredFile",
    "atomic_write",
    "check_location",
    "check_segment",
    "describe_location",
    "files_for",
    "location_owner",
    "value_folder",
]


# --- names that must stay inside the home ---------------------------------------------------------


def _segment_problem(text: str) -> str | None:
    if not text:
        return "is empty"
    if text in (".", ".."):
        return "is a relative path"
    if "/" in text or "\\" in text or "\0" in text:
        return "contains '/', '\\' or a NUL character"
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return (
            f"has {len(text)} characters ({size} bytes in UTF-8); at most {MAX_NAME_BYTES} bytes "
            "fit in a file name"
        )
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
        :data:`MAX_NAME_BYTES` bytes in UTF-8.
    """
    problem = _segment_problem(text)
    if problem is not None:
        raise StoreError(
            f"The {kind} {_shown(text)} {problem}: it cannot be used as a folder name in the "
            "store. Use a name made of letters, digits, '_', '-' and '.'."
        )
    return text


# A location whose every part is plain ASCII (letters, digits, ``_.=+-``), neither ``.`` nor ``..``,
# of at most MAX_NAME_BYTES characters: what the managers write. Such a location is safe without
# looking at its parts one by one (a named fast path of check_location, tested equal to it).
_PART = rf"(?!\.\.?(?:/|$))[A-Za-z0-9_.=+-]{{1,{MAX_NAME_BYTES}}}"
_PLAIN_LOCATION = re.compile(rf"{_PART}(?:/{_PART})*")


def check_location(location: str) -> list[str]:
    """The ``/``-separated parts of ``location``, once each is known to stay inside the home.

    Raises
    ------
    StoreError
        For a part that is empty, relative, holds a separator or is too long.
    """
    parts = location.split("/")
    if _PLAIN_LOCATION.fullmatch(location):
        return parts
    for part in parts:
        problem = _segment_problem(part)
        if problem is not None:
            raise StoreError(
                f"Stored value location {_shown(location)} does not stay inside the store home: "
                f"its part {_shown(part)} {problem}. Use a location returned by an IO manager "
                "(fs.history shows them)."
            )
    return parts


_DATA = "data"  # the folder, under the home, of every stored value


def value_folder(asset: str, partition_slug: str) -> str:
    """The folder, relative to the home, that holds the versions of one asset partition."""
    return f"{_DATA}/{asset}/{partition_slug}"


def location_owner(location: str) -> tuple[str, str] | None:
    """The ``(asset, partition_slug)`` whose value a location of the layout holds, else ``None``.

    Memory locations (``memory:<asset>/<slug>/<version>``) follow the same layout.
    """
    parts = location.removeprefix("memory:").split("/")
    return (parts[-3], parts[-2]) if len(parts) >= 3 else None


def describe_location(location: str) -> str:
    """``asset 'a' partition 'p'`` for a location of the layout, else the location itself."""
    owner = location_owner(location)
    if owner is not None:
        return f"asset {owner[0]!r} partition {owner[1]!r}"
    return f"location {location!r}"


# --- where the bytes go ---------------------------------------------------------------------------


class StoredFile(NamedTuple):
    """A value written under the home: where, its data version, its size and modification time.

    The time (in nanoseconds) is ``None`` on homes that are not local.
    """

    location: str
    data_version: str
    size: int
    modified_ns: int | None


class FileStat(NamedTuple):
    """A stored file's size, and its modification time in nanoseconds (``None``: not kept)."""

    size: int
    modified_ns: int | None


def _local_stat(path: str | Path) -> os.stat_result | None:
    try:
        return os.stat(path)  # noqa: PTH116  # hot path: no Path object
    except FileNotFoundError:
        return None


# A temp file is named after its target and its writer: ".<name>.<host>-<pid>-<mark>.<random>.tmp"
# (the mark is "x" where processes have none; see flowstone_nb._storage.processes).
_TEMP_NAME = re.compile(r"\..+\.([0-9a-f]{8})-([0-9]+)-([0-9a-f]{8}|x)\.[0-9a-f]{12}\.tmp")
_HOST = host_token(host_name())


def _temp_name(name: str) -> str:
    return f".{name}.{_HOST}-{os.getpid()}-{own_mark() or 'x'}.{secrets.token_hex(6)}.tmp"


def _holds(
    open_read: Callable[[str], BinaryIO], size: int, writer: HashingWriter, location: str
) -> bool:
    """Whether the file at ``location`` (of ``size`` bytes) holds what ``writer`` wrote.

    A stored version whose size differs was cut short or added to; one of the same size may
    have been edited in place: its bytes are hashed again, so that storing a value again always
    leaves a good file (what a forced materialize relies on to repair a damaged value).
    """
    if size != writer.size:
        return False
    try:
        with open_read(location) as source:
            return content_version(source) == writer.version()
    except FileNotFoundError:  # removed meanwhile: write it
        return False


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def _writer_gone(name: str) -> bool:
    """Whether ``name`` is a temp file whose writer is known to be gone (on this host)."""
    writer = _TEMP_NAME.fullmatch(name)
    if writer is None or writer[1] != _HOST:  # not ours to judge: another host, an older form
        return False
    pid, mark = writer[2], writer[3]
    return not writer_alive(int(pid), None if mark == "x" else mark)


class LocalFiles:
    """Files under a local folder, through plain ``pathlib`` calls (the fast path)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        # Where "/" is the only separator, a path is the root and the location (a named fast
        # path of os.path.join, tested equal to it for the locations the managers write).
        plain = os.sep == "/" and os.altsep is None
        self._prefix = (self._root.rstrip("/") + "/") if plain else None

    def path(self, location: str) -> str:
        """The file's path."""
        if self._prefix is not None and _PLAIN_LOCATION.fullmatch(location):
            return self._prefix + location
        return os.path.join(self._root, *location.split("/"))  # noqa: PTH118  # hot, no pathlib

    def exists(self, location: str) -> bool:
        """Whether a file is at ``location``."""
        return os.path.exists(self.path(location))  # noqa: PTH110  # hot path: no Path object

    def open_read(self, location: str) -> BinaryIO:
        """The file at ``location``, open for reading."""
        return Path(self.path(location)).open("rb")

    def store_new(self, folder: str, encoder: Encoder) -> StoredFile:
        """Encode into a temp file in ``folder``, then rename it to ``<version>.<ext>``.

        A large payload streams into the temp file while it is encoded; a small one is written
        only when its version is new. When the version is already stored, the stored file stays
        untouched.
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
                writer = encode_into(open_temp, encoder.write)
                version = writer.version()
                final = directory / f"{version}.{encoder.ext}"
                kept = _local_stat(final)
                location = f"{folder}/{version}.{encoder.ext}"
                new = kept is None or not _holds(self.open_read, kept.st_size, writer, location)
                if new:
                    writer.spill()
            finally:
                for out in opened:
                    out.close()
            if new:
                temp.replace(final)
                kept = os.stat(final)  # noqa: PTH116  # hot path: no Path object
            elif opened:
                temp.unlink()
        except BaseException:
            if opened:
                temp.unlink(missing_ok=True)
            raise
        assert kept is not None  # stored now, or before
        return from_values(StoredFile, (location, version, writer.size, kept.st_mtime_ns))

    def stat(self, location: str) -> FileStat | None:
        """The size and modification time of the file at ``location``, or ``None`` if missing."""
        found = _local_stat(self.path(location))
        return None if found is None else from_values(FileStat, (found.st_size, found.st_mtime_ns))

    def disagreeing(self, values: Sequence[StoredStamp]) -> list[int]:
        """The places of the values whose file is not there with exactly its stamp's size and time.

        One stat per file and no more (a status report asks this of every partition): a
        location is joined to the root only when it is plain (see ``check_location``); a file
        that is not plain, missing or different is named, for the caller to look at closely.
        """
        prefix, plain, stat = self._prefix, _PLAIN_LOCATION.fullmatch, os.stat
        if prefix is None:
            return list(range(len(values)))
        odd: list[int] = []
        for place, value in enumerate(values):
            location = value.location
            if location is None or plain(location) is None:
                odd.append(place)
                continue
            try:
                kept = stat(prefix + location)
            except OSError:
                odd.append(place)
                continue
            if kept.st_mtime_ns != value.modified_ns or kept.st_size != value.size_bytes:
                odd.append(place)
        return odd

    def write_atomic(self, location: str, write: Callable[[BinaryIO], object]) -> None:
        """Write the file at ``location`` through a temp file beside it (see atomic_write)."""
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
        """Remove the file at ``location``, if any."""
        Path(self.path(location)).unlink(missing_ok=True)

    def holds_values(self) -> bool:
        """Whether any value is stored under the home (temp files do not count)."""
        for _, _, names in os.walk(self.path(_DATA)):
            if any(not _is_temp(name) for name in names):
                return True
        return False

    def remove_stale_temp_files(self) -> list[str]:
        """Remove the temp files that writers now gone left under the home; return where.

        A writer killed half-way (``kill -9``, a crash, a full disk) leaves its temp file
        behind. Only files whose name shows a writer of this host that no longer runs are
        removed; those of live writers, of other hosts and in older forms stay.
        """
        removed: list[str] = []
        for folder, _, names in os.walk(self.path(_DATA)):
            for name in names:
                if _writer_gone(name):
                    path = Path(folder, name)
                    try:
                        path.unlink(missing_ok=True)  # (another process may sweep at once)
                    except OSError:  # not ours to remove after all (another user's, read-only)
                        continue
                    removed.append(path.relative_to(self.root).as_posix())
        return removed


class FsspecFiles:
    """Files under an fsspec URL; the rename is the filesystem's ``mv``."""

    def __init__(self, url: str) -> None:
        self.fs, root = lazy_import("fsspec.core").url_to_fs(url)
        self.root = str(root).rstrip("/")

    def path(self, location: str) -> str:
        """The file's path on the filesystem."""
        return f"{self.root}/{location}"

    def exists(self, location: str) -> bool:
        """Whether a file is at ``location``."""
        return bool(self.fs.exists(self.path(location)))

    def open_read(self, location: str) -> BinaryIO:
        """The file at ``location``, open for reading."""
        opened: BinaryIO = self.fs.open(self.path(location), "rb")
        return opened

    def store_new(self, folder: str, encoder: Encoder) -> StoredFile:
        """Encode into memory, then write ``<version>.<ext>`` unless that version is stored."""
        buffer = io.BytesIO()
        writer = encode_into(lambda: buffer.write, encoder.write)
        writer.spill()
        version = writer.version()
        location = f"{folder}/{version}.{encoder.ext}"
        kept = self.stat(location)
        if kept is None or not _holds(self.open_read, kept.size, writer, location):
            payload = buffer.getbuffer()
            self.write_atomic(location, lambda out: out.write(payload))
        return from_values(StoredFile, (location, version, writer.size, None))

    def disagreeing(self, values: Sequence[StoredStamp]) -> list[int]:
        """Every place: object stores keep no time to agree with at a glance."""
        return list(range(len(values)))

    def stat(self, location: str) -> FileStat | None:
        """The size of the file at ``location`` (no time: object stores keep none to compare)."""
        try:
            info = self.fs.info(self.path(location))
        except FileNotFoundError:
            return None
        return FileStat(int(info["size"]), None)

    def write_atomic(self, location: str, write: Callable[[BinaryIO], object]) -> None:
        """Write the file at ``location`` through a temp file beside it (see atomic_write)."""
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
        """Remove the file at ``location``, if any."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self.path(location))

    def holds_values(self) -> bool:
        """Whether any value is stored under the home (temp files do not count)."""
        found: list[str] = self.fs.find(self.path(_DATA))
        return any(not _is_temp(path.rsplit("/", 1)[-1]) for path in found)


def files_for(home: str) -> LocalFiles | FsspecFiles:
    """The files under ``home``: plain calls for a local home, fsspec for other URLs."""
    folder = local_folder(home)
    return LocalFiles(folder) if folder is not None else FsspecFiles(home)


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
    files_for(home).write_atomic("/".join(check_location(location)), write)
