"""Peak memory of a partitioned Parquet backfill: ours against the floor's loop.

Each sample is a fresh process that imports what it needs, opens its store, notes its resident
size (a *warm* sample first does the first partition, as a session that has stored such a frame
before: pyarrow's and the allocators' one-time costs are paid, one partition per worker), then
runs the backfill (``memory_partitions`` daily partitions of ``memory_rows`` rows x 5
columns, each stored as Parquet) and reports how far its peak resident size (``VmHWM``, reset
before the backfill) rose above that: the memory the backfill itself held at its worst, what
the values, the encoders and the allocators kept. Ours runs ``fs.backfill`` with 1 and with 2
workers; the floor is the hand-written loop (make the frame, ``to_parquet``, next). A frame is
``memory_rows`` x 5 x 8 bytes (16 MB at 400,000 rows): the table gives the growth in MB and in
frames. Linux only (``/proc/self/status``); elsewhere the row is left empty.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ._imports import ROOT
from ._sizes import Sizes

Samples = dict[str, list[float]]

_MEASURE = """
import gc, json, sys
sys.path.insert(0, {root!r})
from benchmarks import _data

def status(field):
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise SystemExit("no " + field)

count, rows, workers, work = {count}, {rows}, {workers}, {work!r}
keys = _data.days(count)
{setup}
if {warm}:  # a process that has done this once (a first partition): one-time costs paid
{warm_up}
    keys = keys[{warmed}:]
gc.collect()
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # the peak starts again from now
before = status("VmRSS")
{run}
print(json.dumps(status("VmHWM") - before))
"""

_OURS_SETUP = """
import flowstone_nb as fs
from flowstone_nb._storage.store import get_store
fs.configure(home=work + "/home", progress=False)
get_store().catalog

@fs.asset(partitioned_by=fs.DailyPartitions(keys[0], keys[-1]))
def part_a(context):
    return _data.partition_frame(str(context.partition_key), rows)
"""
_OURS_RUN = """
result = fs.backfill("part_a", keys, max_workers=workers)
assert result.ok, result
"""
_OURS_WARM_UP = """
    assert fs.backfill("part_a", keys[:{warmed}], max_workers=workers).ok
"""
_FLOOR_SETUP = """
import os
import pyarrow
os.makedirs(work + "/a")
"""
_FLOOR_WARM_UP = """
    _data.partition_frame(keys[0], rows).to_parquet(work + "/a/" + keys[0] + ".parquet")
"""
_FLOOR_RUN = """
for day in keys:
    frame = _data.partition_frame(day, rows)
    frame.to_parquet(work + "/a/" + day + ".parquet")
    del frame
"""


def frame_bytes(sizes: Sizes) -> int:
    """The bytes of one partition's frame (5 columns of 8-byte numbers)."""
    return sizes.memory_rows * 5 * 8


def peak_growth(
    sizes: Sizes, work: Path, *, ours: bool, workers: int = 1, warm: bool = False
) -> float | None:
    """Bytes the peak resident size of one fresh backfill process rose by (``None``: no
    ``/proc`` here)."""
    if not Path("/proc/self/clear_refs").exists():
        return None
    folder = work / f"memory-{'ours' if ours else 'floor'}-{workers}-{len(list(work.iterdir()))}"
    folder.mkdir(parents=True)
    warmed = min(workers if ours else 1, sizes.memory_partitions - 1)
    warm_up = (_OURS_WARM_UP if ours else _FLOOR_WARM_UP).strip("\n").format(warmed=warmed)
    script = _MEASURE.format(
        root=str(ROOT),
        count=sizes.memory_partitions,
        rows=sizes.memory_rows,
        workers=workers,
        work=str(folder),
        setup=_OURS_SETUP if ours else _FLOOR_SETUP,
        run=_OURS_RUN if ours else _FLOOR_RUN,
        warm=warm,
        warmed=warmed,
        warm_up=warm_up,
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=folder, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the memory sample failed: {done.stderr.strip()[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def _samples(values: dict[str, float | None], sizes: Sizes) -> Samples:
    frame = frame_bytes(sizes)
    samples: Samples = {}
    for metric, value in values.items():
        if value is not None:
            samples[f"{metric}_mb"] = [value / 1e6]
            samples[f"{metric}_frames"] = [value / frame]
    return samples


def ours_memory(sizes: Sizes, work: Path) -> Samples:
    """Ours with 1 and with 2 workers, fresh and warm: one fresh process each."""
    values = {
        "rss_1": peak_growth(sizes, work, ours=True, workers=1),
        "rss_2": peak_growth(sizes, work, ours=True, workers=2),
        "rss_warm_1": peak_growth(sizes, work, ours=True, workers=1, warm=True),
        "rss_warm_2": peak_growth(sizes, work, ours=True, workers=2, warm=True),
    }
    return _samples(values, sizes)


def floor_memory(sizes: Sizes, work: Path) -> Samples:
    """The floor's loop (one at a time) against both of ours, fresh and warm."""
    cold = peak_growth(sizes, work, ours=False)
    warm = peak_growth(sizes, work, ours=False, warm=True)
    values = {"rss_1": cold, "rss_2": cold, "rss_warm_1": warm, "rss_warm_2": warm}
    return _samples(values, sizes)
