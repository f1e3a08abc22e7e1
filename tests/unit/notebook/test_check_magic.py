"""``%%check`` on a real IPython shell: a check written in a cell, run at once on the stored values.

The cell's code is the check (the asset's value bound to its name, ``context`` when it reads it,
the last expression the result); running the cell registers it as ``@fs.check`` would and judges
the latest stored value of every partition now, recording the outcomes like ``fs.check_all``.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import flowstone_nb as fs
from flowstone_nb._core.states import PALETTE, CheckState
from flowstone_nb._notebook.check_cell import CheckCellResult
from flowstone_nb._notebook.check_line import parse_check_line
from flowstone_nb._notebook.magics import FlowstoneMagics
from tests.resources.ipython_shell import run_cell as run

EVIL = "<script>alert(1)</script>"
REGIONS = fs.StaticPartitions(["north", "south", "west"])


def check(shell: InteractiveShell, line: str, body: str) -> Any:
    return shell.run_cell_magic("check", line, textwrap.dedent(body))


def regions() -> None:
    @fs.asset(partitioned_by=REGIONS)
    def sales(context: Any) -> pd.DataFrame:
        sign = -1.0 if context.partition == "south" else 1.0
        return pd.DataFrame({"amount": [sign, 2 * sign]})


POSITIVE = """
negative = int((sales.amount < 0).sum())
fs.CheckResult(negative == 0, f"{negative} negative amounts")
"""


def test_the_magic_is_registered_with_its_usage(shell: InteractiveShell) -> None:
    assert "check" in shell.magics_manager.magics["cell"]
    doc = FlowstoneMagics.check.__doc__ or ""
    assert "usage: %%check ASSET [--blocking] [--name NAME] [--no-run]" in " ".join(doc.split())


def test_a_cell_checks_every_stored_partition_at_once_and_records_it(
    shell: InteractiveShell,
) -> None:
    regions()
    fs.backfill("sales")
    run(shell, "import flowstone_nb as fs")
    result = check(shell, "sales --name positive", POSITIVE)
    assert isinstance(result, CheckCellResult)
    assert [(o.partition, o.passed, o.message) for o in result.outcomes] == [
        ("south", False, "2 negative amounts"),
        ("north", True, "0 negative amounts"),
        ("west", True, "0 negative amounts"),
    ]
    [registered] = fs.get_registry().checks_of("sales")
    assert (registered.name, registered.blocking) == ("positive", False)
    recorded = fs.checks("sales")
    assert sorted(recorded.partition) == ["north", "south", "west"]
    assert set(recorded.check) == {"positive"}
    assert fs.status().for_asset("sales")[1].checks_failing == ("positive",)
    text = repr(result)
    assert text.splitlines()[0] == "Check 'positive' of sales: failing on 1 of 3 partitions"
    assert "south      failing  2 negative amounts" in text
    html = result._repr_html_()
    assert f"background:{PALETTE[CheckState.FAILING].strong}" in html
    assert f"background:{PALETTE[CheckState.PASSED].strong}" in html
    assert "<table" in html


def test_the_next_materialize_runs_the_check_and_an_edit_runs_it_again(
    shell: InteractiveShell,
) -> None:
    regions()
    fs.materialize("sales", "north")
    check(shell, "sales --name big", "float(sales.amount.sum()) > 2")
    assert len(fs.checks("sales")) == 1
    fs.materialize("sales", "west")  # a new value: the check runs on it in the same run
    assert sorted(fs.checks("sales").partition) == ["north", "west"]
    edited = check(shell, "sales --name big", "float(sales.amount.sum()) > 0")
    assert all(o.passed for o in edited.outcomes)
    assert len(fs.get_registry().checks_of("sales")) == 1


def test_running_the_same_cell_again_replaces_the_check_without_a_warning(
    shell: InteractiveShell, recwarn: pytest.WarningsRecorder
) -> None:
    regions()
    fs.materialize("sales", "north")
    run(shell, "%%check sales\nTrue", cell_id="cell-1")
    run(shell, "%%check sales\nlen(sales) == 2", cell_id="cell-1")
    [only] = fs.get_registry().checks_of("sales")
    assert only.name == "sales_check"  # the default name
    assert only(pd.DataFrame({"amount": [1.0]})) is False
    run(shell, "%%check sales --name two_rows\nlen(sales) == 2", cell_id="cell-1")
    assert [c.name for c in fs.get_registry().checks_of("sales")] == ["two_rows"]
    run(shell, "%%check sales\nTrue", cell_id="cell-2")
    with pytest.raises(UsageError, match=r"already has a check named 'sales_check'.*--name NAME"):
        run(shell, "%%check sales\nTrue", cell_id="cell-3")
    run(shell, "%%check sales\nTrue")  # no cell id: replaced, still without a warning
    run(shell, "%%check sales\nTrue")
    assert not [w for w in recwarn if "check" in str(w.message)]


def test_a_cell_may_read_the_context_and_a_blocking_check_fails_the_partition(
    shell: InteractiveShell,
) -> None:
    regions()
    fs.backfill("sales")
    result = check(shell, "sales --blocking --name not_south", 'context.partition != "south"')
    [registered] = fs.get_registry().checks_of("sales")
    assert registered.blocking
    assert registered.takes_context
    assert repr(result).splitlines()[0].endswith("(blocking): failing on 1 of 3 partitions")
    assert fs.status()["sales"]["south"] == "failed"
    assert fs.get_registry().checks_of("sales")[0].takes_context


def test_an_asset_with_no_stored_value_registers_the_check_for_its_next_run(
    shell: InteractiveShell,
) -> None:
    regions()
    result = check(shell, "sales", "True")
    assert result.outcomes == ()
    text = repr(result)
    assert "sales has no stored value yet" in text
    assert "it runs at the next materialization" in text
    assert "no stored value yet" in result._repr_html_()
    fs.materialize("sales", "north")
    assert fs.checks("sales").check.tolist() == ["sales_check"]


def test_no_run_registers_without_judging(shell: InteractiveShell) -> None:
    regions()
    fs.materialize("sales", "north")
    result = check(shell, "sales --no-run", "True")
    assert fs.checks("sales").empty
    assert "registered (not run: --no-run)" in repr(result)
    assert "not run" in result._repr_html_()


def test_an_unpartitioned_asset_reads_as_one_line(shell: InteractiveShell) -> None:
    run(shell, "import flowstone_nb as fs")
    run(shell, "%%asset total\n41")
    failing = check(shell, "total --name even", "fs.CheckResult(total % 2 == 0, f'{total} is odd')")
    assert repr(failing) == "Check 'even' of total: failing — 41 is odd"
    passing = check(shell, "total --name positive", "total > 0")
    assert repr(passing) == "Check 'positive' of total: passed"


def test_what_a_check_returns_wrong_or_raises_is_a_failure_shown(shell: InteractiveShell) -> None:
    run(shell, "%%asset total\n41")
    raised = check(shell, "total --name broken", "1 / 0")
    assert repr(raised) == "Check 'broken' of total: failing — ZeroDivisionError: division by zero"
    wrong = check(shell, "total --name wrong", "[total]")
    assert "returned list" in repr(wrong)
    assert "fs.CheckResult" in repr(wrong)


def test_many_partitions_show_the_failures_first_and_count_the_rest(
    shell: InteractiveShell,
) -> None:
    days = fs.DailyPartitions("2024-01-01", "2024-01-31")

    @fs.asset(partitioned_by=days)
    def daily(context: Any) -> int:
        return int(context.partition.day)

    fs.backfill("daily")
    result = check(shell, "daily --name not_first", "daily != 1")
    lines = repr(result).splitlines()
    assert lines[0] == "Check 'not_first' of daily: failing on 1 of 31 partitions"
    assert lines[3].startswith("2024-01-01  failing")
    assert lines[-1] == "… and 11 more: 11 passed"
    assert result._repr_html_().count("<tr>") == 21  # header and twenty rows


def test_messages_are_escaped(shell: InteractiveShell) -> None:
    run(shell, "import flowstone_nb as fs")
    run(shell, "%%asset total\n41")
    result = check(shell, "total", f"fs.CheckResult(False, {EVIL!r})")
    html = result._repr_html_()
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_mistakes_are_one_line_errors_naming_the_asset_and_the_fix(
    shell: InteractiveShell,
) -> None:
    regions()
    with pytest.raises(UsageError, match=r"Unknown asset 'sale'.*Did you mean 'sales'.*run the"):
        check(shell, "sale", "True")
    with pytest.raises(UsageError, match=r"%%check: the following arguments are required: ASSET"):
        check(shell, "", "True")
    with pytest.raises(UsageError, match=r"unrecognized arguments: --blok.*%%check\?"):
        check(shell, "sales --blok", "True")
    with pytest.raises(UsageError, match=r"--name 'my-check' is not a Python identifier"):
        check(shell, "sales --name my-check", "True")
    with pytest.raises(UsageError, match=r"%%check sales: the cell has no value: end it with"):
        check(shell, "sales", "x = 1")
    with pytest.raises(SyntaxError):
        check(shell, "sales", "1 +")
    assert fs.get_registry().checks_of("sales") == ()


def test_the_line_reads_into_a_frozen_object() -> None:
    args = parse_check_line("sales --blocking --name positive")
    assert (args.asset, args.blocking, args.name, args.run) == ("sales", True, "positive", True)
    assert parse_check_line("sales --no-run").run is False
    with pytest.raises(UsageError, match="not a valid asset name"):
        parse_check_line("1sales")
