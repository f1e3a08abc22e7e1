"""Backfill progress outside notebooks: quiet by default, one line per partition when asked."""

from __future__ import annotations

from typing import Any

import pytest

import flowstone_nb as fs


def define() -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["a", "b"]))
    def base(context: Any) -> str:
        return context.partition

    @fs.asset(partitioned_by=fs.StaticPartitions(["a", "b"]))
    def shout(base: str) -> str:
        return base.upper()


def test_scripts_are_quiet_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    define()
    fs.configure(progress=None)
    fs.backfill("shout")
    assert capsys.readouterr().err == ""


def test_progress_true_prints_one_line_per_partition(capsys: pytest.CaptureFixture[str]) -> None:
    define()
    fs.backfill("shout", progress=True, max_workers=1)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["shout[a]: succeeded (1/2)", "shout[b]: succeeded (2/2)"]
    fs.backfill("shout", progress=True)
    assert "shout[a]: reused" in capsys.readouterr().err
