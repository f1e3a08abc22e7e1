"""Code versions from normalised code objects: layout, docstrings, defaults and compiler details.

Each pair of sources below compiles to code that differs only in what the normalisation removes;
the tests also check that the difference really is there, so they keep exercising it.
"""

from __future__ import annotations
import __future__

import dis
import textwrap
from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any

import pytest

from flowstone_nb._versioning import bytecode
from flowstone_nb._versioning.code_versions import code_version

NOP = dis.opmap["NOP"]


def define(source: str, name: str = "target", flags: int = 0, **namespace: Any) -> Any:
    """Compile ``source`` on its own (no inherited ``from __future__``) and return ``name``."""
    namespace.setdefault("__name__", "generated")
    code = compile(textwrap.dedent(source), "<generated>", "exec", flags=flags, dont_inherit=True)
    exec(code, namespace)
    return namespace[name]


def codes(code: CodeType) -> Iterator[CodeType]:
    yield code
    for value in code.co_consts:
        if isinstance(value, CodeType):
            yield from codes(value)


def nops(fn: Callable[..., object]) -> int:
    return sum(nested.co_code[::2].count(NOP) for nested in codes(fn.__code__))


def extended(fn: Callable[..., object]) -> int:
    return sum(nested.co_code[::2].count(dis.EXTENDED_ARG) for nested in codes(fn.__code__))


# --- lines of their own ---------------------------------------------------------------------

CALLS = "\n".join(f"        item({i})" for i in range(45))
PREFIX_PADDING = 32  # the loop's forward jump: 256 units with the NOP, 255 without
ATTRIBUTES = "".join(f"        x.a{i}\n" for i in range(PREFIX_PADDING))

