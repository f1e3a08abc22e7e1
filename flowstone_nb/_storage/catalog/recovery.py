"""Recovery: rows and runs left unfinished by processes that are gone are marked interrupted.

This module owns the rule that tells a gone process from a live one (a process on this host is
probed by its pid and mark, see :func:`~flowstone_nb._storage.processes.writer_alive`; one on
another host, or without a run record, counts as gone once its run is older than
``stale_after``) and the messages that say why. It must not touch rows of live processes, nor of
this one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from flowstone_nb._core.states import RecordStatus
from flowstone_nb._storage.catalog.writes import refresh_partitions_of
from flowstone_nb._storage.processes import writer_alive
from flowstone_nb._storage.tuples import from_values

__all__ = ["DEFAULT_STALE_AFTER", "Interrupted", "find_interrupted", "mark_interrupted"]

#: Runs from other hosts (whose processes cannot be probed) count as interrupted after this long.
DEFAULT_STALE_AFTER = 24 * 3600.0

# The condition of the index ix_mat_unfinished.
_UNFINISHED = f"status IN ('{RecordStatus.PENDING}', '{RecordStatus.RUNNING}')"
_UNFINISHED_ROWS = (
    "SELECT m.id, m.run_id, coalesce(r.started_at, m.started_at), r.pid, r.host, r.process_mark "
    f"FROM materializations AS m LEFT JOIN runs AS r ON r.run_id = m.run_id WHERE m.{_UNFINISHED}"
)
_RUNNING_RUNS = (
    "SELECT run_id, run_id, started_at, pid, host, process_mark FROM runs WHERE status = 'running'"
)
_MARK_ROW = (
    f"UPDATE materializations SET status = '{RecordStatus.FAILED}', error_type = 'Interrupted', "
    f"error_message = ? WHERE id = ? AND {_UNFINISHED}"
)
_MARK_RUN = "UPDATE runs SET status = 'interrupted' WHERE run_id = ? AND status = 'running'"


class _Unfinished(NamedTuple):
    """A row or run left unfinished, and what is known of the process that made it."""

    key: str  # the materialization id of a row, the run id of a run
    run_id: str
    started_at: float
    pid: int | None
    host: str | None
    mark: str | None


class Interrupted(NamedTuple):
    """What recovery marks: materializations with the reason, and runs.

    Attributes
    ----------
    materializations
        ``(error_message, materialization_id)`` of each row to mark failed.
    runs
        ``(run_id,)`` of each run to mark interrupted.
    """

    materializations: list[tuple[str, str]]
    runs: list[tuple[str]]


def find_interrupted(
    connection: sqlite3.Connection, *, host: str, stale_after: float
) -> Interrupted:
    """The unfinished rows and runs whose process is gone (see the module docstring).

    Parameters
    ----------
    connection
        Where to read them.
    host
        This host's name: processes on it are probed by pid.
    stale_after
        Seconds after which a run that cannot be probed counts as gone.
    """
    now = time.time()
    rows = _unfinished(connection.execute(_UNFINISHED_ROWS).fetchall())
    runs = _unfinished(connection.execute(_RUNNING_RUNS).fetchall())
    # The reason alone: error_type says "Interrupted", and readers show "type: message".
    failed = [(reason, row.key) for row in rows if (reason := _gone(row, host, now, stale_after))]
    dead_runs = [(run.key,) for run in runs if _gone(run, host, now, stale_after)]
    return Interrupted(failed, dead_runs)


def mark_interrupted(conn: sqlite3.Connection, interrupted: Interrupted) -> int:
    """Mark what :func:`find_interrupted` found, in the caller's transaction.

    Rows and runs that finished meanwhile are left as they are; the partitions of the rows
    marked have their ``partition_latest`` brought up to date. Returns how many
    materializations were marked.
    """
    marked: int = conn.executemany(_MARK_ROW, interrupted.materializations).rowcount
    conn.executemany(_MARK_RUN, interrupted.runs)
    if marked:
        refresh_partitions_of(conn, (mat_id for _, mat_id in interrupted.materializations))
    return marked


def _unfinished(found: Iterable[Sequence[Any]]) -> list[_Unfinished]:
    return [from_values(_Unfinished, values) for values in found]


def _gone(owner: _Unfinished, host: str, now: float, stale_after: float) -> str:
    """Why the owner of a run is considered gone, or ``""`` when it may be alive."""
    rerun = "Nothing was stored for it; the next materialize recomputes it."
    pid = owner.pid
    if owner.host == host and pid is not None:
        if not writer_alive(pid, owner.mark):
            return (
                f"the process that ran it (pid {pid} on {host}) ended before it finished. " + rerun
            )
        return ""
    age = now - owner.started_at
    if age <= stale_after:
        return ""
    where = f"on host {owner.host}" if owner.host is not None else "(no run record)"
    return (
        f"run {owner.run_id} {where} started {_age(age)} ago and never finished; unfinished runs "
        f"that cannot be probed count as interrupted after {_age(stale_after)}. " + rerun
    )


def _age(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds:.0f} s"
