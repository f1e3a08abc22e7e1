"""Partition mappings written as short text, for ``%%asset --map UPSTREAM=SPEC``.

Each mapping of this package has one spelling (``parse_mapping_spec("trailing:7")`` is
``TrailingWindow(7)``); :data:`MAPPING_FORMS` lists them for messages and help. This module
owns only the spelling: the mappings themselves say what they mean. It must not look at assets.
"""

from __future__ import annotations

from collections.abc import Callable

from flowstone_nb._core.errors import PartitionError, did_you_mean
from flowstone_nb._partitioning.mapping_forms import MAPPING_FORMS
from flowstone_nb._partitioning.mappings.base import (
    AllPartitionsMapping,
    IdentityMapping,
    PartitionMapping,
)
from flowstone_nb._partitioning.mappings.inference import MultiToSingleDimension
from flowstone_nb._partitioning.mappings.ordered import PreviousPartition, TrailingWindow
from flowstone_nb._partitioning.mappings.windows import TimeWindowMapping

__all__ = ["MAPPING_FORMS", "parse_mapping_spec"]


_Build = Callable[[str], PartitionMapping]


def _no_argument(kind: str, make: Callable[[], PartitionMapping]) -> _Build:
    def build(argument: str) -> PartitionMapping:
        if argument:
            raise PartitionError(f"{kind} takes no argument, got {argument!r}")
        return make()

    return build


def _window(argument: str) -> PartitionMapping:
    if argument not in ("", "strict"):
        raise PartitionError(f"window takes nothing or 'strict', got {argument!r}")
    return TimeWindowMapping(allow_partial=argument != "strict")


def _trailing(argument: str) -> PartitionMapping:
    if not argument.isdigit():
        raise PartitionError(
            f"trailing needs a whole number of partitions (trailing:7), got {argument!r}"
        )
    return TrailingWindow(int(argument))


def _dimension(argument: str) -> PartitionMapping:
    name, _, inner = argument.partition(":")
    if not name:
        raise PartitionError("dimension needs the dimension's name (dimension:day)")
    return MultiToSingleDimension(name, _parse(inner) if inner else None)


_KINDS: dict[str, _Build] = {
    "identity": _no_argument("identity", IdentityMapping),
    "all": _no_argument("all", AllPartitionsMapping),
    "window": _window,
    "trailing": _trailing,
    "previous": _no_argument("previous", PreviousPartition),
    "dimension": _dimension,
}


def _parse(text: str) -> PartitionMapping:
    kind, _, argument = text.strip().partition(":")
    kind = kind.strip().lower()
    build = _KINDS.get(kind)
    if build is None:
        raise PartitionError(f"unknown kind {kind!r}.{did_you_mean(kind, _KINDS)}")
    return build(argument.strip())


def parse_mapping_spec(text: str) -> PartitionMapping:
    """The partition mapping a short spelling names.

    Parameters
    ----------
    text
        ``identity``, ``all``, ``window``, ``window:strict``, ``trailing:N``, ``previous`` or
        ``dimension:NAME[:MAPPING]`` (see :data:`MAPPING_FORMS`).

    Raises
    ------
    PartitionError
        An unknown kind (with the closest one) or a wrong argument, listing the spellings.
    """
    try:
        return _parse(text)
    except PartitionError as error:
        reason = str(error).rstrip(".")
        raise PartitionError(
            f"Cannot read the partition mapping {text!r}: {reason}. The mappings: {MAPPING_FORMS}."
        ) from None
