"""The freshness verdict: whether an asset partition's latest success can be reused as it is.

One rule, in :func:`why_stale`, for the runner (reuse the value, or compute it again) and for the
status report (fresh or stale, and why). A partition with no success has nothing to reuse; its
latest success is fresh when

* it has the asset's code version now,
* it consumed exactly the upstream values that are current now (the same partitions, with the
  same data versions: none more, none less),
* none of those upstream partitions is itself known not to be fresh (the status report's
  prediction; a run knows the upstream values it just made or reused), and
* its stored value is still the one stored: it exists, nothing known is wrong with it (a
  verification's finding), and it agrees with its stamp (see
  :mod:`flowstone_nb._storage.io.stamps`).

This module decides only: it reads no catalog and no store itself. Its callers give it the latest
success, the versions now, and a way to check a stored value; it reads each only when the checks
before it passed (the inputs a success consumed, the upstream values now, the stored value), so a
caller may give them lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Iterable
from typing import Protocol

from flowstone_nb._run.plan import Node
from flowstone_nb._storage.io.stamps import MISSING, Stamped, ValueStamp, stamp_of

__all__ = ["LatestSuccess", "stale_by_definition", "stale_by_value", "why_stale"]


class LatestSuccess(Stamped, Protocol):
    """What the verdict reads of a latest success (a catalog ``Candidate`` has all of it).

    Beside the stamp of its stored value (:class:`~flowstone_nb._storage.io.stamps.Stamped`):
    """

    @property
    def code_version(self) -> str | None:
        """The code version it was made with."""
        ...

    @property
    def inputs(self) -> Collection[tuple[str, str, str | None]]:
        """``(asset, encoded partition, data version)`` of every upstream value it consumed."""
        ...

    @property
    def io_manager(self) -> str | None:
        """The IO manager that stored its value."""
        ...

    @property
    def location(self) -> str | None:
        """Where its value is stored."""
        ...

    @property
    def value_problem(self) -> str | None:
        """What a verification found wrong with its stored value (``None``: nothing)."""
        ...


_NOTHING: frozenset[Node] = frozenset()


def why_stale(
    latest: LatestSuccess,
    code_version: str,
    upstream: Iterable[tuple[Node, str | None]],
    check: Callable[[str, str, ValueStamp], str | None],
    not_fresh: Container[Node] = _NOTHING,
) -> str:
    """Why the latest success of an asset partition cannot be reused now (``""``: it can).

    Parameters
    ----------
    latest
        Its latest successful materialization, with the inputs it consumed.
    code_version
        The asset's code version now.
    upstream
        Every upstream partition it consumes now, in input order, with the data version of
        that partition's value now (``None``: it has none).
    check
        ``check(io_manager, location, stamp)``: what differs in a stored value from its stamp
        (``None``: nothing; see ``IOManager.check``).
    not_fresh
        Upstream partitions known not to be fresh (whose values would be made again).

    Returns
    -------
    str
        ``""`` when fresh; otherwise the reason in a few words (e.g. ``"code changed"``,
        ``"upstream 'raw' changed"``, ``"stored value is gone"``, ``"stored value changed on
        disk (has 3 bytes, not the 5 recorded)"``).
    """
    reason = stale_by_definition(latest, code_version, upstream, not_fresh)
    if reason:
        return reason
    problem = latest.value_problem or check(
        str(latest.io_manager), str(latest.location), stamp_of(latest)
    )
    return stale_by_value(problem)


def stale_by_definition(
    latest: LatestSuccess,
    code_version: str,
    upstream: Iterable[tuple[Node, str | None]],
    not_fresh: Container[Node] = _NOTHING,
) -> str:
    """The first half of :func:`why_stale`: its code and its inputs (``""``: they are current).

    A caller that checks many stored values at once (the status report) asks this of each
    partition, then :func:`stale_by_value` of the values of those it passed.
    """
    if latest.code_version != code_version:
        return "code changed"
    consumed = latest.inputs
    now: set[tuple[str, str, str | None]] = set()
    for node, data_version in upstream:
        if node in not_fresh:
            return f"upstream {node.describe()!r} is not fresh"
        item = (node.asset, node.encoded, data_version)
        if item not in consumed:
            return f"upstream {node.describe()!r} changed"
        now.add(item)
    if len(now) != len(consumed):
        return "an input was removed"
    return ""


def stale_by_value(problem: str | None) -> str:
    """The second half of :func:`why_stale`: what is wrong with the stored value (``""``: none).

    ``problem`` is what a verification recorded of the value, else what checking it against
    its stamp found (``None``: nothing).
    """
    if problem is None:
        return ""
    return (
        "stored value is gone"
        if problem == MISSING
        else f"stored value changed on disk ({problem})"
    )
