"""Turning a ``%%asset`` cell body into a real function: reads, value, source, tracebacks."""

from __future__ import annotations

import inspect
import linecache
import textwrap
import traceback
from typing import Any

import pytest

from flowstone_nb._core.errors import AssetDefinitionError
from flowstone_nb._define.cell_function import parse_cell
from flowstone_nb._versioning.code_versions import code_version


def body(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


# --- the names a cell reads from outside itself -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("df = raw.copy()\ndf", {"raw"}),
        ("[x for x in raw if x > limit]", {"raw", "limit"}),
        ("{k: v for k, v in pairs.items()}", {"pairs"}),
        ("def f(a, b=default):\n    return a + b + g\nf(1)", {"default", "g"}),
        ("sorted(items, key=lambda r: weights[r])", {"sorted", "items", "weights"}),
        ("import pandas as pd\nimport os.path\nfrom json import dumps\npd, os, dumps", set()),
        ("tmp = raw\ndel tmp\n1", {"raw"}),
        ("total = 0\ntotal += step\ntotal", {"step"}),
        ("counter += 1\ncounter", {"counter"}),
        ("raw = raw.dropna()\nraw", {"raw"}),
        ("if (n := len(raw)) > 0:\n    n\nn", {"len", "raw"}),
        ("[y := v for v in raw]\ny", {"raw"}),
        ("class K:\n    attr = base\nK", {"base"}),
        ("global counter\ncounter = 1\ncounter", set()),
        ("global seen\nseen", {"seen"}),
        ("scale = 2\ndef f(v):\n    return v * scale\nf", set()),
        ("try:\n    x = 1\nexcept ValueError as e:\n    x = e\nx", {"ValueError"}),
        ("with opener() as handle:\n    handle", {"opener"}),
        ("for row in rows:\n    last = row\nlast", {"rows"}),
        (
            "match point:\n    case [a, *rest]:\n        a\n    case {**others}:\n        others",
            {"point"},
        ),
        ("x: int = value\nx", {"int", "value"}),
        ("@decorate\ndef f() -> Out:\n    pass\nf", {"decorate", "Out"}),
        ("@decorate\nclass K(Base, metaclass=Meta):\n    pass\nK", {"decorate", "Base", "Meta"}),
        ("g = lambda v=fallback: v\ng", {"fallback"}),
        ("obj.attr += amount\nobj", {"obj", "amount"}),
        ("del missing\n1", {"missing"}),
        ("__name__, raw", {"raw"}),
        ("f = lambda *, k: k\ng = lambda *, k=dflt: k\nf", {"dflt"}),
        ("def f(*, k):\n    return k\nf", set()),
        (
            "try:\n    x = risky()\nexcept KeyError:\n    x = 0\nexcept:\n    x = None\nx",
            {"risky", "KeyError"},
        ),
        ("match point:\n    case [*_]:\n        1\n    case _:\n        2\n", {"point"}),
        ("global flag\nflag = 1\n2", set()),
        ("x: int\nx = raw\nx", {"int", "raw"}),
        ("async def f():\n    async for v in source:\n        pass\nf", {"source"}),
        ("{v for v in raw}, (v for v in other)", {"raw", "other"}),
        ("async def f(v=dflt):\n    pass\nf", {"dflt"}),
    ],
)
def test_reads(text: str, reads: set[str]) -> None:
    assert set(parse_cell("target", body(text)).reads) == reads


def test_reads_are_sorted() -> None:
    assert parse_cell("t", "zeta + alpha + mid\n").reads == ("alpha", "mid", "zeta")


# --- the function --------------------------------------------------------------------------------


def test_the_last_expression_is_the_value_and_parameters_are_bound() -> None:
    cell = parse_cell("clean", body("doubled = [v * 2 for v in raw]\ndoubled + [context]"))
    fn = cell.function(["raw"], {"__name__": "__main__"})
    assert fn.__name__ == "clean"
    assert fn.__qualname__ == "clean"
    assert fn.__module__ == "__main__"
    assert list(inspect.signature(fn).parameters) == ["context", "raw"]
    assert fn("ctx", [1, 2]) == [2, 4, "ctx"]


def test_globals_are_the_namespace_given() -> None:
    namespace: dict[str, Any] = {"__name__": "__main__", "OFFSET": 10}
    exec("def helper(v):\n    return v + OFFSET\n", namespace)
    fn = parse_cell("shifted", "helper(1)\n").function([], namespace)
    assert fn.__globals__ is namespace
    assert fn(None) == 11
    namespace["OFFSET"] = 20
    assert fn(None) == 21


def test_an_explicit_return_works_and_a_leading_string_is_the_docstring() -> None:
    cell = parse_cell("early", body('"""Early exit."""\nif flag:\n    return 1\n2'))
    fn = cell.function([], {"flag": True})
    assert fn(None) == 1
    assert fn.__doc__ == "Early exit."
    assert parse_cell("only", '"just text"\n').function([], {})(None) == "just text"


@pytest.mark.parametrize("text", ["x = 1\n", "", "# only a comment\n", "for v in raw:\n    v\n"])
def test_a_cell_without_a_value_is_a_definition_error(text: str) -> None:
    cell = parse_cell("novalue", text)
    with pytest.raises(
        AssetDefinitionError,
        match=r"The %%asset cell 'novalue' has no value: end it with an expression",
    ):
        cell.function([], {})


