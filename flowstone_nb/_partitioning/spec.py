"""Partition specs: the ``partitioned_by``/``partition_fn`` fields and ``--partitioned-by`` strings.

This module owns turning what a user writes into a definition: :func:`parse_partition_spec` reads
``%%asset --partitioned-by`` strings (``daily:2024-01-01:2024-03-31``, ``static:eu,us``),
:func:`partition_spec_issues` says what is inconsistent about an asset's two fields without
calling any function, and :func:`resolve_partitions` builds the definition they describe. It must
not define keys itself: the definitions do.
"""

from __future__ import annotations

from flowstone_nb._core.errors import PartitionError, did_you_mean
from flowstone_nb._partitioning.base import RANGE_SEPARATOR, PartitionsDefinition
from flowstone_nb._partitioning.days import DailyPartitions, MonthlyPartitions, WeeklyPartitions
from flowstone_nb._partitioning.function import SEED_KINDS, FunctionPartitions
from flowstone_nb._partitioning.hours import HourlyPartitions
from flowstone_nb._partitioning.static_multi import StaticPartitions
from flowstone_nb._partitioning.time import TimePartitions

__all__ = ["parse_partition_spec", "partition_spec_issues", "resolve_partitions"]

_SPEC_FORMS = (
    "daily:2024-01-01[:2024-03-31], hourly:2024-01-01T00[:2024-01-02T23], "
    "weekly:2024-01-01[:2024-12-30], monthly:2024-01[:2024-12], static:eu,us,apac "
    "(the end is optional and inclusive; '..' may separate start and end)"
)
_SPEC_KINDS = ("daily", "hourly", "weekly", "monthly", "static", *SEED_KINDS)
_SPEC_ALIASES = {"date": "daily", "datetime": "hourly"}
_TIME_CLASSES: dict[str, type[TimePartitions]] = {
    "daily": DailyPartitions,
    "hourly": HourlyPartitions,
    "weekly": WeeklyPartitions,
    "monthly": MonthlyPartitions,
}


def _spec_error(text: str, reason: str) -> PartitionError:
    return PartitionError(
        f"Cannot read the partition spec {text!r}: {reason} Expected one of: {_SPEC_FORMS}."
    )


def _split_bounds(cls: type[TimePartitions], rest: str, text: str) -> tuple[str, str | None]:
    if RANGE_SEPARATOR in rest:
        parts = [part.strip() for part in rest.split(RANGE_SEPARATOR)]
        if len(parts) == 2:
            return parts[0], parts[1] or None
        raise _spec_error(text, "it has more than one '..'.")
    probe = cls(None)
    candidates = [(rest, None)] + [
        (rest[:i].strip(), rest[i + 1 :].strip()) for i, char in enumerate(rest) if char == ":"
    ]
    for start, end in candidates:
        if probe.reads(start) and (end is None or probe.reads(end)):
            return start, end
    raise _spec_error(text, f"cannot read the bounds {rest!r} as {probe.expected}.")


def parse_partition_spec(text: str) -> PartitionsDefinition:
    """The definition a ``%%asset --partitioned-by`` spec describes.

    Parameters
    ----------
    text
        ``KIND[:START[:END]]`` for ``daily``, ``hourly``, ``weekly`` and ``monthly`` (``date`` and
        ``datetime`` are aliases of ``daily`` and ``hourly``; ``START..END`` works too; without a
        start the definition accepts any key), or ``static:KEY1,KEY2,...``.

    Raises
    ------
    PartitionError
        Listing the accepted forms.
    """
    stripped = text.strip()
    if not stripped:
        raise _spec_error(text, "the spec is empty.")
    kind_text, _, rest = stripped.partition(":")
    kind = kind_text.strip().lower()
    kind = _SPEC_ALIASES.get(kind, kind)
    rest = rest.strip()
    if kind == "custom":
        raise PartitionError(
            f"The partition spec {text!r} asks for custom partitions, which need a partition_fn "
            "that a spec cannot give: use static:KEY1,KEY2 for fixed keys, or define the asset "
            "in Python with partitioned_by='custom' and partition_fn=..."
        )
    if kind == "static":
        return StaticPartitions([key.strip() for key in rest.split(",")] if rest else [])
    cls = _TIME_CLASSES.get(kind)
    if cls is None:
        hint = did_you_mean(kind, _SPEC_KINDS)
        raise _spec_error(text, f"unknown kind {kind_text.strip()!r}.{hint}")
    if not rest:
        return cls(None)
    start, end = _split_bounds(cls, rest, text)
    return cls(start, end)