LINE_PAIRS = {
    "try": (
        """
        def target(x):
            try:
                x()
            except ValueError:
                pass
            return 1
        """,
        """
        def target(x):
            try: x()
            except ValueError: pass
            return 1
        """,
    ),
    "with": (
        """
        def target(x):
            with x:
                pass
        """,
        """
        def target(x):
            with x: pass
        """,
    ),
    "backward-jump": (
        """
        def target(items):
            total = 0
            for item in items:
                try:
                    total += item()
                except ValueError:
                    pass
            return total
        """,
        """
        def target(items):
            total = 0
            for item in items:
                try: total += item()
                except ValueError: pass
            return total
        """,
    ),
    # Jumps over more than 255 code units, exception-table entries past unit 63.
    "long": (
        (
            f"def target(items):\n    for item in items:\n{CALLS}\n"
            "        try:\n            item()\n        except ValueError:\n            pass\n"
            "    return 1\n"
        ),
        (
            f"def target(items):\n    for item in items:\n{CALLS}\n"
            "        try: item()\n        except ValueError: pass\n"
            "    return 1\n"
        ),
    ),
    # Removing the NOP shortens the loop's jump to 255 units: its prefix goes too.
    "prefix": (
        (
            "def target(x):\n    while x:\n"
            "        try:\n            x()\n        except ValueError:\n            pass\n"
            f"{ATTRIBUTES}"
        ),
        (
            "def target(x):\n    while x:\n"
            "        try: x()\n        except ValueError: pass\n"
            f"{ATTRIBUTES}"
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(LINE_PAIRS))
def test_a_statement_on_a_line_of_its_own_keeps_the_version(name: str) -> None:
    split, joined = (define(source) for source in LINE_PAIRS[name])
    assert nops(split) > nops(joined)
    assert code_version(split) == code_version(joined)


def test_the_line_pairs_are_different_code() -> None:
    assert len({code_version(define(split)) for split, _ in LINE_PAIRS.values()}) == len(LINE_PAIRS)
    long_split = LINE_PAIRS["long"][0]
    edited = define(long_split.replace("except ValueError", "except KeyError"))
    assert code_version(edited) != code_version(define(long_split))


def test_the_long_and_prefix_pairs_cross_extended_arguments() -> None:
    for name in ("long", "prefix"):
        split, joined = (define(source) for source in LINE_PAIRS[name])
        assert extended(split) > 0
        assert split.__code__.co_exceptiontable != joined.__code__.co_exceptiontable
    split, joined = (define(source) for source in LINE_PAIRS["prefix"])
    assert extended(split) > extended(joined)


def test_the_normalised_code_is_what_the_compiler_emits_without_the_line_marks() -> None:
    for split_source, joined_source in LINE_PAIRS.values():
        split, joined = define(split_source).__code__, define(joined_source).__code__
        raw, table, consts = bytecode.normalised(split)
        assert (raw, table, consts) == (joined.co_code, joined.co_exceptiontable, joined.co_consts)


def test_the_exception_table_round_trips() -> None:
    for split_source, _ in LINE_PAIRS.values():
        table = define(split_source).__code__.co_exceptiontable
        entries = bytecode.exception_entries(table)
        assert entries
        assert bytecode.exception_table(entries) == table


# --- docstrings -----------------------------------------------------------------------------

DOCUMENTED = {
    # The function's own None (its implicit return) merges into the docstring's place.
    "implicit-none": """
        def target(x):
            '''Doc.'''
            x.append(1)
        """,
    # Constants after the merged None move up.
    "none-then-more": """
        def target(x):
            '''Doc.'''
            if x is None:
                return 2
            return 3
        """,
    # An unused constant (the folded True) ends up last: the compiler drops it there.
    "unused-last": """
        def target(x):
            '''Doc.'''
            while True:
                if x():
                    break
        """,
    # More than 256 constants: renumbering leaves a prefix with nothing to carry.
    "many-constants": """
        def target(x):
            '''Doc.'''
            if x is None:
                return 0
            y = x + """
    + " + ".join(str(i) for i in range(1, 300))
    + """
            return y
        """,
    # A docstring and a line mark together.
    "with-nop": """
        def target(x):
            '''Doc.'''
            try:
                x()
            except ValueError:
                pass
        """,
}


def without_docstring(source: str) -> str:
    return "".join(line for line in source.splitlines(True) if "'''Doc.'''" not in line)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_a_docstring_never_counts(name: str) -> None:
    documented = DOCUMENTED[name]
    bare = define(without_docstring(documented))
    assert isinstance(define(documented).__code__.co_consts[0], str)
    assert code_version(define(documented)) == code_version(bare)
    reworded = define(documented.replace("Doc.", "Other words."))
    assert code_version(reworded) == code_version(bare)


def test_the_docstring_renumbering_matches_the_compiler() -> None:
    for documented in DOCUMENTED.values():
        bare = bytecode.normalised(define(without_docstring(documented)).__code__)
        assert bytecode.normalised(define(documented).__code__) == bare


def test_a_string_the_code_reads_first_is_no_docstring() -> None:
    # Comprehensions are functions whose first constant may be a string they use.
    first = define("def target(x):\n    return ['a' for _ in x]\n")
    (comprehension,) = (c for c in first.__code__.co_consts if isinstance(c, CodeType))
    assert comprehension.co_consts[0] == "a"
    assert code_version(first) != code_version(
        define("def target(x):\n    return ['b' for _ in x]\n")
    )


def test_nested_class_docstrings_are_layout_but_computed_ones_count() -> None:
    source = """
        def target():
            class Box:
                '''Explains.'''
                __doc__ = describe()
                size = 1
            return Box
        """
    base = code_version(define(source, describe=str))
    assert code_version(define(source.replace("Explains.", "Says."), describe=str)) == base
    assert code_version(define(source.replace("describe()", "describe(1)"), describe=str)) != base
    assert code_version(define(source.replace("size = 1", "size = 2"), describe=str)) != base


def test_reading_a_docstring_is_code() -> None:
    source = "def target(x):\n    return x.__doc__ or 'none'\n"
    assert code_version(define(source)) != code_version(define(source.replace("none", "empty")))


# --- what else the compiler sees ------------------------------------------------------------


def test_future_imports_do_not_count_what_they_change_does() -> None:
    source = (
        "def target(x):\n    def inner(y: int) -> int:\n        return y\n    return inner(x)\n"
    )
    plain = define("def target(x):\n    return x + 1\n")
    postponed = define(
        "def target(x):\n    return x + 1\n", flags=__future__.annotations.compiler_flag
    )
    assert plain.__code__.co_flags != postponed.__code__.co_flags
    assert code_version(plain) == code_version(postponed)
    # Postponed annotations of an inner function are strings, not names: that is different code.
    annotated = define(source, flags=__future__.annotations.compiler_flag)
    assert code_version(define(source)) != code_version(annotated)


def test_annotations_of_the_function_itself_do_not_count() -> None:
    assert code_version(define("def target(x: int) -> int:\n    return x\n")) == code_version(
        define("def target(x: str) -> str:\n    return x\n")
    )


def test_the_signature_counts() -> None:
    base = code_version(define("def target(a, b):\n    return a\n"))
    for signature in ("a, *, b", "a, /, b", "a, *b", "a, b, **c", "b, a"):
        assert code_version(define(f"def target({signature}):\n    return a\n")) != base


def test_constant_sets_tuples_and_numbers_are_told_apart() -> None:
    versions = {
        code_version(define(f"def target(x):\n    return x in {literal}\n"))
        for literal in (
            "{'a', 'b'}",
            "{'a', 'c'}",
            "('a', ('b', 1))",
            "('a', ('b', 1.0))",
            "('a', ('b', True))",
            "(1, frozenset())",
            "b'a'",
            "...",
        )
    }
    assert len(versions) == 8


def test_a_global_read_through_extended_arguments_is_followed() -> None:
    attributes = "\n".join(f"    x.a{i}" for i in range(300))
    source = f"def target(x):\n{attributes}\n    return helper(x)\n"
    assert extended(define(source, helper=len)) > 0
    helper = define("def helper(v):\n    return v\n", "helper")
    other = define("def helper(v):\n    return -v\n", "helper")
    assert code_version(define(source, helper=helper)) != code_version(define(source, helper=other))


# --- defaults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("cols=['a', 'b']", "cols=['a', 'c']"),
        ("cols=['a', 'b']", "cols=('a', 'b')"),
        ("cols=['a', 'b']", "cols={'a': 1}"),
        ("cols=['a', 'b']", "cols={'a', 'b', 'c'}"),
        ("cols=['a', 'b']", "cols=None"),
        ("*, limit=3", "*, limit=4"),
    ],
)
def test_literal_defaults_count_by_value(old: str, new: str) -> None:
    source = "def target(x, cols=['a', 'b'], *, limit=3):\n    return x\n"
    assert code_version(define(source.replace(old, new))) != code_version(define(source))


