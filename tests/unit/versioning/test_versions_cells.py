"""Versions of cells: given as text (``source_version``) and defined in a real IPython shell."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flowstone_nb._versioning.code_versions import code_version, source_version
from tests.unit.versioning.defining import exec_function, load

# --- cells given as text (the %%asset magic) ------------------------------------------------


CELL = """
cleaned = raw[raw.amount > THRESHOLD]
cleaned["label"] = [describe(v) for v in cleaned.amount]
cleaned
"""


def cell_namespace(tmp_path: Path, helper: str = "return str(v)") -> dict[str, Any]:
    module = load(tmp_path, f"def describe(v):\n    {helper}\n", "__main__")
    return {
        "__name__": "__main__",
        "THRESHOLD": 5,
        "describe": module.describe,
        "raw": object(),
        "cleaned": 42,
    }


def test_source_version_ignores_comments_and_formatting(tmp_path: Path) -> None:
    namespace = cell_namespace(tmp_path)
    reformatted = (
        "# keep the big ones\ncleaned = raw[ raw.amount>THRESHOLD ]\n\n" + CELL.split("\n", 2)[2]
    )
    assert source_version(CELL, namespace) == source_version(reformatted, namespace)
    assert source_version("  x = 1\n  x", namespace) == source_version("x = 1\nx", namespace)
    assert len(source_version(CELL, namespace)) >= 16


def test_source_version_ignores_docstrings_of_what_the_cell_defines() -> None:
    cell = (
        'def clean(v):\n    """Drops {what}."""\n    return v\n\n\n'
        'class Box:\n    """{what}"""\n\nclean(raw)\n'
    )
    assert source_version(cell.format(what="gaps"), {}) == source_version(
        cell.format(what="holes"), {}
    )
    assert source_version(cell.format(what="gaps"), {}) != source_version(
        cell.format(what="gaps").replace("return v", "return -v"), {}
    )


def test_source_version_follows_helpers_and_constants(tmp_path: Path) -> None:
    namespace = cell_namespace(tmp_path)
    base = source_version(CELL, namespace)
    assert source_version(CELL, {**namespace, "THRESHOLD": 6}) != base
    assert source_version(CELL, cell_namespace(tmp_path, "return repr(v)")) != base
    assert source_version(CELL.replace("> THRESHOLD", ">= THRESHOLD"), namespace) != base
    # names the cell binds itself (here: cleaned) never come from the namespace
    assert source_version(CELL, {**namespace, "cleaned": 43}) == base
    assert source_version(CELL, {**namespace, "raw": object()}) == base


def test_source_version_of_a_module_namespace_follows_its_functions(tmp_path: Path) -> None:
    module = load(tmp_path, "def describe(v):\n    return str(v)\n", "my_pipeline")
    namespace = {"__name__": "my_pipeline", "describe": module.describe, "THRESHOLD": 1}
    other = load(tmp_path, "def describe(v):\n    return repr(v)\n", "my_pipeline")
    assert source_version(CELL, namespace) != source_version(
        CELL, {**namespace, "describe": other.describe}
    )
    assert source_version(CELL, {"describe": module.describe}) == source_version(
        CELL, {"describe": other.describe}
    )


def test_source_version_bound_names_of_every_kind_are_local() -> None:
    cell = textwrap.dedent(
        """
        import os.path
        from json import dumps as d
        def f(a, *rest, key=1, **kw):
            return a, rest, key, kw
        class K:
            pass
        try:
            pass
        except ValueError as problem:
            pass
        match d:
            case {"k": 1, **others}:
                pass
            case [first, *tail]:
                pass
            case str() as text:
                pass
        (os, d, f, K, problem, others, first, tail, text)
        """
    )
    names = ["os", "d", "f", "K", "a", "rest", "key", "kw"]
    names += ["problem", "others", "first", "tail", "text"]
    empty = source_version(cell, {})
    assert source_version(cell, dict.fromkeys(names, 1)) == empty
    # A function's parameters are its own: the cell itself reading `a` reads the namespace's.
    reading = cell.replace("(os, d,", "(a, os, d,")
    assert source_version(reading, {"a": 1}) != source_version(reading, {"a": 2})


def test_source_version_follows_a_name_read_before_the_cell_binds_it() -> None:
    cell = "limit = LIMIT\nLIMIT = limit + 1\n[v for v in raw if v < LIMIT]"
    assert source_version(cell, {"LIMIT": 1}) != source_version(cell, {"LIMIT": 2})
    unchanged = "LIMIT = 2\nlimit = LIMIT\n[v for v in raw if v < limit]"
    assert source_version(unchanged, {"LIMIT": 1}) == source_version(unchanged, {"LIMIT": 2})


def test_source_version_of_a_cell_no_scope_can_hold_is_its_text() -> None:
    cell = "nonlocal LIMIT\nLIMIT"
    assert source_version(cell, {"LIMIT": 1}) == source_version(cell + "\n", {"LIMIT": 2})
    assert source_version(cell, {}) != source_version(cell.replace("LIMIT", "OTHER"), {})


def test_source_version_of_a_cell_that_awaits_at_its_top_level() -> None:
    cell = "async for row in rows(LIMIT):\n    total = row\ntotal"
    assert source_version(cell, {"LIMIT": 1}) != source_version(cell, {"LIMIT": 2})
    assert source_version(cell, {"row": 1}) == source_version(cell, {"row": 2})


def test_source_version_with_ipython_syntax_and_broken_code() -> None:
    magic = "%matplotlib inline\nx = HELPER_LIMIT\nx"
    assert source_version(magic, {"HELPER_LIMIT": 1}) != source_version(magic, {"HELPER_LIMIT": 2})
    broken = "def (:\n   oops"
    assert source_version(broken, {}) == source_version(broken + "\n\n", {})
    assert source_version(broken, {}) != source_version(broken.replace("oops", "other"), {})


def test_a_repeated_cell_notices_a_rebound_name(tmp_path: Path) -> None:
    namespace = cell_namespace(tmp_path)
    first = source_version(CELL, namespace)
    assert source_version(CELL, namespace) == first
    namespace["THRESHOLD"] = 9
    assert source_version(CELL, namespace) != first


# --- IPython cells --------------------------------------------------------------------------


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh IPython shell with an in-memory history; the previous ``__main__`` comes back."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    InteractiveShell.clear_instance()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    instance = InteractiveShell.instance(config=config)
    try:
        yield instance
    finally:
        InteractiveShell.clear_instance()


def run(shell: Any, source: str) -> None:
    result = shell.run_cell(textwrap.dedent(source))
    assert result.success, result.error_in_exec or result.error_before_exec


def test_ipython_cells_edited_helper_changes_an_asset_defined_elsewhere(shell: Any) -> None:
    run(shell, "LIMIT = 3\ndef helper(v):\n    return v * 2\n")
    run(
        shell,
        """
        def asset(raw):
            # uses the helper from another cell
            return [helper(v) for v in raw if v < LIMIT]
        """,
    )
    asset: Callable[..., object] = shell.user_ns["asset"]
    first = code_version(asset)
    assert first == code_version(asset)
    run(shell, "LIMIT = 3\ndef helper(v):\n    # only a comment\n    return v * 2\n")
    assert code_version(asset) == first
    run(shell, "LIMIT = 3\ndef helper(v):\n    return v * 3\n")
    assert code_version(shell.user_ns["asset"]) != first
    run(shell, "LIMIT = 4\ndef helper(v):\n    return v * 2\n")
    assert code_version(asset) != first
    run(shell, "LIMIT = 3\ndef helper(v):\n    return v * 2\n")
    assert code_version(asset) == first


def test_ipython_cell_source_version_uses_the_user_namespace(shell: Any) -> None:
    run(shell, "def helper(v):\n    return v * 2\n")
    body = "values = [helper(v) for v in raw]\nvalues"
    first = source_version(body, shell.user_ns)
    run(shell, "def helper(v):\n    return v * 5\n")
    assert source_version(body, shell.user_ns) != first


def test_a_function_of_a_cell_with_ipython_syntax_is_versioned_by_its_code() -> None:
    import linecache

    filename = "<cell with a magic line>"
    text = "%time 1\n\ndef in_cell():\n    return 1\n"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace: dict[str, Any] = {}
    exec(compile("\n\ndef in_cell():\n    return 1\n", filename, "exec"), namespace)
    version = code_version(namespace["in_cell"])
    assert version == code_version(namespace["in_cell"])
    assert version == code_version(exec_function("def in_cell():\n    return 1\n", "in_cell"))
