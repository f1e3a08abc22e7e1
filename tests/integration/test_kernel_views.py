"""Views inside a real (in-process) IPython kernel: widgets for lineage, status and progress."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

import flowstone_nb
from flowstone_nb._define import definition_site as _definition_site

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def kernel() -> Iterator[tuple[Any, Any]]:
    from ipykernel.inprocess.ipkernel import InProcessInteractiveShell, InProcessKernel
    from ipykernel.inprocess.manager import InProcessKernelManager
    from IPython.core.interactiveshell import InteractiveShell

    def clear() -> None:
        # Singletons are per class: clear the in-process kernel's and its shell's own too.
        for cls in (InProcessKernel, InProcessInteractiveShell, InteractiveShell):
            cls.clear_instance()

    clear()
    manager = InProcessKernelManager()
    manager.start_kernel()
    # A kernel process imports flowstone_nb after its shell starts, and that first import
    # installs the views; this process imported it long before: import it again as a kernel would.
    importlib.reload(flowstone_nb)
    client = manager.client()
    client.start_channels()
    try:
        yield manager.kernel.shell, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel()
        clear()
        _definition_site._state.update(cell=None, shell=None)


def outputs(client: Any) -> list[tuple[str, dict[str, Any]]]:
    """The display messages published so far: (message type, data bundle)."""
    return [
        (m["msg_type"], m["content"]["data"])
        for m in client.iopub_channel.get_msgs()
        if m["msg_type"] in ("display_data", "update_display_data", "execute_result")
    ]


def wait_for(client: Any, kind: str, text: str = "", mime: str = "") -> dict[str, Any]:
    """Block (bounded) until a ``kind`` message whose text/plain has ``text``; return its data.

    ``mime`` also asks for that type in the message (a widget's, say, not a status line's).
    """
    import queue

    while True:
        try:
            message = client.iopub_channel.get_msg(timeout=30)
        except queue.Empty:
            raise AssertionError(f"no {kind} message with {text!r} within 30 s") from None
        data: dict[str, Any] = message["content"].get("data", {})
        wanted = message["msg_type"] == kind and text in data.get("text/plain", "")
        if wanted and (not mime or mime in data):
            return data


def run(shell: Any, source: str) -> Any:
    result = shell.run_cell(source, store_history=True)
    assert result.error_in_exec is None, result.error_in_exec
    assert result.error_before_exec is None
    return result.result


SETUP = """
import flowstone_nb as fs
fs.configure(progress=None)

@fs.asset(partitioned_by=fs.StaticPartitions(["a", "b", "c"]))
def letters(context):
    return context.partition

@fs.asset
def joined(letters):
    return "".join(letters.values())

@fs.asset(partitioned_by=fs.StaticPartitions(["a", "b", "c"]))
def upper(letters):
    return letters.upper()
"""


def test_backfill_shows_a_progress_widget_ending_at_the_total(kernel: tuple[Any, Any]) -> None:
    shell, client = kernel
    run(shell, SETUP)
    outputs(client)
    # (letters' events are not upper's progress; a cell that showed the result would blank it)
    run(shell, "done = fs.backfill('upper')")
    # (The asset cell's live status lines show and update too: look for the widget.)
    first = wait_for(client, "display_data", mime=WIDGET)
    assert "0/3" in first["text/plain"]
    last = wait_for(client, "update_display_data", mime=WIDGET)
    while "3/3" not in last["text/plain"]:
        last = wait_for(client, "update_display_data", mime=WIDGET)
    assert "3/3" in last["text/plain"]


def test_lineage_and_status_render_as_widgets(kernel: tuple[Any, Any]) -> None:
    shell, client = kernel
    run(shell, SETUP)
    run(shell, "fs.materialize('joined')")
    outputs(client)
    run(shell, "display(fs.lineage('joined'))")
    lineage = wait_for(client, "display_data")
    assert WIDGET in lineage
    assert "letters" in lineage["text/plain"]
    run(shell, "display(fs.status())")
    status = wait_for(client, "display_data")
    assert WIDGET in status
    assert "joined" in status["text/html"]


def test_flowstone_magic_shows_a_live_graph_and_history_widget(kernel: tuple[Any, Any]) -> None:
    shell, client = kernel
    run(shell, "%load_ext flowstone_nb")
    run(shell, SETUP)
    outputs(client)
    run(shell, "%flowstone materialize joined")
    graph = wait_for(client, "display_data")
    assert "joined" in graph["text/plain"]
    assert "running" in wait_for(client, "update_display_data", "letters (running")["text/plain"]
    svg = wait_for(client, "update_display_data", "joined (fresh")["image/svg+xml"]
    assert "fs&#45;status&#45;fresh" in svg  # dot writes hyphens in class names as entities
    history = run(shell, "%flowstone history joined")
    assert type(history).__name__ == "HistoryWidget"
