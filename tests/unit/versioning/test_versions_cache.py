"""Remembered versions: what a repeated call checks again, bounded caches, batches, pending ones."""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from flowstone_nb._versioning import bytecode, cache, cell_source, resolver
from flowstone_nb._versioning import code_versions as _code_versions
from flowstone_nb._versioning.code_versions import code_version, source_version
from tests.unit.versioning.defining import exec_function, load

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
    full = resolver.Resolver({alone.__module__}).of_function(alone)
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


def test_the_cache_is_bounded_and_keeps_results_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "MAX_CACHED", 2)
    # They read a global (len), so their code goes through the code cache too.
    functions = [exec_function(f"def target():\n    return len([{i}])\n") for i in range(5)]
    versions = [code_version(f) for f in functions]
    assert len(set(versions)) == 5
    assert len(resolver._CODE_CACHE) <= 2
    assert len(_code_versions._VERSION_CACHE) <= 2
    assert [code_version(f) for f in functions] == versions
    cells = [source_version(f"x = {i}\nx", {}) for i in range(5)]
    assert len(set(cells)) == 5
    assert len(cell_source._CELL_CACHE) <= 2


def test_versions_from_many_threads_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_CACHED", 3)
    functions = [exec_function(f"def target():\n    return {i}\n") for i in range(8)]
    expected = [code_version(f) for f in functions]
    barrier = threading.Barrier(4)

    def work(_: int) -> list[str]:
        barrier.wait()
        return [code_version(f) for f in functions for _ in range(20)][::20]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(4)))
    assert results == [expected] * 4


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
    real = bytecode.code_digest
    monkeypatch.setattr(bytecode, "code_digest", lambda *a: digests.append(a) or real(*a))
    assert _code_versions.PendingVersion(alone, alone.__code__).resolve() == expected
    assert digests == []
    other = exec_function("def target(x):\n    return x + 3\n").__code__
    assert (
        _code_versions.PendingVersion(alone, other).resolve() != expected
    )  # another code: digested
    assert len(digests) == 1
