"""One freshness verdict: the rule itself, and the runner and the status report agreeing on it."""

from __future__ import annotations

from collections import Counter

import pytest

import flowstone_nb as fs
from flowstone_nb._run.freshness import why_stale
from flowstone_nb._run.plan import Node, make_node
from flowstone_nb._storage.catalog import Candidate
from flowstone_nb._storage.io import ValueStamp

RAW = make_node("raw", None, None)
DAY = Node("daily", "2024-01-01", '"2024-01-01"', "2024-01-01")


def latest(
    code_version: str = "v1", inputs: frozenset[tuple[str, str, str | None]] = frozenset()
) -> Candidate:
    return Candidate(
        id="run-0",
        asset="clean",
        partition="",
        code_version=code_version,
        data_version="d-clean",
        io_manager="filesystem",
        location="data/clean",
        size_bytes=None,
        modified_ns=None,
        value_problem=None,
        inputs=inputs,
    )


def always(io_manager: str, location: str, stamp: ValueStamp) -> str | None:
    return None


CONSUMED = frozenset({("raw", "", "d1"), ("daily", '"2024-01-01"', "d2")})
NOW = [(RAW, "d1"), (DAY, "d2")]


def test_a_success_with_the_same_code_inputs_and_stored_value_is_fresh() -> None:
    assert why_stale(latest(inputs=CONSUMED), "v1", NOW, always) == ""
    assert why_stale(latest(), "v1", [], always) == ""  # a root


@pytest.mark.parametrize(
    ("code_version", "now", "reason"),
    [
        ("v2", NOW, "code changed"),
        ("v1", [(RAW, "d1"), (DAY, "d3")], "upstream 'daily[2024-01-01]' changed"),
        ("v1", [(RAW, None), (DAY, "d2")], "upstream 'raw' changed"),  # raw has no value now
        ("v1", [(RAW, "d1")], "an input was removed"),
        ("v1", [*NOW, (make_node("extra", None, None), "d4")], "upstream 'extra' changed"),
    ],
)
def test_each_change_is_named(
    code_version: str, now: list[tuple[Node, str | None]], reason: str
) -> None:
    assert why_stale(latest(inputs=CONSUMED), code_version, now, always) == reason


def test_a_value_no_longer_stored_is_stale_and_asked_for_last() -> None:
    asked: list[tuple[str, str]] = []

    def gone(io_manager: str, location: str, stamp: ValueStamp) -> str | None:
        asked.append((io_manager, location))
        return "is missing"

    assert why_stale(latest(inputs=CONSUMED), "v1", NOW, gone) == "stored value is gone"
    assert asked == [("filesystem", "data/clean")]
    assert why_stale(latest(code_version="v2"), "v1", [], gone) == "code changed"
    assert asked == [("filesystem", "data/clean")]  # not asked when the code changed


def test_a_value_that_differs_from_its_stamp_is_stale_and_says_how() -> None:
    seen: list[ValueStamp] = []

    def edited(io_manager: str, location: str, stamp: ValueStamp) -> str | None:
        seen.append(stamp)
        return "has 3 bytes, not the 5 recorded"

    stamped = latest(inputs=CONSUMED)._replace(size_bytes=5, modified_ns=7)
    assert why_stale(stamped, "v1", NOW, edited) == (
        "stored value changed on disk (has 3 bytes, not the 5 recorded)"
    )
    assert seen == [ValueStamp("d-clean", 5, 7)]


def test_a_value_a_verification_found_damaged_is_stale_without_looking_again() -> None:
    def never(io_manager: str, location: str, stamp: ValueStamp) -> str | None:
        raise AssertionError("the recorded finding is enough")

    damaged = latest(inputs=CONSUMED)._replace(value_problem="was modified: it is not ours")
    assert why_stale(damaged, "v1", NOW, never) == (
        "stored value changed on disk (was modified: it is not ours)"
    )


def test_an_upstream_known_not_fresh_makes_its_consumers_stale_in_input_order() -> None:
    assert why_stale(latest(inputs=CONSUMED), "v1", NOW, always, {DAY}) == (
        "upstream 'daily[2024-01-01]' is not fresh"
    )
    changed = [(RAW, "d0"), (DAY, "d2")]
    assert why_stale(latest(inputs=CONSUMED), "v1", changed, always, {DAY}) == (
        "upstream 'raw' changed"
    )


def test_status_and_runner_agree_when_a_dependency_is_dropped_under_a_pinned_version() -> None:
    # The status report used to call this fresh (it compared only the inputs the asset has
    # now) while a run computed it again (the run compares every input consumed).
    calls: Counter[str] = Counter()

    @fs.asset(code_version="v1")
    def source() -> int:
        return 1

    @fs.asset(code_version="v1")
    def pinned(source: int) -> int:
        calls["pinned"] += 1
        return source + 1

    assert fs.materialize(pinned) == 2

    @fs.asset(code_version="v1", name="pinned", replace=True)
    def pinned_alone() -> int:
        calls["pinned"] += 1
        return 5

    report = fs.status()
    assert report["pinned"] == "stale"
    assert report.for_asset("pinned")[0].reason == "an input was removed"
    assert fs.materialize(pinned_alone) == 5
    assert calls["pinned"] == 2
    assert fs.status()["pinned"] == "fresh"


def test_status_and_runner_agree_on_an_unchanged_and_on_a_changed_upstream_value() -> None:
    calls: Counter[str] = Counter()

    @fs.asset
    def first() -> int:
        return 1

    @fs.asset
    def second(first: int) -> int:
        calls["second"] += 1
        return first + 1

    fs.materialize(second)
    fs.materialize(first, force=True)  # the same value again: the same content version
    assert fs.status()["second"] == "fresh"
    assert fs.materialize(second) == 2
    assert calls["second"] == 1  # reused

    @fs.asset(name="first", replace=True)
    def first_again() -> int:
        return 10

    fs.materialize(first_again)
    report = fs.status()
    assert report["second"] == "stale"
    assert report.for_asset("second")[0].reason == "upstream 'first' changed"
    assert fs.materialize(second) == 11
    assert calls["second"] == 2
