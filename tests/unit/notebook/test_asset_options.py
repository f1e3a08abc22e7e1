"""``%%asset`` with the decorator's options, on a real IPython shell: mappings, names, errors."""

from __future__ import annotations

import textwrap
from datetime import date
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import flowstone_nb as fs

DAYS = "--partitioned-by daily:2024-01-01:2024-01-05"


def asset(shell: InteractiveShell, line: str, body: str) -> Any:
    return shell.run_cell_magic("asset", line, textwrap.dedent(body))


def run(shell: InteractiveShell, source: str) -> None:
    result = shell.run_cell(textwrap.dedent(source))
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        raise error


def days(first: int, last: int) -> list[date]:
    return [date(2024, 1, day) for day in range(first, last + 1)]


def test_a_trailing_window_in_one_line(shell: InteractiveShell) -> None:
    asset(shell, f"sales {DAYS} --no-run", "context.partition.day")
    preview = asset(shell, f"rolling {DAYS} --map sales=trailing:3", "sorted(sales)")
    assert fs.get_registry().get("rolling").partition_mappings == {"sales": fs.TrailingWindow(3)}
    assert preview.value == days(3, 5)


def test_a_mapping_and_partitions_named_in_the_notebook(shell: InteractiveShell) -> None:
    run(
        shell,
        """
        import flowstone_nb as fs
        last_two = fs.TrailingWindow(2)
        months = fs.MonthlyPartitions("2023-12", "2024-01")
        """,
    )
    asset(shell, f"sales {DAYS} --no-run", "context.partition.day")
    two = asset(shell, f"pair {DAYS} --partition-mappings sales=last_two", "sorted(sales)")
    assert two.value == days(4, 5)
    monthly = asset(shell, "monthly --partitioned-by months --map sales=window", "sorted(sales)")
    months = fs.MonthlyPartitions("2023-12", "2024-01")
    assert fs.get_registry().get("monthly").partitions == months
    assert monthly.partition == "2024-01"
    assert monthly.value == days(1, 5)


def test_a_partition_function_from_the_notebook(shell: InteractiveShell) -> None:
    run(shell, "def regions():\n    return ['eu', 'us']")
    preview = asset(shell, "by_region --partition-fn regions", "context.partition_key.upper()")
    assert fs.get_registry().get("by_region").partitions.keys() == ["eu", "us"]
    assert preview.value == "US"


def test_the_other_decorator_options_reach_the_definition(shell: InteractiveShell) -> None:
    asset(
        shell,
        "stored --io-manager memory --io-config level=3 --requires db "
        "--metadata owner=ana --code-version v2 --no-run",
        "1",
    )
    defined = fs.get_registry().get("stored")
    assert defined.io_manager == "memory"
    assert defined.io_config == {"level": 3}
    assert defined.requires == ["db"]
    assert defined.metadata == {"owner": "ana"}
    assert defined.code_version == "v2"


def test_checks_named_in_the_notebook_run_on_the_cells_value(shell: InteractiveShell) -> None:
    run(
        shell,
        """
        import flowstone_nb as fs

        def positive(total):
            return fs.CheckResult(total > 0, f"total is {total}")

        def small(total):
            return total < 10        """,
    )
    asset(shell, "total --checks positive small positive", "-3")
    checks = fs.get_registry().get("total").checks
    assert [check.__name__ for check in checks] == ["positive", "small"]  # each name once
    outcomes = fs.checks("total").set_index("check")
    assert not outcomes.loc["positive", "passed"]
    assert outcomes.loc["positive", "message"] == "total is -3"
    assert bool(outcomes.loc["small", "passed"])
    assert fs.status("total").for_asset("total")[0].checks_failing == ("positive",)


