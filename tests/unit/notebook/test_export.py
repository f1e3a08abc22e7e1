"""Export: a notebook written out as a module that defines the same assets, versions included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import flowstone_nb as fs
from flowstone_nb._notebook.export import ExportError, export_notebook, module_text
from flowstone_nb._notebook.extension import load_ipython_extension, unload_ipython_extension
from flowstone_nb._notebook.flowstone_commands import ExportCommand, parse_flowstone_line
from flowstone_nb._notebook.loader import SourceError, load_definitions
from tests.resources.notebook_files import imported, notebook

pytestmark = pytest.mark.usefixtures("no_shell_left")


SOURCES = (
    (
        "%load_ext flowstone_nb\nimport json\nimport flowstone_nb as fs\nfrom pathlib import Path\n"
        "fs.configure(progress=False);"
    ),
    "LIMIT = 2\n\n\ndef clip(values):\n    return [min(v, LIMIT) for v in values]",
    "%%asset raw --tags demo --description 'Raw numbers.'\n[1, 2, 3]",
    "raw  # a look at it",
    "%%asset clipped --timeout 60\n# keep the small ones\nclip(raw)",
    "%%asset days --partitioned-by daily:2024-01-01:2024-01-02 --io memory\nstr(context.partition)",
    "@fs.asset\ndef total(clipped):\n    return json.dumps(sum(clipped))",
    "fs.materialize(total)",
)


def test_the_module_defines_the_same_assets_with_the_same_code_versions(tmp_path: Path) -> None:
    source = notebook(tmp_path / "n.ipynb", *SOURCES)
    text = module_text(source)
    assert text.startswith('"""Assets of n.ipynb, exported by `flowstone export`.')
    assert "import json\nfrom pathlib import Path\n\nimport flowstone_nb as fs\n" in text
    assert "load_ext" not in text
    assert "fs.configure(progress=False)\n" in text
    assert "fs.materialize" not in text
    assert "a look at it" not in text
    assert (
        "@fs.asset(tags=['demo'], description='Raw numbers.')\ndef raw(context):\n"
        "    return [1, 2, 3]\n" in text
    )
    assert "def clipped(context, raw):\n    # keep the small ones\n    return clip(raw)\n" in text
    assert "@fs.asset(timeout=60.0)\ndef clipped(" in text
    assert (
        "@fs.asset(partitioned_by=fs.DailyPartitions('2024-01-01', '2024-01-02'), "
        "io_manager='memory')\ndef days(context):" in text
    )
    from flowstone_nb._versioning.code_versions import code_version

    loaded = load_definitions(source).registry
    notebook_versions = {a.name: code_version(a.execute_fn) for a in loaded.list_all()}
    module_file = export_notebook(source, tmp_path / "pipeline.py")
    assert module_file.read_text(encoding="utf-8") == text
    fs.get_registry().clear()
    imported(module_file)
    module_versions = {a.name: code_version(a.execute_fn) for a in fs.get_registry().list_all()}
    assert module_versions == notebook_versions
    assert fs.history().empty
    assert fs.materialize("total") == "5"  # 1 + 2 + min(3, LIMIT)


