"""Temp files of writers that died are removed when the store opens; a live writer's never are."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowstone_nb._storage.io.files import LocalFiles, files_for
from flowstone_nb._storage.processes import host_name, host_token, own_mark
from flowstone_nb._storage.store import Store
from tests.resources.processes import ended_pid

ROOT = Path(__file__).resolve().parents[4]

# A child that stores a value through the filesystem IO manager and stops half-way: its temp file
# is open when it says "ready" (200 kB are on their way), then it waits for a line that never comes.
WRITER = textwrap.dedent(
    """
    import sys
    from flowstone_nb._storage.io import FilesystemIOManager

    class Halfway:
        def __reduce__(self):
            print("ready", flush=True)
            sys.stdin.readline()
            return (str, ("done",))

    FilesystemIOManager(sys.argv[1]).store("blob", "all", [b"x" * 200_000, Halfway()])
    """
)


def temp_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "data").rglob(".*.tmp"))


def open_store(home: Path) -> None:
    """Open the store of ``home`` as a kernel does on its first call, then close it."""
    store = Store(str(home))
    _ = store.catalog
    store.close()


def test_a_writer_killed_mid_write_leaves_a_temp_file_that_the_next_open_removes(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(home)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n"
            [left] = temp_files(home)  # (its bytes may still be on their way to it)
            assert str(child.pid) in left.name
            open_store(home)
            assert temp_files(home) == [left]  # its writer is alive: it stays
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert temp_files(home) == [left]
    open_store(home)
    assert temp_files(home) == []


def temp_name(pid: int, mark: str | None, host: str | None = None) -> str:
    """A temp file's name as a writer with ``pid`` and ``mark`` on ``host`` leaves it."""
    token = host_token(host or host_name())
    return f".v.json.{token}-{pid}-{mark or 'x'}.0123456789ab.tmp"


@pytest.mark.skipif(own_mark() is None, reason="needs /proc")
def test_only_temp_files_of_writers_known_to_be_gone_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "home" / "data" / "a" / "all"
    folder.mkdir(parents=True)
    names = {
        "mine": temp_name(os.getpid(), own_mark()),
        "reused pid": temp_name(os.getpid(), "00000000"),
        "ended": temp_name(ended_pid(), own_mark()),
        "ended, no mark": temp_name(ended_pid(), None),
        "live, no mark": temp_name(os.getpid(), None),
        "other host": temp_name(ended_pid(), "00000000", host="elsewhere"),
        "older form": ".v.json.0123456789ab.tmp",
        "a value": "0123.json",
    }
    for name in names.values():
        (folder / name).write_bytes(b"x")
    removed = LocalFiles(tmp_path / "home").remove_stale_temp_files()
    gone = {"reused pid", "ended", "ended, no mark"}
    assert sorted(removed) == sorted(f"data/a/all/{names[key]}" for key in gone)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        name for key, name in names.items() if key not in gone
    )


def test_temp_files_carry_their_writers_pid_and_mark(tmp_path: Path) -> None:
    seen: list[str] = []

    def look(out: object) -> None:
        seen.extend(p.name for p in (tmp_path / "data").glob(".*.tmp"))

    files_for(str(tmp_path)).write_atomic("data/v.bin", look)
    [name] = seen
    assert name.startswith(f".v.bin.{host_token(host_name())}-{os.getpid()}-{own_mark() or 'x'}.")


def test_a_temp_file_that_cannot_be_removed_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data" / "a" / "all"
    folder.mkdir(parents=True)
    (folder / temp_name(ended_pid(), None)).write_bytes(b"x")

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    assert LocalFiles(tmp_path).remove_stale_temp_files() == []
