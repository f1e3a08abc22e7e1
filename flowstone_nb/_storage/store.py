"""The embedded store of one home: its catalog and its IO managers, opened on first use.

A home is a local folder or an fsspec URL. Values live under the home; the SQLite catalog lives in
the home when it is local, and in a local cache folder keyed by the URL otherwise (SQLite needs a
local file). :func:`get_store` returns the store of the configured home, one per home per process.
This module decides *where*, and refuses to open an empty catalog file beside the values it
should know (a new catalog would silently forget their history); the IO managers and the catalog
decide *how*.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.config import is_local_home, local_folder, settings

if TYPE_CHECKING:
    from flowstone_nb._storage.catalog import Catalog
    from flowstone_nb._storage.io import IOManager

# is_local_home (config's) is re-exported: "where" questions are asked of this module.
__all__ = ["Store", "catalog_path", "get_store", "is_local_home"]

_log = logging.getLogger("flowstone_nb.store")


def catalog_path(home: str) -> Path:
    """Where the catalog of ``home`` lives."""
    folder = local_folder(home)
    if folder is not None:
        return folder / "catalog.sqlite"
    cache = Path(os.environ.get("FLOWSTONE_CATALOG_DIR", "~/.cache/flowstone_nb")).expanduser()
    digest = hashlib.blake2b(home.encode(), digest_size=8).hexdigest()
    return cache / digest / "catalog.sqlite"


class Store:
    """The catalog and IO managers of one home."""

    def __init__(self, home: str) -> None:
        self.home = home
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._managers: dict[str, IOManager] = {}
        self._identity: tuple[int, int] | None = None  # the open catalog file's (device, inode)

    @property
    def catalog(self) -> Catalog:
        """The SQLite catalog (opened, migrated and recovered on first use).

        Opening it also makes the memory IO manager, which every run looks up.
        """
        catalog = self._catalog
        if catalog is not None:  # open: the common case, no lock needed to read it
            return catalog
        with self._lock:  # another thread may have opened it meanwhile
            catalog = self._catalog = self._catalog or self._open_catalog()
        self.io_manager("memory")
        return catalog

    def _open_catalog(self) -> Catalog:
        from flowstone_nb._storage.catalog import Catalog

        path = catalog_path(self.home)
        self._refuse_lost_history(path)
        catalog = Catalog(path)
        self._identity = _identity(path)
        folder = local_folder(self.home)
        if folder is not None:  # (remote homes are written by workers of other hosts)
            from flowstone_nb._storage.io.files import LocalFiles

            removed = LocalFiles(folder).remove_stale_temp_files()
            if removed:
                _log.info("Removed %d temp file(s) of writers that died: %s", len(removed), removed)
        return catalog

    def _refuse_lost_history(self, path: Path) -> None:
        """Raise when the catalog file is empty although the home shows it had a history.

        SQLite turns an empty file into a new catalog (and ignores its log): the history of the
        values under the home would be gone without a word.
        """
        if _size(path) != 0:  # a catalog, or none yet (or not a file: opening it says so)
            return
        from flowstone_nb._storage.catalog.connections import LOST_CATALOG_ADVICE

        log = path.with_name(f"{path.name}-wal")
        log_size = _size(log) or 0
        if log_size:
            lost = f"its log {log} holds {log_size} bytes, which SQLite would discard"
        else:
            from flowstone_nb._storage.io.files import files_for

            if not files_for(self.home).holds_values():
                return
            lost = f"the home {self.home} holds stored values"
        raise StoreError(
            f"The catalog {path} is empty (0 bytes), but {lost}: its history was lost (the file "
            f"was truncated or replaced), and nothing was changed: {LOST_CATALOG_ADVICE}"
        )

    def check_current(self) -> None:
        """Start again when the open catalog's file was removed or replaced since it was opened.

        A home deleted in a running kernel (``rm -rf .flowstone``, ``shutil.rmtree``), or a
        catalog restored from a backup, must not be written through connections to the old
        file, which nobody will read again: the catalog (and the IO managers, whose memory
        values belonged to the old catalog) are dropped, and the file that is there now is
        opened on next use. One ``stat`` call; done on every :func:`get_store`.
        """
        with self._lock:  # (one thread starts again; the others find it done)
            catalog = self._catalog
            if catalog is None or _identity(catalog_path(self.home)) == self._identity:
                return
            self._catalog = None
            self._managers = {}
        _log.warning(
            "The catalog %s was removed or replaced since it was opened: the store of %s "
            "starts again with the file there now.",
            catalog.path,
            self.home,
        )
        with contextlib.suppress(StoreError):  # (its file is gone: nothing to keep)
            catalog.close()

    def io_manager(self, name: str) -> IOManager:
        """The IO manager called ``name`` for this home."""
        manager = self._managers.get(name)
        if manager is None:
            from flowstone_nb._storage.io import make_io_manager

            with self._lock:  # one manager per name, even when workers ask at once
                manager = self._managers.setdefault(name, make_io_manager(name, self.home))
        return manager

    def close(self) -> None:
        """Close the catalog connection(s)."""
        with self._lock:
            if self._catalog is not None:
                self._catalog.close()
                self._catalog = None

    def __repr__(self) -> str:
        return f"Store(home={self.home!r})"


def _identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of the file at ``path`` (``None``: there is none)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _size(path: Path) -> int | None:
    """The size of the file at ``path``, or ``None`` when there is none."""
    try:
        return path.stat().st_size
    except OSError:
        return None


_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def get_store(home: str | None = None) -> Store:
    """The store of ``home`` (default: the configured home), one per home in this process."""
    key = home if home is not None else settings().home
    store = _stores.get(key)
    if store is None:
        with _stores_lock:
            store = _stores.setdefault(key, Store(key))
    else:
        store.check_current()
    return store
