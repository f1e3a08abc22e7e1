"""How partition keys are written to the catalog and named on disk.

This module owns two pure, stdlib-only encodings of a partition key (``None`` for an unpartitioned
asset, a string, an int, a ``date``, a ``datetime`` or a tuple of these):

- :func:`encode_key`/:func:`decode_key`: a tagged text for the catalog. It is *canonical*: two
  keys get the same text exactly when they are equal, and the text reads back equal. Dates and
  aware datetimes sort chronologically as text, so SQL ``ORDER BY`` works. Aware datetimes are
  written as their UTC instant (they read back in UTC and compare equal; a definition's
  ``parse_key`` restores its own zone). Python compares a ``ZoneInfo`` datetime at an ambiguous or
  skipped local time by wall clock (PEP 495), so such values may not equal their instant: the
  partitions definitions therefore hand out keys with fixed-offset or UTC zones.
- :func:`key_slug`: a short, safe, unique path segment for the file store.

It must not know about definitions, assets or storage.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flowstone_nb._core.errors import PartitionError

__all__ = ["decode_key", "encode_key", "encode_keys", "key_slug", "plain_text"]

NO_PARTITION_SLUG = "__all__"
_SLUG_MAX = 100
_PREFIX_MAX = 80
_HASH_CHARS = 16
_INT_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")
_DAY_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CLEAN_TEXT = re.compile(r"[a-z0-9_][a-z0-9_.=+-]*")
_CLEAN_INSTANT = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})t([0-9]{2})([0-9]{2})(?:([0-9]{2})(?:\.([0-9]{6}))?)?z"
)
_WINDOWS_DEVICE = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")
_UNSAFE = re.compile(r"[^a-z0-9_.=+-]")


def _unsupported(key: object) -> PartitionError:
    hints = {
        bool: "use the strings 'true'/'false'",
        float: f"use a string such as {str(key)!r}",
        list: "use a tuple for a multi-dimensional key",
    }
    hint = hints.get(type(key), "use a string, int, date, datetime or a tuple of them")
    return PartitionError(f"Cannot encode a {type(key).__name__} partition key ({key!r}): {hint}.")


def _checked_text(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise PartitionError(
            f"The partition key {text!r} contains a lone surrogate and cannot be stored as "
            "UTF-8: clean the string first."
        ) from err
    return text


def _category(key: object) -> str:
    """A name for the kind of key; refuses what cannot be encoded."""
    if key is None:
        return "none"
    if isinstance(key, bool):
        raise _unsupported(key)
    if isinstance(key, str):
        return "str"
    if isinstance(key, int):
        return "int"
    if isinstance(key, datetime):
        return "naive" if key.tzinfo is None or key.utcoffset() is None else "aware"
    if isinstance(key, date):
        return "date"
    if isinstance(key, tuple):
        return "tuple"
    raise _unsupported(key)


# -- the catalog encoding -------------------------------------------------------------------------
def encode_key(key: Any) -> str:
    """The canonical tagged text of a partition key.

    ``None`` -> ``""``; ``"eu"`` -> ``"s:eu"``; ``7`` -> ``"i:7"``; a date ->
    ``"d:2024-01-31"``; an aware datetime -> ``"t:2024-01-31T05:00:00+00:00"`` (its UTC instant);
    a naive datetime -> ``"n:2024-01-31T05:00:00"``; a tuple -> ``'m:["s:eu","d:2024-01-31"]'``.

    Raises
    ------
    PartitionError
        For values that cannot be keys (bools, floats, lists, other objects).
    """
    category = _category(key)
    if category == "tuple":
        parts = [encode_key(part) for part in key]
        return "m:" + json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return _SCALAR_ENCODERS[category](key)


def encode_keys(keys: Sequence[Any]) -> list[str]:
    """:func:`encode_key` of each of ``keys``, in order.

    The days of a daily definition (every key a ``date``) take a named fast path: the same texts
    (tested equal), without looking up each key's kind.
    """
    if all(type(key) is date for key in keys):
        return ["d:" + key.isoformat() for key in keys]
    return [encode_key(key) for key in keys]


def _encode_instant(key: datetime) -> str:
    try:
        return "t:" + key.astimezone(UTC).isoformat()
    except OverflowError as err:
        raise PartitionError(
            f"The partition key {key!r} is outside the years 1-9999 in UTC."
        ) from err


_SCALAR_ENCODERS: dict[str, Callable[[Any], str]] = {
    "none": lambda key: "",
    "str": lambda key: "s:" + _checked_text(key),
    "int": lambda key: f"i:{key}",
    "date": lambda key: "d:" + str(key.isoformat()),
    "naive": lambda key: "n:" + str(key.isoformat()),
    "aware": _encode_instant,
}


def _not_encoded(text: str) -> PartitionError:
    return PartitionError(
        f"{text!r} is not an encoded partition key (expected a tagged form such as "
        "'d:2024-01-31', 's:eu', or '' for an unpartitioned asset): the catalog may have been "
        "written by another version of flowstone_nb."
    )


def _decode_tuple(body: str, text: str) -> tuple[Any, ...]:
    parts = json.loads(body)
    if not isinstance(parts, list) or not all(isinstance(part, str) for part in parts):
        raise _not_encoded(text)
    return tuple(decode_key(part) for part in parts)


def _decode_body(tag: str, body: str, text: str) -> Any:
    if tag == "s:":
        return body
    if tag == "i:" and _INT_TEXT.fullmatch(body):
        return int(body)
    if tag == "d:" and _DAY_TEXT.fullmatch(body):
        return date.fromisoformat(body)
    if tag == "t:":
        instant = datetime.fromisoformat(body)
        if instant.utcoffset() == timedelta(0):
            return instant.replace(tzinfo=UTC)
    if tag == "n:":
        naive = datetime.fromisoformat(body)
        if naive.tzinfo is None:
            return naive
    if tag == "m:":
        return _decode_tuple(body, text)
    raise _not_encoded(text)


def plain_text(text: str) -> str | None:
    """The plain text of the stored key ``text`` when it is a string, a whole number or a day.

    Their plain text is their body; anything else gives ``None``. A named fast path of reading
    many stored keys (a lineage or history of thousands of days): it gives what decoding
    ``text`` and showing the key plainly gives (tested equal), without building the key;
    anything else, a malformed key included, is ``None`` for the general path to read (or
    refuse).
    """
    tag, body = text[:2], text[2:]
    if tag == "s:":
        return body
    if tag == "d:" and len(body) == 10 and body[4] == "-" == body[7]:
        try:  # (of ten characters with dashes there it reads YYYY-MM-DD only, ASCII digits)
            date.fromisoformat(body)
        except ValueError:  # (a day that does not exist: the general path says so)
            return None
        return body
    if tag == "i:" and _INT_TEXT.fullmatch(body) and str(int(body)) == body:
        return body
    return None


def decode_key(text: str) -> Any:
    """The key :func:`encode_key` wrote as ``text``.

    Raises
    ------
    PartitionError
        When ``text`` is not exactly what :func:`encode_key` writes.
    """
    if text == "":
        return None
    try:
        key = _decode_body(text[:2], text[2:], text)
    except (ValueError, PartitionError) as err:  # JSONDecodeError is a ValueError
        raise _not_encoded(text) from err
    if encode_key(key) != text:
        raise _not_encoded(text)
    return key


# -- path slugs -----------------------------------------------------------------------------------
def _clean_instant(instant: datetime) -> str:
    utc = instant.astimezone(UTC)
    text = f"{utc.date().isoformat()}t{utc.hour:02d}{utc.minute:02d}"
    if utc.second or utc.microsecond:
        text += f"{utc.second:02d}"
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "z"


def _readable(key: Any) -> str:
    """A readable, not necessarily safe or unique, text for a key."""
    category = _category(key)
    if category == "none":
        return NO_PARTITION_SLUG
    if category == "tuple":
        return "_".join(_readable(part) for part in key)
    if category == "aware":
        return _clean_instant(key)
    if category in ("date", "naive"):
        return str(key.isoformat())
    return str(key)


def _meaning(slug: str) -> Any:
    """What an unhashed slug stands for: the inverse of the clean forms."""
    if slug == NO_PARTITION_SLUG:
        return None
    try:
        if _DAY_TEXT.fullmatch(slug):
            return date.fromisoformat(slug)
        if match := _CLEAN_INSTANT.fullmatch(slug):
            day, hour, minute, second, micro = match.groups()
            clock = f"{hour}:{minute}:{second or '00'}.{micro or '000000'}"
            return datetime.fromisoformat(f"{day}T{clock}+00:00").replace(tzinfo=UTC)
    except ValueError:
        pass
    return slug


def _is_clean(slug: str, key: Any) -> bool:
    """True when ``slug`` is safe and names ``key`` and nothing else (no hash needed)."""
    if len(slug) > _SLUG_MAX or not _CLEAN_TEXT.fullmatch(slug):
        return False
    if ".." in slug or slug.endswith(".") or _WINDOWS_DEVICE.fullmatch(slug):
        return False
    meaning = _meaning(slug)
    return _category(meaning) == _category(key) and meaning == key


def _safe_prefix(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    safe = _UNSAFE.sub("_", ascii_text.lower())
    safe = re.sub(r"\.{2,}", ".", safe).lstrip(".")[:_PREFIX_MAX].rstrip(".")
    return safe or "key"


def key_slug(key: Any) -> str:
    r"""A safe, unique path segment for a partition key (at most 100 characters).

    Plain keys keep a readable form (``"eu"``, ``"2024-01-31"``, ``"2024-01-31t0500z"`` for an
    hour in UTC, ``"__all__"`` for ``None``). Anything else (upper case, other characters, long
    text, tuples, ints, text that looks like another kind of key) becomes a readable prefix plus
    ``"~"`` and 16 hex digits of the SHA-256 of :func:`encode_key`. Slugs are lower case, so they
    stay distinct on case-insensitive file systems; they never contain ``/``, ``\\``, ``:``,
    NUL or ``..``, never start with ``.`` and avoid Windows device names.
    """
    readable = _readable(key)
    if _is_clean(readable, key):
        return readable
    digest = hashlib.sha256(encode_key(key).encode("utf-8")).hexdigest()[:_HASH_CHARS]
    return f"{_safe_prefix(readable)}~{digest}"
