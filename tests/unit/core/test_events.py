"""Events: listeners of every event, listeners of some kinds only, and changes while emitting."""

from __future__ import annotations

from collections.abc import Callable

from flowstone_nb._core.events import Event, emit, has_listeners, subscribe
from flowstone_nb._core.states import EventKind


def event(kind: str, asset: str = "a") -> Event:
    return Event(kind, asset, "", "run", {})


def test_a_listener_of_some_kinds_hears_only_those() -> None:
    heard: list[str] = []
    unsubscribe = subscribe(
        lambda e: heard.append(e.kind),
        kinds=[EventKind.BACKFILL_STARTED, EventKind.BACKFILL_FINISHED],
    )
    try:
        for kind in (EventKind.STARTED, EventKind.BACKFILL_STARTED, EventKind.BACKFILL_FINISHED):
            emit(event(kind))
    finally:
        unsubscribe()
    assert heard == ["backfill_started", "backfill_finished"]
    emit(event(EventKind.BACKFILL_STARTED))
    assert len(heard) == 2


def test_only_listeners_of_every_event_make_runs_build_node_events() -> None:
    probe = "probe"  # a kind nobody else listens to (a kernel's presenter may hear backfills)
    assert not has_listeners()
    unsubscribe = subscribe(lambda e: None, kinds=[probe])
    try:
        assert not has_listeners()  # the engine's fast path stays fast in a kernel
        assert not has_listeners(EventKind.STARTED)
        assert has_listeners(probe)
    finally:
        unsubscribe()
    assert not has_listeners(probe)
    unsubscribe = subscribe(lambda e: None)
    try:
        assert has_listeners()
        assert has_listeners(probe)
    finally:
        unsubscribe()
        unsubscribe()  # twice is harmless
    assert not has_listeners()


def test_listeners_changed_while_emitting_count_from_the_next_event() -> None:
    heard: list[tuple[str, str]] = []
    late: list[Callable[[], None]] = []

    def second(e: Event) -> None:
        heard.append(("second", e.asset))

    def first(e: Event) -> None:
        heard.append(("first", e.asset))
        if not late:
            late.append(subscribe(second))
        else:
            unsubscribe_first()

    unsubscribe_first = subscribe(first)
    try:
        emit(event(EventKind.STARTED, "x"))
        emit(event(EventKind.STARTED, "y"))
        emit(event(EventKind.STARTED, "z"))
    finally:
        unsubscribe_first()
        for unsubscribe in late:
            unsubscribe()
    assert heard == [("first", "x"), ("first", "y"), ("second", "y"), ("second", "z")]
