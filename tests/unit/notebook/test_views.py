"""How the notebook layer shows results and backfills: display formatters and the presenter.

Results are plain data; ``views.install`` teaches a shell's display formatters which widget shows
which result, and the progress presenter answers a backfill's announcements with a widget. A real
IPython shell formats the results; a kernel is pretended (``in_kernel``), as no kernel runs here.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import IPython
import pytest
from IPython.core.interactiveshell import InteractiveShell

import flowstone_nb as fs
from flowstone_nb._core.events import Event, emit, has_listeners, subscribe
from flowstone_nb._core.progress import ANNOUNCEMENTS, reporting_backfill
from flowstone_nb._core.states import EventKind
from flowstone_nb._notebook import progress, views
from flowstone_nb._notebook.extension import load_ipython_extension, unload_ipython_extension
from flowstone_nb._notebook.progress import ProgressPresenter
from flowstone_nb._notebook.widgets.progress import BackfillProgress
from flowstone_nb._notebook.widgets.status import StatusGrid
from tests.resources.ipython_shell import fresh_shell
from tests.resources.screen import Screen

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """A fresh IPython shell with the views installed."""
    instance = fresh_shell(monkeypatch)
    views.install(instance)
    try:
        yield instance
    finally:
        InteractiveShell.clear_instance()


def chain() -> None:
    @fs.asset
    def raw() -> int:
        return 1

    @fs.asset
    def doubled(raw: int) -> int:
        return raw * 2

    fs.materialize("doubled")


def formatted(shell: InteractiveShell, result: object) -> dict[str, Any]:
    data, _ = shell.display_formatter.format(result)
    return dict(data)


# --- results -----------------------------------------------------------------------------------


def test_in_a_kernel_each_result_shows_as_its_widget(
    shell: InteractiveShell, in_kernel: None
) -> None:
    chain()
    report = fs.status()
    status = formatted(shell, report)
    assert WIDGET_MIME in status
    assert "fs-status-grid" in status["text/html"]
    assert status["text/plain"] == StatusGrid(report).to_text()
    lineage = formatted(shell, fs.lineage("doubled"))
    assert WIDGET_MIME in lineage
    assert "fs-lineage" in lineage["text/html"]
    assert "raw" in lineage["text/plain"]


def test_outside_a_kernel_results_show_their_own_text_and_html(shell: InteractiveShell) -> None:
    chain()
    for result in (fs.status(), fs.lineage("doubled")):
        data = formatted(shell, result)
        assert set(data) == {"text/plain", "text/html"}
        assert data["text/plain"] == repr(result)
        assert data["text/html"] == result._repr_html_()


def test_every_result_view_names_a_real_result_class() -> None:
    for module, name in views.RESULT_VIEWS:
        assert isinstance(getattr(importlib.import_module(module), name), type), (module, name)


def test_installing_twice_changes_nothing(shell: InteractiveShell) -> None:
    formatter = shell.display_formatter.mimebundle_formatter
    before = dict(formatter.deferred_printers)
    assert set(before) >= set(views.RESULT_VIEWS)
    views.install(shell)
    assert formatter.deferred_printers == before


def test_the_extension_installs_the_views_and_unloading_keeps_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance = fresh_shell(monkeypatch)
    try:
        load_ipython_extension(instance)
        unload_ipython_extension(instance)
        printers = instance.display_formatter.mimebundle_formatter.deferred_printers
        assert set(printers) >= set(views.RESULT_VIEWS)
        assert progress.install() is progress.install()  # one presenter per process
        assert has_listeners(EventKind.BACKFILL_STARTED)
        assert not has_listeners()  # it hears announcements only: runs stay fast
    finally:
        InteractiveShell.clear_instance()


def test_importing_the_package_inside_a_kernel_installs_the_views() -> None:
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "from traitlets.config import Config\n"
        "config = Config()\n"
        "config.HistoryManager.hist_file = ':memory:'\n"
        "shell = InteractiveShell.instance(config=config)\n"
        "import flowstone_nb\n"
        "print('_notebook' in ' '.join(sys.modules))\n"  # a shell, but not a kernel
        "shell.kernel = object()\n"
        "import importlib; importlib.reload(flowstone_nb)\n"  # the first import in a kernel
        "from flowstone_nb._core.events import has_listeners\n"
        "printers = shell.display_formatter.mimebundle_formatter.deferred_printers\n"
        "print(sorted(name for _, name in printers), has_listeners('backfill_started'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["False", "['Lineage', 'StatusReport'] True"]


# --- backfill progress -------------------------------------------------------------------------


@pytest.fixture
def screen() -> Iterator[Screen]:
    """A presenter listening for backfills, showing them on this screen."""
    shown = Screen()
    presenter = ProgressPresenter(display=shown)
    unsubscribe = subscribe(presenter.on_event, kinds=ANNOUNCEMENTS)
    try:
        yield shown
    finally:
        unsubscribe()
    assert presenter.shown == {}


def letters() -> None:
    @fs.asset(partitioned_by=fs.StaticPartitions(["a", "b", "c"]))
    def letters(context: Any) -> str:
        return str(context.partition)

    @fs.asset(partitioned_by=fs.StaticPartitions(["a", "b", "c"]))
    def upper(letters: str) -> str:
        return letters.upper()


def test_a_backfill_in_a_kernel_shows_its_widget_and_ends_with_the_final_counts(
    screen: Screen, in_kernel: None
) -> None:
    letters()
    fs.backfill("upper", progress=True, max_workers=1)  # letters' events are not upper's
    first, last = screen.handle.shown
    assert isinstance(first, BackfillProgress)
    assert last is first
    assert screen.kwargs == {"display_id": True}  # shown once, then updated
    assert first.to_text().startswith("upper: 3/3 done (3 computed)")
    assert first.cancel_button.disabled
    assert first.cancel_button not in first.widget.children[0].children  # no faded Cancel left


@pytest.fixture
def kernel_shell(shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> InteractiveShell:
    """The real shell, taken for a kernel's (so backfills show their progress)."""
    monkeypatch.setattr(shell, "kernel", object(), raising=False)
    return shell


