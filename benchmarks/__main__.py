"""``python -m benchmarks``: see :mod:`benchmarks._driver` and ``benchmarks/README.md``."""

from __future__ import annotations

from ._driver import main

if __name__ == "__main__":
    main()
