"""``python -m benchmarks.profile CASE``: cProfile one of our timed calls, setup excluded.

Cases: ``chain_define``, ``chain_run``, ``chain_again``, ``wide_define``, ``wide_run``,
``backfill``, ``cache_hit``, ``load_ext``, ``history_all``, ``dot``, ``notebook``,
``status_wide`` (the status of one asset of 10,000 partitions). Prints the
functions with the most own time and the most cumulative time (``--top`` lines each) at the
issue's sizes, tasks run on thread pools (backfill workers) included;
``--out FILE`` also keeps the raw stats for ``snakeviz``/``pstats``. A first, unprofiled run of
the same case imports every module the call needs, so imports do not cloud the profile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import _data, _gen, ours
from ._sizes import FULL, Sizes

Prepared = Iterator[Callable[[], Any]]


@contextmanager
def _graph(work: Path, parents: dict[str, list[str]], phase: str) -> Prepared:
    import flowstone_nb as fs

    module = _gen.GeneratedModule.write(work, "profiled", _gen.module_source(parents, "flowstone"))
    code = module.compiled()
    targets = _gen.leaves(parents)
    with ours.isolated(work) as (registry, _home):
        if phase == "define":
            yield lambda: ours._define(module, code, registry)
            return
        module.load(code)
        if phase == "again":
            fs.materialize(targets)
            with ours.isolated(work, registry):
                yield lambda: fs.materialize(targets)
            return
        yield lambda: fs.materialize(targets)


@contextmanager
def _partitions(work: Path, sizes: Sizes, hit: bool) -> Prepared:
    import flowstone_nb as fs

    keys = _data.days(sizes.partitions)
    with ours.isolated(work):
        ours.define_partitioned(sizes.partitions, sizes.rows)
        if hit:
            day = keys[len(keys) // 2]
            fs.materialize("part_b", partition=day)
            yield lambda: [fs.materialize("part_b", partition=day) for _ in range(20)]
        else:
            yield lambda: fs.backfill("part_b", f"{keys[0]}..{keys[-1]}", max_workers=1)


@contextmanager
def _load_ext(work: Path) -> Prepared:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    del work
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    yield lambda: shell.run_line_magic("load_ext", "flowstone_nb")


@contextmanager
def _history(work: Path, sizes: Sizes) -> Prepared:
    import flowstone_nb as fs

    home = ours.prepare_lineage(sizes, work)
    with ours.isolated(work, home=home):
        ours.define_lineage_chain(sizes)
        fs.history("s09")
        yield lambda: fs.history("s09")


@contextmanager
def _status_wide(work: Path, sizes: Sizes) -> Prepared:
    import flowstone_nb as fs

    from . import _scale

    home = _scale.status_home(sizes, work)
    with ours.isolated(work, home=home):
        _scale.define_status(sizes)
        fs.status("wide_daily")
        yield lambda: fs.status("wide_daily")


@contextmanager
def _dot(work: Path, sizes: Sizes) -> Prepared:
    import flowstone_nb as fs

    parents = _gen.wide_parents(sizes.dot_layers, sizes.dot_width)
    module = _gen.GeneratedModule.write(work, "profiled", _gen.module_source(parents, "flowstone"))
    with ours.isolated(work):
        module.load()
        yield lambda: fs.graph().source


@contextmanager
def _notebook(work: Path) -> Prepared:
    from flowstone_nb._notebook.loader import load_definitions

    path = ours.write_notebook(work)
    with ours.isolated(work), ours.fresh_shell(work):
        yield lambda: load_definitions(path)


def _case(name: str, work: Path, sizes: Sizes) -> Any:
    chain = _gen.chain_parents(sizes.chain_assets)
    wide = _gen.wide_parents(sizes.wide_layers, sizes.wide_width)
    cases: dict[str, Callable[[], Any]] = {
        "chain_define": lambda: _graph(work, chain, "define"),
        "chain_run": lambda: _graph(work, chain, "run"),
        "chain_again": lambda: _graph(work, chain, "again"),
        "wide_define": lambda: _graph(work, wide, "define"),
        "wide_run": lambda: _graph(work, wide, "run"),
        "backfill": lambda: _partitions(work, sizes, hit=False),
        "cache_hit": lambda: _partitions(work, sizes, hit=True),
        "load_ext": lambda: _load_ext(work),
        "history_all": lambda: _history(work, sizes),
        "dot": lambda: _dot(work, sizes),
        "notebook": lambda: _notebook(work),
        "status_wide": lambda: _status_wide(work, sizes),
    }
    return cases[name]()


CASES = (
    "chain_define",
    "chain_run",
    "chain_again",
    "wide_define",
    "wide_run",
    "backfill",
    "cache_hit",
    "load_ext",
    "history_all",
    "dot",
    "notebook",
    "status_wide",
)


@contextmanager
def _pool_threads_profiled(profilers: list[cProfile.Profile]) -> Iterator[None]:
    """Profile every task a thread pool runs (cProfile only sees the thread that enables it).

    The pools: the standard library's, and the worker threads of scheduled runs (backfills).
    """
    from concurrent.futures import thread

    from flowstone_nb._run import attempts

    def profiled(original: Any) -> Any:
        def run(self: Any) -> None:
            profiler = cProfile.Profile()
            profilers.append(profiler)
            profiler.enable()
            try:
                original(self)
            finally:
                profiler.disable()

        return run

    originals = (thread._WorkItem.run, attempts._Job.run)
    thread._WorkItem.run = profiled(originals[0])  # type: ignore[method-assign]  # restored below
    attempts._Job.run = profiled(originals[1])  # type: ignore[method-assign]  # restored below
    try:
        yield
    finally:
        thread._WorkItem.run, attempts._Job.run = originals  # type: ignore[method-assign]


def profile(name: str, *, sizes: Sizes = FULL, top: int = 25, out: Path | None = None) -> str:
    """Profile case ``name`` (and the pool threads it starts); return the two listings."""
    profilers: list[cProfile.Profile] = []
    with tempfile.TemporaryDirectory(prefix="flowstone-profile-") as scratch:
        with _case(name, Path(scratch), sizes) as call:
            call()  # a warm-up case: imports every module the call needs, outside the profile
        with _case(name, Path(scratch), sizes) as call, _pool_threads_profiled(profilers):
            main_thread = cProfile.Profile()
            main_thread.runcall(call)
    text = io.StringIO()
    stats = pstats.Stats(main_thread, *profilers, stream=text)
    if out is not None:
        stats.dump_stats(out)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return text.getvalue()


def main(argv: list[str] | None = None) -> None:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("case", choices=CASES)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    print(profile(args.case, top=args.top, out=args.out))


if __name__ == "__main__":
    main()
