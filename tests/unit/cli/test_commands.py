"""The command line run in this process: every command, its output and its exit codes.

The console script itself runs in subprocesses in tests/integration/test_cli.py, against a
notebook a real kernel executed; here ``main`` is called directly, so each branch is seen.
"""

from __future__ import annotations

import io
import json
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from flowstone_nb._cli import main as cli
from flowstone_nb._cli.commands import _seconds
from flowstone_nb._cli.report import Outcome, Reporter


@pytest.fixture(autouse=True)
def no_shell_left(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("FLOWSTONE_HOME", raising=False)
    InteractiveShell.clear_instance()
    yield
    InteractiveShell.clear_instance()


CELLS = [
    "%load_ext flowstone_nb\nimport flowstone_nb as fs",
    "FAIL = False\n\ndef check(v):\n    if FAIL:\n        raise ValueError('bad')\n    return v",
    "%%asset base\n[1, 2, 3]",
    "%%asset total\ncheck(sum(base))",
    (
        "@fs.asset(partitioned_by=fs.DailyPartitions('2024-01-01', '2024-01-03'))\n"
        "def daily(context):\n    return str(context.partition)"
    ),
]


def write(folder: Path, cells: list[str] = CELLS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s, "outputs": []}
            for i, s in enumerate(cells)
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = folder / "n.ipynb"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_materialize_computes_then_reuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = str(write(tmp_path / "p"))
    code, out, _ = run(capsys, "materialize", nb, "--json")
    assert code == 0
    results = {(r["asset"], r["partition"]): r["outcome"] for r in json.loads(out)["results"]}
    assert results == {
        ("base", ""): "computed",
        ("total", ""): "computed",
        ("daily", "2024-01-03"): "computed",
    }
    assert (tmp_path / "p" / ".flowstone" / "catalog.sqlite").exists()  # beside the notebook
    code, out, _ = run(capsys, "materialize", nb, "daily", "--partition", "2024-01-01")
    assert code == 0
    assert "1 computed" in out
    code, out, _ = run(capsys, "materialize", nb, "daily", "--partition", "latest")
    assert "1 reused" in out
    code, out, err = run(capsys, "materialize", nb, "total", "--partition", "2024-01-01")
    assert code == 2
    assert "none of total is partitioned" in err


def test_a_failure_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cells = [*CELLS]
    cells[1] = cells[1].replace("FAIL = False", "FAIL = True")
    nb = str(write(tmp_path / "p", cells))
    code, out, err = run(capsys, "materialize", nb, "total")
    assert code == 1
    assert "flowstone: total failed:" in err
    assert "bad" in out  # the table's error column
    code, out, _ = run(capsys, "history", nb, "total")
    assert "failed" in out
    assert _seconds(None) == ""  # rows still running have no duration


def test_progress_lines_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err, out = Terminal(), Terminal()
    reporter = Reporter(json_output=False, out=out, err=err)
    reporter.progress(Outcome("a", "2024-01-01", "computed", 0.5))
    reporter.progress(Outcome("b", "", "reused", 0.0))
    assert err.getvalue() == "  a[2024-01-01]: computed in 0.50 s\n  b: reused\n"
    reporter.table(None, ["x"], [["1"]])
    assert "1" in out.getvalue()
    quiet = Reporter(json_output=True, out=io.StringIO(), err=err)
    quiet.progress(Outcome("c", "", "computed", 1.0))
    quiet.note("not shown")
    assert "c" not in err.getvalue().splitlines()[-1]


def test_backfill_status_lineage_history_graph_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    nb = str(write(folder))
    assert run(capsys, "backfill", nb, "daily", "2024-01-01..2024-01-02")[0] == 0
    assert run(capsys, "materialize", nb, "total")[0] == 0
    code, out, _ = run(capsys, "status", nb, "--json")
    assert json.loads(out) == {
        "base": "fresh",
        "total": "fresh",
        "daily": {"2024-01-01": "fresh", "2024-01-02": "fresh", "2024-01-03": "missing"},
    }
    assert "missing" in run(capsys, "status", nb, "daily")[1]
    code, out, _ = run(capsys, "lineage", nb, "total", "--json")
    assert [e["asset"] for e in json.loads(out)["entries"]] == ["base"]
    assert "total" in run(capsys, "lineage", nb, "base", "--direction", "downstream")[1]
    code, out, _ = run(capsys, "history", nb, "daily", "--json")
    assert {r["partition"] for r in json.loads(out)} == {"2024-01-01", "2024-01-02"}
    monkeypatch.setenv("FLOWSTONE_HOME", str(folder / ".flowstone"))
    code, out, _ = run(capsys, "history", "--limit", "1")
    assert code == 0
    assert " s " in out  # durations read as seconds
    monkeypatch.delenv("FLOWSTONE_HOME")
    monkeypatch.chdir(folder)
    assert run(capsys, "history", "--json")[0] == 0  # ./.flowstone
    assert "digraph" in run(capsys, "graph", nb)[1]
    for name in ("g.dot", "g.svg", "g.png"):
        code, _, err = run(capsys, "graph", nb, "-o", str(folder / name))
        assert code == 0
        assert f"wrote {folder / name}" in err
    assert (folder / "g.png").read_bytes().startswith(b"\x89PNG")
    code, _, err = run(capsys, "graph", nb, "-o", str(folder / "g.gif"))
    assert code == 2
    assert "name a .svg, .png or .dot file" in err
    code, _, err = run(capsys, "export", nb, "-o", str(folder / "m.py"))
    assert code == 0
    assert "def total(context, base):" in (folder / "m.py").read_text(encoding="utf-8")


def test_homes_named_by_the_option_or_the_notebook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = [*CELLS]
    cells[0] += "\nfs.configure(home='own-store')"
    nb = str(write(tmp_path / "p", cells))
    assert run(capsys, "materialize", nb, "base")[0] == 0
    assert (tmp_path / "p" / "own-store" / "catalog.sqlite").exists()
    assert run(capsys, "materialize", nb, "base", "--home", str(tmp_path / "h"))[0] == 0
    assert (tmp_path / "h" / "catalog.sqlite").exists()


def test_interrupts_and_the_entry_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(args: Any, reporter: Reporter) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli._COMMANDS, "status", interrupted)
    assert run(capsys, "status", "x.ipynb") == (130, "", "flowstone: error: interrupted\n")
    monkeypatch.undo()
    nb = str(write(tmp_path / "p"))
    monkeypatch.setattr(sys, "argv", ["flowstone", "status", nb, "base", "--json"])
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(Path.cwd())])
    with pytest.raises(SystemExit) as exit_:
        cli.run()
    assert exit_.value.code == 0
    assert json.loads(capsys.readouterr().out) == {"base": "missing"}
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("flowstone_nb", run_name="__main__")
    assert exit_.value.code == 0


