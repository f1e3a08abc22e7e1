"""Custom IO manager names: registration, replacement, errors with suggestions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import flowstone_nb as fs
from flowstone_nb._core import io_managers as _io_managers


@pytest.fixture
def cleanup() -> Iterator[None]:
    yield
    _io_managers.unregister_io_manager("mine")


def factory(home: str) -> object:
    return ("manager for", home)


def test_register_lookup_and_replace(cleanup: None) -> None:
    fs.register_io_manager("mine", factory)
    assert "mine" in _io_managers.known_io_manager_names()
    assert _io_managers.get_io_manager_factory("mine")("/h") == ("manager for", "/h")
    with pytest.raises(fs.FlowstoneError, match="already registered: pass replace=True"):
        fs.register_io_manager("mine", factory)
    fs.register_io_manager("mine", lambda home: "other", replace=True)
    assert _io_managers.get_io_manager_factory("mine")("/h") == "other"
    assert fs.validate(fs.Asset(name="x", execute_fn=lambda: 1, io_manager="mine")) == []


def test_bad_names_and_builtins() -> None:
    with pytest.raises(fs.FlowstoneError, match="not a valid identifier"):
        fs.register_io_manager("my manager", factory)
    with pytest.raises(fs.FlowstoneError, match="built in and cannot be replaced"):
        fs.register_io_manager("memory", factory)


def test_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(
        fs.FlowstoneError, match=r"Unknown IO manager 'parket'\. Did you mean 'parquet'\?"
    ):
        _io_managers.get_io_manager_factory("parket")


def test_builtin_factories_import_lazily() -> None:
    assert callable(_io_managers.get_io_manager_factory("memory"))
