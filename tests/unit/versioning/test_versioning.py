"""Automatic code versions: cosmetic edits keep them, real edits (also in helpers) change them."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flowstone_nb._versioning import code_versions as _code_versions
from flowstone_nb._versioning.code_versions import code_version, source_version

_counter = itertools.count()


def load(tmp_path: Path, source: str, name: str | None = None) -> ModuleType:
    """Import ``source`` from a real file, as a module of its own (not kept in sys.modules)."""
    name = name or f"fs_versioning_case_{next(_counter)}"
    path = tmp_path / f"{name}_{next(_counter)}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def version_of(tmp_path: Path, source: str, attribute: str = "target") -> str:
    return code_version(getattr(load(tmp_path, source), attribute))


def exec_function(
    source: str, name: str = "target", namespace: dict[str, Any] | None = None
) -> Any:
    """Define a function from a string that no file or linecache backs (the fallback path)."""
    namespace = {"__name__": "generated"} if namespace is None else namespace
    exec(compile(textwrap.dedent(source), "<generated>", "exec"), namespace)
    return namespace[name]


BASE = """
    def target(raw):
        total = 0
        for value in raw:
            total += value * 2
        return total
"""


# --- the normalised source ------------------------------------------------------------------


def test_version_is_long_hex_and_stable(tmp_path: Path) -> None:
    version = version_of(tmp_path, BASE)
    assert len(version) >= 16
    int(version, 16)
    assert version == version_of(tmp_path, BASE)


@pytest.mark.parametrize(
    "edited",
    [
        # comments and blank lines
        """
        # a comment before
        def target(raw):  # why
            total = 0

            for value in raw:   # each
                total += value * 2
            return total
        """,
        # formatting
        """
        def target( raw ):
            total=0
            for value in raw: total += value*2
            return (total)
        """,
        # a docstring, and a different decorator list
        '''
        import functools

        @functools.lru_cache(maxsize=None)
        def target(raw):
            """Sum of doubled values."""
            total = 0
            for value in raw:
                total += value * 2
            return total
        ''',
        # shifted down the file, with other code around
        """
        import os

        UNUSED = [1, 2]


        def target(raw):
            total = 0
            for value in raw:
                total += value * 2
            return total
        """,
    ],
    ids=["comments", "formatting", "docstring-and-decorator", "moved"],
)
def test_cosmetic_edits_keep_the_version(tmp_path: Path, edited: str) -> None:
    module = load(tmp_path, edited)
    target = module.target
    target = getattr(target, "__wrapped__", target)
    assert code_version(target) == version_of(tmp_path, BASE)


@pytest.mark.parametrize(
    "edited",
    [
        BASE.replace("value * 2", "value * 3"),
        BASE.replace("total = 0", "total = 1"),
        BASE.replace("def target(raw):", "def target(raw, scale=1):"),
        BASE.replace("return total", "return -total"),
    ],
)
def test_real_edits_change_the_version(tmp_path: Path, edited: str) -> None:
    assert version_of(tmp_path, edited) != version_of(tmp_path, BASE)


def test_nested_docstrings_are_ignored_but_nested_decorators_count(tmp_path: Path) -> None:
    nested = """
        import functools

        def target():
            def inner():
                '''Explains inner.'''
                return 1

            class Box:
                '''Explains Box.'''

            return inner(), Box
    """
    redocumented = nested.replace("Explains inner.", "Other words.").replace("Explains", "Says")
    assert version_of(tmp_path, nested) == version_of(tmp_path, redocumented)
    decorated = nested.replace("    def inner", "    @functools.cache\n            def inner")
    assert version_of(tmp_path, decorated) != version_of(tmp_path, nested)


def test_methods_and_lambdas_with_source(tmp_path: Path) -> None:
    source = """
        class Pipeline:
            def method(self, raw):
                return raw + 1

        square = lambda x: x * x
        cube = lambda x: x * x * x
    """
    module = load(tmp_path, source)
    assert code_version(module.Pipeline.method) == code_version(
        load(tmp_path, source.replace("raw + 1", "raw  +  1")).Pipeline.method
    )
    assert code_version(module.square) != code_version(module.cube)
    assert code_version(module.square) == code_version(
        load(tmp_path, source.replace("x * x\n", "x*x  # squared\n")).square
    )


def test_two_lambdas_on_one_line_are_told_apart(tmp_path: Path) -> None:
    module = load(tmp_path, "pair = (lambda x: x + 1, lambda x: x + 2)\n")
    first, second = module.pair
    assert code_version(first) != code_version(second)
    assert code_version(first) == code_version(exec_function("f = lambda x: x + 1", "f"))


def test_a_lambda_on_a_continuation_line_needs_no_source(tmp_path: Path) -> None:
    module = load(tmp_path, "options = dict(\n    key=lambda v: -v)\n")
    assert code_version(module.options["key"]) == code_version(
        exec_function("f = lambda v: -v", "f")
    )


def test_an_async_function_and_a_generator(tmp_path: Path) -> None:
    source = """
        async def target(raw):
            return [v async for v in raw]

        def gen(raw):
            yield from raw
    """
    module = load(tmp_path, source)
    assert code_version(module.target) == code_version(
        load(tmp_path, source.replace("[v async", "[ v async")).target
    )
    assert code_version(module.gen) != code_version(module.target)


# --- helpers, constants, closures, classes --------------------------------------------------

PIPELINE = """
    THRESHOLD = 5
    NAMES = ("a", ("b", 1.5, None, True))
    BIG = [1, 2, 3]
    MIXED = (1, [2])

    def scale(value):
        return value * FACTOR

    FACTOR = 2

    def keep(value):
        return value > THRESHOLD

    def target(raw):
        kept = [scale(v) for v in raw if keep(v)]
        return kept, NAMES, BIG, MIXED, len(kept)
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("THRESHOLD = 5", "THRESHOLD = 6"),
        ("THRESHOLD = 5", "THRESHOLD = 5.0"),
        ("THRESHOLD = 5", "THRESHOLD = True"),
        ("FACTOR = 2", "FACTOR = '2'"),
        ('"b", 1.5', '"b", 1.25'),
        ("return value * FACTOR", "return value * FACTOR + 0"),
        ("return value > THRESHOLD", "return value >= THRESHOLD"),
    ],
)
def test_helpers_and_constants_count_transitively(tmp_path: Path, old: str, new: str) -> None:
    assert PIPELINE.count(old) == 1
    assert version_of(tmp_path, PIPELINE.replace(old, new)) != version_of(tmp_path, PIPELINE)


