"""The scheduler: a plan's nodes on a thread pool, each as soon as its inputs are done.

:func:`run_scheduled` runs a :class:`~flowstone_nb._run.runner.Runner`'s nodes in parallel
through :meth:`~flowstone_nb._run.runner.Runner.run_node_safely`: a failure skips only its
downstream (or, with ``fail_fast``, cancels what has not started), and a cancel stops new nodes
from starting. Values no node needs any more are released as the run goes. This module decides
the order only: running, reusing and recording are the runner's.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from flowstone_nb._core.errors import CheckFailedError, FlowstoneError
from flowstone_nb._core.states import EventKind, Outcome
from flowstone_nb._run.plan import Node
from flowstone_nb._run.results import NodeResult, RunResult, not_run

if TYPE_CHECKING:
    from flowstone_nb._run.runner import Runner

__all__ = ["run_scheduled"]


def run_scheduled(
    runner: Runner, *, max_workers: int, fail_fast: bool, cancel: threading.Event
) -> RunResult:
    """Run ``runner``'s nodes in parallel as soon as their inputs are done.

    Parameters
    ----------
    runner
        The run.
    max_workers
        How many nodes run at once.
    fail_fast
        A failure cancels every node not started yet (otherwise only its downstream is
        skipped).
    cancel
        Set it to start no new node.

    Returns
    -------
    RunResult
        One result per node of the plan: those that never ran are ``skipped`` or
        ``cancelled``.
    """
    runner.warm_up()
    _Scheduler(runner, max_workers=max_workers, fail_fast=fail_fast, cancel=cancel).run()
    return runner.result


class _Scheduler:
    """Runs a plan's nodes on a thread pool as soon as their inputs are done."""

    def __init__(
        self, runner: Runner, *, max_workers: int, fail_fast: bool, cancel: threading.Event
    ) -> None:
        self.runner = runner
        self.max_workers = max_workers
        self.fail_fast = fail_fast
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

    def run(self) -> None:
        results = self.runner.result.results
        # Children of a finished node go to the front: partitions complete early (depth first),
        # and only max_workers nodes are in flight, so a cancel stops everything not started.
        ready = deque(n for n in self.runner.plan.order if self.waiting[n] == 0)
        running: dict[Future[NodeResult], Node] = {}
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="flowstone") as pool:
            try:
                while ready or running:
                    while ready and len(running) < self.max_workers and not self.cancel.is_set():
                        node = ready.popleft()
                        running[pool.submit(self.runner.run_node_safely, node)] = node
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        node = running.pop(future)
                        results[node] = future.result()
                        ready.extendleft(reversed(self._finished(node, results[node])))
            except BaseException:
                self.cancel.set()  # start nothing new; let started nodes finish and record
                results.update({node: future.result() for future, node in running.items()})
                raise
            finally:
                self._mark_not_run()

    def _finished(self, node: Node, result: NodeResult) -> list[Node]:
        """Release memory, propagate failure, and return the children now ready to run."""
        for parent in self.parents[node]:
            self.consumers[parent] -= 1
            if self.consumers[parent] == 0 and parent not in self.targets:
                self.runner.result.values.pop(parent, None)
        if node in self.targets:
            self.runner.result.values.pop(node, None)
        if result.status == Outcome.FAILED:
            if self.fail_fast:
                self.cancel.set()
            self._skip_downstream(node, result.error)
            return []
        ready = []
        for child in self.children[node]:
            self.waiting[child] -= 1
            if self.waiting[child] == 0:
                ready.append(child)
        return ready

    def _skip_downstream(self, failed: Node, cause: BaseException | None) -> None:
        results = self.runner.result.results
        frontier = list(self.children[failed])
        # (a blocking data check is named: the upstream code ran well, its value did not pass)
        check = f" its check {cause.check!r}" if isinstance(cause, CheckFailedError) else ""
        while frontier:
            node = frontier.pop()
            if node in results:
                continue
            error = FlowstoneError(f"not run: upstream {failed.describe()!r} failed{check}")
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