def test_verify_and_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = str(write(tmp_path / "p"))
    assert run(capsys, "materialize", nb)[0] == 0
    code, out, _ = run(capsys, "verify", nb, "--json")
    assert code == 0
    home = str(tmp_path / "p" / ".flowstone")
    assert json.loads(out) == {"home": home, "checked": 3, "damaged": []}
    stored = next((tmp_path / "p" / ".flowstone" / "data" / "base").rglob("*.json"))
    stored.write_text("[1, 2, 3, 4]")
    code, out, err = run(capsys, "verify", nb)
    assert code == 1
    assert "1 damaged" in out
    assert stored.name in out
    assert "base is damaged" in err
    code, out, _ = run(capsys, "verify", nb, "total", "--json")
    assert (code, json.loads(out)["checked"]) == (0, 1)

    assert run(capsys, "verify", "--home", home)[0] == 1  # no source: the home alone
    assert run(capsys, "materialize", nb, "base")[0] == 0  # written again: good again
    code, out, _ = run(capsys, "prune", nb, "--json")
    assert code == 0
    pruned = json.loads(out)
    assert (pruned["removed"], pruned["keep"]) == (0, 1)  # the same content: one shared file
    code, out, _ = run(capsys, "prune", nb, "base", "--keep", "2")
    assert code == 0
    assert "nothing to remove" in out
    code, _, err = run(capsys, "prune", nb, "--keep", "0")
    assert code == 2
    assert "keep=0" in err


