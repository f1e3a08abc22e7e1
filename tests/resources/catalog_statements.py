"""The SQL statements a call sends to the configured store's catalog, to count queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowstone_nb._storage.store import get_store


def statements_of(action: Callable[[], Any]) -> list[str]:
    """The SQL statements ``action()`` sends to the catalog (from this thread), pragmas aside."""
    statements: list[str] = []
    connection = get_store().catalog._connections.get()
    connection.set_trace_callback(statements.append)
    try:
        action()
    finally:
        connection.set_trace_callback(None)
    return [s for s in statements if not s.startswith("PRAGMA")]
