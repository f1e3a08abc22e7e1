"""Which keys a status report asks the catalog about: a definition's, or those recorded.

The keys of a definition that cannot change by themselves (see
:func:`~flowstone_nb._run.plan.keys_fixed`) are listed once and kept, for the last few
definitions asked for: a status report asked again reuses them. A range "up to now" is listed
again each time, as the clock may have added keys.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flowstone_nb._core.errors import FlowstoneError
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.keys import decode_key, encode_key, encode_keys
from flowstone_nb._run.plan import keys_fixed

if TYPE_CHECKING:
    from flowstone_nb._storage.catalog.status_reads import PartitionLatest

__all__ = ["KEPT", "KEPT_AT_MOST", "defined_keys", "recorded_keys"]


def defined_keys(
    definition: PartitionsDefinition | None,
) -> tuple[Sequence[Any], Sequence[str]] | None:
    """The keys of a definition and their stored forms (``None``: an open definition).

    The keys of a definition that cannot change (see :func:`keys_fixed`) are listed once and
    kept (the last few definitions asked for): a status report asked again reuses them.
    """
    if definition is None:
        return [None], [""]
    fixed = keys_fixed(definition)
    if fixed and definition in KEPT:
        KEPT.move_to_end(definition)
        return KEPT[definition]
    try:
        keys = tuple(definition.keys())
    except FlowstoneError:
        return None
    found = keys, tuple(encode_keys(keys))
    if fixed:
        KEPT[definition] = found
        if len(KEPT) > KEPT_AT_MOST:
            KEPT.popitem(last=False)
    return found


#: The keys of the definitions that cannot change asked for last, newest last.
KEPT: OrderedDict[PartitionsDefinition, tuple[tuple[Any, ...], tuple[str, ...]]] = OrderedDict()
KEPT_AT_MOST = 16


def recorded_keys(found: Mapping[str, PartitionLatest]) -> tuple[list[Any], list[str]]:
    """The keys recorded in the catalog, in key order (for an open definition)."""
    keys = sorted({decode_key(encoded) for encoded in found}, key=encode_key)
    return keys, [encode_key(key) for key in keys]
