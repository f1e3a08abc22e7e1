"""The live graph that recolours its nodes while a run proceeds.

Time and timers are injected (no sleeping); the display handle is the one stub, since no front
end runs here: the tests read the DOT text of every update it receives.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._core.events import Event, emit
from flowstone_nb._notebook.graph.dot_text import NODE_FILLS, NODE_OUTLINES
from flowstone_nb._notebook.graph.live import LiveGraph
from tests.resources.fake_timers import FakeTimers
from tests.resources.screen import Screen

# --- live graph --------------------------------------------------------------------------------


def status_of(source: str, name: str) -> str:
    """The status class and colours of node ``name`` in DOT text, checked for consistency."""
    line = next(x for x in source.splitlines() if x.strip().startswith(f'"{name}" ['))
    status = re.search(r"fs-status-(\w+)", line)
    assert status is not None
    found = status.group(1)
    assert f'fillcolor="{NODE_FILLS[found]}"' in line
    assert f'color="{NODE_OUTLINES[found]}"' in line
    return found


def label_of(source: str, name: str) -> str:
    line = next(x for x in source.splitlines() if x.strip().startswith(f'"{name}" ['))
    match = re.search(r'label="([^"]*)"', line)
    assert match is not None
    return match.group(1)


def chain(fail: bool = False) -> None:
    @fs.asset
    def raw() -> pd.DataFrame:
        return pd.DataFrame({"x": [1, 2, 3]})

    @fs.asset
    def clean(raw: pd.DataFrame) -> pd.DataFrame:
        if fail:
            raise ValueError("clean broke")
        return raw[raw.x > 1]


def test_each_event_recolours_its_node() -> None:
    chain()
    screen = Screen()
    with LiveGraph(display=screen, interval=0) as live:
        assert live.handle is screen.handle
        fs.materialize("clean")
    assert screen.kwargs == {"display_id": True}
    steps = [(status_of(s, "raw"), status_of(s, "clean")) for s in screen.sources]
    assert steps == [
        ("missing", "missing"),
        ("running", "missing"),
        ("fresh", "missing"),
        ("fresh", "running"),
        ("fresh", "fresh"),
    ]


def test_a_failure_shows_red() -> None:
    chain(fail=True)
    screen = Screen()
    with LiveGraph(display=screen, interval=0), pytest.raises(fs.MaterializationError):
        fs.materialize("clean")
    final = screen.sources[-1]
    assert status_of(final, "raw") == "fresh"
    assert status_of(final, "clean") == "failed"


def test_updates_are_throttled_and_the_last_state_always_drawn() -> None:
    chain()
    timers, screen = FakeTimers(), Screen()
    with LiveGraph(display=screen, clock=timers.clock, schedule=timers.schedule):
        fs.materialize("clean")
        assert len(screen.sources) == 2  # the first display, then the first event at once
        assert len(timers.armed) == 1
    assert timers.armed == []
    assert len(screen.sources) == 3
    assert status_of(screen.sources[-1], "clean") == "fresh"


def test_partitioned_nodes_count_their_live_partitions() -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["a", "b", "c"]))
    def letters(context: Any) -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    screen = Screen()
    with LiveGraph(display=screen, interval=0):
        emit(Event("started", "letters", "a", "run", {}))
        emit(Event("started", "letters", "b", "run", {}))
        emit(Event("succeeded", "letters", "a", "run", {}))
        emit(Event("started", "letters", "zz", "run", {}))  # a key the definition lacks
    assert status_of(screen.sources[1], "letters") == "running"
    assert label_of(screen.sources[1], "letters").endswith("0/3 fresh, 2 missing, 1 running")
    assert label_of(screen.sources[3], "letters").endswith("1/3 fresh, 1 missing, 1 running")
    assert label_of(screen.sources[4], "letters").endswith("1/4 fresh, 1 missing, 2 running")


def test_only_the_shown_assets_and_node_events_count() -> None:
    chain()
    screen = Screen()
    raw = fs.get_registry().get("raw")
    with LiveGraph(raw, downstream=0, display=screen, interval=0):
        emit(Event("started", "clean", "", "run", {}))
        emit(Event("finished", "", "", "run", {}))
        emit(Event("started", "raw", "", "run", {}))
    assert len(screen.sources) == 2
    assert "clean" not in screen.sources[-1]
    assert status_of(screen.sources[-1], "raw") == "running"


def test_nothing_after_the_block_ends() -> None:
    chain()
    screen = Screen()
    with LiveGraph(display=screen, interval=0):
        pass
    emit(Event("started", "raw", "", "run", {}))
    assert len(screen.sources) == 1


def test_an_empty_registry_draws_an_empty_graph() -> None:
    screen = Screen()
    with LiveGraph(display=screen, interval=0) as live:
        emit(Event("started", "raw", "", "run", {}))
    assert live.report() is None
    assert len(screen.sources) == 1
    assert screen.handle.shown[0].text == "(no assets)"


def test_without_a_handle_the_graph_is_shown_once(capsys: pytest.CaptureFixture[str]) -> None:
    chain()
    with LiveGraph(interval=0) as live:  # IPython's display, outside a kernel: printed once
        fs.materialize("raw")
    assert live.handle is None
    out = capsys.readouterr().out
    assert "raw (missing)" in out
    assert out.count("raw (") == 1


def test_the_live_graph_uses_the_given_registry_and_store(tmp_path: Any) -> None:
    other = fs.Registry()

    @fs.asset(registry=other)
    def elsewhere() -> int:
        return 1

    screen = Screen()
    with LiveGraph(registry=other, home=str(tmp_path / "other"), display=screen, interval=0):
        emit(Event("succeeded", "elsewhere", "", "run", {}))
    assert status_of(screen.sources[-1], "elsewhere") == "fresh"