def test_non_constant_globals_and_cosmetic_helper_edits_do_not_count(tmp_path: Path) -> None:
    base = version_of(tmp_path, PIPELINE)
    assert version_of(tmp_path, PIPELINE.replace("BIG = [1, 2, 3]", "BIG = [4]")) == base
    assert version_of(tmp_path, PIPELINE.replace("(1, [2])", "(1, [3])")) == base
    helper_comment = PIPELINE.replace("return value * FACTOR", "return value * FACTOR  # doubled")
    assert version_of(tmp_path, helper_comment) == base


def test_rebinding_a_helper_at_runtime_changes_the_version(tmp_path: Path) -> None:
    module = load(tmp_path, PIPELINE)
    before = code_version(module.target)
    module.THRESHOLD = 7
    after_constant = code_version(module.target)
    assert after_constant != before
    module.THRESHOLD = 5
    assert code_version(module.target) == before
    module.keep = load(tmp_path, "def keep(value):\n    return False\n", module.__name__).keep
    assert code_version(module.target) != before


def test_library_functions_are_not_followed(tmp_path: Path) -> None:
    source = """
        from textwrap import dedent as tidy

        def target(text):
            return tidy(text)
    """
    module = load(tmp_path, source)
    before = code_version(module.target)
    module.tidy = load(tmp_path, "def tidy(text):\n    return text\n", "some_library").tidy
    assert code_version(module.target) == before
    module.tidy = load(tmp_path, "def tidy(text):\n    return text\n", module.__name__).tidy
    assert code_version(module.target) != before


