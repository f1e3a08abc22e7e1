"""Connections to one catalog file: one per thread, tuned for concurrent use, forgotten on fork.

This module owns how the catalog file is opened (WAL mode, ``synchronous=NORMAL``, a 30 s busy
timeout, a page cache of up to 64 MiB), which connection each thread uses (opened on first use;
connections of finished threads are closed when a new thread opens one), the ``BEGIN IMMEDIATE``
transaction every write runs in, how SQLite errors read to the user (a damaged file says so,
naming the file and what to do), and SQLite's data version, which tells a connection whether
anyone has committed since it last looked. A forked child never touches its parent's
connections: it opens its own. It must not know the tables.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flowstone_nb._core.errors import StoreError

__all__ = ["FAILURES", "LOST_CATALOG_ADVICE", "Connections", "damaged", "data_version"]

#: What to do with a catalog file that cannot serve: every error about one ends with it.
LOST_CATALOG_ADVICE = (
    "restore it from a backup, or move it away (rename it aside, with its -wal and -shm files "
    "if any) to start a new, empty catalog. Stored values stay where they are; the next "
    "materialize recomputes what the new catalog does not know."
)

#: What using a catalog file may raise: SQLite's errors, and the ``ValueError`` of text or JSON
#: that a damaged file holds (a ``UnicodeDecodeError`` is one). Turn them into a StoreError with
#: :meth:`Connections.error`.
FAILURES = (sqlite3.Error, ValueError)

# SQLite's names of the errors a damaged file gives, and the texts of those it gives no name.
_DAMAGE_NAMES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_DAMAGE_TEXTS = ("malformed", "no such table", "no such column")

_BUSY_TIMEOUT = 30.0
# The page cache, in KiB when negative: SQLite's default of 2 MiB holds a few hundred pages, and
# a status report of 10,000 partitions of a large catalog reads ten thousand, again each time it
# is shown. It fills only as pages are read.
_CACHE_KIB = -64 * 1024
_FOLD_LOG = "PRAGMA wal_checkpoint(PASSIVE)"
_DATA_VERSION = "PRAGMA data_version"

# Connections of a parent process, kept referenced in a forked child but never used nor closed:
# closing them there could checkpoint or unlock files the parent still relies on.
_abandoned: list[sqlite3.Connection] = []


class Connections:
    """The connections of this process to one catalog file, one per thread.

    Parameters
    ----------
    path
        The catalog file (its folder exists).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._local = threading.local()
        self._open: dict[threading.Thread, sqlite3.Connection] = {}
        # The connection told to watch for commits, and its data version then (see watch).
        self._watched: tuple[sqlite3.Connection, int] | None = None
        #: Commits made through these connections (see :meth:`changes`).
        self.commits = 0

    def __len__(self) -> int:
        """How many connections are open."""
        return len(self._open)

    def get(self) -> sqlite3.Connection:
        """The calling thread's connection (opened on first use)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open_for_this_thread()
        return connection

    def _open_for_this_thread(self) -> sqlite3.Connection:
        connection = self.connect()
        with self._lock:
            for thread in [t for t in self._open if not t.is_alive()]:
                self._open.pop(thread).close()
            self._open[threading.current_thread()] = connection
        self._local.connection = connection
        return connection

    def connect(self) -> sqlite3.Connection:
        """A new connection to the file, tuned for concurrent use by threads and processes."""
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=256,
            )
        except FAILURES as error:
            raise self.error("open", error) from error
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA cache_size={_CACHE_KIB}")
            connection.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT * 1000)}")
        except FAILURES as error:
            connection.close()
            raise self.error("open", error) from error
        return connection

    def error(self, action: str, error: Exception) -> StoreError:
        """The error to raise when the catalog could not do ``action`` (``"open"``, ...).

        ``error`` is one of :data:`FAILURES`. A damaged file says so and what to do about it;
        anything else (a lock held too long, a full disk) says that nothing was changed.
        """
        if _is_damage(error):
            return damaged(self.path, action, f"{type(error).__name__}: {error}")
        return StoreError(
            f"The catalog {self.path} could not {action} ({type(error).__name__}: {error}); "
            "nothing was changed. If another process keeps it locked, let it finish; if the "
            "disk is full or read-only, free space or configure another home."
        )

    @contextmanager
    def transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction on this thread's connection.

        Commits when the block ends, rolls back when it raises; SQLite errors become a
        :class:`StoreError` saying the catalog could not do ``action``.
        """
        connection = self.get()
        self._watched = None  # (a commit by the watched connection leaves its version as is)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            connection.execute("COMMIT")
            self.commits += 1
        except FAILURES as error:
            connection.rollback()
            raise self.error(action, error) from error
        except BaseException:
            connection.rollback()
            raise

    def watch(self, connection: sqlite3.Connection, version: int) -> None:
        """Note that nothing was committed as ``connection`` saw data version ``version``.

        :meth:`unchanged` then tells, with one pragma, whether that still holds.
        """
        self._watched = (connection, version)

    def unchanged(self, connection: sqlite3.Connection) -> bool:
        """Whether nothing was committed since :meth:`watch` was told about ``connection``.

        SQLite changes a connection's data version whenever another connection commits (other
        processes, other threads); commits through this one end the watch (see transaction).
        Once a commit is seen, the watch ends too.
        """
        watched = self._watched
        if watched is None or watched[0] is not connection:
            return False
        if data_version(connection) == watched[1]:
            return True
        self._watched = None
        return False

    def changes(self, connection: sqlite3.Connection) -> tuple[int, int]:
        """A value that differs after any commit to the file, by this process or another.

        This process's commits are counted; another process's change SQLite's data version of
        ``connection``, the calling thread's. One pragma.
        """
        return self.commits, data_version(connection)

    def close(self) -> None:
        """Fold the log into the file, then close every connection; using them reopens them.

        The log's pages are copied into the file without waiting for anyone (a ``PASSIVE``
        checkpoint): what this process wrote is then in the file, whoever else still reads it.
        When these were the file's last connections, SQLite also removes the log.
        """
        with self._lock:
            connections = list(self._open.values())
            self._open.clear()
            self._local = threading.local()
            self._watched = None
        if connections:
            with contextlib.suppress(*FAILURES):  # best effort: the file stays correct anyway
                connections[0].execute(_FOLD_LOG)
        for connection in connections:
            connection.close()

    def forget(self) -> None:
        """In a forked child: leave the parent's connections alone and open fresh ones."""
        _abandoned.extend(self._open.values())
        self._open = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._watched = None


def damaged(path: Path, action: str, found: str) -> StoreError:
    """The error of a catalog file at ``path`` that is damaged: it could not do ``action``.

    Parameters
    ----------
    path
        The catalog file.
    action
        What it could not do (``"read its history"``).
    found
        What was found instead, for the message.
    """
    return StoreError(
        f"The catalog {path} is damaged, not a readable SQLite database ({found}), so it could "
        f"not {action}: {LOST_CATALOG_ADVICE}"
    )


def _is_damage(error: Exception) -> bool:
    if not isinstance(error, sqlite3.Error):  # text or JSON the file holds cannot be read
        return isinstance(error, (UnicodeDecodeError, json.JSONDecodeError))
    if getattr(error, "sqlite_errorname", "") in _DAMAGE_NAMES:
        return True
    text = str(error)
    return text.startswith("Could not decode") or any(part in text for part in _DAMAGE_TEXTS)


def data_version(connection: sqlite3.Connection) -> int:
    """SQLite's data version of ``connection``: it changes when another connection commits."""
    version: int = connection.execute(_DATA_VERSION).fetchone()[0]
    return version
