"""Parsing the magic lines: every option of ``%%asset``, every ``%flowstone`` subcommand, errors."""

from __future__ import annotations

import dataclasses

import pytest
from IPython.core.error import UsageError

from flowstone_nb._define.decorator import OPTIONS
from flowstone_nb._notebook.flowstone_commands import (
    COMMAND_PARSERS,
    BackfillCommand,
    ForgetCommand,
    GraphCommand,
    HistoryCommand,
    LineageCommand,
    MaterializeCommand,
    PruneCommand,
    StatusCommand,
    VerifyCommand,
    flowstone_help,
    parse_flowstone_line,
)
from flowstone_nb._notebook.magic_lines import (
    ASSET_PARSER,
    AssetArgs,
    option_names,
    parse_asset_line,
)

# --- %%asset ------------------------------------------------------------------------------------


def test_a_bare_name_gets_the_defaults() -> None:
    assert parse_asset_line("raw") == AssetArgs(name="raw")
    assert parse_asset_line("  raw  ").depends_on is None


def test_every_option() -> None:
    args = parse_asset_line(
        "daily_sales --depends-on raw prices --partitioned-by daily:2024-01-01:2024-03-31 "
        "--io memory --tags sales eu --description 'Sales per day' --partition 2024-01-31 "
        "--no-run --replace --timeout 2.5"
    )
    assert args == AssetArgs(
        name="daily_sales",
        depends_on=("raw", "prices"),
        partitioned_by="daily:2024-01-01:2024-03-31",
        io_manager="memory",
        tags=("sales", "eu"),
        description="Sales per day",
        partition="2024-01-31",
        run=False,
        replace=True,
        timeout=2.5,
    )


def test_every_decorator_option_under_its_own_name_and_the_short_ones() -> None:
    args = parse_asset_line(
        "weekly --map sales=trailing:7 costs=window --partition-mappings fx=my_mapping "
        "--io-manager memory --io-config compression=zstd level=3 strict=True "
        "--requires db api --metadata owner=ana 'note=two words' --code-version v2 "
        "--partitioned-by custom --partition-fn region_keys --concat sales sales"
    )
    assert args == AssetArgs(
        name="weekly",
        partition_mappings=(("sales", "trailing:7"), ("costs", "window"), ("fx", "my_mapping")),
        io_manager="memory",
        io_config=(("compression", "zstd"), ("level", 3), ("strict", True)),
        requires=("db", "api"),
        metadata=(("owner", "ana"), ("note", "two words")),
        code_version="v2",
        partitioned_by="custom",
        partition_fn="region_keys",
        concat=("sales",),
    )
    assert parse_asset_line("x --io memory").io_manager == "memory"


def test_the_retry_options() -> None:
    args = parse_asset_line(
        "fetched --retries 3 --retry-delay 0.5 --retry-backoff 3 "
        "--retry-on ConnectionError,requests.HTTPError --retry-on TimeoutError ConnectionError"
    )
    assert (args.retries, args.retry_delay, args.retry_backoff) == (3, 0.5, 3.0)
    assert args.retry_on == ("ConnectionError", "requests.HTTPError", "TimeoutError")
    assert parse_asset_line("x --retries 0 --retry-delay 0").retries == 0


def test_the_magic_has_every_option_of_the_decorator() -> None:
    names = set(option_names(ASSET_PARSER))
    for option in (OPTIONS - {"name"}) | {"replace"}:
        assert f"--{option.replace('_', '-')}" in names, option


def test_args_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_asset_line("raw").name = "other"  # type: ignore[misc]  # proving it is frozen


def test_depends_on_alone_means_no_dependencies_and_duplicates_collapse() -> None:
    assert parse_asset_line("raw --depends-on").depends_on == ()
    assert parse_asset_line("raw --depends-on a b a").depends_on == ("a", "b")


