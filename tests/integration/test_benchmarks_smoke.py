"""Smoke run of the benchmark suite: every workload once, at tiny sizes, nothing timed.

These tests check that each workload still runs against the current library and yields every
metric the table reports; they never compare durations. Dagster's runs take seconds even at tiny
sizes, so only Hamilton's are smoke-tested, and only where the peers' virtualenv exists.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import _driver, _gen, _imports, _notebook, _table, floor, ours, profile
from benchmarks._measure import Stat, measure, sample
from benchmarks._peers import PEERS, PeerServer, default_python, run_peer
from benchmarks._sizes import FULL, SMOKE, Sizes

IN_PROCESS = tuple(w for w in _driver.WORKLOADS if w != "import")  # (imports: subprocesses)


def _metrics(workload: str) -> set[str]:
    return {row.metric for row in _table.ROWS if row.workload == workload}


def _check(samples: dict[str, list[float]], expected: set[str]) -> None:
    assert expected <= set(samples)
    for metric in expected:
        assert samples[metric], metric
        assert all(isinstance(s, float) for s in samples[metric])


@pytest.mark.parametrize("workload", IN_PROCESS)
def test_each_workload_yields_every_metric_for_ours_and_the_floor(
    workload: str, tmp_path: Path
) -> None:
    results, peers = _driver._interleaved(workload, SMOKE, tmp_path, {})

    assert peers == {}

    _check(results["ours"], _metrics(workload))
    expected_floor = _metrics(workload) - _table.OURS_ONLY
    _check(results["floor"], expected_floor)


def test_ours_computes_the_same_partition_values_as_the_floor(tmp_path: Path) -> None:
    import pandas as pd

    import flowstone_nb as fs

    with ours.isolated(tmp_path):
        ours.define_partitioned(SMOKE.partitions, SMOKE.rows)
        day = "2024-01-02"
        mine = fs.materialize("part_b", partition=day)
    by_hand = tmp_path / "by_hand"
    by_hand.mkdir()
    floor.write_partitions(by_hand, SMOKE.partitions, SMOKE.rows)

    pd.testing.assert_frame_equal(mine, floor.read_if_fresh(by_hand, day, SMOKE.rows))
    assert floor.read_if_fresh(by_hand, day, SMOKE.rows + 1) is None


def test_the_lineage_catalog_holds_the_requested_materializations(tmp_path: Path) -> None:
    import flowstone_nb as fs

    home = ours.prepare_lineage(SMOKE, tmp_path)

    with ours.isolated(tmp_path, home=home):
        ours.define_lineage_chain(SMOKE)
        assert len(fs.history()) == SMOKE.lineage_materializations
        found = fs.lineage("s02", "2024-01-04")
    assert [(e.asset, e.depth) for e in found.upstream] == [("s00", 2), ("s01", 1)]  # by asset


def _assets(registry: Any) -> dict[str, tuple[list[str], bool]]:
    return {
        a.name: (sorted(a.depends_on), a.partitioned_by is not None) for a in registry.list_all()
    }


def test_the_notebook_and_its_module_define_the_same_assets_and_values(tmp_path: Path) -> None:
    import pandas as pd

    import flowstone_nb as fs
    from flowstone_nb._notebook.loader import Action, load_definitions

    path = ours.write_notebook(tmp_path)
    with ours.isolated(tmp_path), ours.fresh_shell(tmp_path):
        loaded = load_definitions(path)
        from_notebook = _assets(loaded.registry)
        notebook_kpis = fs.materialize("kpis")
    module = _gen.GeneratedModule.write(tmp_path, "plain_notebook", _notebook.module_source(1))
    with ours.isolated(tmp_path) as (registry, _home):
        module.load()
        from_module = _assets(registry)
        module_kpis = fs.materialize("kpis")
    module.unload()

    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert len(cells) == _notebook.CELLS == 30
    actions = [plan.action for plan in loaded.cells]
    assert (actions.count(Action.DEFINE), actions.count(Action.SKIP)) == (11, 7)
    assert from_notebook == from_module
    assert len(from_module) == 14
    assert from_module["daily_visits"] == ([], True)
    assert from_module["report"][0] == [
        "order_lines",
        "revenue_by_region",
        "target_gap",
        "top_customers",
    ]
    pd.testing.assert_frame_equal(notebook_kpis, module_kpis)


def test_imports_are_timed_in_fresh_processes(tmp_path: Path) -> None:
    python = sys.executable

    imported = _imports.import_samples(python, "flowstone_nb", 1, tmp_path)
    loaded = _imports.load_ext_samples(python, "benchmarks._floor_extension", 1, tmp_path)

    assert len(imported) == 1
    assert len(loaded) == 1
    with pytest.raises(_imports.ImportFailedError, match="no_such_module"):
        _imports.import_samples(python, "no_such_module", 1, tmp_path)


def test_the_command_prints_the_table_without_touching_the_readme(tmp_path: Path) -> None:
    before = _driver.README.read_text(encoding="utf-8")
    logged: list[str] = []

    text = _driver.main(
        ["--sizes", "smoke", "--only", "chain", "--no-peers", "--json", str(tmp_path / "r")],
        log=logged.append,
    )

    assert "| 2. chain: first materialize after define | µs/asset |" in text
    assert "wide DAG" not in text
    assert "- machine: " in text
    assert any(line.startswith("chain: ours and floor") for line in logged)
    assert (tmp_path / "r").exists()
    assert _driver.README.read_text(encoding="utf-8") == before


def test_an_unknown_workload_is_refused_with_the_choices() -> None:
    with pytest.raises(SystemExit, match=r"unknown workload.*'chian'.*chain"):
        _driver.main(["--only", "chian", "--no-peers"])


def test_a_missing_peer_interpreter_is_reported_not_raised(tmp_path: Path) -> None:
    outcome = run_peer(tmp_path / "nowhere" / "python", "hamilton", "chain", SMOKE, tmp_path)

    assert "no peers' interpreter" in outcome.missing
    assert outcome.samples == {}


def test_a_peer_not_installed_in_the_interpreter_is_reported_missing(tmp_path: Path) -> None:
    # The project's own environment has neither Dagster nor Hamilton, by design.
    outcome = run_peer(Path(sys.executable), "hamilton", "chain", SMOKE, tmp_path)

    assert "hamilton is not installed" in outcome.missing


def test_a_failing_peer_run_is_reported_with_its_error(tmp_path: Path) -> None:
    outcome = run_peer(Path(sys.executable), "nobody", "chain", SMOKE, tmp_path)

    assert outcome.error.startswith("nobody chain failed: ")


@pytest.mark.parametrize(
    ("peers", "looked_for"),
    [(PEERS, {"hamilton", "dagster", "dagster_sqlite"}), (["dagster"], {"dagster"})],
)
def test_peers_are_skipped_by_the_driver_when_their_interpreter_is_missing(
    tmp_path: Path, peers: list[str], looked_for: set[str]
) -> None:
    results, versions, notes = _driver.run_workloads(
        ["chain"],
        SMOKE,
        tmp_path,
        peers_python=tmp_path / "missing" / "python",
        log=lambda _text: None,
        peers=peers,
    )

    assert set(results["chain"]) == {"ours", "floor"}
    assert versions == {}
    assert set(notes) == looked_for  # peers that were not chosen are not even looked for
    assert all("no peers' interpreter" in reason for reason in notes.values())


def test_a_served_peer_not_installed_is_reported_missing_at_each_request(tmp_path: Path) -> None:
    server = PeerServer(Path(sys.executable), "hamilton", tmp_path)
    try:
        first = server.run("chain", SMOKE)
        again = server.run("wide", SMOKE)  # the same interpreter answers the next request
    finally:
        server.close()

    assert "hamilton is not installed" in first.missing
    assert again.missing == first.missing
    assert first.samples == again.samples == {}


def test_a_served_peer_that_dies_is_reported_with_its_last_words(tmp_path: Path) -> None:
    server = PeerServer(Path(sys.executable), "nobody", tmp_path)
    try:
        outcome = server.run("chain", SMOKE)
    finally:
        server.close()

    assert outcome.error.startswith("nobody chain failed: ")
    assert "invalid choice: 'nobody'" in outcome.error


def test_a_serving_peer_answers_a_bad_request_with_an_error_and_goes_on(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "benchmarks.peers", "hamilton", "--serve"]
    requests = [{"workload": "chain", "sizes": '{"no_such_size": 1}'}]
    requests.append({"workload": "chain", "sizes": SMOKE.to_json()})
    done = subprocess.run(
        [*command, "--work", str(tmp_path)],
        input="".join(json.dumps(request) + "\n" for request in requests),
        capture_output=True,
        text=True,
        cwd=_driver.README.parent.parent,
        check=True,
    )

    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["error"].startswith("TypeError: ")
    assert "no_such_size" in first["error"]
    assert "hamilton is not installed" in second["missing"]


def test_the_driver_asks_a_served_peer_between_its_own_samples(tmp_path: Path) -> None:
    results, versions, notes = _driver.run_workloads(
        ["chain", "wide"],
        SMOKE,
        tmp_path,
        peers_python=Path(sys.executable),  # an interpreter without the peers
        log=lambda _text: None,
        peers=["hamilton"],
    )

    assert set(results["chain"]) == set(results["wide"]) == {"ours", "floor"}
    assert versions == {}
    assert list(notes) == ["hamilton"]  # asked once: missing for the rest of the run
    assert "hamilton is not installed" in notes["hamilton"]


def test_an_unknown_peer_is_refused_with_the_choices() -> None:
    with pytest.raises(SystemExit, match=r"unknown peer.*'hamiltn'.*hamilton"):
        _driver.main(["--only", "chain", "--peers", "hamiltn"])


@pytest.mark.skipif(
    not default_python().exists(), reason="the peers' virtualenv (make bench-peers) is absent"
)
def test_hamilton_runs_the_chain_in_its_own_interpreter(tmp_path: Path) -> None:
    outcome = run_peer(default_python(), "hamilton", "chain", SMOKE, tmp_path)

    assert outcome.error == ""
    assert set(outcome.samples) == {"define", "run", "run_again"}
    assert outcome.version


@pytest.mark.skipif(
    not default_python().exists(), reason="the peers' virtualenv (make bench-peers) is absent"
)
def test_a_served_hamilton_answers_sample_after_sample(tmp_path: Path) -> None:
    server = PeerServer(default_python(), "hamilton", tmp_path)
    try:
        outcomes = [server.run("chain", SMOKE) for _ in range(2)]
        other = server.run("lineage", SMOKE)  # Hamilton has no equivalent
    finally:
        server.close()

    assert [set(outcome.samples) for outcome in outcomes] == [{"define", "run", "run_again"}] * 2
    assert all(outcome.version for outcome in outcomes)
    assert (other.samples, other.error, other.missing) == ({}, "", "")


@pytest.mark.parametrize(
    "case", ["chain_again", "backfill", "cache_hit", "history_all", "dot", "notebook"]
)
def test_the_profiler_lists_where_the_time_goes(case: str, tmp_path: Path) -> None:
    out = tmp_path / "stats"

    text = profile.profile(case, sizes=SMOKE, top=5, out=out)

    assert "Ordered by: internal time" in text
    assert "Ordered by: cumulative time" in text
    assert out.exists()


def test_the_profiler_follows_the_pool_threads_of_a_backfill() -> None:
    text = profile.profile("backfill", sizes=SMOKE, top=200)

    assert re.search(r"runner\.py:\d+\(_call\)", text)  # runs on a backfill worker thread only


def _results(**cells: float) -> dict[str, dict[str, dict[str, list[float]]]]:
    return {"chain": {name: {"run": [value]} for name, value in cells.items()}}


@pytest.mark.parametrize(
    ("cells", "verdict"),
    [
        ({"ours": 1.0, "hamilton": 2.0, "dagster": 9.0}, "yes"),
        ({"ours": 3.0, "hamilton": 2.0}, "NO: target, slower than Hamilton"),
        ({"ours": 3.0}, "? (Hamilton not measured)"),
        ({"floor": 3.0}, "—"),
    ],
)
def test_a_row_is_met_when_its_target_holds_and_ours_beats_every_peer(
    cells: dict[str, float], verdict: str
) -> None:
    row = next(r for r in _table.ROWS if (r.workload, r.metric) == ("chain", "run"))

    assert _table.judge(row, _results(**cells)) == verdict


def test_targets_against_the_floor_an_absolute_and_an_overhead() -> None:
    ratio = _table.Row("w", "m", "ratio", _table.Target("floor", 1.1))
    absolute = _table.Row("w", "m", "absolute", _table.Target("absolute", 0.02))
    overhead = _table.Row("w", "m", "overhead", _table.Target("overhead", 1.0))
    no_target = _table.Row("w", "m", "info")
    fast = {"w": {"ours": {"m": [0.011]}, "floor": {"m": [0.010]}}}
    slow = {"w": {"ours": {"m": [2.0]}, "floor": {"m": [0.5]}, "dagster": {"m": [1.0]}}}

    assert [_table.judge(r, fast) for r in (ratio, absolute, overhead, no_target)] == [
        "yes",
        "yes",
        "yes",
        "—",
    ]
    assert _table.judge(ratio, slow) == "NO: target, slower than Dagster"
    assert _table.judge(absolute, slow) == "NO: target, slower than Dagster"
    assert _table.judge(overhead, slow) == "NO: target, slower than Dagster"
    assert _table.judge(no_target, slow) == "NO: slower than Dagster"
    texts = [r.target.text() for r in (ratio, absolute, overhead) if r.target]
    assert texts == ["≤ 1.1x floor", "≤ 20 ms", "floor + ≤ 1 s"]


def test_the_trivial_graphs_and_the_partitions_take_more_rounds_than_the_others() -> None:
    from benchmarks._sizes import FULL

    workloads = ("chain", "wide", "partitions", "dot", "store_load")
    # (A store or a load takes some 50 ms: one of each per round, ours and the floor's adjacent.)
    assert [FULL.rounds(w) for w in workloads] == [15, 15, 10, 5, FULL.cache_hits]
    fewer = FULL.with_repeat(3)
    assert [fewer.rounds(w) for w in ("chain", "partitions", "dot", "store_load")] == [
        9,
        6,
        3,
        FULL.cache_hits,
    ]
    assert fewer.import_repeat == 6
    assert SMOKE.rounds("chain") == SMOKE.rounds("partitions") == 1


def test_more_rounds_take_no_more_quick_samples(tmp_path: Path) -> None:
    sizes = dataclasses.replace(SMOKE, partition_repeat=3, cache_hits=6)
    results, _ = _driver._interleaved("partitions", sizes, tmp_path, {})
    for contender in ("ours", "floor"):
        assert len(results[contender]["backfill_1"]) == 3
        assert len(results[contender]["cache_hit"]) == 6  # two per round
    results, _ = _driver._interleaved("store_load", sizes, tmp_path, {})
    for contender in ("ours", "floor"):
        assert len(results[contender]["store"]) == len(results[contender]["load"]) == 6


def test_ratios_of_samples_taken_side_by_side_are_paired_round_by_round() -> None:
    # Medians: ours 1.2 against 1.1. Side by side, ours was faster in two rounds of three.
    ours, other = [1.0, 2.0, 1.2], [1.1, 2.2, 1.0]
    contenders = {
        "ours": {"m": ours},
        "floor": {"m": other},
        "hamilton": {"m": other},
        "dagster": {"m": other},  # not interleaved with ours: medians divided
        "dagster_sqlite": {"m": other[:2]},  # not one sample per round: medians divided
    }
    results = {"chain": contenders, "partitions": contenders, "store_load": contenders}

    assert _table.INTERLEAVED == ("floor", "hamilton")
    assert _table.PAIRED_WORKLOADS == ("chain", "wide", "store_load")
    assert _table.ratio(results, "store_load", "m", "floor") == pytest.approx(1.0 / 1.1)
    assert _table.ratio(results, "chain", "m", "floor") == pytest.approx(1.0 / 1.1)
    assert _table.ratio(results, "chain", "m", "hamilton") == pytest.approx(1.0 / 1.1)
    assert _table.ratio(results, "chain", "m", "dagster") == pytest.approx(1.2 / 1.1)
    assert _table.ratio(results, "chain", "m", "dagster_sqlite") == pytest.approx(1.2 / 1.65)
    assert _table.ratio(results, "chain", "m", "nobody") is None
    # Rounds of a longer workload are seconds apart: their medians are divided.
    assert _table.ratio(results, "partitions", "m", "hamilton") == pytest.approx(1.2 / 1.1)
    del contenders["dagster"]
    row = _table.Row("chain", "m", "vs Hamilton", _table.Target("peer", 1.0, "hamilton"))
    floor_row = _table.Row("chain", "m", "vs the floor", _table.Target("floor", 0.95))
    assert _table.judge(row, results) == "yes"
    assert _table.judge(floor_row, results) == "yes"
    slow = _table.Row("partitions", "m", "vs Hamilton", _table.Target("peer", 1.0, "hamilton"))
    assert _table.judge(slow, results) == "NO: target, slower than Hamilton"


def test_the_readme_section_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        f"intro\n{_driver.START_MARK}\nold table\n{_driver.END_MARK}\nafter\n", encoding="utf-8"
    )

    _driver.update_readme("new table\n", readme)

    assert readme.read_text(encoding="utf-8") == (
        f"intro\n{_driver.START_MARK}\nnew table\n{_driver.END_MARK}\nafter\n"
    )


def test_statistics_and_sizes() -> None:
    stats = Stat.of([3.0, 1.0, 2.0, 4.0])
    assert (stats.median, stats.low, stats.high, stats.n) == (2.5, 1.0, 4.0, 4)
    assert Stat.of([2.0]).scaled(1000) == Stat(2000.0, 2000.0, 2000.0, 2000.0, 2000.0, 1)
    seconds, value = measure(sum, [1, 2])
    assert value == 3
    assert seconds >= 0
    calls: list[str] = []
    timings = sample(lambda: calls.append("run"), 2, setup=lambda: calls.append("setup"), warmup=1)
    assert len(timings) == 2
    assert calls == ["setup", "run"] * 3
    assert Sizes.from_json(FULL.to_json()) == FULL
    assert FULL.wide_assets == 1_000
    assert FULL.lineage_materializations == 100_000
    assert SMOKE.with_repeat(3).import_repeat == 6


def test_a_target_against_another_metric_of_ours_pairs_its_rounds() -> None:
    target = _table.Target("metric", 1.1, metric="plain", than="the same without checks")
    row = _table.Row("w", "checked", "checked", target)
    paired = {"w": {"ours": {"checked": [1.05, 2.2, 1.0], "plain": [1.0, 2.0, 1.0]}}}
    unpaired = {"w": {"ours": {"checked": [1.5, 1.5], "plain": [1.0]}}}

    assert _table.own_ratio(paired, "w", "checked", "plain") == pytest.approx(1.05)
    assert _table.judge(row, paired) == "yes (1.05x)"
    assert _table.judge(row, unpaired) == "NO: target (1.50x)"
    assert _table.judge(row, {"w": {"ours": {"checked": [1.0]}}}) == "? (plain not measured)"
    assert target.text() == "≤ 1.1x the same without checks"
    assert _table.Target("metric", 1.1, metric="plain").text() == "≤ 1.1x plain"
