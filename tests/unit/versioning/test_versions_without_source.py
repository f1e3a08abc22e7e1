"""Versions need no source: code without a file, edited or truncated files, other processes,
other callables."""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from flowstone_nb._versioning.code_versions import code_version
from tests.unit.versioning.defining import exec_function, load

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
