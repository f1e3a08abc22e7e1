"""Errors and warnings that flowstone_nb raises on purpose.

Every error the library raises deliberately derives from :class:`FlowstoneError`. Messages follow
one shape: what went wrong, where (asset, field, partition, cell), what was expected versus found,
and how to fix it. This module must not import anything from the rest of the package.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "AssetDefinitionError",
    "AssetNotFoundError",
    "CheckFailedError",
    "CycleError",
    "FlowstoneError",
    "FlowstoneWarning",
    "MaterializationError",
    "MaterializationTimeoutError",
    "PartitionError",
    "PartitionMappingError",
    "StoreError",
    "WorkerDiedError",
    "did_you_mean",
]


def did_you_mean(name: str, candidates: Iterable[str], *, n: int = 3) -> str:
    """Return a ``" Did you mean ...?"`` sentence for the closest candidates, or ``""``.

    Parameters
    ----------
    name
        The unknown name the user typed.
    candidates
        The names that exist.
    n
        How many suggestions at most.
    """
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=n, cutoff=0.6)
    if not matches:
        return ""
    quoted = ", ".join(repr(m) for m in matches)
    return f" Did you mean {quoted}?"


class FlowstoneError(Exception):
    """Root of every error flowstone_nb raises on purpose."""


class FlowstoneWarning(UserWarning):
    """Warning about a definition that works now but is probably not what was meant."""


class AssetDefinitionError(FlowstoneError, ValueError):
    """A bad asset definition, raised when the decorator, class body or cell runs.

    Attributes
    ----------
    asset
        The name of the asset the definition was for, when known.
    issues
        The validation issues found (see :func:`flowstone_nb.validate`).
    """

    def __init__(
        self, message: str, *, asset: str | None = None, issues: Sequence[object] = ()
    ) -> None:
        super().__init__(message)
        self.asset = asset
        self.issues = list(issues)


class AssetNotFoundError(FlowstoneError, KeyError):
    """An asset name that no registry knows; the message suggests close matches.

    Attributes
    ----------
    name
        The unknown name.
    suggestions
        Known names close to it.
    """

    def __init__(self, name: str, known: Iterable[str] = (), *, context: str = "") -> None:
        known_list = sorted(set(known))
        self.name = name
        self.suggestions = difflib.get_close_matches(name, known_list, n=3, cutoff=0.6)
        where = f" {context}" if context else ""
        hint = did_you_mean(name, known_list)
        if not hint:
            hint = (
                " No assets are registered yet: define one with @fs.asset or %%asset."
                if not known_list
                else " Define it first, or check the spelling."
            )
        self.message = f"Unknown asset {name!r}{where}.{hint}"
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message and wrap it in quotes.
        return self.message


class CycleError(FlowstoneError):
    """The dependencies form a cycle.

    Attributes
    ----------
    path
        The assets along the cycle, first and last equal, e.g. ``["a", "b", "c", "a"]``.
    """

    def __init__(self, path: Sequence[str], *, context: str = "") -> None:
        self.path = list(path)
        where = f" {context}" if context else ""
        super().__init__(
            f"Dependency cycle{where}: {' -> '.join(self.path)}. "
            "An asset cannot depend on itself, directly or through others: "
            "remove one of these dependencies."
        )


class MaterializationError(FlowstoneError):
    """User code raised while materializing an asset partition.

    The original exception is kept as ``__cause__``.

    Attributes
    ----------
    asset
        The asset whose code raised.
    partition
        The partition key being materialized, or ``None``.
    """

    def __init__(self, message: str, *, asset: str, partition: object = None) -> None:
        super().__init__(message)
        self.asset = asset
        self.partition = partition


class CheckFailedError(MaterializationError):
    """A blocking data check failed on a materialized value (which stays stored, unused).

    Attributes
    ----------
    asset
        The asset whose value failed the check.
    partition
        The partition key as the user writes it, or ``None``.
    check
        The name of the check that failed.
    """

    def __init__(self, message: str, *, asset: str, check: str, partition: object = None) -> None:
        super().__init__(message, asset=asset, partition=partition)
        self.check = check


class MaterializationTimeoutError(MaterializationError, TimeoutError):
    """A materialization ran longer than its timeout (``timeout=`` seconds) and was given up.

    Its work was stopped (a worker process killed, a Dask task cancelled) or, for code running on
    a thread, left behind: the message says which. Nothing of it is stored.
    """


class WorkerDiedError(MaterializationError):
    """The worker process (or Dask worker) computing a materialization died before it answered.

    The message names the exit code when it is known. Nothing of the materialization is stored;
    the other partitions of the run are not affected.
    """


class PartitionError(FlowstoneError, ValueError):
    """A partition key, range or definition that does not fit."""


class PartitionMappingError(AssetDefinitionError, PartitionError):
    """A dependency whose partitions cannot be mapped: a bad definition, about partitions.

    Raised when the asset is defined, or before anything runs when its upstream was defined
    (or changed) after it. It is both an :class:`AssetDefinitionError` and a
    :class:`PartitionError`, so either catches it.
    """


class StoreError(FlowstoneError):
    """The embedded store (files or catalog) cannot do what was asked."""
