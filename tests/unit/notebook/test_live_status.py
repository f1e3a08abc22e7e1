"""Live status lines on a real IPython shell: shown under asset cells, updated in place.

The shell is a plain ``InteractiveShell`` (no kernel), so the board is installed by hand with a
recording display: every line shown, and every state each line was updated to, are kept. What
a real kernel and nbclient make of the updates is tested in tests/integration.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

import flowstone_nb as fs
from flowstone_nb._core.events import Event, has_listeners
from flowstone_nb._core.states import EventKind
from flowstone_nb._notebook import live_status
from flowstone_nb._notebook.live_status import AssetLine, LiveBoard, LiveLines
from flowstone_nb._notebook.magics import AssetPreview


class Shown:
    """One display: everything it showed, first to last."""

    def __init__(self, obj: LiveLines) -> None:
        self.history = [obj]

    def update(self, obj: LiveLines) -> None:
        self.history.append(obj)

    @property
    def text(self) -> str:
        return repr(self.history[-1])


class Front:
    """A recording front end: the displays in the order they were shown."""

    def __init__(self) -> None:
        self.displays: list[Shown] = []

    def __call__(self, obj: LiveLines, **kwargs: Any) -> Shown:
        assert kwargs == {"display_id": True}
        shown = Shown(obj)
        self.displays.append(shown)
        return shown


@pytest.fixture
def front(shell: InteractiveShell) -> Iterator[Front]:
    recorder = Front()
    board = live_status.install(shell, show=recorder, interval=0)  # every running node shown
    assert live_status.install(shell) is board  # once per shell
    try:
        yield recorder
    finally:
        live_status.uninstall(shell)
        live_status.uninstall(shell)  # harmless twice
        assert live_status.current_board() is None


def cell(shell: InteractiveShell, source: str, cell_id: str | None = None) -> ExecutionResult:
    return shell.run_cell(textwrap.dedent(source), store_history=True, cell_id=cell_id)


def ok(shell: InteractiveShell, source: str, cell_id: str | None = None) -> Any:
    result = cell(shell, source, cell_id)
    assert result.error_in_exec is None, result.error_in_exec
    assert result.error_before_exec is None
    return result.result


SETUP = """\
import flowstone_nb as fs
import pandas as pd

def scale(values):
    return [v * 2 for v in values]
