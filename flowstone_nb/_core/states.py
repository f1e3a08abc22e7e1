"""Every state a user can see, as enums, and the one colour table they are drawn with.

Five vocabularies meet in the views, and each has one enum here:

* :class:`Freshness`: what the status report says of an asset's partition now;
* :class:`Outcome`: what one run did to one node (a backfill's per-partition result);
* :class:`RecordStatus`: a catalog row's state;
* :class:`EventKind`: the steps a run announces to live views (and a backfill's start and end);
* :class:`CheckState`: what the data checks say of a value, shown beside its status (a failing
  non-blocking check leaves a value fresh: the views mark it, they do not recolour it).

They are :class:`~enum.StrEnum`, so a state compares equal to its text and is stored, printed and
sent as that text. A word shared by two vocabularies ("failed", "running", "skipped", "reused")
is one state: it has one colour, whatever view shows it. This module imports nothing of
flowstone_nb and nothing outside the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "FORGOTTEN",
    "PALETTE",
    "UNKNOWN",
    "CheckState",
    "Colour",
    "EventKind",
    "Freshness",
    "Outcome",
    "RecordStatus",
    "strong_colour",
    "tint_colour",
]


class Freshness(StrEnum):
    """What the store says of one asset partition now."""

    FRESH = "fresh"
    STALE = "stale"
    MISSING = "missing"
    FAILED = "failed"
    RUNNING = "running"


class Outcome(StrEnum):
    """What one run did to one node."""

    COMPUTED = "computed"
    REUSED = "reused"
    FAILED = "failed"
    SKIPPED = "skipped"  # an upstream failed, so this node was not run
    CANCELLED = "cancelled"  # the run was cancelled before this node started


class RecordStatus(StrEnum):
    """The state of one materialization row in the catalog."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"


class EventKind(StrEnum):
    """A step of a run, as live views hear of it: a node's step, or a whole run's announcement."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    REUSED = "reused"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    # A data check judged a node's value (passed or not: the event's detail says; no colour).
    CHECKED = "checked"
    # An attempt of a node failed and another follows (no colour: the node is still on its
    # way; the detail gives the error, the attempt's number and the seconds until the next).
    RETRYING = "retrying"
    # Announcements of a whole backfill (no partition, no colour: they are not a state).
    BACKFILL_STARTED = "backfill_started"
    BACKFILL_FINISHED = "backfill_finished"


class CheckState(StrEnum):
    """What the data checks say of one value (of one partition)."""

    PASSED = "passed"
    FAILING = "failing"  # at least one check's latest outcome on the value is a failure


#: The text of a state no table knows (the graph draws an asset it has no status for with it).
UNKNOWN = "unknown"
#: The status of a lineage entry whose catalog row is gone (``fs.forget(..., purge=True)``).
FORGOTTEN = "forgotten"


class Colour(NamedTuple):
    """How a state is drawn: ``strong`` fills labels and outlines, ``tint`` fills graph nodes."""

    strong: str
    tint: str


_GREEN = Colour("#2e7d32", "#c8e6c9")
_GREY = Colour("#9e9e9e", "#eeeeee")
_RED = Colour("#c62828", "#ffcdd2")
_BLUE = Colour("#1565c0", "#bbdefb")
# A failing check marks a value (a ring, a flag) whatever its status: a hue no status has.
_MAGENTA = Colour("#ad1457", "#f8bbd0")
# Skipped (an upstream failed) is neither a failure of its own (red) nor waiting (grey).
_PURPLE = Colour("#7b1fa2", "#e1bee7")

#: The one colour table: every state of every vocabulary, by its text.
PALETTE: Mapping[str, Colour] = MappingProxyType(
    {
        Freshness.FRESH: _GREEN,
        Freshness.STALE: Colour("#ef6c00", "#ffe0b2"),
        Freshness.MISSING: _GREY,
        Freshness.FAILED: _RED,
        Freshness.RUNNING: _BLUE,
        Outcome.COMPUTED: _GREEN,
        Outcome.REUSED: Colour("#558b2f", "#dcedc8"),
        Outcome.SKIPPED: _PURPLE,
        Outcome.CANCELLED: Colour("#757575", "#e0e0e0"),
        RecordStatus.SUCCESS: _GREEN,
        RecordStatus.PENDING: _GREY,
        EventKind.STARTED: _BLUE,
        EventKind.SUCCEEDED: _GREEN,
        CheckState.PASSED: _GREEN,
        CheckState.FAILING: _MAGENTA,
        UNKNOWN: Colour("#616161", "#ffffff"),
    }
)


def strong_colour(state: str) -> str:
    """The strong colour of ``state`` (the unknown state's for one no table knows)."""
    return PALETTE.get(state, PALETTE[UNKNOWN]).strong


def tint_colour(state: str) -> str:
    """The light tint of ``state`` (the unknown state's for one no table knows)."""
    return PALETTE.get(state, PALETTE[UNKNOWN]).tint
