"""Running the peers' workloads in their own interpreter, and saying so when they are absent.

The peers (Dagster, Apache Hamilton) live in a separate virtualenv so that their dependencies
never reach the project's environment. Its interpreter is ``--peers-python``, else
``$FLOWSTONE_BENCH_PEERS_PYTHON``, else ``.venv-bench/bin/python`` in the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ._imports import ROOT
from ._sizes import Sizes

PEERS = ("hamilton", "dagster", "dagster_sqlite")
LABELS = {"hamilton": "Hamilton", "dagster": "Dagster", "dagster_sqlite": "Dagster (SQLite)"}
#: A peer run that takes longer than this is stopped and reported as failed.
TIMEOUT = 1_800.0


def default_python() -> Path:
    """The peers' interpreter when none is given."""
    configured = os.environ.get("FLOWSTONE_BENCH_PEERS_PYTHON")
    return Path(configured) if configured else ROOT / ".venv-bench" / "bin" / "python"


@dataclass
class PeerOutcome:
    """What one peer run gave: samples, or why there are none."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    version: str = ""
    missing: str = ""
    error: str = ""


def run_peer(
    python: Path, peer: str, workload: str, sizes: Sizes, work: Path, *, timeout: float = TIMEOUT
) -> PeerOutcome:
    """Run ``workload`` for ``peer`` in ``python``; never raises for a missing or failing peer."""
    if not python.exists():
        return PeerOutcome(missing=f"no peers' interpreter at {python} (make bench-peers)")
    with tempfile.TemporaryDirectory(dir=work) as scratch:
        out = Path(scratch) / "result.json"
        command = [
            str(python),
            "-m",
            "benchmarks.peers",
            peer,
            workload,
            "--sizes",
            sizes.to_json(),
            "--work",
            scratch,
            "--out",
            str(out),
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return PeerOutcome(error=f"{peer} {workload} took more than {timeout:.0f} s")
        if not out.exists():
            lines = (done.stderr or done.stdout).strip().splitlines()
            return PeerOutcome(error=f"{peer} {workload} failed: {lines[-1] if lines else '?'}")
        result = json.loads(out.read_text())
    if "missing" in result:
        return PeerOutcome(missing=str(result["missing"]))
    return PeerOutcome(samples=result["samples"], version=str(result["version"]))
