"""What a parameter receives when an asset consumes many partitions of one upstream asset.

A partition that consumes several upstream partitions (a month of a daily asset, a trailing
window, every partition) receives them as ``{partition: value}``, keyed as ``context.partition``
is, in key order. A parameter annotated ``pd.DataFrame`` (the class, or the text
``"pd.DataFrame"`` / ``"pandas.DataFrame"`` / ``"DataFrame"`` of postponed annotations) asks for
one frame instead: the upstream frames concatenated in key order, each row with its partition in
a first column named ``partition`` (:data:`PARTITION_COLUMN`) and with its own index kept, as
``pd.concat`` keeps it. An ``%%asset`` cell asks the same with ``--concat UPSTREAM``.

The engine calls :func:`many_partitions_value` wherever it assembles such an input. This module
decides only the shape; it imports pandas only when a frame is asked for.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from flowstone_nb._core.errors import AssetDefinitionError
from flowstone_nb._define.asset import Asset

__all__ = ["PARTITION_COLUMN", "many_partitions_value", "wants_frame"]

#: The column that holds each row's upstream partition in a concatenated input.
PARTITION_COLUMN = "partition"
_FRAME_TEXTS = frozenset({"DataFrame", "pd.DataFrame", "pandas.DataFrame"})


def _is_frame(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.replace(" ", "") in _FRAME_TEXTS
    pandas = sys.modules.get("pandas")  # a DataFrame class exists only once pandas is imported
    return (
        pandas is not None
        and isinstance(annotation, type)
        and issubclass(annotation, pandas.DataFrame)
    )


def wants_frame(asset: Asset, upstream: str) -> bool:
    """Whether ``asset``'s parameter for ``upstream`` is annotated ``pd.DataFrame``."""
    annotations = getattr(asset.execute_fn, "__annotations__", None)
    return isinstance(annotations, Mapping) and _is_frame(annotations.get(upstream))


def many_partitions_value(asset: Asset, upstream: str, values: dict[Any, Any]) -> Any:
    """What ``asset`` receives for ``values``, the partitions of ``upstream`` it consumes.

    Parameters
    ----------
    asset
        The consuming asset.
    upstream
        The upstream asset (and parameter) name.
    values
        The upstream values by partition, in key order.

    Returns
    -------
    dict or pandas.DataFrame
        ``values`` itself, or, for a parameter annotated ``pd.DataFrame``, one frame.

    Raises
    ------
    AssetDefinitionError
        A frame is asked for, but a value is not a DataFrame or already has a ``partition``
        column; the message says what arrives and how to take it.
    """
    if not wants_frame(asset, upstream):
        return values
    import pandas as pd

    parts = []
    for key, value in values.items():
        if not isinstance(value, pd.DataFrame) or PARTITION_COLUMN in value.columns:
            raise _cannot_concatenate(asset, upstream, key, value)
        part = value.copy(deep=False)
        part.insert(0, PARTITION_COLUMN, [key] * len(part))
        parts.append(part)
    return pd.concat(parts) if parts else pd.DataFrame({PARTITION_COLUMN: []})


def _cannot_concatenate(asset: Asset, upstream: str, key: object, value: object) -> Exception:
    found = (
        f"is a frame with a {PARTITION_COLUMN!r} column already"
        if hasattr(value, "columns")
        else f"holds a value of type {type(value).__name__}"
    )
    return AssetDefinitionError(
        f"Asset {asset.name!r} takes {upstream!r} as one pd.DataFrame (its parameter's "
        f"annotation), made by concatenating the {upstream!r} partitions it consumes with a "
        f"{PARTITION_COLUMN!r} column, but partition {key!s} of {upstream!r} {found}. "
        f"Annotate the parameter dict to receive {{partition: value}}, or rename the column.",
        asset=asset.name,
    )
