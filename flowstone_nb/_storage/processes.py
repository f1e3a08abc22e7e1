"""Writers: which process wrote something, and whether that process still runs.

A pid alone does not name a process: once it ends, its pid is given to another (soon, in a
restarted container or PID namespace, where the numbers start again from 1). So what a process
writes carries its *mark* beside its pid: a short digest of the machine's boot id and the
process's start time (from ``/proc``), which no other process on this host ever had. This module
owns the mark, the host's name and the one rule that tells a live writer from a gone one
(:func:`writer_alive`). The catalog records them with each run, and temporary files carry them in
their names. It must not know the catalog or the files.

Where ``/proc`` is missing (macOS, Windows) there is no mark, and a live pid counts as its writer.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import socket
from pathlib import Path

__all__ = ["host_name", "host_token", "own_mark", "process_mark", "writer_alive"]

_PROC = Path("/proc")
_BOOT_ID = _PROC / "sys" / "kernel" / "random" / "boot_id"
_HAS_PROC = (_PROC / "self" / "stat").exists()
# The start time is the 22nd field of /proc/<pid>/stat, the 20th after the name, which is in
# parentheses and may hold spaces or parentheses of its own.
_START_AFTER_NAME = 19


def _boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:  # (a /proc without it: start times are then told apart within one boot)
        return ""


_boot = _boot_id()


def process_mark(pid: int) -> str | None:
    """The mark of the process that runs as ``pid`` now (8 hex digits).

    ``None`` when no process runs as ``pid``, or when this system has no ``/proc``.
    """
    try:
        stat = (_PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    start = stat.rpartition(b")")[2].split()[_START_AFTER_NAME]
    return hashlib.blake2b(_boot.encode() + b":" + start, digest_size=4).hexdigest()


# The mark of the last pid asked for: this process's, asked again after a fork.
_mark_of_own_pid = functools.lru_cache(maxsize=1)(process_mark)


def own_mark() -> str | None:
    """The mark of this process (read from ``/proc`` once per process)."""
    return _mark_of_own_pid(os.getpid())


def host_name() -> str:
    """The name of the host this process runs on, as runs record it."""
    return socket.gethostname()


def host_token(host: str) -> str:
    """A short token (8 hex digits) for ``host``, for names that must stay short."""
    return hashlib.blake2b(host.encode(), digest_size=4).hexdigest()


def writer_alive(pid: int, mark: str | None) -> bool:
    """Whether the process that wrote ``pid`` and ``mark`` on this host still runs.

    With ``/proc`` and a mark, the process running as ``pid`` now must have that mark: a pid
    taken over by another process counts as gone. Without a mark (recorded where there is no
    ``/proc``, or before marks were recorded), a live pid counts as the writer. Where processes
    cannot be probed (Windows), every writer counts as alive.
    """
    if mark is not None and _HAS_PROC:
        return process_mark(pid) == mark
    return os.name != "posix" or _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    try:
        with contextlib.suppress(PermissionError):  # it exists, under another user
            os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
