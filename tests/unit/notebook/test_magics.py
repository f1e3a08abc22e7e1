"""The IPython extension, ``%%asset`` and ``%flowstone`` on a real IPython shell."""

from __future__ import annotations

import datetime
import subprocess
import sys
import textwrap
import threading
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import flowstone_nb as fs
from flowstone_nb._define import definition_site as _definition_site
from flowstone_nb._notebook.extension import load_ipython_extension, unload_ipython_extension
from flowstone_nb._notebook.magics import AssetPreview, FlowstoneMagics
from flowstone_nb._storage.config import settings
from flowstone_nb._storage.store import get_store
from tests.resources.ipython_shell import fresh_shell
from tests.resources.ipython_shell import run_cell as run


def asset(shell: InteractiveShell, line: str, body: str) -> Any:
    return shell.run_cell_magic("asset", line, textwrap.dedent(body))


def flowstone(shell: InteractiveShell, line: str) -> Any:
    return shell.run_line_magic("flowstone", line)


def test_importing_the_extension_module_loads_nothing_heavy() -> None:
    script = (
        "import sys, flowstone_nb._notebook.extension\n"
        "heavy = {'pandas', 'pyarrow', 'IPython', 'graphviz', 'ipywidgets', 'fsspec', 'pydantic'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


# --- the extension -------------------------------------------------------------------------------


def test_loading_registers_the_magics_and_cell_tracking(shell: InteractiveShell) -> None:
    magics = shell.magics_manager.magics
    assert "asset" in magics["cell"]
    assert "flowstone" in magics["line"]
    assert _definition_site._on_pre_run_cell in shell.events.callbacks["pre_run_cell"]
    run(shell, "1", cell_id="cell-abc")
    assert _definition_site.current_cell_id() == "cell-abc"


def test_loading_twice_changes_nothing(shell: InteractiveShell) -> None:
    before = shell.magics_manager.magics["cell"]["asset"]
    load_ipython_extension(shell)
    assert shell.magics_manager.magics["cell"]["asset"] == before
    assert sum(isinstance(c, FlowstoneMagics) for c in shell.configurables) == 1
    hooks = shell.events.callbacks["pre_run_cell"]
    assert hooks.count(_definition_site._on_pre_run_cell) == 1


def test_unloading_removes_the_magics_and_load_ext_brings_them_back(
    shell: InteractiveShell,
) -> None:
    unload_ipython_extension(shell)
    assert "asset" not in shell.magics_manager.magics["cell"]
    assert "flowstone" not in shell.magics_manager.magics["line"]
    assert not any(isinstance(c, FlowstoneMagics) for c in shell.configurables)
    unload_ipython_extension(shell)  # a second unload is harmless
    shell.run_line_magic("load_ext", "flowstone_nb")
    assert "asset" in shell.magics_manager.magics["cell"]
    assert asset(shell, "one", "1").value == 1


# --- %config -------------------------------------------------------------------------------------


def test_config_changes_the_store_home_and_default_io_manager(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere"
    shell.run_line_magic("config", f"FlowstoneMagics.home = {str(target)!r}")
    assert settings().home == str(target.resolve())
    shell.run_line_magic("config", "FlowstoneMagics.default_io_manager = 'memory'")
    assert settings().default_io_manager == "memory"
    assert shell.run_line_magic("config", "FlowstoneMagics.default_io_manager") == "memory"
    shell.run_line_magic("config", "FlowstoneMagics.home = None")
    assert settings().home == str(target.resolve())  # None leaves fs.configure's value


def test_config_refuses_an_unknown_io_manager(
    shell: InteractiveShell, caplog: pytest.LogCaptureFixture
) -> None:
    shell.run_line_magic("config", "FlowstoneMagics.default_io_manager = 'memroy'")
    assert settings().default_io_manager == "filesystem"
    assert "Unknown IO manager 'memroy'" in caplog.text
    assert "Did you mean 'memory'?" in caplog.text


def test_settings_from_the_ipython_config_apply_when_loading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = Config()
    config.FlowstoneMagics.default_io_manager = "memory"
    config.FlowstoneMagics.home = str(tmp_path / "configured")
    instance = fresh_shell(monkeypatch, config)
    try:
        load_ipython_extension(instance)
        assert settings().default_io_manager == "memory"
        assert settings().home == str((tmp_path / "configured").resolve())
    finally:
        unload_ipython_extension(instance)
        InteractiveShell.clear_instance()


# --- %%asset: defining and running ---------------------------------------------------------------


def test_a_cell_defines_materializes_and_binds_its_value(shell: InteractiveShell) -> None:
    preview = asset(shell, "raw", "import pandas as pd\npd.DataFrame({'a': [1, 2, 3]})")
    registry = fs.get_registry()
    assert "raw" in registry
    defined = registry.get("raw")
    assert defined.depends_on == []
    assert defined.module == "__main__"
    assert isinstance(preview, AssetPreview)
    assert preview.status == "computed"
    frame = shell.user_ns["raw"]
    assert frame["a"].tolist() == [1, 2, 3]
    assert fs.load("raw")["a"].tolist() == [1, 2, 3]
    assert repr(preview).splitlines()[-1] == "raw: computed · 3 rows x 1 column"


def test_dependencies_are_inferred_from_the_body(shell: InteractiveShell) -> None:
    asset(shell, "raw", "[1, 2, 3]")
    asset(shell, "factor", "10")
    run(shell, "LIMIT = 2")
    preview = asset(
        shell,
        "scaled",
        """
        kept = [v for v in raw if v >= LIMIT]   # LIMIT is a notebook constant, not an asset
        [v * factor for v in kept]
        """,
    )
    assert fs.get_registry().get("scaled").depends_on == ["factor", "raw"]
    assert shell.user_ns["scaled"] == [20, 30]
    assert "depends on factor, raw (inferred)" in repr(preview)


def test_explicit_dependencies_win(shell: InteractiveShell) -> None:
    asset(shell, "raw", "[1, 2]")
    asset(shell, "other", "[5]")
    preview = asset(shell, "total --depends-on raw", "sum(raw) + len(other)")
    assert fs.get_registry().get("total").depends_on == ["raw"]
    assert shell.user_ns["total"] == 4  # `other` came from the notebook namespace
    assert "depends on raw ·" not in repr(preview)
    assert repr(preview).endswith("depends on raw")
    none = asset(shell, "alone --depends-on", "raw = [9]\nraw")
    assert fs.get_registry().get("alone").depends_on == []
    assert none.value == [9]


def test_reading_an_asset_before_rebinding_it_is_a_dependency(shell: InteractiveShell) -> None:
    asset(shell, "raw", "[3, None, 1]")
    asset(shell, "clean", "raw = [v for v in raw if v is not None]\nsorted(raw)")
    assert fs.get_registry().get("clean").depends_on == ["raw"]
    assert shell.user_ns["clean"] == [1, 3]


def test_the_cell_sees_the_context_and_a_docstring_describes_it(shell: InteractiveShell) -> None:
    preview = asset(shell, "who", '"""Who am I."""\ncontext.asset_name')
    assert preview.value == "who"
    assert fs.get_registry().get("who").description == "Who am I."


def test_options_reach_the_definition(shell: InteractiveShell) -> None:
    asset(
        shell,
        "kept --io memory --tags sales eu --description 'Kept in memory' --no-run --timeout 3",
        "1",
    )
    defined = fs.get_registry().get("kept")
    assert defined.io_manager == "memory"
    assert defined.timeout == 3
    assert defined.tags == ["sales", "eu"]
    assert defined.description == "Kept in memory"


def test_partitioned_cells_default_to_the_latest_partition(shell: InteractiveShell) -> None:
    preview = asset(
        shell,
        "daily --partitioned-by daily:2024-01-01:2024-01-03",
        "context.partition_key",
    )
    assert preview.value == "2024-01-03"
    assert shell.user_ns["daily"] == "2024-01-03"
    assert "partition 2024-01-03" in repr(preview)
    chosen = asset(
        shell,
        "region --partitioned-by static:eu,us --partition eu",
        "context.partition_key.upper()",
    )
    assert chosen.value == "EU"
    assert "partition eu" in repr(chosen)
    day = asset(
        shell,
        "day --partitioned-by daily:2024-01-01:2024-01-09 --partition 2024-01-02",
        "context.partition",
    )
    assert day.value == datetime.date(2024, 1, 2)


def test_no_run_defines_without_materializing(shell: InteractiveShell) -> None:
    preview = asset(shell, "later --no-run", "1 / 0")
    assert "later" in fs.get_registry()
    assert "later" not in shell.user_ns
    assert preview.value is None
    assert repr(preview) == "later: defined (not run)"
    assert fs.history("later").empty


# --- %%asset: re-running, clashes, versions ------------------------------------------------------


def test_rerunning_an_edited_cell_replaces_its_asset(shell: InteractiveShell) -> None:
    run(shell, "%%asset raw\n[1]", cell_id="cell-1")
    first = fs.get_registry().get("raw")
    run(shell, "%%asset raw\n[1, 2]", cell_id="cell-1")
    assert fs.get_registry().get("raw") is not first
    assert shell.user_ns["raw"] == [1, 2]


def test_a_second_cell_defining_the_same_name_is_an_error_naming_both(
    shell: InteractiveShell,
) -> None:
    shell.run_cell("%%asset raw\n[1]", store_history=True, cell_id="first-cell")
    with pytest.raises(UsageError) as caught:
        run(shell, "%%asset raw\n[2]", cell_id="second-cell")
    message = str(caught.value)
    assert 'already defined in cell In [1] ("%%asset raw"); a cell ("%%asset raw")' in message
    assert "first-ce" not in message  # cell ids appear nowhere in the notebook's interface
    assert "\n" not in message
    assert shell.user_ns["raw"] == [1]
    run(shell, "%%asset raw --replace\n[2]", cell_id="second-cell")
    assert shell.user_ns["raw"] == [2]


def test_without_cell_ids_a_redefinition_replaces_and_warns(shell: InteractiveShell) -> None:
    asset(shell, "raw", "[1]")
    with pytest.warns(fs.FlowstoneWarning, match="'raw' was defined before"):
        asset(shell, "raw", "[2]")
    assert shell.user_ns["raw"] == [2]


def test_a_comment_only_edit_keeps_the_version_and_a_real_edit_does_not(
    shell: InteractiveShell,
) -> None:
    run(shell, "calls = []")
    source = "%%asset counted\ncalls.append(1)\n[1, 2]"
    assert run(shell, source, cell_id="c").status == "computed"
    commented = (
        "%%asset counted\n# count the calls\ncalls.append(1)  # one per computation\n\n[1, 2]"
    )
    assert run(shell, commented, cell_id="c").status == "reused"
    assert shell.user_ns["calls"] == [1]
    assert shell.user_ns["counted"] == [1, 2]
    assert run(shell, source.replace("[1, 2]", "[1, 3]"), cell_id="c").status == "computed"
    assert shell.user_ns["calls"] == [1, 1]


def test_editing_a_helper_cell_changes_the_version(shell: InteractiveShell) -> None:
    run(shell, "def helper(v):\n    return v * 2", cell_id="helper")
    run(shell, "%%asset doubled\nhelper(3)", cell_id="asset")
    assert len(fs.history("doubled")) == 1
    run(shell, "def helper(v):\n    # same code\n    return v * 2", cell_id="helper")
    assert flowstone(shell, "materialize doubled") == 6
    assert len(fs.history("doubled")) == 1
    run(shell, "def helper(v):\n    return v * 3", cell_id="helper")
    assert flowstone(shell, "materialize doubled") == 9
    assert len(fs.history("doubled")) == 2


# --- %%asset: errors -----------------------------------------------------------------------------


def test_errors_in_the_body_keep_a_traceback_into_the_cell(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = shell.run_cell("%%asset boom\nvalues = [1, 2]\nvalues[0] / 0\n")
    error = result.error_in_exec
    assert isinstance(error, fs.MaterializationError)
    assert isinstance(error.__cause__, ZeroDivisionError)
    text = "".join(traceback.format_exception(error))
    assert "<flowstone-cell boom-" in text
    assert ", line 3, in boom\n    values[0] / 0\n" in text
    shown = capsys.readouterr().out
    assert "values[0] / 0" in shown
    assert "boom" not in shell.user_ns
    assert "boom" in fs.get_registry()  # the definition stays; fix the cell and re-run


def test_engine_frames_are_left_out_of_user_errors(shell: InteractiveShell) -> None:
    asset(shell, "raw", "[1]")
    result = shell.run_cell("%%asset boom\nraw[5]\n")
    error = result.error_in_exec
    assert isinstance(error, fs.MaterializationError)
    cause = error.__cause__
    assert isinstance(cause, IndexError)
    assert cause.__traceback__ is not None
    assert cause.__traceback__.tb_frame.f_code.co_filename.startswith("<flowstone-cell boom-")
    files = [frame.filename for frame in traceback.extract_tb(error.__traceback__)]
    assert not any(name.endswith("_engine.py") for name in files)


def test_a_cell_past_its_timeout_fails_with_a_timeout_error(shell: InteractiveShell) -> None:
    gate = threading.Event()
    shell.user_ns["gate"] = gate
    try:
        result = shell.run_cell("%%asset stuck --timeout 0.3\ngate.wait(30)\n1\n")
    finally:
        gate.set()
    error = result.error_in_exec
    assert isinstance(error, fs.MaterializationError)
    assert isinstance(error, TimeoutError)
    assert "'stuck' timed out after 0.3 s" in str(error)
    assert "stuck" not in shell.user_ns
    assert fs.history("stuck").status.tolist() == ["failed"]


def test_errors_of_functions_outside_cells_keep_their_whole_traceback(
    shell: InteractiveShell,
) -> None:
    @fs.asset
    def fails() -> int:
        raise KeyError("nope")

    with pytest.raises(fs.MaterializationError) as caught:
        flowstone(shell, "materialize fails")
    cause = caught.value.__cause__
    assert isinstance(cause, KeyError)
    names = [frame.name for frame in traceback.extract_tb(cause.__traceback__)]
    assert names[-1] == "fails"
    assert len(names) > 1


def test_a_syntax_error_points_at_the_cell_line(shell: InteractiveShell) -> None:
    result = shell.run_cell("%%asset broken\nx = 1\ny = (1,\n")
    error = result.error_in_exec
    assert isinstance(error, SyntaxError)
    assert error.filename is not None
    assert error.filename.startswith("<flowstone-cell broken-")
    assert "broken" not in fs.get_registry()


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("weird --partitioned-by yearly:2024", "1", r"partition spec 'yearly:2024'"),
        ("nothing", "x = 1", r"The %%asset cell 'nothing' has no value"),
        ("stored --io nosuch", "1", r"Invalid asset 'stored' .*io_manager"),
        ("daily --partitioned-by static:eu,us --partition mars", "1", r"'mars'"),
        ("flat --partition eu", "1", r"Asset 'flat' is not partitioned"),
        ("needs --depends-on context", "1", r"context"),
    ],
)
def test_definition_errors_are_one_line_usage_errors(
    shell: InteractiveShell, line: str, body: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        asset(shell, line, body)
    assert "\n" not in str(caught.value)


def test_a_cycle_is_a_usage_error_with_its_path(shell: InteractiveShell) -> None:
    asset(shell, "a --depends-on", "1")
    asset(shell, "b", "a + 1")
    with pytest.raises(UsageError, match=r"a -> b -> a|b -> a -> b"):
        asset(shell, "a --depends-on b", "b + 1")


def test_an_unknown_explicit_dependency_warns(shell: InteractiveShell) -> None:
    with pytest.warns(fs.FlowstoneWarning, match="rwa"):
        asset(shell, "clean --depends-on rwa --no-run", "rwa")


# --- the preview ---------------------------------------------------------------------------------


def test_the_preview_shows_a_frame_head_and_keeps_volatile_details_in_html(
    shell: InteractiveShell,
) -> None:
    preview = asset(shell, "big", "import pandas as pd\npd.DataFrame({'n': range(50)})")
    text = repr(preview)
    assert "50 rows x 1 column" in text
    assert " s" not in text.splitlines()[-1]  # no duration in the text form
    head = pd.DataFrame({"n": range(10)})
    assert text.startswith(repr(head))
    html = preview._repr_html_()
    assert head._repr_html_() in html
    assert "data version" in html
    assert " s" in html


def test_a_series_preview_counts_rows_and_a_no_run_preview_renders(
    shell: InteractiveShell,
) -> None:
    preview = asset(shell, "numbers", "import pandas as pd\npd.Series(range(20), name='n')")
    assert repr(preview).endswith("numbers: computed · 20 rows")
    assert repr(preview).startswith(repr(pd.Series(range(10), name="n")))
    assert "<pre>" in preview._repr_html_()
    later = asset(shell, "later --no-run", "numbers")
    assert later._repr_html_() == (
        "<div class='fs-asset-status'>later: defined (not run) · "
        "depends on numbers (inferred)</div>"
    )


def test_odd_shapes_are_not_described(shell: InteractiveShell) -> None:
    run(shell, "class Odd:\n    shape = ('a', 'b')\n    def head(self, n):\n        return self")
    preview = asset(shell, "odd --io memory", "Odd()")
    assert repr(preview).endswith("odd: computed")
    cube = asset(shell, "cube --io memory", "import numpy as np\nnp.zeros((2, 2, 2))")
    assert repr(cube).endswith("cube: computed")


def test_a_numpy_scalar_previews_as_its_number(shell: InteractiveShell) -> None:
    preview = asset(shell, "mean", "import numpy as np\nnp.float64(35.0)")
    assert repr(preview).startswith("35.0\n")
    assert "np.float64" not in preview._repr_html_()
    assert "<pre>35.0</pre>" in preview._repr_html_()
    assert isinstance(shell.user_ns["mean"], np.float64)  # the value itself is untouched
    grid = asset(shell, "grid --io memory", "import numpy as np\nnp.arange(3)")
    assert repr(grid).startswith("array([0, 1, 2])")


def test_the_preview_escapes_user_text_in_html(shell: InteractiveShell) -> None:
    preview = asset(shell, "markup", "'<script>alert(1)</script>'")
    html = preview._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert repr(preview).startswith("'<script>alert(1)</script>'")


def test_the_preview_is_the_cell_output(shell: InteractiveShell) -> None:
    out = run(shell, "%%asset answer\n42")
    assert isinstance(out, AssetPreview)
    assert shell.user_ns["answer"] == 42


def test_a_reused_value_says_so(shell: InteractiveShell) -> None:
    asset(shell, "raw", "[1]")
    asset(shell, "clean", "raw + [2]")
    again = flowstone(shell, "materialize clean")
    assert again == [1, 2]
    with pytest.warns(fs.FlowstoneWarning):
        preview = asset(shell, "clean", "raw + [2]  # unchanged")
    assert preview.status == "reused"
    assert "reused" in repr(preview)
    assert "data version" in preview._repr_html_()


# --- %flowstone ----------------------------------------------------------------------------------


def small_pipeline(shell: InteractiveShell) -> None:
    asset(shell, "raw --partitioned-by static:eu,us --no-run", "[context.partition_key]")
    asset(shell, "clean --partitioned-by static:eu,us --no-run", "raw * 2")


def test_flowstone_graph_status_history_lineage(shell: InteractiveShell) -> None:
    small_pipeline(shell)
    view = flowstone(shell, "graph")
    assert "raw" in view.source
    assert "clean" in view.source
    focused = flowstone(shell, "graph clean --upstream 0")
    assert "raw" not in focused.source.replace("clean", "")
    report = flowstone(shell, "status clean")
    assert isinstance(report, fs.StatusReport)
    assert flowstone(shell, "materialize clean eu") == ["eu", "eu"]
    frame = flowstone(shell, "history clean")
    assert len(frame) == 1
    assert len(flowstone(shell, "history")) == 2
    lineage = flowstone(shell, "lineage clean eu")
    assert isinstance(lineage, fs.Lineage)
    assert "raw" in repr(lineage)


def test_flowstone_materialize_force_recomputes(shell: InteractiveShell) -> None:
    asset(shell, "raw", "[1]")
    assert flowstone(shell, "materialize raw --force") == [1]
    assert len(fs.history("raw")) == 2


def test_flowstone_backfill(shell: InteractiveShell) -> None:
    asset(
        shell,
        "daily --partitioned-by daily:2024-01-01:2024-01-05 --no-run",
        "[context.partition_key]",
    )
    result = flowstone(shell, "backfill daily 2024-01-02..2024-01-04 --workers 2")
    assert isinstance(result, fs.BackfillResult)
    assert [p.partition for p in result.partitions] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert result.ok
    again = flowstone(shell, "backfill daily --force --workers 1")
    assert again.counts() == {"computed": 5}


def test_flowstone_backfill_retries(shell: InteractiveShell) -> None:
    run(shell, "tries = []")
    asset(
        shell,
        "flaky --partitioned-by static:a,b --retry-delay 0 --no-run",
        "tries.append(1)\nif len(tries) == 1:\n    raise ConnectionError('once')\n1",
    )
    result = flowstone(shell, "backfill flaky --workers 1 --retries 1")
    assert result.ok
    assert sorted(fs.history("flaky")["attempt"]) == [1, 1, 2]


def test_flowstone_verify_and_prune(shell: InteractiveShell, home: Path) -> None:
    asset(shell, "raw", "list(range(100))")
    report = flowstone(shell, "verify")
    assert isinstance(report, fs.VerifyReport)
    assert (report.checked, report.damaged) == (1, ())
    row = get_store().catalog.latest_success("raw", "")
    assert row is not None
    (home / str(row.location)).write_text("[1]")
    assert [d.asset for d in flowstone(shell, "verify raw").damaged] == ["raw"]
    pruned = flowstone(shell, "prune raw --keep 1")
    assert isinstance(pruned, fs.PruneReport)
    assert pruned.removed == 0


def test_flowstone_forget(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    asset(shell, "raw", "[1]")
    assert flowstone(shell, "forget raw") is None
    assert "raw" not in fs.get_registry()
    assert "Forgot asset 'raw'" in capsys.readouterr().out
    assert len(fs.history("raw")) == 1
    asset(shell, "gone", "[1]")
    flowstone(shell, "forget gone --purge")
    assert fs.history("gone").empty


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("stats", r"Did you mean 'status'\?"),
        ("status rwa", r"Unknown asset 'rwa'\. Did you mean 'raw'\?"),
        ("materialize raw eu", r"Asset 'raw' is not partitioned"),
        ("backfill raw", r"not partitioned"),
    ],
)
def test_flowstone_errors_are_usage_errors(
    shell: InteractiveShell, line: str, message: str
) -> None:
    asset(shell, "raw", "[1]")
    with pytest.raises(UsageError, match=message):
        flowstone(shell, line)


def test_flowstone_materialize_lets_user_errors_through(shell: InteractiveShell) -> None:
    asset(shell, "boom --no-run", "1 / 0")
    with pytest.raises(fs.MaterializationError):
        flowstone(shell, "materialize boom")


# --- help ----------------------------------------------------------------------------------------


def test_help_shows_the_options_and_subcommands(shell: InteractiveShell) -> None:
    asset_help = shell.object_inspect_text("%%asset")
    assert "--depends-on" in asset_help
    assert "--partitioned-by" in asset_help
    assert "last expression" in asset_help
    flowstone_help = shell.object_inspect_text("%flowstone")
    for command in ("graph", "status", "history", "lineage", "materialize", "backfill", "forget"):
        assert f"%flowstone {command}" in flowstone_help
