"""How partition keys read to people: the one text every message, view and report shows.

A partition key has three forms inside the package: the value a definition hands out (a date, an
aware datetime, a tuple ...), the tagged text the catalog keeps (:func:`~.keys.encode_key`, e.g.
``'d:2024-01-01'``) and the path segment of the file store (:func:`~.keys.key_slug`). People see
none of them: they see the text they write, which the asset's definition gives
(:meth:`~.base.PartitionsDefinition.key_str`: ``'2024-01'`` for a month, ``'eu|2024-01-05'`` for
a region x day, an hour in its own zone). This module owns that rule: :func:`key_text` for a key,
:func:`stored_key_text` for the catalog's text of one. Without a definition that has the key (an
asset since forgotten or redefined), a key reads in a plain form without tags.

It must not know about assets, stores or runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.keys import decode_key, plain_text
from flowstone_nb._partitioning.static_multi import MULTI_SEPARATOR

__all__ = ["key_text", "key_texts", "stored_key_text"]


def key_text(definition: PartitionsDefinition | None, key: Any) -> str:
    """How ``key``, a key ``definition`` handed out, reads (``""`` for ``None``: unpartitioned).

    Parameters
    ----------
    definition
        The asset's partitions definition (``None``: read the key in its plain form).
    key
        A key of ``definition`` (already parsed), or ``None``.
    """
    if key is None:
        return ""
    if definition is not None:
        return definition.key_str(key)
    return _plain_text(key)


def key_texts(definition: PartitionsDefinition | None, keys: Sequence[Any]) -> list[str]:
    """:func:`key_text` of each of ``keys``, in order.

    The days of a definition whose keys read plainly take a named fast path: their ISO texts
    (tested equal), without asking the definition for each.
    """
    if (
        definition is not None
        and definition.keys_read_plainly
        and all(type(key) is date for key in keys)
    ):
        return [key.isoformat() for key in keys]
    return [key_text(definition, key) for key in keys]


def stored_key_text(definition: PartitionsDefinition | None, encoded: str) -> str:
    """How the key the catalog keeps as ``encoded`` reads (``""`` when unpartitioned).

    The definition reads it back first (an hour kept as its UTC instant reads in the
    definition's zone); a key the definition does not have reads in its plain form.
    """
    if not encoded:
        return ""
    if definition is None or definition.keys_read_plainly:
        simple = plain_text(encoded)  # (a named fast path: the same text, tested equal)
        if simple is not None:
            return simple
    key = decode_key(encoded)
    if definition is not None and not definition.keys_read_plainly:
        try:
            return definition.key_str(definition.parse_key(key))
        except PartitionError:
            pass  # the definition changed since: the plain form
    return _plain_text(key)


def _plain_text(key: Any) -> str:
    if isinstance(key, tuple):
        return MULTI_SEPARATOR.join(_plain_text(part) for part in key)
    if isinstance(key, datetime):
        return key.isoformat(timespec="minutes")
    if isinstance(key, date):
        return key.isoformat()
    return str(key)
