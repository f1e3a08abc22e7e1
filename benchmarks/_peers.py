"""Running the peers' workloads in their own interpreter, and saying so when they are absent.

The peers (Dagster, Apache Hamilton) live in a separate virtualenv so that their dependencies
never reach the project's environment. Its interpreter is ``--peers-python``, else
``$FLOWSTONE_BENCH_PEERS_PYTHON``, else ``.venv-bench/bin/python`` in the repository.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
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


class PeerServer:
    """A peer's interpreter kept running, taking one workload request at a time.

    The driver asks it for one sample per round, between its own samples, so that a busy spell
    of the shared machine lands on both sides of a ratio (see ``--serve`` in
    :mod:`benchmarks.peers`). Never raises for a missing or failing peer: its outcome says so.
    """

    def __init__(self, python: Path, peer: str, work: Path) -> None:
        self.peer = peer
        # The peer's stderr, read back when it dies: it outlives this call, close() closes it.
        self._log = tempfile.TemporaryFile("w+", dir=work)  # noqa: SIM115  # see above
        self._process = subprocess.Popen(
            [str(python), "-m", "benchmarks.peers", peer, "--serve", "--work", str(work)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self._reader = ThreadPoolExecutor(1, thread_name_prefix=f"{peer}-replies")

    def run(self, workload: str, sizes: Sizes, *, timeout: float = TIMEOUT) -> PeerOutcome:
        """One request: ``workload`` at ``sizes``; its samples, or why there are none."""
        process = self._process
        assert process.stdin is not None
        assert process.stdout is not None
        request = {"workload": workload, "sizes": sizes.to_json()}
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            line = self._reader.submit(process.stdout.readline).result(timeout)
        except TimeoutError:
            process.kill()
            return PeerOutcome(error=f"{self.peer} {workload} took more than {timeout:.0f} s")
        except OSError:  # it is gone already
            line = ""
        if not line:
            return PeerOutcome(error=f"{self.peer} {workload} failed: {self._last_words()}")
        reply = json.loads(line)
        if "missing" in reply:
            return PeerOutcome(missing=str(reply["missing"]))
        if "error" in reply:
            return PeerOutcome(error=f"{self.peer} {workload} failed: {reply['error']}")
        return PeerOutcome(samples=reply["samples"], version=str(reply["version"]))

    def _last_words(self) -> str:
        self._process.wait(timeout=TIMEOUT)
        self._log.seek(0)
        lines = self._log.read().strip().splitlines()
        return lines[-1] if lines else f"exit status {self._process.returncode}"

    def close(self) -> None:
        """End the peer's interpreter."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            with contextlib.suppress(OSError):  # it died with data still unread
                self._process.stdin.close()
        self._process.wait(timeout=TIMEOUT)
        self._reader.shutdown()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._log.close()
