"""Configuring the store home: odd homes are made whole or refused by fs.configure, saying why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowstone_nb._core.errors import FlowstoneError, StoreError
from flowstone_nb._storage.config import configure, local_folder, settings
from flowstone_nb._storage.store import catalog_path


def test_a_relative_file_url_is_made_absolute_so_a_chdir_does_not_move_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    home = configure(home="file://rel/store").home
    assert home == str(tmp_path / "rel" / "store")
    (tmp_path / "elsewhere").mkdir()
    os.chdir(tmp_path / "elsewhere")
    assert catalog_path(settings().home) == tmp_path / "rel" / "store" / "catalog.sqlite"
    assert local_folder(settings().home) == tmp_path / "rel" / "store"


def test_an_absolute_file_url_is_its_folder(tmp_path: Path) -> None:
    assert configure(home=f"file://{tmp_path}/store/").home == str(tmp_path / "store")


@pytest.mark.parametrize(
    ("home", "expected"),
    [("memory://", "memory://"), ("memory://bucket/x/", "memory://bucket/x")],
)
def test_urls_keep_their_form(home: str, expected: str) -> None:
    assert configure(home=home).home == expected


def test_an_unknown_protocol_is_refused_when_configured(home: Path) -> None:
    with pytest.raises(StoreError, match=r"'notaproto://x'.*protocol 'notaproto'.*not known"):
        configure(home="notaproto://x")
    with pytest.raises(StoreError, match=r"protocol 'memroy'.*Did you mean 'memory'"):
        configure(home="memroy://x")
    assert settings().home == str(home)  # nothing changed


def test_a_protocol_whose_package_is_missing_is_refused_when_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fsspec

    def missing(protocol: str) -> type:
        raise ImportError(f"Install {protocol}fs to access it")

    monkeypatch.setattr(fsspec, "get_filesystem_class", missing)
    with pytest.raises(StoreError, match=r"'zz://bucket'.*'zz' filesystem.*Install zzfs"):
        configure(home="zz://bucket")


def test_each_protocol_of_a_chained_url_is_checked() -> None:
    assert configure(home="simplecache::memory://x").home == "simplecache::memory://x"
    with pytest.raises(StoreError, match="protocol 'notaproto'"):
        configure(home="simplecache::notaproto://x")


@pytest.mark.parametrize("home", ["store\0x", "file://store\0x", "memory://store\0x"])
def test_a_nul_in_the_home_is_refused_when_configured(home: str) -> None:
    with pytest.raises(FlowstoneError, match=r"store home .* NUL character"):
        configure(home=home)


def test_an_empty_home_is_refused() -> None:
    with pytest.raises(StoreError, match=r"store home is empty.*a folder such as '\.flowstone'"):
        configure(home="")


def test_a_home_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(StoreError, match=r"notes\.txt' is a file.*needs a folder"):
        configure(home=tmp_path / "notes.txt")


def test_the_default_home_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWSTONE_HOME", "notaproto://x")
    with pytest.raises(StoreError, match="protocol 'notaproto'"):
        configure(home=None)


def test_the_settings_echo_in_one_short_line_without_resource_values(tmp_path: Path) -> None:
    shown = repr(configure(home=tmp_path / "store", resources={"db": "secret-key"}, progress=True))
    assert shown == (
        f"flowstone_nb: store {tmp_path / 'store'} · IO manager filesystem · resources db · "
        "progress on"
    )
    assert "Settings(" not in shown
    assert "secret-key" not in shown
    assert repr(configure(resources={}, progress=None)).endswith("resources none · progress auto")
