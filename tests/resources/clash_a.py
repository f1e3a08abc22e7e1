"""Defines asset ``shared`` in one module, so a second module defining it can clash."""

from __future__ import annotations

import flowstone_nb as fs
from flowstone_nb._define.decorator import build_asset


def _shared() -> int:
    return 1


shared: fs.Asset = build_asset(_shared, {"name": "shared"})
