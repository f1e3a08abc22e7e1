"""Defines asset ``shared`` again in another module: registering both must fail."""

from __future__ import annotations

import flowstone_nb as fs
from flowstone_nb._define.decorator import build_asset


def _shared() -> int:
    return 2


shared: fs.Asset = build_asset(_shared, {"name": "shared"})