_FN_ONLY_WITH_SEED = (
    "partition_fn is only used with partitioned_by='date', 'datetime' or 'custom'; "
    "partitioned_by={!r} already says what its keys are: drop partition_fn, or use one of those."
)


def partition_spec_issues(partitioned_by: object, partition_fn: object) -> list[str]:
    """What is inconsistent about an asset's ``partitioned_by``/``partition_fn``; ``[]`` if fine.

    The partition function is never called.
    """
    if partition_fn is not None and not callable(partition_fn):
        return [
            (
                "partition_fn must be callable (a function returning the partition keys), not "
                f"{type(partition_fn).__name__} {partition_fn!r}."
            )
        ]
    if partitioned_by is None:
        if partition_fn is None:
            return []
        return [
            (
                "partition_fn is set but partitioned_by is not: add partitioned_by='custom' "
                "(the function returns strings), 'date' or 'datetime'."
            )
        ]
    if isinstance(partitioned_by, PartitionsDefinition):
        return [] if partition_fn is None else [_FN_ONLY_WITH_SEED.format(partitioned_by)]
    if not isinstance(partitioned_by, str):
        return [
            (
                "partitioned_by must be None, a partitions definition such as "
                "fs.DailyPartitions('2024-01-01'), or one of 'date', 'datetime', 'custom'; got "
                f"{type(partitioned_by).__name__} {partitioned_by!r}."
            )
        ]
    return _string_spec_issues(partitioned_by, partition_fn)


def _string_spec_issues(partitioned_by: str, partition_fn: object) -> list[str]:
    if partitioned_by in SEED_KINDS:
        if partitioned_by == "custom" and partition_fn is None:
            return [
                (
                    "partitioned_by='custom' needs a partition_fn returning the keys, e.g. "
                    "partition_fn=lambda: ['eu', 'us'] (or use fs.StaticPartitions(['eu', 'us']))."
                )
            ]
        return []
    try:
        parse_partition_spec(partitioned_by)
    except PartitionError as err:
        return [str(err)]
    return [] if partition_fn is None else [_FN_ONLY_WITH_SEED.format(partitioned_by)]


def resolve_partitions(
    partitioned_by: object, partition_fn: object = None
) -> PartitionsDefinition | None:
    """The definition an asset's ``partitioned_by``/``partition_fn`` fields describe.

    ``None`` stays ``None``; a definition is returned as is; ``"date"``, ``"datetime"`` and
    ``"custom"`` with a function become :class:`FunctionPartitions`; ``"date"``/``"datetime"``
    without one become open :class:`DailyPartitions`/:class:`HourlyPartitions` (any key is
    accepted); other strings are spec strings (see :func:`parse_partition_spec`).

    Raises
    ------
    PartitionError
        For the combinations :func:`partition_spec_issues` reports.
    """
    issues = partition_spec_issues(partitioned_by, partition_fn)
    if issues:
        raise PartitionError(" ".join(issues))
    if partitioned_by is None or isinstance(partitioned_by, PartitionsDefinition):
        return partitioned_by
    assert isinstance(partitioned_by, str)
    if partition_fn is not None:
        assert callable(partition_fn)
        return FunctionPartitions(partitioned_by, partition_fn)
    return parse_partition_spec(partitioned_by)
