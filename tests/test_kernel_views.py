"""Views inside a real (in-process) IPython kernel: widgets for lineage, status and progress."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flowstone_nb import _origin

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
    client = manager.client()
    client.start_channels()
    try:
        yield manager.kernel.shell, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel()
        clear()
        _origin._state.update(cell_id=None, shell=None)


def outputs(client: Any) -> list[tuple[str, dict[str, Any]]]:
    """The display messages published so far: (message type, data bundle)."""
    return [
        (m["msg_type"], m["content"]["data"])
        for m in client.iopub_channel.get_msgs()
        if m["msg_type"] in ("display_data", "update_display_data", "execute_result")
    ]


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
"""


def test_backfill_shows_a_progress_widget_ending_at_the_total(kernel: tuple[Any, Any]) -> None:
    shell, client = kernel
    run(shell, SETUP)
    outputs(client)
    run(shell, "fs.backfill('letters')")
    shown = outputs(client)
    first = next(data for kind, data in shown if kind == "display_data" and WIDGET in data)
    assert "0/3" in first["text/plain"]
    last = [data for kind, data in shown if kind == "update_display_data"][-1]
    assert WIDGET in last
    assert "3/3" in last["text/plain"]


def test_lineage_and_status_render_as_widgets(kernel: tuple[Any, Any]) -> None:
    shell, client = kernel
    run(shell, SETUP)
    run(shell, "fs.materialize('joined')")
    outputs(client)
    run(shell, "display(fs.lineage('joined'))")
    lineage = [data for _, data in outputs(client) if WIDGET in data]
    assert len(lineage) == 1
    assert "letters" in lineage[0]["text/plain"]
    run(shell, "display(fs.status())")
    status = [data for _, data in outputs(client) if WIDGET in data]
    assert len(status) == 1
    assert "joined" in status[0]["text/html"]
