"""The command: run the workloads, print one table, keep the latest one in the README.

``python -m benchmarks`` runs every workload at the issue's sizes: ours and the floor in this
interpreter, the peers in theirs (see :mod:`benchmarks._peers`), then prints the table with the
machine, the versions and the command, and replaces the results section of
``benchmarks/README.md`` (only for a full run at full sizes; ``--no-readme`` skips it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from . import _imports, _table
from ._peers import LABELS, PEERS, PeerOutcome, PeerServer, default_python, run_peer
from ._sizes import FULL, SMOKE, Sizes

WORKLOADS = (
    "import",
    "chain",
    "wide",
    "partitions",
    "store_load",
    "trivial",
    "lineage",
    "scale",
    "million",
    "growth",
    "memory",
    "dot",
    "notebook",
    "live",
)
#: Which workloads each peer has an idiomatic equivalent for.
PEER_WORKLOADS = {
    "hamilton": ("import", "chain", "wide", "partitions", "dot"),
    "dagster": ("import", "chain", "wide", "partitions"),
    "dagster_sqlite": ("chain", "partitions"),
}
#: Peers quick enough to take one sample per round between ours (see ``_interleaved``).
#: Dagster's runs take seconds to minutes, and its ratios to ours are orders of magnitude.
INTERLEAVED_PEERS = tuple(p for p in _table.INTERLEAVED if p in PEERS)
_PEER_IMPORTS = {"hamilton": "hamilton.driver", "dagster": "dagster"}
_PEER_EXTENSIONS = {"hamilton": "hamilton.plugins.jupyter_magic"}
README = Path(__file__).with_name("README.md")
START_MARK = "<!-- results:start -->"
END_MARK = "<!-- results:end -->"

Samples = dict[str, list[float]]
Log = Callable[[str], None]


Runner = Callable[[Sizes], Samples]


def _runners(workload: str, sizes: Sizes, work: Path) -> dict[str, Runner]:
    from . import floor, ours

    if workload == "lineage":
        home = ours.prepare_lineage(sizes, work)
        catalog = Path(home) / "catalog.sqlite"
        return {
            "ours": lambda s: ours.lineage(s, work, home),
            "floor": lambda s: floor.lineage(s, catalog, ours.encode_day),
        }
    if workload in AT_SCALE:
        from . import _at_scale

        return _at_scale.runners(workload, sizes, work)
    name = "trivial_backfill" if workload == "trivial" else workload
    mine, by_hand = getattr(ours, name), getattr(floor, name)
    return {"ours": lambda s: mine(s, work), "floor": lambda s: by_hand(s, work)}


#: Issue 19's workloads (see :mod:`benchmarks._at_scale`).
AT_SCALE = ("scale", "million", "growth", "memory")


def _interleaved(
    workload: str, sizes: Sizes, work: Path, served: Mapping[str, PeerServer]
) -> tuple[dict[str, Samples], dict[str, PeerOutcome]]:
    """Ours, the floor and the ``served`` peers, one sample each per round, in turns.

    Interleaving keeps a burst of load on the shared machine from landing on one side only.
    The order alternates from round to round. A round at tiny sizes first imports and warms
    everything ours and the floor use (a served peer warms itself up on its first request).
    Returns the samples, and each served peer's last outcome (its version, or why it stopped).
    """
    if workload == "import":
        return _imports_here(sizes, work), {}
    runners = _runners(workload, sizes, work)
    for run in runners.values() if sizes != SMOKE else ():
        run(SMOKE)
    one = replace(
        sizes,
        repeat=1,
        cache_hits=max(1, sizes.cache_hits // sizes.rounds(workload)),
        slow_repeat=min(1, sizes.slow_repeat),
    )
    merged: dict[str, Samples] = {name: {} for name in [*runners, *served]}
    outcomes: dict[str, PeerOutcome] = {}
    for round_number in range(sizes.rounds(workload)):
        names = [*runners, *served]
        for name in names if round_number % 2 == 0 else reversed(names):
            if name in runners:
                samples = runners[name](one)
            elif name not in outcomes or outcomes[name].samples:
                outcomes[name] = served[name].run(workload, one)
                samples = outcomes[name].samples
            else:
                continue  # missing or failed: not asked again
            for metric, values in samples.items():
                merged[name].setdefault(metric, []).extend(values)
    return {name: found for name, found in merged.items() if found}, outcomes


def _imports_here(sizes: Sizes, work: Path) -> dict[str, Samples]:
    python = sys.executable
    jobs = {
        ("ours", "import"): _imports.import_script("flowstone_nb"),
        ("floor", "import"): _imports.import_script("pandas"),
        ("ours", "load_ext"): _imports.load_ext_script("flowstone_nb"),
        ("floor", "load_ext"): _imports.load_ext_script("benchmarks._floor_extension"),
    }
    timings = _imports.interleaved(python, jobs, sizes.import_repeat, work)
    results: dict[str, Samples] = {"ours": {}, "floor": {}}
    for (contender, metric), samples in timings.items():
        results[contender][metric] = samples
    return results


def _peer_imports(python: Path, peer: str, sizes: Sizes, work: Path) -> PeerOutcome:
    if not python.exists():
        return PeerOutcome(missing=f"no peers' interpreter at {python} (make bench-peers)")
    repeat = sizes.import_repeat
    try:
        samples = {
            "import": _imports.import_samples(str(python), _PEER_IMPORTS[peer], repeat, work)
        }
        if peer in _PEER_EXTENSIONS:
            extension = _PEER_EXTENSIONS[peer]
            samples["load_ext"] = _imports.load_ext_samples(str(python), extension, repeat, work)
    except _imports.ImportFailedError as error:
        return PeerOutcome(missing=f"{peer} is not importable ({error})")
    return PeerOutcome(samples=samples)


def run_workloads(
    workloads: Sequence[str],
    sizes: Sizes,
    work: Path,
    *,
    peers_python: Path | None,
    log: Log,
    peers: Sequence[str] = PEERS,
) -> tuple[dict[str, dict[str, Samples]], dict[str, str], dict[str, str]]:
    """Run ``workloads`` (against ``peers``); return the results, the peers' versions and why
    peers are missing."""
    results: dict[str, dict[str, Samples]] = {}
    versions: dict[str, str] = {}
    notes: dict[str, str] = {}
    servers: dict[str, PeerServer] = {}

    def outcome_of(peer: str, workload: str, outcome: PeerOutcome) -> None:
        if outcome.missing or outcome.error:
            reason = outcome.missing or outcome.error
            notes[peer if outcome.missing else f"{peer} {workload}"] = reason
            log(f"{workload}: {LABELS[peer]} not measured: {reason}")
        elif outcome.version:
            versions[peer] = outcome.version

    try:
        for workload in workloads:
            wanted = [] if peers_python is None else _wanted(peers, workload, notes)
            if peers_python is not None and not peers_python.exists():
                for peer in wanted:
                    missing = f"no peers' interpreter at {peers_python} (make bench-peers)"
                    outcome_of(peer, workload, PeerOutcome(missing=missing))
                wanted = []
            served = {}
            if peers_python is not None and workload != "import":
                for peer in (p for p in wanted if p in INTERLEAVED_PEERS):
                    if peer not in servers:
                        servers[peer] = PeerServer(peers_python, peer, work)
                    served[peer] = servers[peer]
            started = time.perf_counter()
            results[workload], outcomes = _interleaved(workload, sizes, work, served)
            *first, last = ["ours", "floor", *(LABELS[p] for p in served)]
            together = f"{', '.join(first)} and {last}"
            log(f"{workload}: {together} in {time.perf_counter() - started:.1f} s")
            for peer, outcome in outcomes.items():
                outcome_of(peer, workload, outcome)
            for peer in (p for p in wanted if p not in served):
                assert peers_python is not None
                started = time.perf_counter()
                if workload == "import":
                    outcome = _peer_imports(peers_python, peer, sizes, work)
                else:
                    outcome = run_peer(peers_python, peer, workload, sizes, work)
                outcome_of(peer, workload, outcome)
                if outcome.samples:
                    results[workload][peer] = outcome.samples
                    log(f"{workload}: {LABELS[peer]} in {time.perf_counter() - started:.1f} s")
    finally:
        for server in servers.values():
            server.close()
    return results, versions, notes


def _wanted(peers: Sequence[str], workload: str, notes: Mapping[str, str]) -> list[str]:
    """The peers that have ``workload`` and are not known to be missing."""
    return [p for p in peers if workload in PEER_WORKLOADS[p] and p not in notes]


# --- the table ------------------------------------------------------------------------------------


def _cell(row: _table.Row, results: _table.Results, contender: str, sizes: Sizes) -> str:
    found = _table.stat(results, row.workload, contender, row.metric)
    if found is None:
        return "—"
    scaled = found.scaled(row.scale(sizes))
    number = _table.number
    return f"{number(scaled.median)} [{number(scaled.low)}..{number(scaled.high)}]"


def _ratio(row: _table.Row, results: _table.Results, contender: str) -> str:
    found = _table.ratio(results, row.workload, row.metric, contender)
    return "—" if found is None else f"{found:.2f}x"


def render_table(results: _table.Results, sizes: Sizes) -> str:
    """The Markdown table of every row that has a measurement of ours."""
    peers = [p for p in PEERS if any(p in r for r in results.values())]
    header = ["workload", "unit", "ours", "floor", *(LABELS[p] for p in peers)]
    header += ["ours/floor", *(f"ours/{LABELS[p]}" for p in peers), "target", "met?"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in _table.ROWS:
        if _table.stat(results, row.workload, "ours", row.metric) is None:
            continue
        cells = [row.label, row.unit()]
        cells += [_cell(row, results, c, sizes) for c in ("ours", "floor", *peers)]
        cells += [_ratio(row, results, c) for c in ("floor", *peers)]
        cells += [row.target.text() if row.target else "—", _table.judge(row, results)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _commit() -> str:
    import subprocess

    root = README.parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=root,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "flowstone_nb"],
            capture_output=True,
            text=True,
            cwd=root,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {head}" + (" with uncommitted changes in flowstone_nb/" if dirty else "")


def machine(versions: dict[str, str]) -> list[str]:
    """Lines describing the machine and the versions measured."""
    ours = ", ".join(
        f"{name} {_version(name)}" for name in ("flowstone-nb", "pandas", "pyarrow", "numpy")
    )
    peers = ", ".join(f"{LABELS[p]} {v}" for p, v in versions.items()) or "none measured"
    return [
        (
            f"- machine: {os.cpu_count()} CPUs (`nproc`), {_cpu_model()}, {platform.system()} "
            f"{platform.release()}"
        ),
        (
            f"- Python {platform.python_version()}; {ours} ({_commit()}); "
            f"SQLite {sqlite3.sqlite_version}"
        ),
        f"- peers (separate virtualenv): {peers}",
    ]


def _sizes_line(sizes: Sizes) -> str:
    return (
        f"- sizes: chain {sizes.chain_assets} assets; wide {sizes.wide_layers}x{sizes.wide_width}"
        f" (two parents each); {sizes.partitions} daily partitions of {sizes.rows:,} rows x 5 "
        f"columns; {sizes.trivial_partitions} trivial partitions; "
        f"{sizes.lineage_materializations:,} materializations in the catalog "
        f"({sizes.lineage_assets} assets x {sizes.lineage_days} days x {sizes.lineage_runs} "
        f"runs); DOT for {sizes.dot_layers * sizes.dot_width:,} assets; graph of "
        f"{sizes.topo_layers * sizes.topo_width:,} nodes; at scale: {sizes.scale_partitions:,} "
        f"partitions, a root consumed by {sizes.scale_fanout:,}, {2 * sizes.scale_days + 1:,} "
        f"partitions x {sizes.scale_runs} runs, {sizes.million_materializations:,} "
        f"materializations ({sizes.million_assets} x {sizes.million_days:,} days x "
        f"{sizes.million_runs} runs), growth at {', '.join(f'{n:,}' for n in sizes.growth)}; "
        f"memory: {sizes.memory_partitions} partitions of {sizes.memory_rows:,} rows"
    )


def _growth(results: _table.Results, sizes: Sizes) -> list[str]:
    """The growth table and the catalog's size per row, when they were measured."""
    if not any(w in results for w in ("growth", "million")):
        return []
    from . import _at_scale

    return [*_at_scale.growth_lines(results, sizes), ""]