def test_other_defaults_count_by_type_and_sets_by_content() -> None:
    source = "def target(x, when=make(), tags={'a', 'b'}):\n    return x\n"
    base = code_version(define(source, make=object))
    assert code_version(define(source, make=object)) == base
    assert code_version(define(source, make=list)) != base
    assert code_version(define(source.replace("{'a', 'b'}", "{'b', 'a'}"), make=object)) == base
    nested = "def target(x, table={'a': [1]}):\n    return x\n"
    assert code_version(define(nested)) == code_version(define(nested.replace("[1]", "[2]")))


# --- where the module's imports stand -------------------------------------------------------------

_USES_JSON = [
    "def target(x):\n    return json.dumps(x)\n",
    (
        "def target(x):\n    try:\n        return json.dumps(x)\n"
        "    except TypeError:\n        return None\n"
    ),
    (
        "def target(items):\n    out = []\n    for item in items:\n        if item:\n"
        "            out.append(json.dumps(item, sort_keys=True))\n    return out\n"
    ),
    'def target(x):\n    """Doc."""\n    return json.loads(json.dumps(x)) or json.dumps(1)\n',
]


@pytest.mark.skipif(bytecode._GLOBAL_METHOD is None, reason="one call form on this Python")
@pytest.mark.parametrize("source", _USES_JSON)
def test_an_import_in_the_same_unit_does_not_change_the_version(source: str) -> None:
    import json

    imported = define(f"import json\n\n{source}")
    global_only = define(source, json=json)
    assert imported.__code__.co_code != global_only.__code__.co_code  # the forms really differ
    assert code_version(imported) == code_version(global_only)
    assert imported(["a"] if "items" in source else {"a": 1}) == global_only(
        ["a"] if "items" in source else {"a": 1}
    )


def test_the_called_attribute_still_counts() -> None:
    import json

    assert code_version(define("import json\ndef target(x):\n    return json.dumps(x)\n")) != (
        code_version(define("def target(x):\n    return json.loads(x)\n", json=json))
    )
