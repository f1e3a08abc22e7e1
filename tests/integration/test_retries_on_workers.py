"""Retries on worker processes and on a Dask LocalCluster: each attempt is a task of its own.

The workers count a partition's attempts in files under the test's folder (they share no
memory with the test); the coordinator decides about retries and records every attempt.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import flowstone_nb as fs

KEYS = fs.StaticPartitions(["a", "b", "c"])


def flaky_on_workers(folder: Path, failures: dict[str, int], *, die: bool = False) -> fs.Asset:
    """An asset whose partition ``k`` fails ``failures[k]`` times (raising, or its worker dying)."""

    @fs.asset(partitioned_by=KEYS, retries=2, retry_delay=0)
    def remote(context: Any) -> str:
        key = str(context.partition)
        marks = folder / f"{key}.tries"
        with marks.open("a", encoding="ascii") as file:
            file.write("x")
        tries = len(marks.read_text(encoding="ascii"))
        if tries <= failures.get(key, 0):
            if die:
                os._exit(7)
            raise ConnectionError(f"{key}: try {tries} on pid {os.getpid()}")
        return key.upper()

    return remote


def attempts(asset: str, partition: str) -> list[tuple[str, int, str | None]]:
    """``(status, attempt, error type)`` of the partition's rows, newest first."""
    rows = fs.history(asset, partition)
    return [
        (status, attempt, error if isinstance(error, str) else None)
        for status, attempt, error in zip(
            rows["status"], rows["attempt"], rows["error_type"], strict=True
        )
    ]


def test_worker_processes_retry_a_failing_partition(tmp_path: Path) -> None:
    remote = flaky_on_workers(tmp_path, {"b": 2})
    result = fs.backfill(remote, executor="processes", max_workers=2)
    assert result.ok
    assert attempts("remote", "b") == [
        ("success", 3, None),
        ("failed", 2, "ConnectionError"),
        ("failed", 1, "ConnectionError"),
    ]
    assert fs.load(remote, "b") == "B"


def test_a_partition_whose_worker_process_died_is_tried_again(tmp_path: Path) -> None:
    remote = flaky_on_workers(tmp_path, {"c": 1}, die=True)
    result = fs.backfill(remote, executor="processes", max_workers=2)
    assert result.ok
    assert attempts("remote", "c") == [("success", 2, None), ("failed", 1, "WorkerDiedError")]


def test_worker_processes_out_of_retries(tmp_path: Path) -> None:
    remote = flaky_on_workers(tmp_path, {"a": 9})
    result = fs.backfill(remote, executor="processes", max_workers=2)
    assert result.counts() == {"computed": 2, "failed": 1}
    assert result["a"].error_type == "ConnectionError"
    assert "Asset 'remote' partition 'a' failed after 3 attempts; the last: ConnectionError: " in (
        str(result["a"].error)
    )


@pytest.mark.dask
def test_a_dask_local_cluster_retries_a_failing_partition(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="Dask is an optional extra")
    remote = flaky_on_workers(tmp_path, {"a": 1, "c": 2})
    result = fs.backfill(remote, executor="dask", max_workers=2)
    assert result.ok
    assert attempts("remote", "a") == [("success", 2, None), ("failed", 1, "ConnectionError")]
    assert [attempt for _, attempt, _ in attempts("remote", "c")] == [3, 2, 1]
    assert attempts("remote", "b") == [("success", 1, None)]
