"""What a run did: one :class:`NodeResult` per node, gathered in a :class:`RunResult`.

This module owns the result types (and :class:`CheckOutcome`, what one data check said), the one
way each kind of result is made (:func:`computed`, :func:`reused`, :func:`not_run`) and the one
rule for what a failure was (:func:`cause`). It decides nothing about a run and writes nothing to
the catalog; :meth:`RunResult.value` only loads values the run stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._core.states import Outcome
from flowstone_nb._run.plan import Node, Plan
from flowstone_nb._storage.io.stamps import stamp_of

if TYPE_CHECKING:
    from flowstone_nb._storage.catalog import Candidate
    from flowstone_nb._storage.io import StoredValue
    from flowstone_nb._storage.store import Store
    from flowstone_nb._versioning.code_versions import PendingVersion

__all__ = ["CheckOutcome", "NodeResult", "RunResult", "cause", "computed", "not_run", "reused"]

_MISSING: Any = object()


class NodeResult(NamedTuple):
    """What happened to one node in a run (a tuple: made once per node, cheaply).

    Make one with :func:`computed`, :func:`reused` or :func:`not_run`. The result of a computed
    node is also what the recorder writes its catalog row and lineage edges from.

    Attributes
    ----------
    node
        The asset partition.
    status
        ``"computed"``, ``"reused"``, ``"failed"``, ``"skipped"`` or ``"cancelled"`` (an
        :class:`~flowstone_nb._core.states.Outcome`).
    materialization_id
        The catalog row of the value now current (the new one, or the reused one).
    data_version
        The content version of that value.
    location
        Where the value is stored.
    io_manager
        Which IO manager stored it.
    duration
        Seconds spent computing and storing (0 when reused).
    error
        The exception, when the node did not succeed.
    code_version
        The asset's code version, for a computed node (a ``PendingVersion`` is worked out when
        its row is written).
    started_at
        When a computed node started (UNIX seconds).
    rows, schema
        A summary of a computed node's value.
    consumed
        The results of the upstream values a computed node consumed, in input order.
    size_bytes, modified_ns
        The stamp of the stored value (with ``data_version``): what it is checked against
        before it is loaded (see :mod:`flowstone_nb._storage.io.stamps`).
    attempt
        Which attempt of the node the result is of: more than 1 once it was retried.
    """

    node: Node
    status: Outcome
    materialization_id: str | None = None
    data_version: str | None = None
    location: str | None = None
    io_manager: str | None = None
    duration: float = 0.0
    error: BaseException | None = None
    code_version: str | PendingVersion | None = None
    started_at: float = 0.0
    rows: int | None = None
    schema: str | None = None
    consumed: tuple[NodeResult, ...] = ()
    size_bytes: int | None = None
    modified_ns: int | None = None
    attempt: int = 1


class CheckOutcome(NamedTuple):
    """What one check said of one value (a tuple: it travels back from workers).

    Attributes
    ----------
    name, blocking, code_version
        The check, whether it blocks, and its code version when it ran.
    passed
        Whether the value passed.
    message
        What it found (``None`` when it said nothing).
    metadata
        What it returned as metadata, as JSON text (``None``: nothing).
    started_at, duration
        When it ran (UNIX seconds), and for how long.
    traceback
        The traceback, when the check raised.
    """

    name: str
    blocking: bool
    code_version: str
    passed: bool
    message: str | None
    metadata: str | None
    started_at: float
    duration: float
    traceback: str | None = None


# computed() is called once per computed node: its result is made from a tuple, without
# NodeResult's Python-level __new__ (tested equal to the result made by field name).
_new_tuple = tuple.__new__
_COMPUTED = Outcome.COMPUTED  # (a module constant: reading an enum member costs more)


def computed(  # noqa: PLR0917  # positional: called once per computed node
    node: Node,
    materialization_id: str,
    stored: StoredValue,
    duration: float,
    code_version: str | PendingVersion,
    started_at: float,
    consumed: tuple[NodeResult, ...],
    attempt: int = 1,
) -> NodeResult:
    """The result of a node computed and stored in this run.

    Parameters
    ----------
    node
        The node.
    materialization_id
        Its new catalog row.
    stored
        Where its IO manager stored the value.
    duration
        Seconds spent computing and storing it.
    code_version
        The asset's code version (or one to work out when the row is written).
    started_at
        When it started (UNIX seconds).
    consumed
        The results of the upstream values it consumed, in input order.
    attempt
        Which attempt of the node computed it.
    """
    return _new_tuple(
        NodeResult,
        (
            node,
            _COMPUTED,
            materialization_id,
            stored.data_version,
            stored.location,
            stored.io_manager,
            duration,
            None,
            code_version,
            started_at,
            stored.rows,
            stored.schema,
            consumed,
            stored.size_bytes,
            stored.modified_ns,
            attempt,
        ),
    )


def reused(node: Node, latest: Candidate) -> NodeResult:
    """The result of a node whose latest success was fresh.

    Parameters
    ----------
    node
        The node.
    latest
        Its latest success, reused as it is.
    """
    return NodeResult(
        node=node,
        status=Outcome.REUSED,
        materialization_id=latest.id,
        data_version=latest.data_version,
        location=latest.location,
        io_manager=latest.io_manager,
        size_bytes=latest.size_bytes,
        modified_ns=latest.modified_ns,
    )


def not_run(node: Node, outcome: Outcome, error: BaseException) -> NodeResult:
    """The result of a node that failed, was skipped or was cancelled.

    Parameters
    ----------
    node
        The node.
    outcome
        ``Outcome.FAILED``, ``Outcome.SKIPPED`` or ``Outcome.CANCELLED``.
    error
        What stopped it.
    """
    return NodeResult(node=node, status=outcome, error=error)


def cause(error: BaseException) -> BaseException:
    """What a failure was: the exception a library error wraps (its ``__cause__``), or itself.

    A :class:`~flowstone_nb._core.errors.MaterializationError` wraps the user's exception; a
    partition skipped because of an upstream failure carries that failure's cause.
    """
    if isinstance(error, FlowstoneError) and error.__cause__ is not None:
        return error.__cause__
    return error


@dataclass
class RunResult:
    """The outcome of executing a plan: one :class:`NodeResult` per node, and values on demand."""

    run_id: str
    plan: Plan
    results: dict[Node, NodeResult]
    store: Store
    values: dict[Node, Any] = field(default_factory=dict, repr=False)

    def value(self, node: Node) -> Any:
        """The value of ``node``: kept from the run, or loaded from the store."""
        value = self.values.get(node, _MISSING)
        if value is _MISSING:
            result = self.results[node]
            manager = self.store.io_manager(str(result.io_manager))
            asset = self.plan.assets[node.asset]
            value = manager.load_checked(
                str(result.location),
                stamp_of(result),
                config=asset.io_config,
                partition=node.text or None,
            )
            self.values[node] = value
        return value

    def discard(self, node: Node) -> None:
        """Delete ``node``'s stored value (it is unreadable), so it is written afresh."""
        result = self.results[node]
        self.store.io_manager(str(result.io_manager)).delete(str(result.location))

    @property
    def computed(self) -> list[Node]:
        """The nodes that were computed (not reused) in this run."""
        return [n for n, r in self.results.items() if r.status == Outcome.COMPUTED]
