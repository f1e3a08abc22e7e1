"""``python -m benchmarks.peers PEER WORKLOAD --sizes JSON --work DIR --out FILE``.

Writes ``{"samples": {metric: [seconds, ...]}, "version": "..."}`` to FILE (the peers log to
stdout and stderr as they please); when the peer is not installed in this interpreter,
``{"missing": "..."}`` and exit status 3.

``python -m benchmarks.peers PEER --serve --work DIR`` stays up instead, so that the driver can
take one sample at a time between its own: each line on stdin is a request
``{"workload": ..., "sizes": JSON}``, answered by one line on stdout, as above or
``{"error": "..."}``. Whatever the peer prints goes to stderr then.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

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
    parser.add_argument("workload", nargs="?")
    parser.add_argument("--sizes", help="JSON from Sizes.to_json()")
    parser.add_argument("--work", required=True, help="a scratch folder")
    parser.add_argument("--out", help="where to write the JSON result")
    parser.add_argument("--serve", action="store_true", help="answer requests from stdin")
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.peer, Path(args.work))
    if not (args.workload and args.sizes and args.out):
        parser.error("WORKLOAD, --sizes and --out are needed without --serve")
    out = Path(args.out)
    answer = _answer(args.peer, args.workload, Sizes.from_json(args.sizes), Path(args.work))
    out.write_text(json.dumps(answer))
    return MISSING if "missing" in answer else 0


_loaded: dict[str, ModuleType] = {}
_warm: set[tuple[str, str]] = set()


def _answer(peer: str, workload: str, sizes: Sizes, work: Path) -> dict[str, Any]:
    """Samples of ``workload`` by ``peer``, or why there are none (an error raises)."""
    module = _loaded.get(peer)
    if module is None:
        try:
            module = _loaded[peer] = importlib.import_module(PEERS[peer])
        except ImportError as error:
            return {"missing": f"{peer} is not installed ({error})"}
    if sizes != SMOKE and (peer, workload) not in _warm:
        # Warm-up at tiny sizes, as for ours: the peer's lazy imports and first-call caches.
        module.run(peer, workload, SMOKE, work)
        _warm.add((peer, workload))
    return {"samples": module.run(peer, workload, sizes, work), "version": module.version()}


def serve(peer: str, work: Path, requests: TextIO | None = None) -> int:
    """Answer one request per line of ``requests`` (stdin) until it ends; see the module doc."""
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what the peer prints goes to stderr, never among the replies
    for line in requests or sys.stdin:
        request = json.loads(line)
        try:
            answer = _answer(peer, request["workload"], Sizes.from_json(request["sizes"]), work)
        except Exception as error:  # reported to the driver, which goes on
            answer = {"error": f"{type(error).__name__}: {error}"}
        replies.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