def test_unquoted_description_words_are_joined_and_comments_are_ignored() -> None:
    args = parse_asset_line("raw --description Daily   sales # what the cell makes")
    assert args.description == "Daily sales"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", r"%%asset: the following arguments are required: NAME\. See %%asset\? "),
        ("1abc", r"NAME '1abc' is not a valid asset name: use a Python identifier"),
        ("class", r"NAME 'class' is not a valid asset name"),
        ("raw --depends-on ok not-ok", r"--depends-on 'not-ok' is not a valid asset name"),
        (
            "raw --colour red",
            r"^%%asset: unknown option '--colour'\. The options are: --depends-on",
        ),
        ("raw --partition", r"argument --partition: expected one argument"),
        ("raw --description 'unclosed", r"cannot read the line .*No closing quotation.*quote"),
        ("raw --timeout", r"argument --timeout: expected one argument"),
        ("raw --timeout soon", r"--timeout='soon' is not a positive number of seconds: "),
        ("raw --timeout 0", r"--timeout='0' is not a positive number of seconds: "),
        ("raw --timeout -1", r"--timeout='-1' is not a positive number of seconds: "),
        ("raw --timeout nan", r"--timeout='nan' is not a positive number of seconds: "),
        ("raw --timeout inf", r"--timeout='inf' is not a positive number of seconds: "),
        ("raw --retries -1", r"--retries='-1' is not a whole number of retries \(0 or more\)"),
        ("raw --retries 1.5", r"--retries='1.5' is not a whole number of retries"),
        ("raw --retries", r"argument --retries: expected one argument"),
        ("raw --retry-delay -2", r"--retry-delay='-2' is not a number of seconds \(0 or more\)"),
        ("raw --retry-delay inf", r"--retry-delay='inf' is not a number of seconds"),
        ("raw --retry-backoff 0.5", r"--retry-backoff='0.5' is not a factor of 1 or more"),
        ("raw --retry-backoff x", r"--retry-backoff='x' is not a factor of 1 or more"),
        ("raw --retry-on 'Connection Error'", r"--retry-on 'Connection Error' is not the name"),
        ("raw --retry-on A,,B", r"--retry-on 'A,,B' is not the name of an exception type"),
        ("raw --retry-on", r"argument --retry-on: expected at least one argument"),
        ("raw other", r"unexpected 'other' after the name\. See %%asset\? for the options"),
        ("raw --dep a", r"unknown option '--dep'\. Did you mean '--depends-on'\?"),
        ("raw --partition-mapings x=all", r"Did you mean '--partition-mappings', "),
        ("raw --map sales", r"--map takes UPSTREAM=MAPPING pairs .*got 'sales'"),
        ("raw --map 1x=all", r"--map '1x' is not a valid asset name"),
        ("raw --io-config level", r"--io-config takes KEY=VALUE pairs"),
        ("raw --metadata =3", r"--metadata takes KEY=VALUE pairs"),
    ],
)
def test_asset_line_errors_are_usage_errors(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_asset_line(line)


def test_asset_help_lists_every_option() -> None:
    text = ASSET_PARSER.format_help()
    for option in (
        "--depends-on",
        "--partitioned-by",
        "--io",
        "--tags",
        "--description",
        "--partition",
        "--no-run",
        "--replace",
        "--timeout",
        "--retries",
        "--retry-on",
        "--map",
        "trailing:N",
        "--concat",
    ):
        assert option in text
    assert text.startswith("usage: %%asset")


# --- %flowstone ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("graph", GraphCommand()),
        ("graph sales --upstream 1 --downstream 0", GraphCommand("sales", 1, 0)),
        ("status", StatusCommand()),
        ("status sales", StatusCommand("sales")),
        ("history", HistoryCommand()),
        ("history sales", HistoryCommand("sales")),
        ("lineage sales", LineageCommand("sales")),
        ("lineage sales 2024-01-02", LineageCommand("sales", "2024-01-02")),
        ("materialize sales", MaterializeCommand("sales")),
        ("materialize sales eu --force", MaterializeCommand("sales", "eu", force=True)),
        ("backfill sales", BackfillCommand("sales")),
        (
            "backfill sales 2024-01-01..2024-01-31 --workers 2 --force",
            BackfillCommand("sales", "2024-01-01..2024-01-31", 2, force=True),
        ),
        ("forget sales", ForgetCommand("sales")),
        ("forget sales --purge", ForgetCommand("sales", purge=True)),
        ("backfill sales --timeout 2.5", BackfillCommand("sales", timeout=2.5)),
        ("backfill sales --retries 2", BackfillCommand("sales", retries=2)),
        ("verify", VerifyCommand()),
        ("verify sales", VerifyCommand("sales")),
        ("prune", PruneCommand()),
        ("prune sales --keep 3", PruneCommand("sales", 3)),
        ("  status   # all of them", StatusCommand()),
    ],
)
def test_subcommands(line: str, command: object) -> None:
    assert parse_flowstone_line(line) == command


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", r"%flowstone needs a subcommand: one of graph, status, history, lineage, "),
        ("stats", r"Unknown %flowstone subcommand 'stats'\. Did you mean 'status'\? The sub"),
        ("zzz", r"Unknown %flowstone subcommand 'zzz'\. The subcommands are: graph, status"),
        ("history 2x", r"NAME '2x' is not a valid asset name"),
        ("lineage", r"%flowstone lineage: the following arguments are required: NAME\. "),
        ("graph --upstream -1", r"--upstream must be a whole number >= 0, got '-1'"),
        ("graph --upstream two", r"--upstream must be a whole number >= 0, got 'two'"),
        ("backfill sales a..b --workers 0", r"--workers must be a whole number >= 1"),
        ("backfill sales --timeout 0", r"--timeout='0' is not a positive number of seconds"),
        ("backfill sales --retries -3", r"--retries='-3' is not a whole number of retries"),
        ("prune --keep 0", r"--keep must be a whole number >= 1, got '0'"),
        ("materialize sales 2024 extra", r"unrecognized arguments: extra\. See %flowstone\?"),
        ("status 'sales", r"%flowstone: cannot read the line"),
    ],
)
def test_flowstone_line_errors_are_usage_errors(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_flowstone_line(line)


def test_flowstone_help_has_a_usage_and_a_description_per_subcommand() -> None:
    lines = flowstone_help().splitlines()
    assert len(lines) == 2 * len(COMMAND_PARSERS)
    assert lines[0].startswith("usage: %flowstone graph")
    assert lines[1] == "    Draw the asset graph, coloured by status."
    assert any("backfill" in line and "FIRST..LAST" in line for line in lines)
