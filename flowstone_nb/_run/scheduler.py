"""The scheduler: a plan's nodes on worker threads, each as soon as its inputs are done.

:func:`run_scheduled` runs a :class:`~flowstone_nb._run.runner.Runner`'s nodes in parallel
through :meth:`~flowstone_nb._run.runner.Runner.run_node_safely`, each as an
:class:`~flowstone_nb._run.attempts.Attempt` it watches: a failure skips only its downstream
(or, with ``fail_fast``, nothing new starts), a node past its timeout is abandoned (recorded
failed; its work stopped, or its thread left behind) and counts as failed, and a cancel (or
Ctrl-C) starts nothing new, gives the running nodes a moment to finish and then abandons them,
so the call returns within seconds even when a node is stuck. A failed attempt that its
asset's retries allow another (see :mod:`flowstone_nb._run.retries`) waits here, in the
scheduler, for its next attempt's time: no worker waits, so the other nodes go on meanwhile,
and a cancel ends the wait at once. Values no node needs any more are released as the run
goes. This module decides the order and the clock only: running, reusing and recording are the
runner's.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from flowstone_nb._core.errors import CheckFailedError, FlowstoneError
from flowstone_nb._core.states import EventKind, Outcome
from flowstone_nb._run.attempts import Attempt, WorkerThreads, cancelled_error, timeout_error
from flowstone_nb._run.plan import Node
from flowstone_nb._run.results import NodeResult, RunResult, cause, not_run
from flowstone_nb._run.retries import not_retried, out_of_retries, policy_of

if TYPE_CHECKING:
    from flowstone_nb._run.runner import Runner

__all__ = ["GRACE", "run_scheduled"]

#: Seconds a cancelled or interrupted run waits for its running nodes before abandoning them.
GRACE = 2.0
_POLL = 0.1  # seconds between looks at the cancel event and the clock while nodes run
_clock = time.perf_counter

_Running = dict[Future[NodeResult], tuple[Node, Attempt]]


class _Retry(NamedTuple):
    """A node waiting for its next attempt (in a heap: the soonest first)."""

    due: float  # when it may start (perf_counter seconds)
    order: int  # (ties keep their order, and nodes are never compared)
    node: Node


def run_scheduled(
    runner: Runner,
    *,
    max_workers: int,
    fail_fast: bool,
    cancel: threading.Event,
    retries: int | None = None,
) -> RunResult:
    """Run ``runner``'s nodes in parallel as soon as their inputs are done.

    Parameters
    ----------
    runner
        The run (its :meth:`~flowstone_nb._run.runner.Runner.timeout_of` gives each node's
        timeout).
    max_workers
        How many nodes run at once.
    fail_fast
        A failure starts no new node (otherwise only its downstream is skipped); running
        nodes finish. (A failed attempt that is tried again is not a failure yet.)
    cancel
        Set it to start no new node and, after :data:`GRACE` seconds, abandon the running
        ones.
    retries
        How many times a failed node is tried again when its asset gives no ``retries``.

    Returns
    -------
    RunResult
        One result per node of the plan: those that never ran are ``skipped`` or
        ``cancelled``; one abandoned while it ran is ``failed`` (timed out) or ``cancelled``;
        one stopped while it waited for its next attempt is ``cancelled``.
    """
    runner.warm_up()
    _Scheduler(
        runner, max_workers=max_workers, fail_fast=fail_fast, cancel=cancel, retries=retries
    ).run()
    return runner.result


class _Scheduler:
    """Runs a plan's nodes on worker threads as soon as their inputs are done."""

    def __init__(
        self,
        runner: Runner,
        *,
        max_workers: int,
        fail_fast: bool,
        cancel: threading.Event,
        retries: int | None,
    ) -> None:
        self.runner = runner
        self.max_workers = max_workers
        self.fail_fast = fail_fast
        self.halted = False  # a failure with fail_fast: start nothing new
        self.interrupted = False  # Ctrl-C (or another exception) stopped the run
        self.cancel = cancel
        plan = runner.plan
        # How each asset's nodes are tried again (None: they are not), the nodes tried again
        # (the number of their next attempt, what their last one failed with), and those
        # waiting for it, in a heap.
        self.policies = {name: policy_of(asset, retries) for name, asset in plan.assets.items()}
        self.retried: dict[Node, tuple[int, BaseException]] = {}
        self.delayed: list[_Retry] = []
        self.tickets = itertools.count()  # (the order of retries due at the same time)
        self.parents = {
            node: {up for item in plan.inputs[node] for up in item.nodes} for node in plan.order
        }
        self.children: dict[Node, list[Node]] = {node: [] for node in plan.order}
        for node, parents in self.parents.items():
            for parent in parents:
                self.children[parent].append(node)
        self.waiting = {node: len(parents) for node, parents in self.parents.items()}
        self.consumers = {node: len(kids) for node, kids in self.children.items()}
        self.targets = set(plan.targets)
        # Children of a finished node go to the front: partitions complete early (depth first),
        # and only max_workers nodes are in flight, so a cancel stops everything not started.
        self.ready = deque(n for n in plan.order if self.waiting[n] == 0)
        self.running: _Running = {}
        self.threads: WorkerThreads[NodeResult] = WorkerThreads(max_workers)

    def run(self) -> None:
        running, ready, delayed = self.running, self.ready, self.delayed
        try:
            while ready or running or delayed:
                if delayed:
                    self._wake()
                while (
                    ready
                    and len(running) < self.max_workers
                    and not self.halted
                    and not self.cancel.is_set()
                ):
                    self._start(ready.popleft())
                if self.cancel.is_set():
                    self._give_up(interrupted=False)
                    break
                if not running:
                    if not delayed or self.halted:
                        break
                    # Nothing runs: wait for the next attempt's time, or a cancel.
                    self.cancel.wait(delayed[0].due - _clock())
                    continue
                done, _ = wait(running, timeout=self._next_look(), return_when=FIRST_COMPLETED)
                for future in done:
                    node, attempt = running.pop(future)
                    self._finished(node, future.result(), attempt)
                self._expire()
        except BaseException:
            self.interrupted = True
            self.cancel.set()  # start nothing new; give started nodes a moment, then abandon them
            self._give_up(interrupted=True)
            raise
        finally:
            self.threads.shutdown()
            self._end_retries()
            self._mark_not_run()

    def _start(self, node: Node) -> None:
        retried = self.retried.get(node) if self.retried else None
        policy = self.policies[node.asset]
        attempt = Attempt(
            self.runner.timeout_of(node),
            1 if retried is None else retried[0],
            None if policy is None else policy.delay_after,
        )
        future = self.threads.submit(partial(self.runner.run_node_safely, node, attempt))
        self.running[future] = node, attempt

    def _next_look(self) -> float:
        """Seconds until the next look at the clock and the cancel event."""
        looks = [a.deadline for _, a in self.running.values() if a.deadline is not None]
        if self.delayed:
            looks.append(self.delayed[0].due)
        if not looks:
            return _POLL
        return max(0.0, min(_POLL, min(looks) - _clock()))

    def _wake(self) -> None:
        """The nodes whose next attempt is due go first (soonest first) unless the run stops."""
        if self.halted or self.cancel.is_set():
            return
        now, due = _clock(), []
        while self.delayed and self.delayed[0].due <= now:
            due.append(heapq.heappop(self.delayed).node)
        self.ready.extendleft(reversed(due))

    def _settle(self, node: Node, result: NodeResult, attempt: Attempt) -> NodeResult | None:
        """The result of a node whose attempt is over; ``None`` when another attempt follows.

        A failure that another attempt follows waits for it, unless the run is stopping: it
        is then not tried again. A node that fails after several attempts says so.
        """
        if result.status != Outcome.FAILED:
            return result
        error = result.error
        assert error is not None  # (a failed result has its error)
        delay = attempt.retry_after(error)
        if delay is None:
            if attempt.number == 1:
                return result
            failure = out_of_retries(node, attempt.number, error)
            return result._replace(error=failure, attempt=attempt.number)
        self.retried[node] = attempt.number + 1, error
        if self.halted or self.cancel.is_set():
            return self._not_retried(node)
        heapq.heappush(self.delayed, _Retry(_clock() + delay, next(self.tickets), node))
        return None

    def _stopped(self, node: Node, result: NodeResult, attempt: Attempt) -> NodeResult:
        """The result of a node whose attempt ended as the run stops (no attempt follows)."""
        settled = self._settle(node, result, attempt)
        assert settled is not None  # (the run is stopping: it waits for no next attempt)
        return settled

    def _not_retried(self, node: Node) -> NodeResult:
        """The result of ``node``, waiting for its next attempt when the run stopped."""
        number, error = self.retried[node]
        if self.interrupted:
            how = "was interrupted"
        elif self.halted:
            how = "stopped at a failure (fail_fast)"
        else:
            how = "was cancelled"
        stopped = not_retried(node, number, error, how)
        self.runner.recorder.not_run(node, EventKind.CANCELLED, str(stopped))
        return not_run(node, Outcome.CANCELLED, stopped)._replace(attempt=number - 1)

    def _end_retries(self) -> None:
        """The nodes still waiting for their next attempt as the run ends are not tried again."""
        results = self.runner.result.results
        for node in self.retried:
            if node not in results:
                results[node] = self._not_retried(node)

    def _expire(self) -> None:
        """Abandon the running nodes past their timeout: they count as failed."""
        now = _clock()
        for future, (node, attempt) in list(self.running.items()):
            if attempt.deadline is None or now < attempt.deadline:
                continue
            assert attempt.timeout is not None  # (a deadline comes from a timeout)
            error = attempt.abandon(partial(timeout_error, node, attempt.timeout))
            if error is None:
                continue  # it has just finished: its runner is recording it
            del self.running[future]
            self.threads.abandon(future)
            self._finished(node, not_run(node, Outcome.FAILED, error), attempt)

    def _give_up(self, *, interrupted: bool) -> None:
        """Wait up to :data:`GRACE` seconds for the running nodes, then abandon the rest."""
        results, running = self.runner.result.results, self.running
        until = _clock() + GRACE
        try:
            while running and (left := until - _clock()) > 0:
                done, _ = wait(running, timeout=left, return_when=FIRST_COMPLETED)
                for future in done:
                    node, attempt = running.pop(future)
                    results[node] = self._stopped(node, future.result(), attempt)
        finally:  # (also after a second Ctrl-C)
            for future, (node, attempt) in list(running.items()):
                error = attempt.abandon(partial(cancelled_error, node, interrupted=interrupted))
                if error is None:  # it has just finished: its runner is recording it
                    results[node] = self._stopped(node, future.result(), attempt)
                else:
                    self.threads.abandon(future)
                    results[node] = not_run(node, Outcome.CANCELLED, error)
            running.clear()

    def _finished(self, node: Node, result: NodeResult, attempt: Attempt) -> None:
        """Keep the result, release memory, propagate failure, queue the children now ready.

        A failed attempt that another follows is not the node's result: it waits instead.
        """
        if result.status == Outcome.FAILED:
            settled = self._settle(node, result, attempt)
            if settled is None:
                return
            result = settled
        self.runner.result.results[node] = result
        if result.status == Outcome.CANCELLED:
            return  # (its next attempt will not start: the run stops, its downstream too)
        for parent in self.parents[node]:
            self.consumers[parent] -= 1
            if self.consumers[parent] == 0 and parent not in self.targets:
                self.runner.result.values.pop(parent, None)
        if node in self.targets:
            self.runner.result.values.pop(node, None)
        if result.status == Outcome.FAILED:
            if self.fail_fast:
                self.halted = True
            self._skip_downstream(node)
            return
        ready = []
        for child in self.children[node]:
            self.waiting[child] -= 1
            if self.waiting[child] == 0:
                ready.append(child)
        self.ready.extendleft(reversed(ready))

    def _skip_downstream(self, failed: Node) -> None:
        results = self.runner.result.results
        failure = results[failed].error
        why = None if failure is None else cause(failure)
        if isinstance(why, CheckFailedError):
            # (a blocking data check is named: the upstream code ran well, its value did not pass)
            raised = f"failed its check {why.check!r}"
        else:
            raised = "failed" if why is None else f"raised {type(why).__name__}: {why}"
        frontier = list(self.children[failed])
        while frontier:
            node = frontier.pop()
            if node in results:
                continue
            # Says which upstream failed and how, so the skip explains itself everywhere.
            error = FlowstoneError(f"upstream {failed.describe()} {raised}")
            error.__cause__ = why
            results[node] = not_run(node, Outcome.SKIPPED, error)
            self.runner.recorder.not_run(node, EventKind.SKIPPED, str(error))
            frontier.extend(self.children[node])

    def _mark_not_run(self) -> None:
        results = self.runner.result.results
        for node in self.runner.plan.order:
            if node not in results:
                error = FlowstoneError("cancelled before it ran")
                results[node] = not_run(node, Outcome.CANCELLED, error)
                self.runner.recorder.not_run(node, EventKind.CANCELLED, str(error))
