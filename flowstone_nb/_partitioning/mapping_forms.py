"""The spellings of partition mappings in ``%%asset --map`` (``trailing:7``), as text.

:data:`MAPPING_FORMS` lists them for the magic's help and for messages; :mod:`.mappings.spec`
reads them. It lives outside the ``mappings`` package, whose classes it need not import: the
magics' line parser shows this help when the extension loads, before any mapping is used.
"""

from __future__ import annotations

__all__ = ["MAPPING_FORMS"]

#: Every spelling, as help and error messages list them.
MAPPING_FORMS = (
    "identity (the same key), all (every upstream partition), window (the upstream periods "
    "overlapping this one: a month gets its days), window:strict (the same, but an incomplete "
    "period is an error), trailing:N (the last N up to the matching one), previous (the "
    "asset's own previous partition), dimension:NAME[:MAPPING] (one dimension of multi "
    "partitions, e.g. dimension:day:window)"
)