def test_a_notebook_importing_the_package_under_another_name(tmp_path: Path) -> None:
    text = module_text(
        notebook(tmp_path / "n.ipynb", "import flowstone_nb as flow", "%%asset a\n1")
    )
    assert "import flowstone_nb as flow\n\n\n@flow.asset\ndef a(context):\n    return 1\n" in text
    text = module_text(notebook(tmp_path / "m.ipynb", "x = 1", "%%asset a\nx"))
    assert text.endswith(
        "import flowstone_nb as fs\n\nx = 1\n\n\n@fs.asset\ndef a(context):\n    return x\n"
    )


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (("%%asset a --bogus\n1",), r"Cell 1 \('%%asset a --bogus'\).*--bogus"),
        (("x = (",), r"Cell 1 \('x = \('\) is not valid Python"),
    ],
)
def test_cells_that_cannot_be_written_name_themselves(
    tmp_path: Path, sources: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        module_text(notebook(tmp_path / "n.ipynb", *sources))


def _keys() -> list[str]:
    return ["a", "b"]


def test_partitions_that_are_not_code_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowstone_nb._notebook import export

    # Every spec the magic reads today builds partitions whose repr is code; a future one may not.
    made = fs.FunctionPartitions("custom", _keys)
    monkeypatch.setattr(export, "parse_partition_spec", lambda spec: made)
    with pytest.raises(ExportError, match=r"its partitions 'static:a,b' cannot be written as code"):
        module_text(notebook(tmp_path / "n.ipynb", "%%asset a --partitioned-by static:a,b\n1"))


def test_export_targets_and_sources_are_checked(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="No such notebook"):
        export_notebook(tmp_path / "missing.ipynb", tmp_path / "m.py")
    source = notebook(tmp_path / "n.ipynb", "%%asset a\n1")
    with pytest.raises(ExportError, match=r"Export to a \.py file"):
        export_notebook(source, tmp_path / "m.txt")
    assert not (tmp_path / "m.txt").exists()


def test_the_export_magic_writes_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse_flowstone_line("export out.py --notebook n.ipynb") == ExportCommand(
        "out.py", "n.ipynb"
    )
    source = notebook(tmp_path / "n.ipynb", "%%asset a\n1")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    shell = InteractiveShell.instance()
    load_ipython_extension(shell)
    try:
        with pytest.raises(UsageError, match="name it with --notebook PATH"):
            shell.run_line_magic("flowstone", f"export {tmp_path / 'out.py'}")
        shell.user_ns["__session__"] = str(source)
        shell.run_line_magic("flowstone", f"export {tmp_path / 'out.py'}")
    finally:
        unload_ipython_extension(shell)
    assert "def a(context):" in (tmp_path / "out.py").read_text(encoding="utf-8")
    assert "from the saved n.ipynb" in capsys.readouterr().out


def test_repeated_imports_helpers_and_explicit_dependencies(tmp_path: Path) -> None:
    text = module_text(
        notebook(
            tmp_path / "n.ipynb",
            "import functools\nimport json\nimport flowstone_nb as fs",
            "import json\nx = 1\n\n\n\n\ny = 2",
            "@functools.cache\ndef helper():\n    return 2",
            "%%asset a\n1",
            "%%asset b --depends-on a helper\nhelper()",
        )
    )
    assert text.count("import json") == 1
    assert "x = 1" in text
    assert "x = 1\n\n\ny = 2" in text  # blank runs shortened to two
    assert "def b(context, a, helper):" in text


def test_every_option_of_an_asset_cell_is_written_out(tmp_path: Path) -> None:
    source = notebook(
        tmp_path / "n.ipynb",
        "import flowstone_nb as fs\nimport pandas as pd\n"
        "months = fs.MonthlyPartitions('2024-01', '2024-02')\n"
        "def regions():\n    return ['eu', 'us']",
        "%%asset sales --partitioned-by daily:2024-01-01:2024-02-29\n"
        "pd.DataFrame({'day': [context.partition.day]})",
        "%%asset monthly --partitioned-by months --map sales=window --io-config compression=zstd "
        "--requires db --metadata owner=ana --code-version v1 --concat sales\nlen(sales)",
        "%%asset rolling --partitioned-by daily:2024-01-01:2024-02-29 --partition-mappings "
        "sales=trailing:2\nlen(sales)",
        "def known(regional):\n    return regional in ('eu', 'us')",
        "%%asset regional --partition-fn regions --checks known\ncontext.partition_key",
        "import json\nclass SourceDown(Exception):\n    pass",
        "%%asset fetched --retries 3 --retry-delay 0.5 --retry-backoff 3 "
        "--retry-on SourceDown,json.JSONDecodeError --retry-on TimeoutError\n1",
    )
    text = module_text(source)
    assert (
        "@fs.asset(partitioned_by=months, partition_mappings={'sales': fs.TimeWindowMapping()}, "
        "io_config={'compression': 'zstd'}, requires=['db'], metadata={'owner': 'ana'}, "
        "code_version='v1')\ndef monthly(context, sales: \"pd.DataFrame\"):" in text
    )
    assert "partition_mappings={'sales': fs.TrailingWindow(2)})\ndef rolling(" in text
    assert (
        "@fs.asset(partitioned_by='custom', partition_fn=regions, checks=[known])\n"
        "def regional(" in text
    )
    loaded = load_definitions(source).registry
    fs.get_registry().clear()
    imported(export_notebook(source, tmp_path / "pipeline.py"))
    exported = fs.get_registry()
    for name in ("monthly", "rolling", "regional"):
        mine, theirs = loaded.get(name), exported.get(name)
        assert theirs.partition_mappings == mine.partition_mappings
        assert theirs.partitions == mine.partitions or name == "regional"
        assert list(theirs.partitions.keys()) == list(mine.partitions.keys())
        assert [c.__name__ for c in theirs.checks] == [c.__name__ for c in mine.checks]
    assert [c.__name__ for c in exported.get("regional").checks] == ["known"]
    assert (
        "@fs.asset(retries=3, retry_delay=0.5, retry_backoff=3.0, "
        "retry_on=(SourceDown, json.JSONDecodeError, TimeoutError))\ndef fetched(" in text
    )
    mine, theirs = loaded.get("fetched"), exported.get("fetched")
    assert (theirs.retries, theirs.retry_delay, theirs.retry_backoff) == (3, 0.5, 3.0)
    assert [t.__qualname__ for t in theirs.retry_on] == [t.__qualname__ for t in mine.retry_on]
    assert theirs.retry_on[1:] == (json.JSONDecodeError, TimeoutError)
    assert exported.get("monthly").metadata == {"owner": "ana"}
    assert fs.materialize("monthly", "2024-01", resources={"db": None}) == 31  # one frame


def test_a_mapping_of_one_dimension_is_written_with_its_inner_mapping(tmp_path: Path) -> None:
    text = module_text(
        notebook(
            tmp_path / "n.ipynb",
            "import flowstone_nb as flow",
            "%%asset a --map up=dimension:day:window --depends-on up --no-run\n1",
        )
    )
    expected = "{'up': flow.MultiToSingleDimension('day', flow.TimeWindowMapping())}"
    assert f"@flow.asset(partition_mappings={expected})" in text


def test_a_mapping_named_in_the_notebook_is_written_by_name(tmp_path: Path) -> None:
    text = module_text(
        notebook(
            tmp_path / "n.ipynb",
            "import flowstone_nb as fs\nlast_two = fs.TrailingWindow(2)",
            "%%asset a --map up=last_two --depends-on up --no-run\n1",
        )
    )
    assert "@fs.asset(partition_mappings={'up': last_two})" in text


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%%asset a --partitioned-by yearly:2024", r"Cell 1 \('%%asset a .*'yearly:2024'"),
        ("%%asset a --map up=trailng:3", r"Cell 1 \('%%asset a .*Did you mean 'trailing'"),
        ("%%asset a --map up=trailing:x", r"Cell 1 \('%%asset a .*got 'x'"),
    ],
)
def test_options_that_cannot_be_read_name_their_cell(
    tmp_path: Path, line: str, message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        module_text(notebook(tmp_path / "n.ipynb", f"{line}\n1"))
