"""``python -m benchmarks.peers PEER WORKLOAD --sizes JSON --work DIR --out FILE``.

Writes ``{"samples": {metric: [seconds, ...]}, "version": "..."}`` to FILE (the peers log to
stdout and stderr as they please); when the peer is not installed in this interpreter,
``{"missing": "..."}`` and exit status 3.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from .._sizes import SMOKE, Sizes

PEERS = {
    "hamilton": "benchmarks.peers.with_hamilton",
    "dagster": "benchmarks.peers.with_dagster",
    "dagster_sqlite": "benchmarks.peers.with_dagster",
}
MISSING = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers")
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("workload")
    parser.add_argument("--sizes", required=True, help="JSON from Sizes.to_json()")
    parser.add_argument("--work", required=True, help="a scratch folder")
    parser.add_argument("--out", required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        module = importlib.import_module(PEERS[args.peer])
    except ImportError as error:
        out.write_text(json.dumps({"missing": f"{args.peer} is not installed ({error})"}))
        return MISSING
    sizes = Sizes.from_json(args.sizes)
    if sizes != SMOKE:
        # Warm-up at tiny sizes, as for ours: the peer's lazy imports and first-call caches.
        module.run(args.peer, args.workload, SMOKE, Path(args.work))
    samples = module.run(args.peer, args.workload, sizes, Path(args.work))
    out.write_text(json.dumps({"samples": samples, "version": module.version()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
