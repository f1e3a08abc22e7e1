"""The decorator options an ``%%asset`` line asks for, read in the notebook's namespace.

A line names some things by text and some by the name of a notebook variable:
``--partitioned-by`` is a spec (``daily:2024-01-01``) or a partitions definition's name,
``--map UPSTREAM=...`` a mapping's spelling (``trailing:7``) or a mapping's name (a spelling
wins over a variable of the same name), ``--partition-fn`` a function's name, ``--checks`` the
names of check functions or pandera schemas, ``--retry-on`` the names of exception types (of the
notebook, built in, or dotted: ``requests.HTTPError``).
:func:`asset_options` resolves them and returns the keyword options ``@fs.asset`` would be
given, so a cell and a decorated function build the same :class:`~flowstone_nb.Asset`.
``--concat`` becomes the annotation a decorated function would carry (``pd.DataFrame``).
Mistakes are :class:`~flowstone_nb.AssetDefinitionError` naming the option. This module runs
and displays nothing.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flowstone_nb._core.errors import AssetDefinitionError, PartitionError, did_you_mean
from flowstone_nb._define.data_checks import is_schema
from flowstone_nb._notebook.magic_lines import AssetArgs
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.function import SEED_KINDS
from flowstone_nb._partitioning.mappings import PartitionMapping, parse_mapping_spec
from flowstone_nb._partitioning.spec import parse_partition_spec

__all__ = ["asset_options"]


def _read(text: str, namespace: Mapping[str, Any], kind: type, parse: Callable[[str], Any]) -> Any:
    """What ``text`` spells; failing that, the notebook variable it names when it holds a ``kind``.

    A spelling wins over a variable of the same name, as in an exported module.
    """
    try:
        return parse(text)
    except PartitionError:
        named = namespace.get(text) if text.isidentifier() else None
        if isinstance(named, kind):
            return named
        raise


def _partition_function(args: AssetArgs, namespace: Mapping[str, Any]) -> Any:
    name = args.partition_fn
    if name is None:
        return None
    function = namespace.get(name)
    if not callable(function):
        found = "nothing" if name not in namespace else type(function).__name__
        raise AssetDefinitionError(
            f"%%asset {args.name}: --partition-fn {name!r} names {found} in the notebook, not a "
            f"function.{did_you_mean(name, [n for n, v in namespace.items() if callable(v)])} "
            "Define the function that returns the keys in an earlier cell.",
            asset=args.name,
        )
    return function


def _checks(args: AssetArgs, namespace: Mapping[str, Any]) -> list[Any]:
    """The check functions and schemas ``--checks`` names, in the order given."""
    checks = []
    for name in args.checks:
        found = namespace.get(name)
        if not (callable(found) or is_schema(found)):
            what = "nothing" if name not in namespace else type(found).__name__
            usable = [n for n, v in namespace.items() if callable(v) or is_schema(v)]
            raise AssetDefinitionError(
                f"%%asset {args.name}: --checks {name!r} names {what} in the notebook, not a "
                f"check function or pandera schema.{did_you_mean(name, usable)} Define the "
                f"check (a function taking {args.name}) in an earlier cell.",
                asset=args.name,
            )
        checks.append(found)
    return checks


def _exception_type(args: AssetArgs, name: str, namespace: Mapping[str, Any]) -> type:
    """The exception type ``name`` (dotted: an attribute path) names in the notebook or builtins."""
    first, *rest = name.split(".")
    missing = object()
    found = namespace.get(first, getattr(builtins, first, missing))
    for part in rest:
        found = getattr(found, part, missing)
    where = f"%%asset {args.name}: --retry-on {name!r} names"
    if found is missing:
        usable = [n for n, v in namespace.items() if isinstance(v, type)]
        raise AssetDefinitionError(
            f"{where} nothing in the notebook nor a built-in exception."
            f"{did_you_mean(name, usable)} Define or import the exception type in an earlier "
            "cell.",
            asset=args.name,
        )
    if not isinstance(found, type):
        raise AssetDefinitionError(
            f"{where} {type(found).__name__} in the notebook, not an exception type: name a "
            "class such as ConnectionError.",
            asset=args.name,
        )
    if not issubclass(found, Exception):
        raise AssetDefinitionError(
            f"{where} {found.__name__}, which is not an Exception type (an interruption or an "
            "exit is never retried): name a subclass of Exception.",
            asset=args.name,
        )
    return found


def _partitions(args: AssetArgs, namespace: Mapping[str, Any]) -> tuple[Any, Any]:
    """``(partitioned_by, partition_fn)`` as the decorator takes them."""
    spec, function = args.partitioned_by, _partition_function(args, namespace)
    if function is not None:
        if spec is not None and spec not in SEED_KINDS:
            raise AssetDefinitionError(
                f"%%asset {args.name}: --partition-fn goes with --partitioned-by custom (the "
                f"default), date or datetime, not {spec!r}.",
                asset=args.name,
            )
        return spec or "custom", function
    if spec is None:
        return None, None
    return _read(spec, namespace, PartitionsDefinition, parse_partition_spec), None


def _mappings(args: AssetArgs, namespace: Mapping[str, Any]) -> dict[str, PartitionMapping]:
    mappings: dict[str, PartitionMapping] = {}
    for upstream, text in args.partition_mappings:
        mappings[upstream] = _read(text, namespace, PartitionMapping, parse_mapping_spec)
    return mappings


def _concat_annotations(args: AssetArgs, dependencies: Sequence[str]) -> dict[str, Any]:
    unknown = [name for name in args.concat if name not in dependencies]
    if unknown:
        raise AssetDefinitionError(
            f"%%asset {args.name}: --concat names {', '.join(map(repr, unknown))}, which the "
            f"cell does not depend on (its upstream assets: {', '.join(dependencies) or 'none'}).",
            asset=args.name,
        )
    if not args.concat:
        return {}
    import pandas as pd  # only a cell that asks for frames needs pandas

    return dict.fromkeys(args.concat, pd.DataFrame)


def asset_options(
    args: AssetArgs, dependencies: Sequence[str], namespace: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The decorator's options for the line ``args``, and the annotations of the cell function.

    Parameters
    ----------
    args
        The parsed ``%%asset`` line.
    dependencies
        The cell's upstream assets (given or inferred).
    namespace
        The notebook's namespace, where names on the line are looked up.

    Returns
    -------
    tuple
        The keyword options of ``@fs.asset`` (those not given are ``None``), and the
        parameter annotations the cell's function gets (``--concat``: ``pd.DataFrame``).

    Raises
    ------
    AssetDefinitionError
        A partition function, check or exception type that is not one, or ``--concat`` of
        something not upstream.
    PartitionError
        A partition spec or mapping spelling that cannot be read (listing the forms).
    """
    partitioned_by, partition_fn = _partitions(args, namespace)
    options = {
        "name": args.name,
        "description": args.description,
        "depends_on": list(dependencies),
        "io_manager": args.io_manager,
        "io_config": dict(args.io_config) or None,
        "partitioned_by": partitioned_by,
        "partition_fn": partition_fn,
        "partition_mappings": _mappings(args, namespace) or None,
        "requires": list(args.requires) or None,
        "metadata": dict(args.metadata) or None,
        "tags": list(args.tags),
        "code_version": args.code_version,
        "timeout": args.timeout,
        "checks": _checks(args, namespace) or None,
        "retries": args.retries,
        "retry_delay": args.retry_delay,
        "retry_backoff": args.retry_backoff,
        "retry_on": tuple(_exception_type(args, n, namespace) for n in args.retry_on) or None,
    }
    return options, _concat_annotations(args, dependencies)