def report(
    results: _table.Results,
    sizes: Sizes,
    versions: dict[str, str],
    notes: dict[str, str],
    command: str,
) -> str:
    """The whole report: table, how it was measured, the machine, notes about peers."""
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        (
            f"Measured {when} with `{command}`. Cells: median [min..max] of "
            f"{sizes.repeat} samples ({sizes.graph_repeat} for the trivial graphs of 2 and 3, "
            f"{sizes.partition_repeat} for the partitions of 4, "
            f"{sizes.import_repeat} processes for imports, "
            f"{sizes.cache_hits} for cache hits, stores and loads, fewer for the slowest peer "
            "runs), all taken in this same invocation. Ours, the floor and Hamilton take turns, "
            "one sample each per round; in the rows of 2 and 3 and of storing and loading a "
            "frame their ratios are medians of the ratios round by round, other ratios divide "
            "medians."
        ),
        "",
        render_table(results, sizes),
        "",
        *_growth(results, sizes),
        *machine(versions),
        _sizes_line(sizes),
    ]
    lines += [f"- not measured: {LABELS.get(k.split()[0], k)}: {v}" for k, v in notes.items()]
    return "\n".join(lines) + "\n"


def update_readme(text: str, readme: Path = README) -> None:
    """Replace the results section of ``readme`` with ``text``."""
    content = readme.read_text(encoding="utf-8")
    head, _, rest = content.partition(START_MARK)
    _, _, tail = rest.partition(END_MARK)
    readme.write_text(f"{head}{START_MARK}\n{text}{END_MARK}{tail}", encoding="utf-8")