def test_a_return_inside_a_nested_function_does_not_count_as_the_value() -> None:
    cell = parse_cell("nested", "def f():\n    return 1\n")
    with pytest.raises(AssetDefinitionError, match="has no value"):
        cell.function([], {})


def test_multi_line_strings_keep_their_exact_value() -> None:
    text = 'csv = """a,b\n1,2\n"""\ncsv + f"""{1}\n  x"""\n'
    cell = parse_cell("text", text)
    fn = cell.function([], {})
    assert fn(None) == "a,b\n1,2\n1\n  x"
    lines = linecache.getlines(cell.filename)
    assert lines[2] == "1,2\n"


def test_each_cell_gets_its_own_file_and_the_source_is_the_function() -> None:
    first = parse_cell("clean", "raw\n")
    second = parse_cell("clean", "raw\n")
    assert first.filename != second.filename
    assert first.filename.startswith("<flowstone-cell clean-")
    fn = first.function(["raw"], {})
    assert fn.__code__.co_filename == first.filename
    assert inspect.getsource(fn) == "def clean(context, raw):\n    raw\n"


# --- errors point at the cell --------------------------------------------------------------------


def test_a_syntax_error_names_the_cell_and_its_line() -> None:
    with pytest.raises(SyntaxError) as caught:
        parse_cell("broken", "x = 1\ny = (\n")
    error = caught.value
    assert error.filename is not None
    assert error.filename.startswith("<flowstone-cell broken-")
    assert error.lineno == 3  # line 1 is the %%asset line
    assert linecache.getlines(error.filename)[2] == "    y = (\n"


def test_a_syntax_error_without_a_position_stays_without_one() -> None:
    with pytest.raises(SyntaxError) as caught:
        parse_cell("nul", "x = \x00\n")
    assert caught.value.lineno is None


def test_a_compile_time_error_names_the_cell_too() -> None:
    with pytest.raises(SyntaxError, match="nonlocal") as caught:
        parse_cell("bad", "x = 1\nnonlocal x\nx\n")
    assert caught.value.lineno == 3


def test_the_traceback_shows_the_cell_lines_with_the_cells_numbers() -> None:
    cell = parse_cell("fails", body("ok = 1\nresult = ok / raw\nresult"))
    fn = cell.function(["raw"], {})
    with pytest.raises(ZeroDivisionError) as caught:
        fn(None, 0)
    text = "".join(traceback.format_exception(caught.value))
    assert f'File "{cell.filename}", line 3, in fails\n    result = ok / raw\n' in text
    # the caret line sits under the failing expression of the indented source line
    frame_lines = text.split(f'File "{cell.filename}"', 1)[1].splitlines()
    assert frame_lines[2].index("~") == frame_lines[1].index("ok")


def test_col_offsets_stay_right_after_a_multi_line_string() -> None:
    cell = parse_cell("mixed", 'x = """a\nb""" + raw.missing\nx\n')
    fn = cell.function(["raw"], {})
    with pytest.raises(AttributeError) as caught:
        fn(None, object())
    text = "".join(traceback.format_exception(caught.value))
    assert f'File "{cell.filename}", line 3, in mixed' in text
    assert 'b""" + raw.missing' in text


# --- code versions: cosmetic edits keep them, real edits change them ----------------------------


def version(
    text: str, namespace: dict[str, Any] | None = None, deps: list[str] | None = None
) -> str:
    namespace = {"__name__": "__main__"} if namespace is None else namespace
    return code_version(parse_cell("sales", text).function(deps or ["raw"], namespace))


def test_comment_and_blank_line_edits_keep_the_code_version() -> None:
    base = version("total = raw * 2\ntotal\n")
    assert base == version("# doubled\ntotal = raw * 2  # why\n\n\ntotal\n")
    assert base == version("total = raw*2\ntotal\n")
    assert base != version("total = raw * 3\ntotal\n")
    assert base != version("total = raw * 2\ntotal\n", deps=["raw", "other"])


def test_an_edited_helper_changes_the_code_version() -> None:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile("def helper(v):\n    return v * 2\n", "<helper-1>", "exec"), namespace)
    before = version("helper(raw)\n", namespace)
    exec(compile("def helper(v):\n    return v * 3\n", "<helper-2>", "exec"), namespace)
    assert version("helper(raw)\n", namespace) != before


# --- the cell written out as module source ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "raw.assign(total=raw.a * 2)\n",
        "# a comment\nx = raw.a.sum()\n\nx + 1  # the value\n",
        'label = """two\nlines"""\nlabel\n',
        "if raw:\n    value = 1\nelse:\n    value = 2\nvalue\n",
        "a = 1; a + raw\n",
        "(raw\n    .dropna()\n    .head())\n",
        "return raw\n",
    ],
)
def test_function_source_compiles_to_the_cells_own_code(text: str) -> None:
    from flowstone_nb._define.cell_function import function_source

    made = parse_cell("sample", text).function(["raw"], {})
    namespace: dict[str, Any] = {}
    source = function_source("sample", ["context", "raw"], text)
    assert source.startswith("def sample(context, raw):\n")
    exec(compile(source, "<exported>", "exec"), namespace)
    assert code_version(namespace["sample"]) == code_version(made)
    assert "# the value" in function_source("s", ["context"], "1  # the value\n")
