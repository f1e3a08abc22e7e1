"""Backfill progress: announced as events always; in scripts, one line per partition when asked."""

from __future__ import annotations

import threading
from datetime import date
from types import SimpleNamespace
from typing import Any

import IPython
import pytest

import flowstone_nb as fs
from flowstone_nb._core.events import Event, emit, subscribe
from flowstone_nb._core.progress import ANNOUNCEMENTS, BackfillAnnouncement, reporting_backfill


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


class Announcements:
    """Collects a backfill's announcements (and nothing else)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __enter__(self) -> Announcements:
        self._unsubscribe = subscribe(self.events.append, kinds=ANNOUNCEMENTS)
        return self

    def __exit__(self, *_: object) -> None:
        self._unsubscribe()


def test_a_backfill_announces_its_start_and_end_with_what_a_view_needs() -> None:
    @fs.asset(partitioned_by=fs.DailyPartitions("2024-01-01", "2024-01-31"))
    def daily(context: Any) -> int:
        return context.partition_key.day

    cancel = threading.Event()
    with Announcements() as heard:
        fs.backfill(daily, (date(2024, 1, 2), date(2024, 1, 3)), cancel=cancel, progress=True)
    assert [e.kind for e in heard.events] == ["backfill_started", "backfill_finished"]
    start, end = (BackfillAnnouncement.of(e) for e in heard.events)
    assert start is end
    assert (start.asset, start.total) == ("daily", 2)
    assert start.partitions == ("2024-01-02", "2024-01-03")  # as the user writes them
    assert start.cancel is cancel
    assert start.show
    assert {(e.asset, e.partition, e.run_id) for e in heard.events} == {("daily", "", "")}
    with Announcements() as heard:
        fs.backfill(daily, "2024-01-04")  # the tests configure progress=False
    assert not BackfillAnnouncement.of(heard.events[0]).show


def test_the_end_is_announced_and_printing_stops_when_the_backfill_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with (
        Announcements() as heard,
        pytest.raises(RuntimeError, match="boom"),
        reporting_backfill("x", ["a"], cancel=threading.Event(), show=True),
    ):
        raise RuntimeError("boom")
    assert [e.kind for e in heard.events] == ["backfill_started", "backfill_finished"]
    emit(Event("succeeded", "x", "a", "run", {}))  # after the block nothing prints it
    assert capsys.readouterr().err == ""


def test_by_default_a_notebook_shows_progress_and_prints_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with reporting_backfill("x", ["a"], cancel=threading.Event(), show=None) as script:
        emit(Event("succeeded", "x", "a", "run", {}))
    assert not script.show
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(kernel=object()))
    with reporting_backfill("x", ["a"], cancel=threading.Event(), show=None) as notebook:
        emit(Event("succeeded", "x", "a", "run", {}))  # the notebook's widget shows it
    assert notebook.show
    assert capsys.readouterr().err == ""
