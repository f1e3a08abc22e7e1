"""The public contract: every exported name resolves, and importing the package stays light."""

from __future__ import annotations

import subprocess
import sys

import flowstone_nb as fs


def test_every_public_name_resolves_and_has_a_docstring() -> None:
    for name in fs.__all__:
        value = getattr(fs, name)
        assert value.__doc__, name


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, flowstone_nb; "
        "heavy = {'pandas', 'pyarrow', 'graphviz', 'ipywidgets', 'IPython', 'pydantic', 'fsspec', "
        "'dask', 'sqlite3', 'pandera'}; print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_extension_entry_points_are_public() -> None:
    assert callable(fs.load_ipython_extension)
    assert callable(fs.unload_ipython_extension)


def test_the_names_of_data_checks_are_public() -> None:
    for name in ("check", "CheckResult", "checks", "check_all"):
        assert name in fs.__all__
        assert name in dir(fs)
    assert fs.CheckResult(True).passed
