"""Names of the IO managers a definition may ask for, and how to build them.

Definitions are validated long before anything is stored, so this module only knows *names* and
*factories*; it imports no IO code itself (the built-in managers live in ``_io`` and are imported
on first use). A factory receives the store home (a local path or an fsspec URL) and returns an IO
manager.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

from flowstone_nb._core.errors import FlowstoneError, did_you_mean

__all__ = [
    "BUILTIN_IO_MANAGERS",
    "MAX_NAME_BYTES",
    "get_io_manager_factory",
    "known_io_manager_names",
    "register_io_manager",
    "unregister_io_manager",
]

IOManagerFactory = Callable[[str], Any]

#: Built-in manager names mapped to ``"module:attribute"`` of their factory, imported lazily.
BUILTIN_IO_MANAGERS: dict[str, str] = {
    "filesystem": "flowstone_nb._storage.io:FilesystemIOManager",
    "memory": "flowstone_nb._storage.io:MemoryIOManager",
    "parquet": "flowstone_nb._storage.io:ParquetIOManager",
}

#: The longest asset name (or partition slug), in UTF-8 bytes, that the managers can give a folder:
#: a file name may take 255 bytes, and a temp file's name adds about 45 to it.
MAX_NAME_BYTES = 200

_custom: dict[str, IOManagerFactory] = {}
_lock = threading.Lock()


def register_io_manager(name: str, factory: IOManagerFactory, *, replace: bool = False) -> None:
    """Make ``name`` usable as ``io_manager=name`` in asset definitions.

    Parameters
    ----------
    name
        The name definitions refer to.
    factory
        Called with the store home (path or fsspec URL); returns the IO manager instance.
    replace
        Allow replacing an existing custom manager of the same name.
    """
    if not name.isidentifier():
        raise FlowstoneError(
            f"IO manager name {name!r} is not a valid identifier: use letters, digits and '_'."
        )
    with _lock:
        if name in BUILTIN_IO_MANAGERS:
            raise FlowstoneError(
                f"IO manager name {name!r} is built in and cannot be replaced: choose another name."
            )
        if name in _custom and not replace:
            raise FlowstoneError(
                f"IO manager {name!r} is already registered: pass replace=True to replace it."
            )
        _custom[name] = factory


def unregister_io_manager(name: str) -> None:
    """Forget a custom IO manager registered with :func:`register_io_manager`."""
    with _lock:
        _custom.pop(name, None)


def known_io_manager_names() -> list[str]:
    """Return every IO manager name a definition may use, sorted."""
    with _lock:
        return sorted({*BUILTIN_IO_MANAGERS, *_custom})


def get_io_manager_factory(name: str) -> IOManagerFactory:
    """Return the factory for ``name``; unknown names raise with close matches."""
    with _lock:
        factory = _custom.get(name)
    if factory is not None:
        return factory
    target = BUILTIN_IO_MANAGERS.get(name)
    if target is None:
        hint = did_you_mean(name, known_io_manager_names())
        raise FlowstoneError(
            f"Unknown IO manager {name!r}.{hint} Known managers: "
            f"{', '.join(known_io_manager_names())}; register your own with "
            "fs.register_io_manager(name, factory)."
        )
    module_name, attribute = target.split(":")
    builtin: IOManagerFactory = getattr(importlib.import_module(module_name), attribute)
    return builtin
