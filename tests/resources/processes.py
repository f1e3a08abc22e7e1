"""Processes the tests of writers need: one that has ended, whose pid is free again."""

from __future__ import annotations

import subprocess
import sys


def ended_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
