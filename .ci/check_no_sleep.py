"""Fail when a test sleeps: tests synchronise on events, futures and state instead."""

from __future__ import annotations

import re
import sys
from pathlib import Path

PATTERN = re.compile(r"\btime\.sleep\(|from time import .*\bsleep\b|asyncio\.sleep\(")


def main(root: str) -> int:
    """Return 1 and list every sleep found in the tests below ``root``."""
    offenders = [
        f"{path}:{number}: {line.strip()}"
        for path in sorted(Path(root).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PATTERN.search(line)
    ]
    for offender in offenders:
        print(f"sleep in a test: {offender}", file=sys.stderr)
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "tests"))
