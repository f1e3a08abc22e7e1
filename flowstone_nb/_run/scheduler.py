"""The scheduler: a plan's nodes on worker threads, each as soon as its inputs are done.

:func:`run_scheduled` runs a :class:`~flowstone_nb._run.runner.Runner`'s nodes in parallel
through :meth:`~flowstone_nb._run.runner.Runner.run_node_safely`, each as an
:class:`~flowstone_nb._run.attempts.Attempt` it watches: a failure skips only its downstream
(or, with ``fail_fast``, nothing new starts), a node past its timeout is abandoned (recorded
failed; its work stopped, or its thread left behind) and counts as failed, and a cancel (or
Ctrl-C) starts nothing new, gives the running nodes a moment to finish and then abandons them,
so the call returns within seconds even when a node is stuck. Values no node needs any more are
released as the run goes. This module decides the order and the clock only: running, reusing
and recording are the runner's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from functools import partial
from typing import TYPE_CHECKING

from flowstone_nb._core.errors import CheckFailedError, FlowstoneError
from flowstone_nb._core.states import EventKind, Outcome
from flowstone_nb._run.attempts import Attempt, WorkerThreads, cancelled_error, timeout_error
from flowstone_nb._run.plan import Node
from flowstone_nb._run.results import NodeResult, RunResult, cause, not_run

if TYPE_CHECKING:
    from flowstone_nb._run.runner import Runner

__all__ = ["GRACE", "run_scheduled"]

#: Seconds a cancelled or interrupted run waits for its running nodes before abandoning them.
GRACE = 2.0
_POLL = 0.1  # seconds between looks at the cancel event and the clock while nodes run
_clock = time.perf_counter

_Running = dict[Future[NodeResult], tuple[Node, Attempt]]


def run_scheduled(
    runner: Runner, *, max_workers: int, fail_fast: bool, cancel: threading.Event
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
        nodes finish.
    cancel
        Set it to start no new node and, after :data:`GRACE` seconds, abandon the running
        ones.

    Returns
    -------
    RunResult
        One result per node of the plan: those that never ran are ``skipped`` or
        ``cancelled``; one abandoned while it ran is ``failed`` (timed out) or ``cancelled``.
    """
    runner.warm_up()
    _Scheduler(runner, max_workers=max_workers, fail_fast=fail_fast, cancel=cancel).run()
    return runner.result


class _Scheduler:
    """Runs a plan's nodes on worker threads as soon as their inputs are done."""

    def __init__(
        self, runner: Runner, *, max_workers: int, fail_fast: bool, cancel: threading.Event
    ) -> None:
        self.runner = runner
        self.max_workers = max_workers
        self.fail_fast = fail_fast
        self.halted = False  # a failure with fail_fast: start nothing new
        self.cancel = cancel
        plan = runner.plan
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
        running, ready = self.running, self.ready
        try:
            while ready or running:
                while (
                    ready
                    and len(running) < self.max_workers
                    and not self.halted
                    and not self.cancel.is_set()
                ):
                    self._start(ready.popleft())
                if not running:
                    break
                if self.cancel.is_set():
                    self._give_up(interrupted=False)
                    break
                done, _ = wait(running, timeout=self._next_look(), return_when=FIRST_COMPLETED)
                for future in done:
                    node, _ = running.pop(future)
                    self._finished(node, future.result())
                self._expire()
        except BaseException:
            self.cancel.set()  # start nothing new; give started nodes a moment, then abandon them
            self._give_up(interrupted=True)
            raise
        finally:
            self.threads.shutdown()
            self._mark_not_run()

    def _start(self, node: Node) -> None:
        attempt = Attempt(self.runner.timeout_of(node))
        future = self.threads.submit(partial(self.runner.run_node_safely, node, attempt))
        self.running[future] = node, attempt

    def _next_look(self) -> float:
        """Seconds until the next look at the clock and the cancel event."""
        deadlines = [a.deadline for _, a in self.running.values() if a.deadline is not None]
        if not deadlines:
            return _POLL
        return max(0.0, min(_POLL, min(deadlines) - _clock()))

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
            self._finished(node, not_run(node, Outcome.FAILED, error))

    def _give_up(self, *, interrupted: bool) -> None:
        """Wait up to :data:`GRACE` seconds for the running nodes, then abandon the rest."""
        results, running = self.runner.result.results, self.running
        until = _clock() + GRACE
        try:
            while running and (left := until - _clock()) > 0:
                done, _ = wait(running, timeout=left, return_when=FIRST_COMPLETED)
                for future in done:
                    node, _ = running.pop(future)
                    results[node] = future.result()
        finally:  # (also after a second Ctrl-C)
            for future, (node, attempt) in list(running.items()):
                error = attempt.abandon(partial(cancelled_error, node, interrupted=interrupted))
                if error is None:  # it has just finished: its runner is recording it
                    results[node] = future.result()
                else:
                    self.threads.abandon(future)
                    results[node] = not_run(node, Outcome.CANCELLED, error)
            running.clear()

    def _finished(self, node: Node, result: NodeResult) -> None:
        """Keep the result, release memory, propagate failure, queue the children now ready."""
        self.runner.result.results[node] = result
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