def test_a_helper_used_twice_counts_once(tmp_path: Path) -> None:
    source = """
        def shared(v):
            return v

        def left(v):
            return shared(v)

        def right(v):
            return shared(v) + 1

        def target(v):
            return left(v) + right(v)
    """
    assert version_of(tmp_path, source.replace("return v\n", "return -v\n")) != version_of(
        tmp_path, source
    )


def test_a_wrapper_loop_is_not_followed_forever(tmp_path: Path) -> None:
    source = """
        class Loop:
            def __call__(self):
                return 1

        loop = Loop()
        loop.__wrapped__ = loop

        def target():
            return loop()
    """
    module = load(tmp_path, source)
    assert code_version(module.target) == code_version(
        load(tmp_path, source.replace("return 1", "return 2")).target
    )


def test_recursion_and_mutual_recursion_terminate(tmp_path: Path) -> None:
    source = """
        def even(n):
            return n == 0 or odd(n - 1)

        def odd(n):
            return n != 0 and even(n - 1)

        def target(n):
            return target(n - 1) if n else even(4)
    """
    first = version_of(tmp_path, source)
    assert first == version_of(tmp_path, source)
    assert version_of(tmp_path, source.replace("n != 0", "n > 0")) != first


def test_helpers_in_lambdas_comprehensions_and_nested_functions(tmp_path: Path) -> None:
    source = """
        def helper(v):
            return v + 1

        def target(raw):
            def inner(values):
                return {k: (lambda: helper(k))() for k in values}
            return inner(raw)
    """
    assert version_of(tmp_path, source.replace("v + 1", "v + 2")) != version_of(tmp_path, source)


def test_closure_cells_are_followed(tmp_path: Path) -> None:
    source = """
        def helper(v):
            return v + 1

        def make(limit, function):
            def target(raw):
                return [function(v) for v in raw if v < limit]
            return target
    """
    module = load(tmp_path, source)
    five = code_version(module.make(5, module.helper))
    assert five == code_version(module.make(5, module.helper))
    assert five != code_version(module.make(6, module.helper))
    assert five != code_version(module.make(5, len))
    assert code_version(module.make(5, len)) == code_version(module.make(5, max))
    edited = load(tmp_path, source.replace("v + 1", "v + 3"))
    assert five != code_version(edited.make(5, edited.helper))


def test_empty_closure_cells_are_skipped(tmp_path: Path) -> None:
    source = """
        def make():
            def target():
                return later
            version = target
            later = 1
            del later
            return version
    """
    assert code_version(load(tmp_path, source).make())


