"""Connections to one catalog file: one per thread, tuned for concurrent use, forgotten on fork.

This module owns how the catalog file is opened (WAL mode, ``synchronous=NORMAL``, a 30 s busy
timeout), which connection each thread uses (opened on first use; connections of finished
threads are closed when a new thread opens one), the ``BEGIN IMMEDIATE`` transaction every write
runs in, how SQLite errors read to the user, and SQLite's data version, which tells a connection
whether anyone has committed since it last looked. A forked child never touches its parent's
connections: it opens its own. It must not know the tables.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flowstone_nb._core.errors import StoreError

__all__ = ["Connections", "data_version"]

_BUSY_TIMEOUT = 30.0
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
        except sqlite3.Error as error:
            raise self.error("open", error) from error
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT * 1000)}")
        except sqlite3.Error as error:
            connection.close()
            raise self.error("open", error) from error
        return connection

    def error(self, action: str, error: sqlite3.Error) -> StoreError:
        """The error to raise when the catalog could not do ``action`` (``"open"``, ...)."""
        if getattr(error, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
            return StoreError(
                f"The catalog {self.path} is not a readable SQLite database ({error}): move it "
                "away (a new, empty catalog is then created; stored values stay where they "
                "are) or configure another home with fs.configure(home=...)."
            )
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
        except sqlite3.Error as error:
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

    def close(self) -> None:
        """Close every connection; using them again opens new ones."""
        with self._lock:
            connections = list(self._open.values())
            self._open.clear()
            self._local = threading.local()
            self._watched = None
        for connection in connections:
            connection.close()

    def forget(self) -> None:
        """In a forked child: leave the parent's connections alone and open fresh ones."""
        _abandoned.extend(self._open.values())
        self._open = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._watched = None


def data_version(connection: sqlite3.Connection) -> int:
    """SQLite's data version of ``connection``: it changes when another connection commits."""
    version: int = connection.execute(_DATA_VERSION).fetchone()[0]
    return version