def test_retries_with_exception_types_of_the_notebook_and_built_in(
    shell: InteractiveShell,
) -> None:
    run(
        shell,
        """
        import json
        class SourceDown(Exception):
            pass
        calls = []
        """,
    )
    preview = asset(
        shell,
        "fetched --retries 2 --retry-delay 0 --retry-backoff 1.5 "
        "--retry-on SourceDown,json.JSONDecodeError TimeoutError",
        """
        calls.append(1)
        if len(calls) < 3:
            raise SourceDown(f"try {len(calls)}")
        len(calls)
        """,
    )
    assert preview.value == 3
    defined = fs.get_registry().get("fetched")
    namespace = shell.user_ns
    assert defined.retry_on == (
        namespace["SourceDown"],
        namespace["json"].JSONDecodeError,
        TimeoutError,
    )
    assert (defined.retries, defined.retry_delay, defined.retry_backoff) == (2, 0.0, 1.5)
    assert list(fs.history("fetched")["attempt"]) == [3, 2, 1]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "keyed --retry-on SourceDwn",
            (
                r"--retry-on 'SourceDwn' names nothing in the notebook nor a built-in exception\. "
                r"Did you mean 'SourceDown'\?"
            ),
        ),
        ("keyed --retry-on LIMIT", r"--retry-on 'LIMIT' names int in the notebook, not an exc"),
        ("keyed --retry-on json.Nope", r"--retry-on 'json\.Nope' names nothing in the notebook"),
        ("keyed --retry-on SystemExit", r"--retry-on 'SystemExit' names SystemExit, which is not "),
        ("keyed --checks postive", r"--checks 'postive' names nothing in the notebook.*'positive'"),
        ("keyed --checks LIMIT", r"--checks 'LIMIT' names int in the notebook, not a check"),
        (f"rolling {DAYS} --map sales=trailng:3", r"'trailng'\. Did you mean 'trailing'\?"),
        (f"rolling {DAYS} --map sales=window:loose", r"window takes nothing or 'strict'"),
        ("keyed --partition-fn regoins", r"--partition-fn 'regoins' names nothing in the note"),
        ("keyed --partition-fn LIMIT", r"--partition-fn 'LIMIT' names int in the notebook"),
        (f"keyed --partition-fn regions {DAYS}", r"goes with --partitioned-by custom"),
        (f"rolling {DAYS} --concat other", r"--concat names 'other', which the cell does not"),
        ("flat --partitioned-by months2", r"Cannot read the partition spec 'months2'"),
    ],
)
def test_option_mistakes_are_one_line_usage_errors(
    shell: InteractiveShell, line: str, message: str
) -> None:
    run(
        shell,
        "def regions():\n    return ['eu', 'us']\nLIMIT = 3\n"
        "def positive(keyed):\n    return True\n"
        "import json\nclass SourceDown(Exception):\n    pass",
    )
    asset(shell, f"sales {DAYS} --no-run", "context.partition.day")
    with pytest.raises(UsageError, match=message) as caught:
        asset(shell, line, "sales")
    assert "\n" not in str(caught.value)


# --- which partition a cell runs -----------------------------------------------------------------


def test_the_status_line_says_the_latest_partition_ran_and_how_to_pick_another(
    shell: InteractiveShell,
) -> None:
    preview = asset(shell, f"daily {DAYS}", "context.partition.day")
    assert repr(preview).endswith(
        "daily: computed · partition 2024-01-05, the latest (--partition KEY for another)"
    )
    chosen = asset(shell, f"picked {DAYS} --partition 2024-01-02", "context.partition.day")
    assert repr(chosen).endswith("picked: computed · partition 2024-01-02")


def test_a_failing_latest_partition_says_how_to_run_another_or_none(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = shell.run_cell(f"%%asset daily {DAYS}\n1 / (context.partition.day - 5)\n")
    error = result.error_in_exec
    assert isinstance(error, fs.MaterializationError)
    (note,) = error.__notes__
    assert note.startswith("%%asset daily ran its latest partition, 2024-01-05, as a line")
    assert "--partition KEY" in note
    assert "--no-run" in note
    assert note in capsys.readouterr().out  # IPython shows notes under the error


def test_a_latest_partition_the_upstream_lacks_says_so_in_one_line(
    shell: InteractiveShell,
) -> None:
    asset(shell, f"sales {DAYS} --no-run", "context.partition.day")
    line = "monthly --partitioned-by monthly:2024-01:2024-02 --map sales=window:strict"
    with pytest.raises(UsageError, match=r"2024-02.* ran its latest partition, 2024-02,") as caught:
        asset(shell, line, "sales")
    assert "\n" not in str(caught.value)


def test_the_help_tells_what_runs_and_how_to_choose(shell: InteractiveShell) -> None:
    text = shell.object_inspect_text("%%asset")
    assert "A partitioned asset materializes its latest partition" in text
    assert "``--partition KEY`` materializes another, ``--no-run`` defines" in text
    assert "--map UPSTREAM=MAPPING" in text


def test_concat_gives_a_cell_many_partitions_as_one_frame(shell: InteractiveShell) -> None:
    run(shell, "import pandas as pd")
    asset(shell, f"sales {DAYS} --no-run", "pd.DataFrame({'amount': [context.partition.day]})")
    as_dict = asset(shell, "kinds", "type(sales).__name__")
    assert as_dict.value == "dict"
    frame = asset(shell, "table --concat sales", "sales")
    assert list(frame.value.columns) == ["partition", "amount"]
    assert frame.value["amount"].tolist() == [1, 2, 3, 4, 5]
    assert fs.get_registry().get("table").depends_on == ["sales"]
