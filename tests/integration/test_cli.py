"""The ``flowstone`` console script against a notebook a real kernel has run.

A small notebook is executed once by nbclient (a real kernel, which materializes its assets into
``.flowstone`` beside it); each test copies that folder and runs the real console script in a
subprocess, as cron or CI would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).parent / "flowstone"
CELLS = [
    "%load_ext flowstone_nb\nimport pandas as pd\nimport flowstone_nb as fs",
    "RATE = 2\n\ndef helper(x):\n    return x * RATE",
    "%%asset orders\npd.DataFrame({'region': ['eu', 'us', 'eu'], 'amount': [10.0, 20.0, 5.0]})",
    (
        "%%asset revenue\norders.groupby('region', as_index=False).amount.sum()"
        ".assign(amount=lambda d: helper(d.amount))"
    ),
    (
        "@fs.asset(partitioned_by=fs.DailyPartitions('2024-01-01', '2024-01-03'))\n"
        "def daily(context):\n    return pd.DataFrame({'day': [str(context.partition)]})"
    ),
    "fs.backfill(daily)\nrevenue",
    "fs.status()",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the notebook, run top to bottom by a real kernel, and its store."""
    folder = tmp_path_factory.mktemp("executed")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(folder)}}).execute()
    nbformat.write(notebook, folder / "demo.ipynb")
    assert (folder / ".flowstone" / "catalog.sqlite").exists()
    return folder


@pytest.fixture
def project(executed: Path, tmp_path: Path) -> Path:
    """This test's own copy of the executed notebook and its store."""
    target = tmp_path / "project"
    shutil.copytree(executed, target)
    return target


def flowstone(
    project: Path, *args: str, env: dict[str, str] | None = None, module: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "flowstone_nb"] if module else [str(SCRIPT)]
    environment = {k: v for k, v in os.environ.items() if k != "FLOWSTONE_HOME"}
    environment.update(env or {})
    return subprocess.run(
        [*command, *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )


def as_json(run: subprocess.CompletedProcess[str]) -> Any:
    assert run.returncode in (0, 1), run.stderr
    return json.loads(run.stdout)


def edit_cell(path: Path, index: int, source: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[index].source = source
    nbformat.write(notebook, path)


def test_status_sees_what_the_notebook_materialized_as_fresh(project: Path) -> None:
    run = flowstone(project, "status", "demo.ipynb", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "orders": "fresh",
        "revenue": "fresh",
        "daily": {"2024-01-01": "fresh", "2024-01-02": "fresh", "2024-01-03": "fresh"},
    }


def test_materialize_everything_reuses_the_notebooks_values(project: Path) -> None:
    document = as_json(flowstone(project, "materialize", "demo.ipynb", "--json"))
    assert document["ok"] is True
    outcomes = {(r["asset"], r["partition"]): r["outcome"] for r in document["results"]}
    assert outcomes == {
        ("daily", "2024-01-03"): "reused",
        ("orders", ""): "reused",
        ("revenue", ""): "reused",
    }


def test_an_edited_helper_makes_exactly_its_consumers_stale(project: Path) -> None:
    edit_cell(project / "demo.ipynb", 1, "RATE = 3\n\ndef helper(x):\n    return x * RATE")
    status = as_json(flowstone(project, "status", "demo.ipynb", "--json"))
    assert (status["orders"], status["revenue"]) == ("fresh", "stale")
    document = as_json(flowstone(project, "materialize", "demo.ipynb", "revenue", "--json"))
    outcomes = {r["asset"]: r["outcome"] for r in document["results"]}
    assert outcomes == {"orders": "reused", "revenue": "computed"}
    run = flowstone(project, "materialize", "demo.ipynb", "revenue")
    assert run.returncode == 0
    assert "2 reused" in run.stdout  # the run above made revenue fresh
    assert "revenue" in run.stdout


def test_a_failure_exits_1_and_names_the_asset_on_stderr(project: Path) -> None:
    edit_cell(project / "demo.ipynb", 1, "def helper(x):\n    raise ValueError('bad region')")
    run = flowstone(project, "materialize", "demo.ipynb", "--json")
    assert run.returncode == 1
    document = json.loads(run.stdout)
    assert document["ok"] is False
    failed = [r for r in document["results"] if r["outcome"] == "failed"]
    assert [r["asset"] for r in failed] == ["revenue"]
    assert "bad region" in failed[0]["error"]
    assert "flowstone: revenue failed:" in run.stderr
    assert "bad region" in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "missing.ipynb"], "No such file: 'missing.ipynb'"),
        (["materialize", "demo.ipynb", "revenu"], "Did you mean 'revenue'?"),
        (["materialize", "demo.ipynb", "revenue", "--partition", "x"], "is partitioned"),
        (["graph", "demo.ipynb", "-o", "g.gif"], "name a .svg, .png or .dot file"),
        (["materialize"], "the following arguments are required: SOURCE"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ],
)
def test_usage_errors_exit_2_with_a_message(project: Path, args: list[str], message: str) -> None:
    run = flowstone(project, *args)
    assert run.returncode == 2
    assert message in run.stderr
    assert run.stdout == ""


