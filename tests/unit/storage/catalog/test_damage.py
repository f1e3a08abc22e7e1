"""A damaged catalog: every call says which file it is and what to do, never a raw SQLite error.

Each case damages a real catalog file the way a disk, a copy or a hand edit can: a text value
that is not UTF-8, a garbled page, a truncated file, a schema whose text is garbled, a schema
version that is not a number.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from flowstone_nb._core.errors import StoreError
from flowstone_nb._storage.catalog import Catalog
from tests.unit.storage.catalog.shorthands import chain_catalog, raw, row

# What every read or write of a damaged catalog may be asked to do, by name.
CALLS: dict[str, Callable[[Catalog], object]] = {
    "get": lambda catalog: catalog.get("clean"),
    "latest_success": lambda catalog: catalog.latest_success("clean", ""),
    "latest_successes": lambda catalog: catalog.latest_successes(
        [("clean", "p")], assets=["raw", "clean", "report"]
    ),
    "current": lambda catalog: catalog.current(),
    "history": lambda catalog: catalog.history(),
    "inputs": lambda catalog: catalog.inputs("report"),
    "upstream": lambda catalog: catalog.walk("report"),
    "upstream_bounded": lambda catalog: catalog.walk("report", 1),
    "downstream": lambda catalog: catalog.walk("raw", upstream=False),
    "runs": lambda catalog: catalog.runs(),
    "get_run": lambda catalog: catalog.get_run("run"),
    "recover_interrupted": lambda catalog: catalog.recover_interrupted(),
    "write": lambda catalog: catalog.write([row("new", "raw")]),
    "forget": lambda catalog: catalog.forget("raw"),
}

DAMAGED = r"catalog\.sqlite is damaged.*restore it from a backup, or move it away"


def filled(path: Path) -> None:
    """A catalog with a run, a chain of three rows and their edges, all in the main file."""
    catalog = Catalog(path)
    run = catalog.new_run(kind="materialize", targets=["report"])._replace(run_id="run")
    catalog.record(start=run)
    chain_catalog(catalog)
    catalog.close()
    assert not path.with_name(f"{path.name}-wal").exists()


def errors_of_every_call(path: Path) -> list[Exception]:
    """Open the catalog and make every call; the errors they raised (opening stops at one)."""
    try:
        catalog = Catalog(path)
    except Exception as error:  # looked at by the caller
        return [error]
    errors: list[Exception] = []
    for call in CALLS.values():
        try:
            call(catalog)
        except Exception as error:  # looked at by the caller
            errors.append(error)
    catalog.close()
    return errors


def assert_every_call_says_so(path: Path) -> None:
    """Some call fails, and every failure is a StoreError naming the file and what to do."""
    errors = errors_of_every_call(path)
    assert errors
    for error in errors:
        assert isinstance(error, StoreError), repr(error)
        assert re.search(DAMAGED, str(error), re.DOTALL), error
        assert str(path) in str(error)


def set_text(path: Path, column: str, table: str = "materializations") -> None:
    """Make ``column`` of every row of ``table`` bytes that are not UTF-8."""
    with raw(path) as conn:
        conn.execute(f"UPDATE {table} SET {column} = CAST(x'64ff61' AS TEXT)")


@pytest.mark.parametrize(
    ("table", "column", "call"),
    [
        ("materializations", "location", "history"),
        ("materializations", "location", "current"),
        ("materializations", "location", "get"),
        ("materializations", "location", "latest_success"),
        ("materializations", "io_manager", "latest_successes"),
        ("lineage", "upstream_asset", "inputs"),
        ("lineage", "upstream_partition", "upstream"),
        ("lineage", "upstream_partition", "upstream_bounded"),
        ("materializations", "data_version", "downstream"),  # (a consumer reads its row)
        ("runs", "kind", "runs"),
        ("runs", "kind", "get_run"),
    ],
)
def test_a_text_that_is_not_utf8_is_a_store_error_naming_the_file(
    path: Path, table: str, column: str, call: str
) -> None:
    filled(path)
    set_text(path, column, table)
    catalog = Catalog(path)
    with pytest.raises(StoreError, match=DAMAGED) as info:
        CALLS[call](catalog)
    assert str(path) in str(info.value)
    assert f"Could not decode to UTF-8 column '{column}'" in str(info.value)
    assert isinstance(info.value.__cause__, sqlite3.Error)
    catalog.close()


def test_an_unfinished_row_that_is_not_utf8_is_a_store_error_when_the_catalog_opens(
    path: Path,
) -> None:
    filled(path)
    with raw(path) as conn:
        conn.execute("UPDATE materializations SET status = 'running', run_id = CAST(x'ff' AS TEXT)")
    with pytest.raises(StoreError, match=DAMAGED):
        Catalog(path)


def test_a_run_whose_targets_are_not_json_is_a_store_error(path: Path) -> None:
    filled(path)
    with raw(path) as conn:
        conn.execute("UPDATE runs SET targets = '[not json'")
    catalog = Catalog(path)
    for call in ("runs", "get_run"):
        with pytest.raises(StoreError, match=DAMAGED):
            CALLS[call](catalog)
    catalog.close()


def test_a_schema_version_that_is_not_a_number_is_a_store_error(path: Path) -> None:
    filled(path)
    with raw(path) as conn:
        conn.execute("UPDATE schema_version SET version = 'two'")
    with pytest.raises(StoreError, match=DAMAGED):
        Catalog(path)


def test_a_garbled_schema_text_is_a_store_error(path: Path) -> None:
    filled(path)
    data = bytearray(path.read_bytes())
    at = data.index(b"CREATE TABLE runs")
    data[at + 7 : at + 12] = b"\xbf\xbf\xbf\xbf\xbf"  # "TABLE" is no longer text
    path.write_bytes(bytes(data))
    assert_every_call_says_so(path)


def test_a_garbled_page_is_a_store_error_for_every_call(path: Path) -> None:
    filled(path)
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page, len(data), page):  # every page but the header's
        data[offset : offset + 100] = bytes(range(100))
    path.write_bytes(bytes(data))
    assert_every_call_says_so(path)


@pytest.mark.parametrize("keep", [100, 4096, 10000])
def test_a_truncated_catalog_is_a_store_error_for_every_call(path: Path, keep: int) -> None:
    filled(path)
    data = path.read_bytes()
    assert len(data) > keep
    path.write_bytes(data[:keep])
    assert_every_call_says_so(path)
