"""The Binder environment, checked without Docker: the Dockerfile repo2docker would build."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_binder_folder_installs_graphviz_python_311_and_the_package(tmp_path: Path) -> None:
    beside = Path(sys.executable).parent / "repo2docker"
    repo2docker = str(beside) if beside.exists() else shutil.which("repo2docker")
    if repo2docker is None:
        pytest.skip("jupyter-repo2docker is not installed (pip install 'flowstone-nb[test]')")
    out = subprocess.run(
        [repo2docker, "--no-build", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=120,
    )
    dockerfile = out.stdout + out.stderr
    assert "apt-get install --yes --no-install-recommends graphviz" in dockerfile
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "python=3.11" in dockerfile
    assert (ROOT / "binder/requirements.txt").read_text().startswith("-e .")
