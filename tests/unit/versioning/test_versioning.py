"""Automatic code versions: cosmetic edits keep them, real edits (also in helpers) change them."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowstone_nb._versioning.code_versions import code_version
from tests.unit.versioning.defining import exec_function, load, version_of

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