"""


# --- what an asset cell shows --------------------------------------------------------------------


def test_an_asset_cell_shows_its_status_on_a_live_line_under_the_value(
    shell: InteractiveShell, front: Front
) -> None:
    ok(shell, SETUP)
    preview = ok(shell, "%%asset raw\npd.DataFrame({'a': [1, 2, 3]})")
    assert isinstance(preview, AssetPreview)
    assert preview.live
    assert "raw: computed" not in repr(preview)  # the value alone: the line says the status
    assert "fs-asset-status" not in preview._repr_html_()
    (line,) = front.displays
    assert line.text == "raw: computed · 3 rows x 1 column"
    assert line.text == AssetPreview("raw", preview.value, "computed").status_line()
    html = line.history[-1]._repr_html_()
    assert "fs-status-fresh" in html  # computed is drawn as fresh
    assert "data version" in html


def test_edits_in_later_cells_update_the_earlier_line_in_place(
    shell: InteractiveShell, front: Front
) -> None:
    ok(shell, SETUP)
    ok(shell, "%%asset raw\n[1, 2]")
    ok(shell, "%%asset doubled\nscale(raw)")
    raw_line, doubled_line = front.displays
    ok(shell, "x = 1")  # nothing an asset depends on
    assert len(doubled_line.history) == 1
    ok(shell, "def scale(values):\n    return [v * 3 for v in values]")  # In [5]
    assert doubled_line.text == (
        "doubled: stale (code changed) · as of In [5] · depends on raw (inferred)"
    )
    assert len(raw_line.history) == 1  # raw does not use the helper
    ok(shell, "fs.materialize('doubled')")  # In [6]
    assert doubled_line.text == "doubled: fresh · as of In [6] · depends on raw (inferred)"
    states = [repr(shown).split(" ")[1] for shown in doubled_line.history]
    assert states == ["computed", "stale", "running", "fresh"]  # running while it ran
    assert len(front.displays) == 2  # updated in place, nothing shown again


def test_a_redefined_upstream_makes_the_downstream_line_stale(
    shell: InteractiveShell, front: Front
) -> None:
    ok(shell, SETUP)
    ok(shell, "%%asset raw\n[1, 2]", cell_id="raw-cell")
    ok(shell, "%%asset doubled\nscale(raw)", cell_id="doubled-cell")
    ok(shell, "%%asset raw\n[1, 2, 3]", cell_id="raw-cell")  # the same cell, edited: In [4]
    first, doubled_line, again = front.displays
    assert len(first.history) == 1  # a cell run again: its old line is gone, not updated
    assert again.text == "raw: computed"
    assert doubled_line.text.startswith("doubled: stale (upstream 'raw' changed) · as of In [4]")


def test_a_cell_of_decorated_assets_gets_a_line_per_asset(
    shell: InteractiveShell, front: Front
) -> None:
    source = """\
    import flowstone_nb as fs

    @fs.asset
    def orders():
        return [1, 2]

    @fs.asset(partitioned_by=fs.StaticPartitions(["eu", "us"]))
    def regional(context, orders):
        return len(orders)
    """
    ok(shell, source)
    (line,) = front.displays
    assert line.text == (
        "orders: missing\nregional: missing (0/2 fresh, 2 missing) · depends on orders"
    )
    ok(shell, "fs.materialize('regional', 'eu')")
    assert line.text == (
        "orders: fresh · as of In [2]\n"
        "regional: fresh (1/2 fresh, 1 missing) · as of In [2] · depends on orders"
    )


def test_a_failure_and_a_definition_without_run(shell: InteractiveShell, front: Front) -> None:
    ok(shell, SETUP)
    failed = cell(shell, "%%asset boom\n1 / 0")
    assert isinstance(failed.error_in_exec, fs.MaterializationError)
    assert ok(shell, "%%asset later --no-run\n41 + 1") is None  # the line says it all
    boom, later = front.displays
    assert boom.text == "boom: failed (ZeroDivisionError: division by zero)"
    assert later.text == "later: defined (not run)"
    ok(shell, "fs.materialize('later')")  # In [4]
    assert later.text == "later: fresh · as of In [4]"


def test_a_failing_check_flags_the_line_and_its_fix_clears_it(
    shell: InteractiveShell, front: Front
) -> None:
    ok(shell, SETUP)
    check = "%%check raw --name positive\nfs.CheckResult(min(raw) > 0, 'a negative value')"
    ok(shell, "%%asset raw\n[1, -2]", cell_id="raw-cell")
    (line,) = front.displays
    ok(shell, check, cell_id="check-cell")
    assert line.text == "raw: fresh (⚑ positive: a negative value) · as of In [3]"
    ok(shell, "%%asset raw\n[1, 2]", cell_id="raw-cell")  # the cell fixed and run again
    (_, again) = front.displays
    assert again.text == "raw: computed"  # (the check passed on the new value)
    ok(shell, check, cell_id="check-cell")
    assert again.text == "raw: computed"  # judged again: still nothing to say


def test_a_partitioned_cell_follows_the_partition_it_ran(
    shell: InteractiveShell, front: Front
) -> None:
    ok(shell, SETUP)
    ok(shell, "%%asset days --partitioned-by static:a,b\ncontext.partition_key")
    (line,) = front.displays
    assert line.text == "days: computed · partition b, the latest (--partition KEY for another)"
    ok(shell, "fs.materialize('days', 'a')")
    assert len(line.history) == 1  # partition a is not the line's
    ok(shell, "fs.materialize('days', 'b', force=True)")
    assert [repr(s).split(" ")[1] for s in line.history] == ["computed", "running", "fresh"]


def test_redefined_elsewhere_and_forgotten_say_so_once(
    shell: InteractiveShell, front: Front
) -> None:
    ok(shell, SETUP)
    ok(shell, "%%asset raw\n[1]")
    ok(shell, "%%asset other\n[2]")
    with pytest.warns(fs.FlowstoneWarning, match="defined before"):
        ok(shell, "%%asset raw\n[3]")  # no cell ids: another cell, In [4]
    first, other, second = front.displays
    again = 'defined again in cell In [4] ("%%asset raw")'
    assert first.text == f"raw: replaced ({again}) · as of In [4]"
    ok(shell, "%flowstone forget other")  # In [5]
    assert other.text == "other: forgotten (no longer defined) · as of In [5]"
    ok(shell, "fs.materialize('raw', force=True)")
    assert len(first.history) == 2  # left alone since
    assert len(other.history) == 2
    assert second.text.startswith("raw: fresh")


def test_a_run_by_another_process_on_the_same_home_updates_the_line(
    shell: InteractiveShell, front: Front, tmp_path: Path, home: Path
) -> None:
    module = tmp_path / "pipeline_live.py"
    module.write_text(
        "import flowstone_nb as fs\n\n\n@fs.asset\ndef total():\n    return 6\n",
        encoding="utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    try:
        ok(shell, "from pipeline_live import total")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("pipeline_live", None)
    (line,) = front.displays
    assert line.text == "total: missing"
    command = [sys.executable, "-m", "flowstone_nb", "materialize", str(module), "total"]
    done = subprocess.run(
        [*command, "--home", str(home)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    ok(shell, "x = 1")  # In [2]: any cell notices
    assert line.text == "total: fresh · as of In [2]"


def test_nothing_is_recomputed_when_nothing_moved(
    shell: InteractiveShell, front: Front, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(shell, SETUP)
    ok(shell, "%%asset raw\nscale([1, 2])")
    reports: list[object] = []
    compute = live_status.compute_status

    def counting(*args: Any) -> Any:
        reports.append(args)
        return compute(*args)

    monkeypatch.setattr(live_status, "compute_status", counting)
    for source in ("x = 1", "y = [x] * 3", "def unrelated():\n    return 1", "raw"):
        ok(shell, source)
    assert reports == []
    ok(shell, "fs.materialize('raw', force=True)")
    assert reports == []  # what a run of this cell made is fresh: nothing to ask the store
    ok(shell, "def scale(values):\n    return values")
    assert len(reports) == 1
    assert front.displays[0].text.startswith("raw: stale (code changed)")


def test_a_broken_check_is_logged_and_never_raised(
    shell: InteractiveShell,
    front: Front,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ok(shell, SETUP)
    ok(shell, "%%asset raw\nscale([1])")

    def broken(*args: Any) -> Any:
        raise fs.StoreError("the catalog is damaged")

    monkeypatch.setattr(live_status, "compute_status", broken)
    with caplog.at_level(logging.WARNING, logger="flowstone_nb.live_status"):
        ok(shell, "def scale(values):\n    return values")
    assert "Updating the live status lines failed" in caplog.text


def test_lines_render_their_state_reason_and_cell() -> None:
    line = AssetLine("sales", "stale", "code changed", partition="2024-01-02", since=7)
    assert line.text() == "sales: stale (code changed) · as of In [7] · partition 2024-01-02"
    assert "fs-status-stale" in line.html()
    markup = AssetLine("<b>", "missing")
    assert "&lt;b&gt;" in markup.html()
    assert "<b>" not in markup.html()
    assert repr(LiveLines((line, markup))) == f"{line.text()}\n<b>: missing"


def test_outside_a_kernel_there_is_no_board_and_the_preview_keeps_its_line(
    shell: InteractiveShell,
) -> None:
    assert live_status.current_board() is None
    preview = ok(shell, "%%asset raw\n[1]")
    assert repr(preview).endswith("raw: computed")
    assert isinstance(LiveBoard(), LiveBoard)


def test_a_run_and_an_edit_in_one_cell_leave_the_line_stale(
    shell: InteractiveShell, front: Front
) -> None:
    ok(shell, SETUP)
    ok(shell, "%%asset raw\nscale([1])")
    ok(shell, "fs.materialize('raw', force=True)\ndef scale(values):\n    return values")
    assert front.displays[0].text == "raw: stale (code changed) · as of In [3]"


def test_running_lines_are_redrawn_through_a_throttle(registry: fs.Registry) -> None:
    @fs.asset
    def first() -> int:
        return 1

    @fs.asset
    def second(first: int) -> int:
        return first

    timers: list[Callable[[], None]] = []
    now = [0.0]
    front = Front()
    board = LiveBoard(
        front,
        interval=0.2,
        clock=lambda: now[0],
        schedule=lambda delay, fire: timers.append(fire) or (lambda: None),
    )
    board.expect(AssetLine("first", "computed"))
    board.expect(AssetLine("second", "computed"))
    board.after_cell()
    board.before_cell(None)  # a cell that runs both
    (line,) = front.displays
    board.on_event(Event(EventKind.STARTED, "first", "", "run", {}))
    assert line.text == "first: running\nsecond: computed"  # the first redraw at once
    now[0] = 0.1
    board.on_event(Event(EventKind.SUCCEEDED, "first", "", "run", {}))
    board.on_event(Event(EventKind.STARTED, "second", "", "run", {}))
    assert line.text == "first: running\nsecond: computed"  # within the interval: later
    (fire,) = timers
    fire()
    assert line.text == "first: running\nsecond: running"
    board.on_event(Event(EventKind.BACKFILL_STARTED, "second", "", "", {}))  # not a node's
    board.on_event(Event(EventKind.SUCCEEDED, "second", "", "run", {}))
    board.after_cell()
    assert line.text == "first: fresh\nsecond: fresh"  # what the runs made, without a query
    board.before_cell(None)
    board.on_event(Event(EventKind.SUCCEEDED, "first", "", "again", {}))
    board.on_event(Event(EventKind.FAILED, "first", "", "again", {}))  # then failed: not fresh
    board.after_cell()
    assert line.text == "first: missing\nsecond: missing"  # as the store has it


def test_a_forgotten_asset_of_a_cell_keeps_its_word_while_the_others_go_on(
    shell: InteractiveShell, front: Front
) -> None:
    source = """\
    import flowstone_nb as fs

    @fs.asset
    def kept():
        return 1

    @fs.asset
    def dropped():
        return 2
    """
    ok(shell, source)
    ok(shell, "%flowstone forget dropped")  # In [2]
    ok(shell, "fs.materialize('kept')")  # In [3]
    (line,) = front.displays
    assert line.text == (
        "kept: fresh · as of In [3]\ndropped: forgotten (no longer defined) · as of In [2]"
    )


def test_an_asset_with_an_undefined_upstream_is_missing(
    shell: InteractiveShell, front: Front
) -> None:
    with pytest.warns(fs.FlowstoneWarning, match="ghost"):
        ok(shell, "%%asset late --depends-on ghost --no-run\nghost")
    (line,) = front.displays
    assert line.text == "late: defined (not run) · depends on ghost"


def test_without_a_display_handle_nothing_is_followed(registry: fs.Registry) -> None:
    @fs.asset
    def one() -> int:
        return 1

    board = LiveBoard(lambda *args, **kwargs: None)
    board.expect(AssetLine("one", "computed"))
    board.after_cell()
    board.before_cell(None)
    board.on_event(Event(EventKind.STARTED, "one", "", "run", {}))
    board.after_cell()  # nothing shown, nothing to update: no error either


def test_a_running_line_is_not_redrawn_again(registry: fs.Registry) -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["a", "b"]))
    def letters(context: Any) -> str:
        return str(context.partition_key)

    front = Front()
    board = LiveBoard(front, interval=0)
    board.after_cell()  # the cell that defined letters: a line for the whole asset
    (line,) = front.displays
    board.before_cell(None)
    board.on_event(Event(EventKind.STARTED, "letters", "a", "run", {}))
    board.on_event(Event(EventKind.STARTED, "letters", "b", "run", {}))
    assert [repr(shown).split(" ")[1] for shown in line.history] == ["missing", "running"]
    board.after_cell()  # (the cell ends: the board stops listening to runs)
    assert not has_listeners()
