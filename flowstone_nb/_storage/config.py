"""Per-kernel settings: where the store lives, the default IO manager, resources.

``fs.configure(...)`` changes them; everything else reads :func:`settings`. The store home defaults
to ``$FLOWSTONE_HOME`` or ``./.flowstone``. A home is local (a folder, or a ``file://`` URL) or
any other fsspec URL: :func:`is_local_home` is the one rule that tells them apart. A home is
checked when it is configured (or first used, for the default): a local one becomes an absolute
folder (so a later ``os.chdir`` does not move the store, and a ``file://`` URL is its folder),
a URL's protocols must be ones fsspec can open, and a home no store can live in (empty, with a
NUL, a file) is refused, saying why. This module does no other IO.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flowstone_nb._core.errors import FlowstoneError, StoreError, did_you_mean
from flowstone_nb._core.io_managers import known_io_manager_names

__all__ = ["Settings", "configure", "is_local_home", "local_folder", "settings"]


@dataclass(frozen=True, repr=False)
class Settings:
    """The settings in force (its repr is one short line; resources show by name only).

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

    def __repr__(self) -> str:
        # What fs.configure(...) echoes in a notebook: where the store is, briefly; resource
        # values (clients, keys) are never printed.
        resources = ", ".join(self.resources) or "none"
        progress = {None: "auto", True: "on", False: "off"}[self.progress]
        return (
            f"flowstone_nb: store {self.home} · IO manager {self.default_io_manager} · "
            f"resources {resources} · progress {progress}"
        )


def is_local_home(home: str) -> bool:
    """True when ``home`` is a plain local path (or a ``file://`` URL)."""
    return "://" not in home or home.startswith("file://")


def local_folder(home: str) -> Path | None:
    """The folder of a local home (the path, or a ``file://`` URL's); ``None`` for other URLs."""
    return Path(home.removeprefix("file://")) if is_local_home(home) else None


def _default_home() -> str:
    return _normalise_home(os.environ.get("FLOWSTONE_HOME") or ".flowstone")


def _normalise_home(home: str | os.PathLike[str]) -> str:
    """The one form of ``home``: an absolute folder, or a URL without a trailing ``/``.

    A ``file://`` URL is its folder. Raises a StoreError, saying what is wrong, for a home no
    store can live in.
    """
    text = os.fspath(home)
    if not text:
        raise StoreError(
            "The store home is empty: give a folder such as '.flowstone', or a URL such as "
            "'s3://bucket/flowstone'."
        )
    if "\0" in text:
        raise StoreError(
            f"The store home {text!r} holds a NUL character, which no file or URL may hold: "
            "remove it."
        )
    if "://" in text and not text.startswith("file://"):
        _check_protocols(text)
        protocol, _, path = text.partition("://")
        return f"{protocol}://{path.rstrip('/')}"
    folder = Path(text.removeprefix("file://")).expanduser().resolve()
    if folder.is_file():
        raise StoreError(
            f"The store home {str(folder)!r} is a file: the store needs a folder (it is created "
            "when missing). Configure another home."
        )
    return str(folder)


def _check_protocols(url: str) -> None:
    """Raise unless fsspec can open every protocol of ``url`` (``a::b://x`` chains two)."""
    import fsspec  # only for homes that are URLs

    for part in url.split("::"):
        protocol = part.partition("://")[0]
        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError as error:  # fsspec's "Protocol not known"
            known = fsspec.available_protocols()
            raise StoreError(
                f"The store home {url!r} uses the protocol {protocol!r}, which is not known."
                f"{did_you_mean(protocol, known)} Use a folder, a file:// URL or a URL of a "
                "filesystem fsspec knows (memory://, s3://, gcs://, abfs://, ...)."
            ) from error
        except ImportError as error:
            raise StoreError(
                f"The store home {url!r} needs the {protocol!r} filesystem, which cannot be "
                f"imported ({error}): install its package, or configure another home."
            ) from error


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
