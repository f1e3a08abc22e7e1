"""Heavy dependencies (pandas, pyarrow, numpy, fsspec), imported only when a value needs them.

This module owns the one lock that serialises those imports, so that importing flowstone_nb stays
fast and no thread sees a package half-initialised. It must not import any of them itself.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

__all__ = ["lazy_import"]

_IMPORT_LOCK = threading.Lock()


def lazy_import(module: str) -> Any:
    """Import ``module`` on first use, one thread at a time.

    Serialised: backfill workers may all reach their first store at once, and a package
    imported from two threads at the same time can be seen half-initialised.

    Parameters
    ----------
    module
        A dotted module name (``"pyarrow.parquet"``).
    """
    with _IMPORT_LOCK:
        return importlib.import_module(module)
