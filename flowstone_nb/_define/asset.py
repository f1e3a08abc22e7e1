"""The asset model and how its execute function is called.

An :class:`Asset` (the Asset of docs/adr/0001-asset-first-orchestration.md) is a pydantic model of
one named, persistent artifact: what it depends on, how it is computed, stored and partitioned. Its
fields are declared once, on the model; pydantic validates them (wrong *types* fail when the model
is built, naming the field) and ``model_post_init`` works out once what they imply (the execute
function's signature, the partitions, how to call it), kept in the model's private state. *Semantic*
problems are reported by :func:`flowstone_nb.validate`. This module must not run, store or display
anything.
"""

from __future__ import annotations

import inspect
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType, FunctionType
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.mappings import PartitionMapping
from flowstone_nb._partitioning.spec import resolve_partitions
from flowstone_nb._versioning.self_contained import self_contained_code

__all__ = [
    "Asset",
    "KnownSignature",
    "Signature",
    "any_partitioned",
    "call_of",
    "keyword_parameters",
    "name_of",
]

CONTEXT = "context"
_VARIADIC = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS


@dataclass(frozen=True)
class Signature:
    """What an execute function's parameters look like.

    Attributes
    ----------
    required
        Names of parameters without defaults, in order.
    optional
        Names of parameters with defaults.
    variadic
        True when the function takes ``*args`` or ``**kwargs``.
    """

    required: tuple[str, ...]
    optional: tuple[str, ...]
    variadic: bool

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> Signature | None:
        """Inspect ``fn``; ``None`` when Python cannot tell its parameters."""
        if type(fn) is FunctionType and "__signature__" not in fn.__dict__:
            return cls._of_function(fn)
        try:
            parameters = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            return None
        variadic_kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return cls(
            required=tuple(
                p.name
                for p in parameters
                if p.default is inspect.Parameter.empty and p.kind not in variadic_kinds
            ),
            optional=tuple(p.name for p in parameters if p.default is not inspect.Parameter.empty),
            variadic=any(p.kind in variadic_kinds for p in parameters),
        )

    @classmethod
    def _of_function(cls, fn: FunctionType) -> Signature:
        """Read a plain function's parameters from its code object (what inspect does, faster)."""
        code = fn.__code__
        count = code.co_argcount
        names = code.co_varnames
        defaults = fn.__defaults__
        split = count - len(defaults) if defaults else count
        required = names[:split]
        optional = names[split:count]
        if code.co_kwonlyargcount:
            keyword_only = names[count : count + code.co_kwonlyargcount]
            kw_defaults = fn.__kwdefaults__ or {}
            required += tuple(n for n in keyword_only if n not in kw_defaults)
            optional += tuple(n for n in keyword_only if n in kw_defaults)
        return cls(required, optional, bool(code.co_flags & _VARIADIC))

    def style(self, depends_on: Sequence[str]) -> str | None:
        """``"decorator"``, ``"seed"`` or ``None`` (a shape that fits neither).

        Decorator style: every required parameter is an upstream name, optionally preceded by
        ``context``. Seed style: exactly two required parameters, ``(context, deps)``.
        """
        if self.variadic:
            return None
        names = self.required
        for name in names[1:] if names and names[0] == CONTEXT else names:
            if name not in depends_on:
                return "seed" if len(names) == 2 else None
        return "decorator"


class _Call(NamedTuple):
    """How :meth:`Asset.invoke` calls an execute function, worked out once per definition."""

    seed: bool  # (context, deps)
    context: bool  # the function takes a context
    inputs: tuple[str, ...]  # required upstream names
    optional: tuple[str, ...]  # parameters with defaults, passed when an input has the name
    # When invoke passes nothing but upstream values by name: (parameter, its index in
    # depends_on) for each, in the order invoke passes them.
    keywords: tuple[tuple[str, int], ...] | None
    # The function's code object, when it reads nothing but its arguments (self_contained_code).
    pure: CodeType | None

    @classmethod
    def of(cls, signature: Signature, depends_on: Sequence[str], function: object) -> _Call:
        pure = self_contained_code(function)
        if signature.style(depends_on) == "seed":
            return cls(True, True, (), (), None, pure)
        # Built-in iterators rather than comprehensions: this runs for every definition.
        inputs, optional = signature.required, signature.optional
        context = CONTEXT in inputs or CONTEXT in optional
        if context:
            inputs = tuple(filter(CONTEXT.__ne__, inputs))
            optional = tuple(filter(CONTEXT.__ne__, optional))
        index = dict(zip(depends_on, range(len(depends_on)), strict=True))
        keywords = None
        if not context and all(map(index.__contains__, inputs)):
            passed = (*inputs, *filter(index.__contains__, optional))
            keywords = tuple(zip(passed, map(index.__getitem__, passed), strict=True))
        return cls(False, context, inputs, optional, keywords, pure)


class KnownSignature(NamedTuple):
    """A validation context saying what the execute function's parameters are.

    A caller that has read them already (the decorator does, to infer ``depends_on``) passes it
    to :meth:`Asset.model_validate` so they are not read again::

        Asset.model_validate(fields, context=KnownSignature(Signature.of(fn)))
    """

    signature: Signature | None


