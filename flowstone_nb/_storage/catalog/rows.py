"""The catalog's rows: what it records and returns, and how query results become rows.

This module owns the row types (:class:`MaterializationRow`, :class:`LineageEdge`,
:class:`Candidate`, :class:`RunRow`, :class:`PartitionState`, :class:`PartitionLatest`,
:class:`CheckRow`) and the statuses a materialization row may have. Code outside this module
reads rows by field name; a result tuple whose columns are a row's fields in order becomes a row
through :func:`~flowstone_nb._storage.tuples.from_values`, any other is turned into rows here,
and none is sliced by position elsewhere. It must not run SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from flowstone_nb._core.errors import StoreError, did_you_mean
from flowstone_nb._core.states import RecordStatus
from flowstone_nb._storage.tuples import from_values

__all__ = [
    "Candidate",
    "CheckRow",
    "LineageEdge",
    "MaterializationRow",
    "PartitionLatest",
    "PartitionState",
    "Reached",
    "RunRow",
    "candidates_from",
    "check_rows_from",
    "check_status",
    "run_from_values",
    "run_values",
    "states_from",
    "whole_rows",
]

# The text of every status a materialization may have, in RecordStatus's order (as text, so that
# messages name them plainly).
_STATUS_TEXTS: tuple[str, ...] = tuple(status.value for status in RecordStatus)


class MaterializationRow(NamedTuple):
    """One attempt to compute and store one asset partition (an immutable named tuple).

    Attributes
    ----------
    id
        Chosen by the caller (32 random hex digits).
    run_id
        The run it belongs to.
    asset
        The asset name.
    partition
        The encoded partition key, ``""`` when the asset is not partitioned.
    status
        A :class:`~flowstone_nb._core.states.RecordStatus` (or its text).
    started_at, ended_at
        UNIX seconds.
    duration
        Seconds spent computing and storing.
    code_version, data_version
        The asset's code version, and the content version of the stored value.
    io_manager, location
        Which IO manager stored the value, and where.
    rows, schema
        Summary of the value.
    error_type, error_message, traceback
        What went wrong, for failed attempts.
    size_bytes, modified_ns
        The stored value's size, and its file's modification time in nanoseconds, when it was
        stored: its stamp, with ``data_version`` (``None`` when unknown: in memory, on homes
        that keep no time, in rows recorded before stamps were).
    value_problem
        What a verification (``fs.verify``) or ``fs.prune`` found wrong with the stored value
        since (``"was modified: ..."``, ``"was pruned"``); ``None`` when nothing is known.
    attempt
        Which attempt of its partition in its run this is: 1, then 2, 3 ... for the retries
        of an asset with ``retries=`` (each attempt has its own row).
    """

    id: str
    run_id: str
    asset: str
    partition: str
    status: str
    started_at: float
    ended_at: float | None = None
    duration: float | None = None
    code_version: str | None = None
    data_version: str | None = None
    io_manager: str | None = None
    location: str | None = None
    rows: int | None = None
    schema: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    size_bytes: int | None = None
    modified_ns: int | None = None
    value_problem: str | None = None
    attempt: int = 1


class LineageEdge(NamedTuple):
    """Materialization ``materialization_id`` consumed materialization ``upstream_id``."""

    materialization_id: str
    upstream_id: str
    upstream_asset: str
    upstream_partition: str
    upstream_data_version: str | None


class Reached(NamedTuple):
    """A materialization a lineage walk reached, with what a view shows of it.

    Attributes
    ----------
    depth
        How many edges from the start (1 = adjacent); its shortest distance.
    id
        The materialization reached.
    via
        The materialization on the start's side of the edge that reached it.
    asset, partition, data_version
        What it is (from the edge when walking upstream, so a forgotten input still reads).
    finished_at, rows
        When it finished and its row count, when known.
    status
        Its status, or ``None`` when the catalog no longer has its row (forgotten).
    """

    depth: int
    id: str
    via: str
    asset: str
    partition: str
    data_version: str | None
    finished_at: float | None
    rows: int | None
    status: str | None


class CheckRow(NamedTuple):
    """The outcome of one data check on one materialized value (an immutable named tuple).

    Attributes
    ----------
    materialization_id
        The materialization whose value was checked.
    run_id
        The run that checked it (the one that made it, or a later one: an edited check runs
        again on the stored value).
    asset, partition
        As in :class:`MaterializationRow`.
    check_name
        The check's name, unique among its asset's checks.
    passed, blocking
        Whether the value passed; whether the check was blocking then.
    code_version
        The check's code version when it ran.
    message
        What it found (a failing pandera schema's failure cases, a raised error ...).
    metadata
        What it returned as metadata, as JSON text.
    started_at, duration
        When it ran (UNIX seconds), and for how long.
    traceback
        The traceback, when the check raised.
    """

    materialization_id: str
    run_id: str
    asset: str
    partition: str
    check_name: str
    passed: bool
    blocking: bool
    code_version: str | None
    message: str | None
    metadata: str | None
    started_at: float
    duration: float
    traceback: str | None = None


def check_rows_from(found: Iterable[Sequence[Any]]) -> list[CheckRow]:
    """Check rows from result tuples of their fields in order (SQLite's 0/1 made booleans)."""
    rows = []
    for values in found:
        row = from_values(CheckRow, values)
        rows.append(row._replace(passed=bool(row.passed), blocking=bool(row.blocking)))
    return rows


class Candidate(NamedTuple):
    """The newest success of one asset partition, as the engine checks it for reuse.

    Attributes
    ----------
    id, asset, partition, code_version, data_version, io_manager, location
        As in :class:`MaterializationRow`.
    size_bytes, modified_ns, value_problem
        As in :class:`MaterializationRow`: with ``data_version``, what the value is checked
        against before it is reused or loaded.
    inputs
        ``(asset, partition, data_version)`` of every input it consumed.
    """

    id: str
    asset: str
    partition: str
    code_version: str | None
    data_version: str | None
    io_manager: str | None
    location: str | None
    size_bytes: int | None
    modified_ns: int | None
    value_problem: str | None
    inputs: frozenset[tuple[str, str, str | None]]


@dataclass(frozen=True, slots=True)
class PartitionState:
    """The catalog's view of one asset partition.

    Attributes
    ----------
    success
        The latest successful materialization, if any.
    last
        The latest attempt, whatever its status.
    """

    success: MaterializationRow | None
    last: MaterializationRow


class PartitionLatest(NamedTuple):
    """One partition's newest attempt, and its newest success as the freshness verdict reads it.

    The table ``partition_latest`` holds one per partition recorded (but its inputs), kept by
    every write (see :mod:`.writes`); the status report reads them (see :mod:`.status_reads`).

    Attributes
    ----------
    partition
        The encoded partition key (``""`` when unpartitioned).
    last_status, last_error_type, last_error_message, last_id
        The newest attempt's status, error (for failures) and materialization id; all ``None``
        when the newest attempt is the newest success (the common case: nothing to read twice).
    id
        The newest success's materialization id (``None``: the partition has no success; then
        every field below is ``None`` too).
    code_version, data_version, io_manager, location, size_bytes, modified_ns, value_problem
        Of the newest success, as in :class:`MaterializationRow`.
    ended_at
        When the newest success finished (UNIX seconds).
    inputs
        ``(asset, partition, data_version)`` of every upstream value the success consumed.
    """

    partition: str
    last_status: str | None
    last_error_type: str | None
    last_error_message: str | None
    last_id: str | None
    id: str | None
    code_version: str | None
    data_version: str | None
    io_manager: str | None
    location: str | None
    size_bytes: int | None
    modified_ns: int | None
    value_problem: str | None
    ended_at: float | None
    inputs: frozenset[tuple[str, str, str | None]]


class RunRow(NamedTuple):
    """One call of materialize or backfill, and the process that made it (a named tuple).

    Attributes
    ----------
    pid, host, process_mark
        The process that made it: its pid on ``host``, and its mark (see
        :mod:`flowstone_nb._storage.processes`), which tells it from a later process with the
        same pid; ``None`` where the system has no mark, or in catalogs older than marks.
    """

    run_id: str
    started_at: float
    ended_at: float | None
    status: str
    pid: int
    host: str
    kind: str
    targets: tuple[str, ...]
    process_mark: str | None = None


# Rows may be given without the fields from their stamp on, which then take their defaults
# (see whole_rows).
_ROW_WIDTH = len(MaterializationRow._fields)
_STAMPLESS_WIDTH = MaterializationRow._fields.index("size_bytes")
_LAST_DEFAULTS = tuple(
    MaterializationRow._field_defaults[field]
    for field in MaterializationRow._fields[_STAMPLESS_WIDTH:]
)


def whole_rows(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """``rows`` (materialization rows, or tuples of their values in field order) with every field.

    A tuple may stop before ``size_bytes``: callers that know no stamp give rows so. Their
    stamp is recorded as unknown (``None``), no problem is known of their value, and they are
    first attempts.
    """
    for row in rows:
        width = len(row)
        yield row if width == _ROW_WIDTH else (*row, *_LAST_DEFAULTS[width - _STAMPLESS_WIDTH :])


# Every field of a candidate but its inputs comes from the materialization itself.
_CANDIDATE_OWN_FIELDS = len(Candidate._fields) - 1


def candidates_from(found: Iterable[Sequence[Any]]) -> dict[tuple[str, str], Candidate]:
    """Gather candidates, keyed by ``(asset, partition)``, from a join with their inputs.

    Parameters
    ----------
    found
        Result tuples: the fields of a :class:`Candidate` but ``inputs``, then the
        ``(asset, partition, data_version)`` of one input it consumed (``NULL`` for none). A
        candidate comes once per input.
    """
    own: dict[str, Sequence[Any]] = {}
    inputs: dict[str, set[tuple[str, str, str | None]]] = {}
    for values in found:
        mat_id = values[0]
        if mat_id not in own:
            own[mat_id] = values[:_CANDIDATE_OWN_FIELDS]
            inputs[mat_id] = set()
        consumed = values[_CANDIDATE_OWN_FIELDS:]
        if consumed[0] is not None:
            inputs[mat_id].add(tuple(consumed))  # (a tuple's slice is a tuple: no copy)
    candidates: dict[tuple[str, str], Candidate] = {}
    for mat_id, fields in own.items():
        candidate = from_values(Candidate, (*fields, frozenset(inputs[mat_id])))
        candidates[candidate.asset, candidate.partition] = candidate
    return candidates


def states_from(found: Iterable[Sequence[Any]]) -> dict[tuple[str, str], PartitionState]:
    """Gather the state of each ``(asset, partition)`` from its newest attempt and success.

    Parameters
    ----------
    found
        Result tuples: the fields of a :class:`MaterializationRow`, then whether it is its
        partition's newest attempt, then whether it is its newest success (a row may be both).
    """
    last: dict[tuple[str, str], MaterializationRow] = {}
    success: dict[tuple[str, str], MaterializationRow] = {}
    for *values, is_last, is_success in found:
        row = from_values(MaterializationRow, values)
        key = (row.asset, row.partition)
        if is_last:
            last[key] = row
        if is_success:
            success[key] = row
    return {key: PartitionState(success.get(key), row) for key, row in last.items()}


def run_values(run: RunRow) -> tuple[Any, ...]:
    """The values of ``run`` as its table stores them, in field order (targets as JSON)."""
    stored: dict[str, Any] = run._asdict()
    stored["targets"] = json.dumps(list(run.targets))
    return tuple(stored.values())


def run_from_values(values: Sequence[Any]) -> RunRow:
    """The run whose stored values (see :func:`run_values`) are ``values``."""
    fields = dict(zip(RunRow._fields, values, strict=True))
    fields["targets"] = tuple(json.loads(fields["targets"]))
    return RunRow(**fields)


def check_status(status: str, where: str, *, consequence: str = "") -> None:
    """Raise unless ``status`` is a materialization status.

    Parameters
    ----------
    status
        The text to check.
    where
        Where it was found, for the message (``"in history(statuses=...)"``).
    consequence
        A sentence appended to the message (what was not done).

    Raises
    ------
    StoreError
        Naming the known statuses and the closest ones.
    """
    if status not in _STATUS_TEXTS:
        raise StoreError(
            f"Status {status!r} {where} is not one of {', '.join(_STATUS_TEXTS)}."
            f"{did_you_mean(status, _STATUS_TEXTS)}{consequence}"
        )
