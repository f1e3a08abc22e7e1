"""Function partitions: the seed form, whose keys a ``partition_fn`` lists whenever needed.

This module owns :class:`FunctionPartitions` (``partitioned_by="date"``, ``"datetime"`` or
``"custom"`` with a ``partition_fn``): calling the function, checking and coercing what it returns,
and reading keys against the listed ones. It must not cache the keys (the function may return more
over time) nor know the other definitions.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flowstone_nb._core.errors import PartitionError, did_you_mean
from flowstone_nb._partitioning.base import (
    PartitionsDefinition,
    UnreadableError,
    got,
    nearest_sentence,
    preview_keys,
    quote_key,
)
from flowstone_nb._partitioning.datetimes import (
    DAY_TEXT,
    fixed_offset,
    format_datetime,
    plain_datetime,
    read_time_text,
)

__all__ = ["SEED_KINDS", "FunctionPartitions"]

SEED_KINDS = ("date", "datetime", "custom")


def _function_name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    return f"{module}.{qualname}" if module and qualname else repr(fn)


def _coerce_date(value: object) -> date:
    if isinstance(value, datetime):
        if value.time() != time() or (value.tzinfo is not None and value.utcoffset()):
            raise UnreadableError(f"{quote_key(value)} is not a date (it has a time of day)")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and DAY_TEXT.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise UnreadableError(f"expected a date like '2024-01-31', {got(value)}")


def _coerce_datetime(value: object) -> datetime:
    if isinstance(value, str):
        parsed = read_time_text(value.strip(), frozenset({"time"}))
        value = parsed if parsed is not None else value
    if isinstance(value, datetime):
        plain = plain_datetime(value)
        return fixed_offset(plain) if plain.utcoffset() is not None else plain.replace(tzinfo=UTC)
    raise UnreadableError(f"expected a datetime like '2024-01-31T05:00', {got(value)}")


def _coerce_custom(value: object) -> str:
    if isinstance(value, str):
        return value
    raise UnreadableError(
        f"custom partition keys are strings, {got(value)}: return {str(value)!r} if that is meant"
    )


_COERCERS: dict[str, Callable[[object], Any]] = {
    "date": _coerce_date,
    "datetime": _coerce_datetime,
    "custom": _coerce_custom,
}


class FunctionPartitions(PartitionsDefinition):
    """Keys listed by a function each time they are needed (the seed ``partition_fn`` form).

    Nothing is cached: the function may return more keys over time.

    Parameters
    ----------
    kind
        ``"date"`` (the function returns dates or ISO date strings), ``"datetime"`` (datetimes;
        naive ones are taken as UTC) or ``"custom"`` (strings, kept in the returned order).
    fn
        A function without arguments returning an iterable of keys; duplicates are dropped.
    """

    fn: Callable[[], Iterable[Any]]

    def __init__(self, kind: str, fn: Callable[[], Iterable[Any]]) -> None:
        if kind not in SEED_KINDS:
            raise PartitionError(
                f"Unknown partition kind {kind!r} for a partition_fn."
                f"{did_you_mean(kind, SEED_KINDS)}"
                " Use 'date' (the function returns dates), 'datetime' (datetimes) or 'custom' "
                "(strings)."
            )
        if not callable(fn):
            raise PartitionError(
                "partition_fn must be callable (a function returning the partition keys), "
                f"not {type(fn).__name__} {fn!r}."
            )
        self._set(kind=kind, fn=fn)

    def _example(self) -> str:
        return {"date": "'2024-01-31'", "datetime": "'2024-01-31T05:00'"}.get(self.kind, "'key'")

    @property
    def is_time_based(self) -> bool:
        """True for ``"date"`` keys, which are whole (UTC) days."""
        return self.kind == "date"

    def _identity(self) -> tuple[object, ...]:
        return (self.kind, self.fn)

    def _arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.kind, self.fn), {}

    def __repr__(self) -> str:
        return f"FunctionPartitions({self.kind!r}, {_function_name(self.fn)})"

    def _call(self) -> list[Any]:
        name = _function_name(self.fn)
        try:
            result = self.fn()
            if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
                raise PartitionError(
                    f"partition_fn {name} must return an iterable of keys (e.g. a list), but "
                    f"returned {type(result).__name__} {result!r}."
                )
            return list(result)
        except PartitionError:
            raise
        except Exception as err:
            raise PartitionError(
                f"partition_fn {name} raised {type(err).__name__}: {err}. Fix the function; it is "
                "called whenever the keys are needed."
            ) from err

    def _coerce(self, raw: object) -> Any:
        try:
            return _COERCERS[self.kind](raw)
        except UnreadableError as err:
            raise PartitionError(
                f"Cannot read partition key {quote_key(raw)} for {self!r}: {err.reason}."
            ) from err

    def keys(self, *, now: datetime | None = None) -> list[Any]:
        """Call the function: time keys sorted, custom keys in the returned order."""
        coerce = _COERCERS[self.kind]
        keys: dict[Any, None] = {}
        for value in self._call():
            try:
                keys[coerce(value)] = None
            except UnreadableError as err:
                raise PartitionError(
                    f"partition_fn {_function_name(self.fn)} returned a value that is not a "
                    f"{self.kind} key: {err.reason}."
                ) from err
        return list(keys) if self.kind == "custom" else sorted(keys)

    def parse_key(self, raw: object, *, now: datetime | None = None) -> Any:
        """The listed key that ``raw`` names."""
        candidate = self._coerce(raw)
        keys = self.keys()
        listed = {key: key for key in keys}
        if candidate in listed:
            return listed[candidate]
        if not keys:
            raise PartitionError(
                f"{self!r} has no keys (the function returned none), so {quote_key(raw)} is not "
                "one of them."
            )
        raise PartitionError(
            f"Unknown partition key {quote_key(raw)} for {self!r}.{self._hint(candidate, keys)}"
        )

    def _hint(self, candidate: Any, keys: list[Any]) -> str:
        if self.kind == "custom":
            texts = [str(k) for k in keys]
            return f"{did_you_mean(candidate, texts)} Valid keys: {preview_keys(texts)}."
        at = bisect.bisect_left(keys, candidate)
        return nearest_sentence([self.key_str(k) for k in keys[max(0, at - 1) : at + 1]])

    def key_str(self, key: object) -> str:
        """ISO text for time keys, the string itself for custom keys."""
        value = self._coerce(key)
        if isinstance(value, datetime):
            return format_datetime(value)
        return value.isoformat() if isinstance(value, date) else str(value)

    def time_window(self, key: object) -> tuple[datetime, datetime] | None:
        """The UTC day of a ``"date"`` key; ``None`` for other kinds."""
        if self.kind != "date":
            return None
        day = self._coerce(key)
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start, start + timedelta(days=1)

    def describe(self) -> str:
        """E.g. ``"custom partitions listed by mymodule.regions()"``."""
        return f"{self.kind} partitions listed by {_function_name(self.fn)}()"
