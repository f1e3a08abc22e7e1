"""Running data checks: an asset's checks on one value, and what their outcomes do to a run.

:func:`run_checks` judges one value with each check and returns a :class:`CheckOutcome` per
check: a check that raises has failed (its traceback is kept), it does not crash the run; a
pandera schema's failure cases become the message. It is what a worker runs after storing a value
(:mod:`.remote`) and what :class:`RunChecks` runs in this process. :class:`RunChecks` is the
runner's one hook, made only for a plan with checks: :meth:`RunChecks.computed` settles a computed
node (its outcomes recorded with its row; a failed blocking check fails the node, its value kept
for inspection), :meth:`RunChecks.reusable` runs the checks a reused value has no current
outcome of (a new or edited check) on the stored value. Which checks are due, what a failure
says, and which recorded outcomes say a value fails a check (:func:`failing_outcomes`), are told
here once, for runs, results and ``fs.check_all``. This module records only through the run's
recorder.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import CheckFailedError, StoreError
from flowstone_nb._define.context import AssetContext
from flowstone_nb._define.data_checks import Check, CheckResult, check_code_version
from flowstone_nb._run.plan import Node
from flowstone_nb._run.prepare import make_context
from flowstone_nb._run.results import CheckOutcome
from flowstone_nb._storage.io.stamps import stamp_of

if TYPE_CHECKING:
    from flowstone_nb._define.asset import Asset
    from flowstone_nb._run.prepare import Step
    from flowstone_nb._run.recorder import Recorder
    from flowstone_nb._run.results import NodeResult
    from flowstone_nb._storage.catalog import Candidate, CheckRow
    from flowstone_nb._storage.store import Store

__all__ = [
    "RunChecks",
    "check_failure",
    "check_versions",
    "due_checks",
    "failing_outcomes",
    "run_checks",
]

_log = logging.getLogger("flowstone_nb.checks")
_SHOWN_CASES = 5  # failure values shown per column and check of a pandera schema


def check_versions(checks: Sequence[Check]) -> dict[str, str]:
    """The code version of each check, by name (worked out once per run)."""
    return {check.name: check_code_version(check) for check in checks}


def run_checks(
    checks: Sequence[Check],
    value: Any,
    versions: Mapping[str, str],
    context: Callable[[], AssetContext],
) -> tuple[CheckOutcome, ...]:
    """Judge ``value`` with each of ``checks``, in order; none of them raises out of here.

    Parameters
    ----------
    checks
        The checks to run.
    value
        The asset's value (one partition's).
    versions
        The code version of each check, by name (see :func:`check_versions`).
    context
        Makes the AssetContext handed to checks that take one (called once, if needed).
    """
    made: list[AssetContext] = []
    outcomes = []
    for check in checks:
        if check.takes_context and not made:
            made.append(context())
        started_at, begun = time.time(), time.perf_counter()
        try:
            passed, message, metadata = _judge(check, value, made[0] if made else None)
            trace = None
        except Exception as error:  # noqa: BLE001  # a raising check has failed: recorded
            passed, message, metadata = False, f"{type(error).__name__}: {error}", None
            trace = "".join(traceback.format_exception(error))
        outcomes.append(
            CheckOutcome(
                name=check.name,
                blocking=check.blocking,
                code_version=versions[check.name],
                passed=passed,
                message=message,
                metadata=metadata,
                started_at=started_at,
                duration=time.perf_counter() - begun,
                traceback=trace,
            )
        )
    return tuple(outcomes)


def _judge(
    check: Check, value: Any, context: AssetContext | None
) -> tuple[bool, str | None, str | None]:
    """``(passed, message, metadata as JSON)`` of one check on ``value``; raises what it raises."""
    if check.schema:
        return _validate(check.function, value)
    returned = check.function(context, value) if check.takes_context else check.function(value)
    if isinstance(returned, CheckResult):
        metadata = None if returned.metadata is None else _as_json(returned.metadata)
        return _truth(returned.passed, check), returned.message, metadata
    return _truth(returned, check), None, None


def _truth(returned: object, check: Check) -> bool:
    """``returned`` as passed or not: only a bool (NumPy's too) says that."""
    if isinstance(returned, bool) or type(returned).__name__ in ("bool_", "bool"):
        return bool(returned)
    hint = " (a Series or array: end with .all())" if hasattr(returned, "all") else ""
    raise TypeError(
        f"check {check.name!r} returned {type(returned).__name__}{hint}: return True/False or "
        "fs.CheckResult(passed, message=..., metadata=...)"
    )


def _as_json(metadata: object) -> str:
    try:
        return json.dumps(metadata, default=str, sort_keys=True)
    except (TypeError, ValueError):  # keys that are not text, circular references
        return json.dumps({"metadata": repr(metadata)})


def _validate(schema: Any, value: Any) -> tuple[bool, str | None, str | None]:
    """Validate ``value`` with a pandera schema: its failure cases become the message."""
    from pandera.errors import SchemaError, SchemaErrors

    try:
        schema.validate(value, lazy=True)
    except (SchemaErrors, SchemaError) as error:
        cases = error.failure_cases
        return False, _failure_cases_text(cases), _as_json({"failure_cases": len(cases)})
    return True, None, None


def _failure_cases_text(cases: Any) -> str:
    """One phrase per column and check of a pandera failure-case table, a few values each."""
    phrases = []
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        values = ", ".join(str(v) for v in group["failure_case"].head(_SHOWN_CASES))
        more = ", …" if len(group) > _SHOWN_CASES else ""
        where = f"column {column!r}" if isinstance(column, str) else "the table"
        phrases.append(f"{where} failed {check} ({len(group)}: {values}{more})")
    return "; ".join(phrases) or "the schema failed"


def due_checks(
    checks: Sequence[Check],
    recorded: Mapping[str, CheckRow],
    versions: Mapping[str, str],
) -> list[Check]:
    """The checks a stored value has no outcome of at their code version now (new or edited)."""
    due = []
    for check in checks:
        row = recorded.get(check.name)
        if row is None or row.code_version != versions[check.name]:
            due.append(check)
    return due


def failing_outcomes(
    latest: Iterable[CheckRow], defined: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[CheckRow]]:
    """The failed outcomes among ``latest`` (each check's latest on a value), by value.

    Parameters
    ----------
    latest
        The latest outcome of each check of some values (``Catalog.latest_checks``).
    defined
        The checks defined now of the assets that are defined, by asset: of those assets only
        these checks count, in this order. Another asset's recorded checks count, by name.
    """
    known = defined or {}
    order = {(asset, name): i for asset, names in known.items() for i, name in enumerate(names)}
    failing: dict[str, list[CheckRow]] = {}
    for row in latest:
        if not row.passed and (row.asset not in known or (row.asset, row.check_name) in order):
            failing.setdefault(row.materialization_id, []).append(row)
    for rows in failing.values():
        rows.sort(key=lambda r: (order.get((r.asset, r.check_name), 0), r.check_name))
    return failing


def check_failure(
    asset: str, node: Node, name: str, message: str | None, *, stored: bool = False
) -> CheckFailedError:
    """The error of a blocking check that failed on ``node``'s value (new, or ``stored``)."""
    on = f" on partition {node.text!r}" if node.text else ""
    if stored:
        what = (
            "It judged the stored value (the check is new or was edited): fix the data (then "
            "materialize with force=True) or the check."
        )
    else:
        what = (
            "The value is kept for inspection (fs.checks, fs.history) and fs.load keeps "
            "returning the last good one: fix the data or the check, then materialize again."
        )
    return CheckFailedError(
        f"Blocking check {name!r} of asset {asset!r} failed{on}: "
        f"{message or 'it returned False'}. {what}",
        asset=asset,
        partition=node.text or None,
        check=name,
    )


def _log_failures(asset: str, node: Node, outcomes: Sequence[CheckOutcome]) -> None:
    for outcome in outcomes:
        if not outcome.passed and not outcome.blocking:
            on = f" on partition {node.text!r}" if node.text else ""
            _log.warning(
                "Check %r of asset %r failed%s: %s (not blocking: the value is fresh and "
                "flagged; fs.checks shows it).",
                outcome.name,
                asset,
                on,
                outcome.message or "it returned False",
            )


def _first_blocking_failure(outcomes: Collection[CheckOutcome]) -> CheckOutcome | None:
    return next((o for o in outcomes if o.blocking and not o.passed), None)


class RunChecks:
    """The checks of one run's plan, and what they do to its nodes (see the module doc).

    Parameters
    ----------
    checks
        The checks of each checked asset of the plan.
    store
        Where the run's values and catalog are.
    recorder
        The run's recorder.
    values
        The run's values (a failed node's is dropped; a reused value loaded to be checked is
        kept there for its downstream).
    resources
        The run's resources, for the contexts of checks that take one.
    candidates
        The latest success of each node that may be reused: their recorded outcomes are read
        now, in one query.
    """

    def __init__(
        self,
        checks: Mapping[str, tuple[Check, ...]],
        *,
        store: Store,
        recorder: Recorder,
        values: dict[Node, Any],
        resources: Mapping[str, Any],
        candidates: Mapping[tuple[str, str], Candidate],
    ) -> None:
        self.checks = checks
        self.store = store
        self.recorder = recorder
        self.values = values
        self.resources = resources
        self.versions = {name: check_versions(found) for name, found in checks.items()}
        ids = [c.id for (asset, _), c in candidates.items() if asset in checks]
        self.recorded: dict[str, dict[str, CheckRow]] = {}
        for row in store.catalog.latest_checks(ids) if ids else ():
            self.recorded.setdefault(row.materialization_id, {})[row.check_name] = row

    def __contains__(self, asset: object) -> bool:
        return asset in self.checks

    def for_task(self, asset: str) -> tuple[tuple[Check, ...], dict[str, str]]:
        """The checks of ``asset`` and their versions, for a worker to run (none: ``()``)."""
        return self.checks.get(asset, ()), self.versions.get(asset, {})

    def _context(self, asset: Asset, node: Node) -> Callable[[], AssetContext]:
        return lambda: make_context(asset, node, self.recorder.run.run_id, self.resources)

    def computed(
        self, step: Step, result: NodeResult, outcomes: tuple[CheckOutcome, ...] | None
    ) -> NodeResult:
        """Record a computed node with its checks' outcomes (run now unless a worker did).

        Raises
        ------
        CheckFailedError
            A blocking check failed: the node's row is failed (its value stays stored).
        """
        node, asset = step.node, step.asset
        name = node.asset
        if outcomes is None:
            value = self.values[node]
            outcomes = run_checks(
                self.checks[name], value, self.versions[name], self._context(asset, node)
            )
        self.recorder.checked(node, str(result.materialization_id), outcomes)
        failure = _first_blocking_failure(outcomes)
        if failure is None:
            self.recorder.succeeded(result)
            _log_failures(name, node, outcomes)
            return result
        self.values.pop(node, None)
        error = check_failure(name, node, failure.name, failure.message)
        self.recorder.failed(
            node,
            str(result.materialization_id),
            code_version=str(result.code_version),
            io_manager=str(result.io_manager),
            error=error,
            started_at=result.started_at,
            duration=result.duration,
            stored=result,
            detail=failure.traceback or str(error),
        )
        raise error

    def reusable(self, step: Step, latest: Candidate) -> bool:
        """Run the checks ``latest``'s value has no current outcome of: may it be reused.

        ``True`` when it may; ``False`` when its stored value cannot be read (compute it
        again).

        Raises
        ------
        CheckFailedError
            A blocking check fails on the stored value (now, or when it last ran).
        """
        node, asset = step.node, step.asset
        name = node.asset
        if name not in self.checks:
            return True
        checks, versions = self.checks[name], self.versions[name]
        recorded = self.recorded.get(latest.id, {})
        due = due_checks(checks, recorded, versions)
        outcomes: tuple[CheckOutcome, ...] = ()
        if due:
            manager = self.store.io_manager(str(latest.io_manager))
            try:
                value = manager.load_checked(
                    str(latest.location),
                    stamp_of(latest),
                    config=asset.io_config,
                    partition=node.text or None,
                )
            except StoreError as error:
                _log.warning(
                    "Stored value of %s is unreadable (%s); recomputing it.", node.describe(), error
                )
                return False
            self.values[node] = value
            outcomes = run_checks(due, value, versions, self._context(asset, node))
            self.recorder.checked(node, latest.id, outcomes)
            _log_failures(name, node, outcomes)
        judged = {outcome.name: outcome for outcome in outcomes}
        for check in checks:
            if not check.blocking:
                continue
            found = judged.get(check.name) or recorded.get(check.name)
            if found is not None and not found.passed:
                self.values.pop(node, None)
                raise check_failure(name, node, check.name, found.message, stored=True)
        return True
