"""Writers: a mark beside the pid tells the process that wrote something from a later one."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from flowstone_nb._storage import processes
from flowstone_nb._storage.processes import (
    host_name,
    host_token,
    own_mark,
    process_mark,
    writer_alive,
)
from tests.resources.processes import ended_pid

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@linux_only
def test_this_process_has_a_mark_and_an_ended_one_has_none() -> None:
    mark = own_mark()
    assert mark is not None
    assert re.fullmatch(r"[0-9a-f]{8}", mark)
    assert own_mark() == process_mark(os.getpid()) == mark
    assert process_mark(ended_pid()) is None


@linux_only
def test_a_pid_taken_over_by_another_process_is_not_its_writer() -> None:
    pid, mark = os.getpid(), own_mark()
    assert writer_alive(pid, mark)
    assert not writer_alive(pid, "00000000")  # the pid is alive, but another process has it
    assert not writer_alive(ended_pid(), mark)


def test_without_a_mark_a_live_pid_is_the_writer() -> None:
    assert writer_alive(os.getpid(), None)
    assert not writer_alive(ended_pid(), None)
    assert writer_alive(1, None)  # alive, even when it belongs to another user


def test_the_start_time_is_read_after_a_name_with_spaces_and_parentheses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "42").mkdir()
    fields = " ".join(str(n) for n in range(3, 22))  # fields 3 to 21, then the start time
    (tmp_path / "42" / "stat").write_bytes(f"42 (a) b (c d) {fields} 987654 23 24".encode())
    monkeypatch.setattr(processes, "_PROC", tmp_path)
    expected = hashlib.blake2b(f"{processes._boot}:987654".encode(), digest_size=4).hexdigest()
    assert process_mark(42) == expected


def test_hosts_have_short_tokens() -> None:
    assert host_token(host_name()) == host_token(host_name())
    assert re.fullmatch(r"[0-9a-f]{8}", host_token("a-very-long-host-name.example.org"))
    assert host_token("a") != host_token("b")


def test_without_a_boot_id_marks_tell_processes_apart_by_start_time_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "_BOOT_ID", tmp_path / "missing")
    assert processes._boot_id() == ""
