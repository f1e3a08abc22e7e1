"""Fixtures of the catalog tests: a path in a folder that does not exist yet, and a catalog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowstone_nb._storage.catalog import Catalog


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "catalog.sqlite"


@pytest.fixture
def catalog(path: Path) -> Iterator[Catalog]:
    opened = Catalog(path)
    yield opened
    opened.close()
