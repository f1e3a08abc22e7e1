"""Per-kernel settings: where the store lives, the default IO manager, resources.

``fs.configure(...)`` changes them; everything else reads :func:`settings`. The store home defaults
to ``$FLOWSTONE_HOME`` or ``./.flowstone`` (resolved to an absolute path when first used, so a
later ``os.chdir`` does not move the store). A home is local (a folder, or a ``file://`` URL) or
any other fsspec URL: :func:`is_local_home` is the one rule that tells them apart. This module
does no IO.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flowstone_nb._core.errors import FlowstoneError, did_you_mean
from flowstone_nb._core.io_managers import known_io_manager_names

__all__ = ["Settings", "configure", "is_local_home", "local_folder", "settings"]


@dataclass(frozen=True)
class Settings:
    """The settings in force.

    Attributes
    ----------
    home
        The store home: a local folder or an fsspec URL (``memory://…``, ``s3://…``).
    default_io_manager
        The IO manager of assets that name none (``"filesystem"`` persists by value type).
    resources
        Objects assets may ask for with ``requires=[...]`` (database clients, API keys …).
    progress
        Show progress bars: ``None`` decides by environment (notebooks yes, scripts no).
    """

    home: str
    default_io_manager: str = "filesystem"
    resources: Mapping[str, Any] = field(default_factory=dict)
    progress: bool | None = None


def is_local_home(home: str) -> bool:
    """True when ``home`` is a plain local path (or a ``file://`` URL)."""
    return "://" not in home or home.startswith("file://")


def local_folder(home: str) -> Path | None:
    """The folder of a local home (the path, or a ``file://`` URL's); ``None`` for other URLs."""
    return Path(home.removeprefix("file://")) if is_local_home(home) else None


def _default_home() -> str:
    return _normalise_home(os.environ.get("FLOWSTONE_HOME") or ".flowstone")


def _normalise_home(home: str | os.PathLike[str]) -> str:
    text = os.fspath(home)
    if "://" in text:
        return text.rstrip("/")
    return str(Path(text).expanduser().resolve())


_lock = threading.Lock()
_current: list[Settings] = []


def settings() -> Settings:
    """The settings in force for this kernel."""
    with _lock:
        if not _current:
            _current.append(Settings(home=_default_home()))
        return _current[0]


_UNSET: Any = object()


def configure(
    *,
    home: str | os.PathLike[str] | None = _UNSET,
    default_io_manager: str = _UNSET,
    resources: Mapping[str, Any] = _UNSET,
    progress: bool | None = _UNSET,
) -> Settings:
    """Change this kernel's settings; arguments left out keep their value.

    Parameters
    ----------
    home
        Store home (folder or fsspec URL). ``None`` resets to ``$FLOWSTONE_HOME`` or
        ``./.flowstone``.
    default_io_manager
        IO manager for assets that name none: ``"filesystem"`` (default), ``"parquet"``,
        ``"memory"`` or a registered custom one.
    resources
        Replaces the resources assets may require.
    progress
        Force progress bars on or off (``None``: automatic).

    Returns
    -------
    Settings
        The new settings.
    """
    current = settings()
    changes: dict[str, Any] = {}
    if home is not _UNSET:
        changes["home"] = _default_home() if home is None else _normalise_home(home)
    if default_io_manager is not _UNSET:
        known = known_io_manager_names()
        if default_io_manager not in known:
            raise FlowstoneError(
                f"Unknown IO manager {default_io_manager!r} for default_io_manager."
                f"{did_you_mean(default_io_manager, known)} Known: {', '.join(known)}."
            )
        changes["default_io_manager"] = default_io_manager
    if resources is not _UNSET:
        changes["resources"] = dict(resources)
    if progress is not _UNSET:
        changes["progress"] = progress
    updated = replace(current, **changes)
    with _lock:
        _current[0] = updated
    return updated
