"""What a store home holds on its filesystem, for tests of the IO managers."""

from __future__ import annotations

import fsspec


def files_under(home: str) -> list[str]:
    """Every file below ``home``, relative to it, temp files included."""
    fs, root = fsspec.core.url_to_fs(home)
    if not fs.exists(root):
        return []
    prefix = root.rstrip("/") + "/"
    return sorted(str(p).removeprefix(prefix) for p in fs.find(root))