def post_run_cell_callbacks(shell: InteractiveShell) -> list[Any]:
    return list(shell.events.callbacks["post_run_cell"])


def test_a_cell_showing_the_backfill_result_shows_the_progress_no_more(
    screen: Screen, kernel_shell: InteractiveShell
) -> None:
    letters()
    before = post_run_cell_callbacks(kernel_shell)
    result = kernel_shell.run_cell("import flowstone_nb as fs\nfs.backfill('upper', progress=True)")
    assert type(result.result).__name__ == "BackfillResult"
    # shown, then blanked once the cell is done: never shown again in between (a page that
    # renders one widget twice in quick succession can dispose a view still adding children)
    widget, blank = screen.handle.shown
    assert isinstance(widget, BackfillProgress)
    assert blank._repr_mimebundle_() == {"text/plain": "", "text/html": ""}
    assert repr(blank) == ""
    assert post_run_cell_callbacks(kernel_shell) == before  # the check runs once


def test_a_cell_not_showing_the_result_keeps_the_finished_progress(
    screen: Screen, kernel_shell: InteractiveShell
) -> None:
    letters()
    kernel_shell.run_cell(
        "import flowstone_nb as fs\nearlier = fs.backfill('upper', progress=True)"
    )
    shown = kernel_shell.run_cell("fs.backfill('letters', progress=True)\nearlier")
    assert shown.result.asset == "upper"  # the cell shows another backfill's result
    first, first_final, second, second_final = screen.handle.shown
    assert (first_final, second_final) == (first, second)
    assert isinstance(first, BackfillProgress)
    assert first.to_text().startswith("upper: 3/3 done (3 computed)")


def test_without_a_shell_the_finished_progress_stays(screen: Screen, in_kernel: None) -> None:
    with reporting_backfill("x", ["a"], cancel=threading.Event(), show=True):
        pass
    [widget, final] = screen.handle.shown
    assert final is widget


def test_the_cancel_button_sets_the_backfills_cancel_event(screen: Screen, in_kernel: None) -> None:
    cancel = threading.Event()
    with reporting_backfill("x", ["a", "b"], cancel=cancel, show=True):
        [widget] = screen.handle.shown
        widget.cancel_button.click()
        assert cancel.is_set()
        emit(Event(EventKind.CANCELLED, "x", "b", "run", {}))
    assert "1 cancelled" in widget.counts.value


def test_nothing_is_shown_unless_progress_is_wanted_in_a_kernel(
    screen: Screen, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    letters()
    fs.backfill("letters", progress=True)  # a script: printed, not shown
    assert "letters[a]" in capsys.readouterr().err
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(kernel=object()))
    fs.backfill("letters", progress=False, force=True)  # a kernel, but progress is off
    assert screen.handle.shown == []


def test_without_a_handle_the_widget_is_shown_once(in_kernel: None) -> None:
    shown = Screen(handle=False)
    presenter = ProgressPresenter(display=shown)
    unsubscribe = subscribe(presenter.on_event, kinds=ANNOUNCEMENTS)
    try:
        with reporting_backfill("x", ["a"], cancel=threading.Event(), show=True):
            pass
    finally:
        unsubscribe()
    assert len(shown.handle.shown) == 1
    assert presenter.shown == {}


def test_history_of_one_asset_shows_its_filter_set_to_it(
    kernel_shell: InteractiveShell,
) -> None:
    chain()
    load_ipython_extension(kernel_shell)
    try:
        widget = kernel_shell.run_line_magic("flowstone", "history doubled")
        everything = kernel_shell.run_line_magic("flowstone", "history")
    finally:
        unload_ipython_extension(kernel_shell)
    assert widget.asset_filter.value == "doubled"
    assert widget.asset_filter.label == "doubled"
    assert everything.asset_filter.label == "all assets"