def test_lineage_history_and_graph(project: Path) -> None:
    lineage = as_json(flowstone(project, "lineage", "demo.ipynb", "revenue", "--json"))
    assert [(e["asset"], e["depth"]) for e in lineage["entries"]] == [("orders", 1)]
    down = as_json(
        flowstone(project, "lineage", "demo.ipynb", "orders", "--direction", "downstream", "--json")
    )
    assert [e["asset"] for e in down["entries"]] == ["revenue"]
    history = as_json(flowstone(project, "history", "--limit", "2", "--json"))
    assert len(history) == 2
    assert {row["status"] for row in history} == {"success"}
    table = flowstone(project, "history", "demo.ipynb", "daily")
    assert table.returncode == 0
    assert "2024-01-02" in table.stdout
    dot = flowstone(project, "graph", "demo.ipynb")
    assert "digraph" in dot.stdout
    assert '"orders" -> "revenue"' in dot.stdout
    assert flowstone(project, "graph", "demo.ipynb", "-o", "g.svg").returncode == 0
    assert (project / "g.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert flowstone(project, "graph", "demo.ipynb", "-o", "g.dot").returncode == 0
    assert (project / "g.dot").read_text(encoding="utf-8") == dot.stdout[:-1]  # print's newline


def test_home_comes_from_the_option_then_the_environment_then_beside_the_notebook(
    project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    status = as_json(flowstone(project, "status", "demo.ipynb", "--home", str(elsewhere), "--json"))
    assert status["orders"] == "missing"
    status = as_json(
        flowstone(project, "status", "demo.ipynb", "--json", env={"FLOWSTONE_HOME": str(elsewhere)})
    )
    assert status["orders"] == "missing"
    status = as_json(flowstone(project / "..", "status", "project/demo.ipynb", "--json"))
    assert status["orders"] == "fresh"


def test_python_dash_m_and_a_backfill_range(project: Path) -> None:
    days = "2024-01-02..2024-01-03"
    run = flowstone(project, "backfill", "demo.ipynb", "daily", days, module=True)
    assert run.returncode == 0, run.stderr
    assert "2 reused" in run.stdout


@pytest.mark.dask
def test_a_backfill_on_a_dask_cluster_from_the_command_line(project: Path) -> None:
    document = as_json(
        flowstone(
            project, "backfill", "demo.ipynb", "daily", "--force", "--executor", "dask", "--json"
        )
    )
    assert document["ok"] is True
    assert sorted(r["partition"] for r in document["results"] if r["outcome"] == "computed") == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
    ]


def test_the_exported_module_reuses_what_the_notebook_made(project: Path) -> None:
    before = as_json(flowstone(project, "history", "--json", "--limit", "1000"))
    run = flowstone(project, "export", "demo.ipynb", "-o", "pipeline.py")
    assert run.returncode == 0, run.stderr
    text = (project / "pipeline.py").read_text(encoding="utf-8")
    assert "@fs.asset\ndef orders(context):\n" in text
    assert "@fs.asset\ndef revenue(context, orders):\n" in text
    assert "fs.backfill" not in text
    assert "load_ext" not in text
    lint = subprocess.run(
        [str(SCRIPT.parent / "ruff"), "check", "--isolated", "pipeline.py"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout
    status = as_json(flowstone(project, "status", "pipeline.py", "--json"))
    assert status == {
        "orders": "fresh",
        "revenue": "fresh",
        "daily": {"2024-01-01": "fresh", "2024-01-02": "fresh", "2024-01-03": "fresh"},
    }
    document = as_json(flowstone(project, "materialize", "pipeline.py", "--json"))
    assert {r["outcome"] for r in document["results"]} == {"reused"}
    assert as_json(flowstone(project, "history", "--json", "--limit", "1000")) == before
