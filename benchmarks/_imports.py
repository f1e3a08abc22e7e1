"""Workload 1: ``import X`` in a fresh interpreter, and ``%load_ext X`` in a fresh IPython shell.

Each sample is one new process that times only the import (or the ``%load_ext``) with
``time.perf_counter``, so interpreter start-up is not counted. Bytecode writing is allowed for
these processes (``PYTHONDONTWRITEBYTECODE`` is dropped) and one warm-up process runs first, so
every contender imports from a warm bytecode cache, as an installed package does. IPython's
history is off and its folder is a scratch one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

ROOT = Path(__file__).resolve().parent.parent

_IMPORT = """
import time
start = time.perf_counter()
import {module}
print(time.perf_counter() - start)
"""
_LOAD_EXT = """
import time
from traitlets.config import Config
from IPython.core.interactiveshell import InteractiveShell
config = Config()
config.HistoryManager.enabled = False
shell = InteractiveShell.instance(config=config)
start = time.perf_counter()
shell.run_line_magic("load_ext", "{extension}")
print(time.perf_counter() - start)
"""


class ImportFailedError(RuntimeError):
    """The timed process failed (the module is not installed, or raised)."""


def _environment(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["IPYTHONDIR"] = str(scratch / "ipython")
    env["PYTHONPATH"] = str(ROOT)
    return env


def _one(python: str, script: str, scratch: Path) -> float:
    done = subprocess.run(
        [python, "-c", script],
        capture_output=True,
        text=True,
        cwd=scratch,
        env=_environment(scratch),
        check=False,
    )
    if done.returncode != 0:
        raise ImportFailedError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "")
    return float(done.stdout.strip().splitlines()[-1])


def import_script(module: str) -> str:
    """The script that times ``import module``."""
    return _IMPORT.format(module=module)


def load_ext_script(extension: str) -> str:
    """The script that times ``%load_ext extension``."""
    return _LOAD_EXT.format(extension=extension)


def interleaved(
    python: str, scripts: Mapping[K, str], repeat: int, scratch: Path
) -> dict[K, list[float]]:
    """``repeat`` samples of each script, one of each per round, after one warm-up each."""
    for script in scripts.values():
        _one(python, script, scratch)  # warm-up: writes bytecode, fills the OS file cache
    samples: dict[K, list[float]] = {key: [] for key in scripts}
    for _ in range(repeat):
        for key, script in scripts.items():
            samples[key].append(_one(python, script, scratch))
    return samples


def import_samples(python: str, module: str, repeat: int, scratch: Path) -> list[float]:
    """Seconds ``import module`` takes in fresh ``python`` processes."""
    return interleaved(python, {0: import_script(module)}, repeat, scratch)[0]


def load_ext_samples(python: str, extension: str, repeat: int, scratch: Path) -> list[float]:
    """Seconds ``%load_ext extension`` takes in fresh IPython shells."""
    return interleaved(python, {0: load_ext_script(extension)}, repeat, scratch)[0]