class _Derived(NamedTuple):
    """What an asset's fields imply, worked out once when the model is built."""

    signature: Signature | None
    partitions: PartitionsDefinition | None
    call: _Call | None

    @classmethod
    def of(cls, asset: Asset, known: object) -> _Derived:
        """The derived state of ``asset``; ``known`` is the validation context, if any."""
        fn = asset.execute_fn
        if type(known) is KnownSignature:
            signature = known.signature
        else:
            signature = Signature.of(fn) if callable(fn) else None
        partitioned_by, partition_fn = asset.partitioned_by, asset.partition_fn
        partitions = None
        if partitioned_by is not None or partition_fn is not None:
            try:
                partitions = resolve_partitions(partitioned_by, partition_fn)
            except PartitionError:
                partitions = None  # validate() reports the inconsistency
        call = None if signature is None else _Call.of(signature, asset.depends_on, fn)
        return cls(signature, partitions, call)


class Asset(BaseModel):
    """A named, persistent, versioned data artifact.

    Build one with the :func:`flowstone_nb.asset` decorator, a :class:`flowstone_nb.Pipeline`
    class, the ``%%asset`` cell magic, or directly (seed style)::

        Asset(name="clean", depends_on=["raw"], execute_fn=lambda context, deps: deps["raw"])

    Calling an asset calls its execute function, so decorated functions stay unit-testable.
    Wrong *types* fail when the model is built (pydantic names the field).

    Attributes
    ----------
    name
        A Python identifier, unique in its registry.
    description
        Free text shown in views.
    depends_on
        Names of upstream assets (asset objects are accepted and turned into their names).
    io_manager
        Name of the IO manager that stores the value; ``None`` uses the configured default.
    io_config
        Options for the IO manager.
    partitioned_by
        ``None``, a partitions definition (``DailyPartitions(...)`` …) or the seed strings
        ``"date"``, ``"datetime"``, ``"custom"`` (with ``partition_fn``).
    partition_fn
        Seed form: a callable returning the partition keys.
    partition_mappings
        Per upstream name, how this asset's partitions map onto the upstream's
        (default: inferred from the two partitionings).
    execute_fn
        Computes the value: decorator style (parameters named after upstream assets, optionally
        preceded by ``context``) or seed style ``(context, deps)``.
    requires
        Names of resources the execute function needs (see ``fs.configure(resources=...)``).
    metadata
        Free-form data about the asset.
    tags
        Labels; the graph groups assets by their first tag.
    module
        The module (or ``"__main__"`` for notebook cells) that defined the asset.
    line
        The line of the definition.
    code_version
        A fixed code version; ``None`` derives it from the execute function's code.
    checks
        Data checks run on every materialized value, per partition: functions taking the value
        (by the asset's name) or pandera schemas, non-blocking; ``@fs.check`` adds more, and
        makes blocking ones.
    timeout
        Seconds one materialization of it may run (a positive number); past it, it is recorded
        failed and its work is stopped (worker processes, Dask) or left behind (threads).
        ``None``: no limit of its own (a backfill's ``timeout=`` may give one). An execution
        option: it is not part of the code version.
    retries
        How many more times a failed materialization is tried (a whole number, 0 or more);
        ``None``: none of its own (a run's ``retries=`` may give some). Each try is an attempt
        of its own: its own timeout, its own catalog row. An execution option, as the three
        below: none is part of the code version.
    retry_delay
        Seconds to wait before the first retry (0 or more; default 1); other partitions run
        meanwhile.
    retry_backoff
        What each later wait is multiplied by (1 or more; default 2: 1 s, 2 s, 4 s ...).
    retry_on
        The exception types worth another attempt (default: any ``Exception``). A timeout is
        a ``TimeoutError``; a worker that died, a ``WorkerDiedError``. A failed blocking check
        and the library's own refusals are never retried.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    # The fields: the one list of them (the decorator's options are these, less what it fills).
    name: str | None = None
    description: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    io_manager: str | None = None
    io_config: dict[str, Any] = Field(default_factory=dict)
    partitioned_by: str | PartitionsDefinition | None = None
    partition_fn: Any = None
    partition_mappings: dict[str, PartitionMapping] = Field(default_factory=dict)
    execute_fn: Any = None
    requires: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[Any] = Field(default_factory=list)
    module: str | None = None
    line: int | None = None
    code_version: str | None = None
    checks: list[Any] = Field(default_factory=list)
    # A number, not text that reads as one ("5" and True are refused, naming the field); its
    # range is checked by validate() (checks.timeout_problem).
    timeout: float | None = Field(default=None, strict=True)
    # Numbers as timeout is; their ranges, and retry_on's types, are checked by validate()
    # (checks.retry_problems).
    retries: int | None = Field(default=None, strict=True)
    retry_delay: float = Field(default=1.0, strict=True)
    retry_backoff: float = Field(default=2.0, strict=True)
    retry_on: tuple[Any, ...] = (Exception,)

    @field_validator("depends_on", mode="before")
    @classmethod
    def _names_of_assets(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        if isinstance(value, (list, tuple)):
            return [item.name if isinstance(item, Asset) else item for item in value]
        return value

    @field_validator("checks", mode="before")
    @classmethod
    def _single_check_is_a_list(cls, value: Any) -> Any:
        return value if isinstance(value, (list, tuple)) else [value]

    @field_validator("retry_on", mode="before")
    @classmethod
    def _single_type_is_a_tuple(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, (list, tuple)) else (value,)

    @field_validator("tags", "requires", mode="before")
    @classmethod
    def _single_string_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def model_post_init(self, context: Any, /) -> None:
        """Work out what the fields imply: signature, partitions, how to call the function.

        The signature is read from the execute function unless ``context`` (the validation
        context) is a :class:`KnownSignature`.
        """
        _keep(self, _Derived.of(self, context))

    def __getstate__(self) -> dict[Any, Any]:
        """The pickled state: the fields (what they imply is worked out again when loaded)."""
        state = super().__getstate__()
        state["__pydantic_private__"] = None  # (it holds code objects, which do not pickle)
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        _keep(self, _Derived.of(self, None))

    @property
    def partitions(self) -> PartitionsDefinition | None:
        """The partitions definition (seed strings resolved), or ``None`` when unpartitioned."""
        return _derived(self).partitions

    @property
    def upstream(self) -> list[str]:
        """``depends_on`` without the asset itself (a previous-partition self-dependency)."""
        depends_on, own = self.depends_on, self.name
        return [name for name in depends_on if name != own] if own in depends_on else [*depends_on]

    @property
    def signature(self) -> Signature | None:
        """The execute function's parameters, or ``None`` when it has none to inspect."""
        return _derived(self).signature

    @property
    def style(self) -> str | None:
        """``"decorator"`` or ``"seed"`` — how the execute function takes its inputs."""
        signature = self.signature
        return signature.style(self.depends_on) if signature else None

    @property
    def takes_context(self) -> bool:
        """Whether the execute function is handed a context (``True`` when it cannot tell)."""
        call = _derived(self).call
        return call is None or call.context

    def invoke(self, context: Any, inputs: Mapping[str, Any]) -> Any:
        """Call the execute function with the context and upstream values, in its own style."""
        call = _derived(self).call
        assert call is not None, "validated assets always have an inspectable execute_fn"
        if call.seed:
            return self.execute_fn(context, dict(inputs))
        arguments = {name: inputs[name] for name in call.inputs}
        if call.context:
            arguments[CONTEXT] = context
        for name in call.optional:
            if name in inputs:
                arguments[name] = inputs[name]
        return self.execute_fn(**arguments)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the plain execute function (assets stay unit-testable without the framework)."""
        if not callable(self.execute_fn):
            raise TypeError(f"Asset {self.name!r} has no execute function to call.")
        return self.execute_fn(*args, **kwargs)

    def __repr_args__(self) -> Any:
        # Keep the repr short: only fields that differ from their defaults.
        for key, value in super().__repr_args__():
            default = type(self).model_fields[key or ""].get_default(call_default_factory=True)
            if value != default:
                yield key, value


# What an asset's fields imply (_Derived) is kept in pydantic's private state, as pydantic keeps
# private attributes, under "_derived". It is not declared as a PrivateAttr: pydantic would then
# wrap model_post_init to set up the declared defaults first, which costs a definition about as
# much again as validating its fields (the "chain: define" benchmark row, +15 %).
_PRIVATE = operator.attrgetter("__pydantic_private__")
_DERIVED = operator.itemgetter("_derived")
_PARTITIONS = operator.attrgetter("partitions")


def _keep(asset: Asset, derived: _Derived) -> None:
    object.__setattr__(asset, "__pydantic_private__", {"_derived": derived})


def _derived(asset: Asset) -> _Derived:
    """What the asset's fields imply, read with C-level getters (pydantic's __getattr__ is slow)."""
    derived: _Derived = _DERIVED(_PRIVATE(asset))
    return derived


def name_of(asset: Asset | str) -> str:
    """The name of ``asset``, given as the asset or by its name (what public functions take)."""
    return str(asset.name) if isinstance(asset, Asset) else asset


def call_of(asset: Asset) -> _Call | None:
    """How :meth:`Asset.invoke` calls the asset's function (``None``: nothing to inspect)."""
    return _derived(asset).call


def keyword_parameters(asset: Asset) -> tuple[tuple[str, int], ...] | None:
    """What :meth:`Asset.invoke` passes by keyword, when that is all it passes.

    ``(parameter, index of its upstream asset in depends_on)`` for each, when the execute
    function takes nothing but upstream values by name (no context, not the seed style); else
    ``None``. The engine calls such a function with those keywords directly, without building
    the inputs mapping first.
    """
    call = call_of(asset)
    return None if call is None else call.keywords


def any_partitioned(assets: Iterable[Asset]) -> bool:
    """Whether any of ``assets`` is partitioned (their ``partitions`` read in one C-level pass)."""
    partitions = map(_PARTITIONS, map(_DERIVED, map(_PRIVATE, assets)))
    return any(map(operator.is_not, partitions, itertools.repeat(None)))