CLASSES = """
    import functools

    class Base:
        LIMIT = 3

        def clip(self, v):
            return min(v, self.LIMIT)

    class Scaler(Base):
        '''Scales values.'''

        factor = 2
        table = {"not": "simple"}

        def __init__(self):
            self.offset = 1

        def apply(self, v):
            return self.clip(v) * self.factor + make_offset()

        @staticmethod
        def unit():
            return 1

        @classmethod
        def build(cls):
            return cls()

        @property
        def half(self):
            return self.factor / 2

        @functools.cached_property
        def double(self):
            return self.factor * 2

    def make_offset():
        return Scaler.unit()

    def target(raw):
        return [Scaler.build().apply(v) for v in raw]
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("LIMIT = 3", "LIMIT = 4"),
        ("return min(v, self.LIMIT)", "return max(v, self.LIMIT)"),
        ("factor = 2", "factor = 3"),
        ("self.offset = 1", "self.offset = 2"),
        ("return 1\n", "return 2\n"),
        ("return cls()", "return cls.__new__(cls)"),
        ("self.factor / 2", "self.factor / 4"),
        ("self.factor * 2", "self.factor * 4"),
    ],
)
def test_user_classes_count_by_their_methods_and_constants(
    tmp_path: Path, old: str, new: str
) -> None:
    assert CLASSES.count(old) == 1
    assert version_of(tmp_path, CLASSES.replace(old, new)) != version_of(tmp_path, CLASSES)


def test_class_docstrings_and_non_constant_attributes_do_not_count(tmp_path: Path) -> None:
    base = version_of(tmp_path, CLASSES)
    assert version_of(tmp_path, CLASSES.replace("Scales values.", "Doubles.")) == base
    assert version_of(tmp_path, CLASSES.replace('"simple"}', '"other"}')) == base


def test_decorated_helpers_are_unwrapped(tmp_path: Path) -> None:
    source = """
        import functools

        def logged(function):
            @functools.wraps(function)
            def wrapper(*args):
                return function(*args)
            return wrapper

        @functools.lru_cache
        def cached(v):
            return v + 1

        @logged
        def wrapped(v):
            return v + 1

        def target(v):
            return cached(v) + wrapped(v)
    """
    base = version_of(tmp_path, source)
    changed_cached = source.replace(
        "cached(v):\n            return v + 1", "cached(v):\n            return v"
    )
    changed_wrapped = source.replace(
        "wrapped(v):\n            return v + 1", "wrapped(v):\n            return v"
    )
    assert version_of(tmp_path, changed_cached) != base
    assert version_of(tmp_path, changed_wrapped) != base


# --- callables that are not plain functions ------------------------------------------------


def test_partials_bound_methods_callable_objects_and_builtins(tmp_path: Path) -> None:
    source = """
        def load(context, deps, path="a.csv", big=None):
            return path

        class Loader:
            def __call__(self, context, deps):
                return "x"

            def run(self, context, deps):
                return "y"
    """
    module = load(tmp_path, source)
    first = code_version(functools.partial(module.load, path="a.csv"))
    assert first != code_version(functools.partial(module.load, path="a.csv", big=[1]))
    assert code_version(functools.partial(module.load, big=[1])) == code_version(
        functools.partial(module.load, big=[2])
    )
    assert first != code_version(functools.partial(module.load, path="b.csv"))
    assert first != code_version(module.load)
    assert code_version(functools.partial(module.load, 1)) != code_version(
        functools.partial(module.load, 2)
    )
    assert code_version(module.Loader().run) == code_version(module.Loader.run)
    assert code_version(module.Loader()) != code_version(module.Loader.run)
    edited = load(tmp_path, source.replace('return "x"', 'return "z"'))
    assert code_version(edited.Loader()) != code_version(module.Loader())
    assert code_version(len) == code_version(len)
    assert code_version(len) != code_version(sum)
    assert code_version(module.Loader) != code_version(edited.Loader)


# --- code without source --------------------------------------------------------------------


def test_code_without_source_is_versioned_like_code_with_source(tmp_path: Path) -> None:
    source = """
        LIMIT = 3

        def target(raw, scale=2):
            '''Doc.'''
            kept = [v for v in raw if v in {"a", "b", "c"} and v < LIMIT and v not in (1, 2)]
            return [v * scale for v in kept]
    """
    first = exec_function(source)
    assert code_version(first) == code_version(exec_function(source))
    assert code_version(first) != code_version(
        exec_function(source.replace("v * scale", "v + scale"))
    )
    assert code_version(first) != code_version(
        exec_function(source.replace("LIMIT = 3", "LIMIT = 4"))
    )
    assert code_version(first) != code_version(exec_function(source.replace("scale=2", "scale=5")))
    with_source = load(tmp_path, source).target
    assert code_version(first) == code_version(with_source)


def test_source_edited_on_disk_after_import_does_not_matter(tmp_path: Path) -> None:
    source = "def target(raw):\n    return raw + 1\n"
    module = load(tmp_path, source)
    path = Path(module.__file__ or "")
    path.write_text("def unrelated(raw):\n    return raw - 100\n")
    assert code_version(module.target) == code_version(exec_function(source))


def test_the_version_is_the_same_in_another_process(tmp_path: Path) -> None:
    module_source = textwrap.dedent(
        """
        KEYS = ("x", "y")

        def helper(v):
            return v in {"a", "b", "c", "d", "e", "f"}

        def target(raw):
            return [v for v in raw if helper(v)], KEYS
        """
    )
    (tmp_path / "stable_pipeline.py").write_text(module_source)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(tmp_path)!r}, {str(Path.cwd())!r}]
        from flowstone_nb._versioning.code_versions import code_version
        import stable_pipeline
        namespace = {{"__name__": "generated"}}
        exec(compile({module_source!r}, "<generated>", "exec"), namespace)
        print(code_version(stable_pipeline.target), code_version(namespace["target"]))
        """
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1


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
            return a
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
        (os, d, f, K, a, rest, key, kw, problem, others, first, tail, text)
        """
    )
    names = (
        "os",
        "d",
        "f",
        "K",
        "a",
        "rest",
        "key",
        "kw",
        "problem",
        "others",
        "first",
        "tail",
        "text",
    )
    empty = source_version(cell, {})
    assert source_version(cell, dict.fromkeys(names, 1)) == empty


def test_source_version_with_ipython_syntax_and_broken_code() -> None:
    magic = "%matplotlib inline\nx = HELPER_LIMIT\nx"
    assert source_version(magic, {"HELPER_LIMIT": 1}) != source_version(magic, {"HELPER_LIMIT": 2})
    broken = "def (:\n   oops"
    assert source_version(broken, {}) == source_version(broken + "\n\n", {})
    assert source_version(broken, {}) != source_version(broken.replace("oops", "other"), {})


# --- the cache ------------------------------------------------------------------------------


def test_a_repeated_call_notices_every_kind_of_change(tmp_path: Path) -> None:
    source = """
        import functools

        class Scaler:
            factor = 2

            def apply(self, v):
                return v * self.factor

        def plain(v):
            return v

        wrapped = functools.lru_cache(plain)

        def make(limit):
            def target(raw):
                return [wrapped(Scaler().apply(v)) for v in raw if v < limit]

            def set_limit(value):
                nonlocal limit
                limit = value

            return target, set_limit
    """
    module = load(tmp_path, source)
    target, set_limit = module.make(5)
    seen = {code_version(target)}

    def changed() -> bool:
        version = code_version(target)
        new = version not in seen
        seen.add(version)
        return new

    assert not changed()
    set_limit(6)  # a closure cell
    assert changed()
    module.Scaler.factor = 3  # a class attribute
    assert changed()
    extra = load(tmp_path, "def extra(self):\n    return 1\n", module.__name__).extra
    module.Scaler.extra = extra  # a new class member
    assert changed()
    other = load(tmp_path, "def plain(v):\n    return -v\n", module.__name__).plain
    module.wrapped.__wrapped__ = other  # what a wrapper wraps
    assert changed()
    target.__code__ = load(tmp_path, source.replace("v < limit", "v <= limit")).make(5)[0].__code__
    assert changed()
    target.__defaults__ = (1,)  # defaults
    assert changed()
    target.__kwdefaults__ = {"k": 1}
    assert changed()
    target.__kwdefaults__ = {"k": 1}  # an equal new dict: checked again, same version
    assert not changed()


def test_a_self_contained_function_is_versioned_by_its_code_as_by_the_full_walk(
    tmp_path: Path,
) -> None:
    module = load(
        tmp_path,
        """
        LIMIT = 3

        def alone(x):
            return [v + 1 for v in x]

        def nested_reads_a_global(x):
            return [v for v in x if v < LIMIT]
        """,
    )
    alone = module.alone
    full = _code_versions._Resolver({alone.__module__}).of_function(alone)
    assert code_version(alone) == full == code_version(alone)
    before = code_version(alone)
    alone.__defaults__ = (1,)
    assert code_version(alone) != before  # the remembered checks cover defaults too
    alone.__defaults__ = None
    assert code_version(alone) == before
    alone.__kwdefaults__ = {"k": 1}
    assert code_version(alone) != before
    alone.__kwdefaults__ = None
    assert code_version(alone) == before
    alone.__code__ = module.nested_reads_a_global.__code__  # now it reads a global
    assert code_version(alone) == code_version(module.nested_reads_a_global) != before
    reading = code_version(alone)
    module.LIMIT = 4  # the global read in the comprehension counts
    assert code_version(alone) != reading


def test_a_repeated_cell_notices_a_rebound_name(tmp_path: Path) -> None:
    namespace = cell_namespace(tmp_path)
    first = source_version(CELL, namespace)
    assert source_version(CELL, namespace) == first
    namespace["THRESHOLD"] = 9
    assert source_version(CELL, namespace) != first


def test_the_cache_is_bounded_and_keeps_results_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_code_versions, "MAX_CACHED", 2)
    # They read a global (len), so their code goes through the code cache too.
    functions = [exec_function(f"def target():\n    return len([{i}])\n") for i in range(5)]
    versions = [code_version(f) for f in functions]
    assert len(set(versions)) == 5
    assert len(_code_versions._CODE_CACHE) <= 2
    assert len(_code_versions._VERSION_CACHE) <= 2
    assert [code_version(f) for f in functions] == versions
    cells = [source_version(f"x = {i}\nx", {}) for i in range(5)]
    assert len(set(cells)) == 5
    assert len(_code_versions._CELL_CACHE) <= 2


def test_versions_from_many_threads_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_code_versions, "MAX_CACHED", 3)
    functions = [exec_function(f"def target():\n    return {i}\n") for i in range(8)]
    expected = [code_version(f) for f in functions]
    barrier = threading.Barrier(4)

    def work(_: int) -> list[str]:
        barrier.wait()
        return [code_version(f) for f in functions for _ in range(20)][::20]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(4)))
    assert results == [expected] * 4


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


# --- import cost ----------------------------------------------------------------------------


def test_importing_the_module_loads_no_heavy_packages() -> None:
    script = (
        "import sys, flowstone_nb._versioning.code_versions\n"
        "heavy = {'pandas', 'pyarrow', 'IPython', 'graphviz', 'ipywidgets', 'fsspec'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    run_ = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert run_.stdout.strip() == "[]"


def test_a_source_file_truncated_after_import_does_not_matter(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shrinking_module.py"
    path.write_text("\n\n\n\ndef late(x):\n    return x + 1\n")
    spec = importlib.util.spec_from_file_location("shrinking_module", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path.write_text("")  # the definition's lines are gone from the file
    assert code_version(module.late) == code_version(module.late)
    assert len(code_version(module.late)) >= 16


def test_recompiled_code_keeps_its_version_and_defaults_count(tmp_path: Path) -> None:
    path = tmp_path / "recompiled_module.py"
    path.write_text("def step(x, scale=2):\n    return x * scale\n")

    def load() -> Any:
        spec = importlib.util.spec_from_file_location("recompiled_module", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.step

    first, second = load(), load()
    assert first.__code__ is not second.__code__
    assert code_version(first) == code_version(second)
    path.write_text("def step(x, scale=3):\n    return x * scale\n")  # same bytecode
    assert code_version(load()) != code_version(first)


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


def test_code_versions_agrees_with_one_call_per_function(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        """
        import functools

        LIMIT = 3

        def alone(x):
            return x + 1

        def reading(x):
            return x < LIMIT

        def defaulted(x, k=1):
            return x * k

        bound = functools.partial(defaulted, k=2)
        """,
    )
    items: list[Any] = [module.alone, module.reading, module.defaulted, module.bound, "given-1"]

    def agreed() -> list[str]:
        batch = _code_versions.code_versions(items)
        assert batch == [item if isinstance(item, str) else code_version(item) for item in items]
        return batch

    _code_versions._VERSION_CACHE.clear()
    pending = _code_versions.code_versions(items, later=True)
    # Only the function that reads nothing but its argument is left for later.
    assert [type(version).__name__ for version in pending] == ["PendingVersion"] + ["str"] * 4
    assert isinstance(pending[0], _code_versions.PendingVersion)
    assert pending[0].resolve() == code_version(module.alone)
    assert _code_versions.code_versions(items, later=True) == agreed()  # all remembered now

    first = agreed()
    assert agreed() == first  # remembered now
    assert first[-1] == "given-1"
    alone = module.alone
    alone.__defaults__ = (1,)
    assert agreed()[0] != first[0]
    alone.__defaults__ = None
    alone.__kwdefaults__ = {"k": 1}
    assert agreed()[0] != first[0]
    alone.__kwdefaults__ = None
    assert agreed() == first
    alone.__code__ = load(tmp_path, "def alone(x):\n    return x + 2\n").alone.__code__
    assert agreed()[0] != first[0]
    module.LIMIT = 4
    assert agreed()[1] != first[1]


def test_a_helper_defined_after_its_asset_counts(tmp_path: Path) -> None:
    import flowstone_nb as fs
    from flowstone_nb._define.code_version import asset_code_version

    module = load(
        tmp_path,
        """
        import flowstone_nb as fs

        registry = fs.Registry()

        @fs.asset(io_manager="memory", registry=registry)
        def late():
            return helper() + 1

        def helper():
            return 1
        """,
    )
    late: fs.Asset = module.late
    before = asset_code_version(late)
    module.helper = load(tmp_path, "def helper():\n    return 2\n", module.__name__).helper
    assert asset_code_version(late) != before


def test_a_pending_version_is_the_version_of_the_code_that_ran() -> None:
    alone = exec_function("def target(x):\n    return x + 1\n")
    (pending,) = _code_versions.code_versions([alone], later=True)
    assert isinstance(pending, _code_versions.PendingVersion)
    ran = code_version(exec_function("def target(x):\n    return x + 1\n"))
    alone.__code__ = exec_function("def target(x):\n    return x + 2\n").__code__
    assert pending.resolve() == ran  # the code it had, not the code it has now
    assert code_version(alone) != ran  # and that was not remembered for the function


def test_self_contained_code_is_the_code_of_a_function_reading_only_its_arguments(
    tmp_path: Path,
) -> None:
    from flowstone_nb._versioning.self_contained import self_contained_code

    module = load(
        tmp_path,
        """
        LIMIT = 3

        def alone(x, y):
            return (x + 1.5, y, "text", b"raw", None, ...)

        def reading(x):
            return x < LIMIT

        def defaulted(x, k=1):
            return x * k

        def keyword(x, *, k=1):
            return x * k

        def nested(x):
            return [i for i in x]

        def outer():
            value = 1

            def inner():
                return value

            return inner

        def method_call(x):
            return x.upper()
        """,
    )
    assert self_contained_code(module.alone) is module.alone.__code__
    for other in ("reading", "defaulted", "keyword", "nested", "method_call"):
        assert self_contained_code(getattr(module, other)) is None, other
    assert self_contained_code(module.outer()) is None  # a closure
    assert self_contained_code(functools.partial(module.alone, 1)) is None
    assert self_contained_code(len) is None


def test_a_pending_version_of_a_function_versioned_before_reuses_its_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alone = exec_function("def target(x):\n    return x + 1\n")
    expected = code_version(alone)  # remembered for the function
    digests: list[object] = []
    real = _code_versions._digest
    monkeypatch.setattr(_code_versions, "_digest", lambda *a: digests.append(a) or real(*a))
    assert _code_versions.PendingVersion(alone, alone.__code__).resolve() == expected
    assert digests == []
    other = exec_function("def target(x):\n    return x + 3\n").__code__
    assert (
        _code_versions.PendingVersion(alone, other).resolve() != expected
    )  # another code: digested
    assert len(digests) == 1