def test_status_names_the_failing_checks_of_each_partition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check = (
        "@fs.check('daily')\n"
        "def early(daily):\n"
        "    return fs.CheckResult(daily < '2024-01-02', f'{daily} is late')"
    )
    nb = str(write(tmp_path / "p", [*CELLS, check]))
    assert run(capsys, "backfill", nb, "daily", "2024-01-01..2024-01-02")[0] == 0
    code, out, _ = run(capsys, "status", nb, "daily", "--json")
    assert code == 0
    assert json.loads(out) == {
        "daily": {
            "2024-01-01": "fresh",
            "2024-01-02": {
                "status": "fresh",
                "checks_failing": ["early"],
                "check_message": "early: 2024-01-02 is late",
            },
            "2024-01-03": "missing",
        }
    }
    code, out, _ = run(capsys, "status", nb, "daily")
    assert "checks failing" in out
    assert "early: 2024-01-02 is late" in out


def test_a_partition_past_the_timeout_given_on_the_command_line_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = [
        *CELLS,
        (
            "import threading\n"
            "@fs.asset(partitioned_by=fs.StaticPartitions(['quick', 'stuck']))\n"
            "def slow(context):\n"
            "    if context.partition == 'stuck':\n"
            "        threading.Event().wait(30)\n"
            "    return 1"
        ),
    ]
    nb = str(write(tmp_path / "p", cells))
    code, out, err = run(capsys, "backfill", nb, "slow", "--timeout", "0.5", "--json")
    assert code == 1
    outcomes = {r["partition"]: r["outcome"] for r in json.loads(out)["results"]}
    assert outcomes == {"quick": "computed", "stuck": "failed"}
    assert "timed out after 0.5 s" in err


FLAKY = (
    "from pathlib import Path\n"
    "@fs.asset(partitioned_by=fs.StaticPartitions(['fine', 'flaky']), retry_delay=0)\n"
    "def shaky(context):\n"
    "    if context.partition == 'flaky':\n"
    "        marks = Path('tries.txt')\n"
    "        marks.write_text(marks.read_text() + 'x' if marks.exists() else 'x')\n"
    "        if len(marks.read_text()) < 3:\n"
    "            raise ConnectionError(f'try {len(marks.read_text())}')\n"
    "    return 1\n"
    "@fs.asset(retry_delay=0)\n"
    "def once():\n"
    "    marks = Path('once.txt')\n"
    "    if not marks.exists():\n"
    "        marks.write_text('x')\n"
    "        raise ConnectionError('first')\n"
    "    return 1"
)


def test_retries_given_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = str(write(tmp_path / "p", [*CELLS, FLAKY]))
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "backfill", nb, "shaky", "--retries", "1", "--json")
    assert code == 1
    outcomes = {r["partition"]: (r["outcome"], r["error"]) for r in json.loads(out)["results"]}
    assert outcomes == {
        "fine": ("computed", None),
        "flaky": ("failed", "after 2 attempts; the last: ConnectionError: try 2"),
    }
    assert "shaky[flaky] failed: after 2 attempts; the last: ConnectionError: try 2" in err
    code, out, _ = run(capsys, "history", nb, "shaky", "--json")
    rows = [(r["partition"], r["status"], r["attempt"]) for r in json.loads(out)]
    assert sorted(rows) == [("fine", "success", 1), ("flaky", "failed", 1), ("flaky", "failed", 2)]
    code, out, _ = run(capsys, "history", nb, "shaky")
    assert "attempt" in out
    code, out, _ = run(capsys, "backfill", nb, "shaky", "--retries", "1", "--json")
    assert code == 0  # its third attempt, the first of this run, worked
    code, _, _ = run(capsys, "materialize", nb, "once", "--retries", "1", "--json")
    assert code == 0
    code, _, err = run(capsys, "backfill", nb, "shaky", "--retries", "-1")
    assert code != 0
    assert "flowstone: error: retries=-1 is not a whole number of retries (0 or more)" in err