# --- the command ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="flowstone_nb against the floor and against Dagster and Hamilton.",
    )
    parser.add_argument("--sizes", choices=("full", "smoke"), default="full")
    parser.add_argument("--repeat", type=int, help="samples per measurement (default 5)")
    parser.add_argument("--only", help=f"comma-separated workloads of {', '.join(WORKLOADS)}")
    parser.add_argument("--peers-python", type=Path, help="the peers' interpreter")
    parser.add_argument("--no-peers", action="store_true", help="measure ours and the floor only")
    parser.add_argument(
        "--peers", help=f"comma-separated peers of {', '.join(PEERS)} (default all)"
    )
    parser.add_argument("--no-readme", action="store_true", help="do not update the README")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    return parser


def _selected(
    only: str | None, choices: Sequence[str] = WORKLOADS, what: str = "workload"
) -> list[str]:
    if not only:
        return list(choices)
    chosen = [name.strip() for name in only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(choices))
    if unknown:
        raise SystemExit(f"unknown {what}(s) {unknown}: choose from {', '.join(choices)}")
    return chosen


def main(argv: Sequence[str] | None = None, *, log: Log | None = None) -> str:
    """Run the suite as the command line says; return the report (also printed)."""
    args = _parser().parse_args(argv)
    sizes = FULL if args.sizes == "full" else SMOKE
    if args.repeat:
        sizes = sizes.with_repeat(args.repeat)
    workloads = _selected(args.only)
    peers = _selected(args.peers, PEERS, "peer")
    peers_python = None if args.no_peers else (args.peers_python or default_python())
    write = log or (lambda text: print(text, file=sys.stderr, flush=True))
    shown = ["python", "-m", "benchmarks", *(argv if argv is not None else sys.argv[1:])]
    with tempfile.TemporaryDirectory(prefix="flowstone-bench-") as scratch:
        results, versions, notes = run_workloads(
            workloads, sizes, Path(scratch), peers_python=peers_python, log=write, peers=peers
        )
    text = report(results, sizes, versions, notes, shlex.join(shown))
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    full_run = args.sizes == "full" and not args.only and not args.no_peers and not args.peers
    if full_run and not args.no_readme:
        update_readme(text)
    return text
