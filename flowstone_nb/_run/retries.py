"""Retries: whether a failed attempt of a node gets another, after how long, and what is said.

An asset's retry options (``retries``, ``retry_delay``, ``retry_backoff``, ``retry_on``), with a
run's ``retries=`` as the default of assets that give none, make its :class:`RetryPolicy`. The
scheduler (:mod:`flowstone_nb._run.scheduler`) hands each attempt of a node the policy of its
asset; when the attempt fails, :meth:`RetryPolicy.delay_after` says whether another follows and
after how many seconds, once per attempt (:meth:`~flowstone_nb._run.attempts.Attempt.retry_after`),
so that the runner, which records the failure, and the scheduler, which waits, hear the same
answer. What is retried is :func:`retried_failure`'s rule. A node out of attempts fails with
:func:`out_of_retries`; one whose next attempt never starts (the run was cancelled, interrupted,
or stopped at a failure) ends with :func:`not_retried`. This module decides and words; the
waiting is the scheduler's, and it runs and records nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from flowstone_nb._core.errors import (
    FlowstoneError,
    MaterializationError,
    MaterializationTimeoutError,
    WorkerDiedError,
)
from flowstone_nb._run.attempts import what
from flowstone_nb._run.results import cause

if TYPE_CHECKING:
    from flowstone_nb._define.asset import Asset
    from flowstone_nb._run.plan import Node

__all__ = [
    "LONGEST_WAIT",
    "RetryPolicy",
    "after_attempts",
    "failed_as",
    "not_retried",
    "out_of_retries",
    "policy_of",
    "retried_failure",
]

#: Seconds the wait before a retry lasts at most, however it grows (a day).
LONGEST_WAIT = 86400.0


class RetryPolicy(NamedTuple):
    """How a node of one asset is tried again.

    Attributes
    ----------
    retries
        How many attempts may follow the first.
    delay
        Seconds before the first retry.
    backoff
        What each later wait is multiplied by.
    retry_on
        The exception types worth another attempt.
    """

    retries: int
    delay: float
    backoff: float
    retry_on: tuple[type[BaseException], ...]

    def delay_after(self, number: int, error: BaseException) -> float | None:
        """Seconds before attempt ``number + 1``, attempt ``number`` having failed with ``error``.

        ``None``: there is none (``number`` was the last attempt allowed, or ``error`` is not
        one to retry).
        """
        if number > self.retries:
            return None
        failure = retried_failure(error)
        if failure is None or not isinstance(failure, self.retry_on):
            return None
        try:
            wait = self.delay * self.backoff ** (number - 1)
        except OverflowError:  # (a backoff over hundreds of retries)
            return LONGEST_WAIT
        return float(min(wait, LONGEST_WAIT))


def policy_of(asset: Asset, retries: int | None) -> RetryPolicy | None:
    """The retry policy of ``asset``'s nodes in a run whose ``retries=`` is ``retries``.

    The asset's own ``retries`` wins (0 included); ``None`` when its nodes get no retry.
    """
    count = retries if asset.retries is None else asset.retries
    if not count:
        return None
    return RetryPolicy(count, asset.retry_delay, asset.retry_backoff, asset.retry_on)


def retried_failure(error: BaseException) -> BaseException | None:
    """What of a failure ``retry_on=`` is matched against; ``None``: it is never retried.

    An error of the asset's code (raised as it is, or as the runner wraps it in a
    ``MaterializationError``), a timeout (a ``TimeoutError``) and a worker that died (a
    ``WorkerDiedError``) may be retried. The library's own refusals (a failed blocking check,
    a store that cannot be written, a value other workers cannot read), a cancel and an
    interruption never are.
    """
    if isinstance(error, (MaterializationTimeoutError, WorkerDiedError)):
        return error  # the attempt ran too long or lost its worker: another may not
    if isinstance(error, FlowstoneError):
        return error.__cause__ if type(error) is MaterializationError else None
    return error if isinstance(error, Exception) else None


def _said(error: BaseException) -> str:
    failure = cause(error)
    return f"{type(failure).__name__}: {failure}"


def _says_attempts(attempts: int, error: BaseException) -> bool:
    """Whether a node that failed on attempt ``attempts`` with ``error`` says how many it had.

    It does after several, with an error of the kind retries are for; any other (a failed
    blocking check, a store that cannot write) says what went wrong as it is.
    """
    return attempts > 1 and retried_failure(error) is not None


def after_attempts(attempts: int, error: BaseException) -> str:
    """How a node out of attempts failed: ``after 3 attempts; the last: ValueError: boom``."""
    return f"after {attempts} attempts; the last: {_said(error)}"


def failed_as(attempts: int, error: BaseException) -> str:
    """What the announcement of a node's last attempt, ``attempts``, failed with ``error``, says.

    Views show it after "failed": the error's words, or :func:`after_attempts`'.
    """
    return after_attempts(attempts, error) if _says_attempts(attempts, error) else str(error)


def out_of_retries(node: Node, attempts: int, error: BaseException) -> BaseException:
    """The error of ``node``, whose last of ``attempts`` attempts failed with ``error``.

    One that says how many attempts there were (see :func:`_says_attempts`; otherwise
    ``error`` itself): of ``error``'s class for a timeout or a dead worker (a timeout stays a
    ``TimeoutError``), else a ``MaterializationError``, its ``__cause__`` what the last attempt
    raised.
    """
    if not _says_attempts(attempts, error):
        return error
    kind: type[MaterializationError] = MaterializationError
    if isinstance(error, (MaterializationTimeoutError, WorkerDiedError)):
        kind = type(error)
    failure = cause(error)
    made = kind(
        f"{what(node)} failed {after_attempts(attempts, error)}. Every attempt is recorded "
        "with its error (fs.history, one row each); the last good value, if there is one, "
        "stays loadable (fs.load). Fix the cause and materialize again, or allow more "
        "attempts (retries=).",
        asset=node.asset,
        partition=node.key,
    )
    made.__cause__ = failure
    return made


def not_retried(node: Node, number: int, error: BaseException, how: str) -> FlowstoneError:
    """The error of ``node``, whose attempt ``number`` never started: the run ``how``.

    ``error`` is what the attempt before it failed with (its ``__cause__``).
    """
    made = FlowstoneError(
        f"{what(node)} was not tried again: the run {how} while it waited for attempt "
        f"{number} (attempt {number - 1} failed with {_said(error)}). Run it again to resume."
    )
    made.__cause__ = cause(error)
    return made
