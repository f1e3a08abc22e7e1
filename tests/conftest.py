"""Shared fixtures: every test gets a fresh registry and a fresh store under ``tmp_path``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowstone_nb._define.registry import Registry, set_registry
from flowstone_nb._storage.config import Settings, configure, settings
from flowstone_nb._storage.store import get_store


@pytest.fixture(autouse=True)
def registry() -> Iterator[Registry]:
    """A fresh kernel registry for each test, restored afterwards."""
    fresh = Registry()
    previous = set_registry(fresh)
    try:
        yield fresh
    finally:
        set_registry(previous)


@pytest.fixture(autouse=True)
def catalog_dir(tmp_path: Path) -> Iterator[Path]:
    """Catalogs of remote homes (kept locally) go under this test's folder, not ~/.cache.

    (Not through ``monkeypatch``: a test's own patches must be undone before the store
    fixtures below tear down.)
    """
    folder = tmp_path / "catalogs"
    before = os.environ.get("FLOWSTONE_CATALOG_DIR")
    os.environ["FLOWSTONE_CATALOG_DIR"] = str(folder)
    try:
        yield folder
    finally:
        if before is None:
            del os.environ["FLOWSTONE_CATALOG_DIR"]
        else:
            os.environ["FLOWSTONE_CATALOG_DIR"] = before


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Iterator[Path]:
    """A fresh store home for each test; the previous settings come back afterwards."""
    before: Settings = settings()
    path = tmp_path / "store"
    configure(home=path, default_io_manager="filesystem", resources={}, progress=False)
    try:
        yield path
    finally:
        get_store(str(path)).close()
        configure(
            home=before.home,
            default_io_manager=before.default_io_manager,
            resources=before.resources,
            progress=before.progress,
        )


@pytest.fixture(params=["local", "memory-fs"])
def store_home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store home on the local disk, or on fsspec's in-memory filesystem."""
    if request.param == "local":
        yield str(tmp_path / "home")
        return
    import fsspec  # only the tests that ask for this fixture need it

    url = f"memory://flowstone-test-{uuid.uuid4().hex}"
    yield url
    fs, root = fsspec.core.url_to_fs(url)
    if fs.exists(root):
        fs.rm(root, recursive=True)
