"""The asset model (ADR-0001's Asset struct) and how its execute function is called.

An :class:`Asset` is plain data about one named, persistent artifact: what it depends on, how it is
computed, stored and partitioned. Wrong *types* fail when the model is built (pydantic names the
field); *semantic* problems are reported by :func:`flowstone_nb.validate`. This module must not run,
store or display anything.
"""

from __future__ import annotations

import inspect
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import CodeType, FunctionType
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from flowstone_nb._core.errors import PartitionError
from flowstone_nb._partitioning.base import PartitionsDefinition
from flowstone_nb._partitioning.mappings import PartitionMapping
from flowstone_nb._partitioning.spec import resolve_partitions
from flowstone_nb._versioning.self_contained import self_contained_code

__all__ = ["Asset", "Signature"]

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
    # The function's code object, when it reads nothing but its arguments (see _plain).
    pure: CodeType | None

    @classmethod
    def of(cls, signature: Signature, depends_on: Sequence[str], function: object) -> _Call:
        pure = self_contained_code(function)
        if signature.style(depends_on) == "seed":
            return cls(True, True, (), (), None, pure)
        required = signature.required
        context = CONTEXT in required or CONTEXT in signature.optional
        inputs = tuple(name for name in required if name != CONTEXT)
        optional = tuple(name for name in signature.optional if name != CONTEXT)
        index = {name: i for i, name in enumerate(depends_on)}
        keywords = None
        if not context and all(name in index for name in inputs):
            passed = (*inputs, *(name for name in optional if name in index))
            keywords = tuple((name, index[name]) for name in passed)
        return cls(False, context, inputs, optional, keywords, pure)


class Asset(BaseModel):
    """A named, persistent, versioned data artifact.

    Build one with the :func:`flowstone_nb.asset` decorator, a :class:`flowstone_nb.Pipeline`
    class, the ``%%asset`` cell magic, or directly (seed style)::

        Asset(name="clean", depends_on=["raw"], execute_fn=lambda context, deps: deps["raw"])

    Calling an asset calls its execute function, so decorated functions stay unit-testable.

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
        A fixed code version; ``None`` derives it from the normalised source.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

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

    _signature: Signature | None = PrivateAttr(default=None)
    _partitions: PartitionsDefinition | None = PrivateAttr(default=None)
    _call: _Call | None = PrivateAttr(default=None)

    def __init__(self, /, **data: Any) -> None:
        """Build the asset; values that already have their field's type skip pydantic's validator.

        Anything else (wrong types, values pydantic would convert, unknown fields) is validated
        by pydantic, which raises :class:`pydantic.ValidationError` naming the field; so is
        everything given to a subclass, whose own validators must run.
        """
        values = _plain_values(data) if type(self) is Asset else None
        if values is None:
            super().__init__(**data)
        else:
            self._fill(values, data, _Unread.UNREAD)

    # Direct calls only: model_validate() and nested validation keep pydantic's own path.
    # pydantic reads this flag from a model's own __init__: a function attribute mypy can't see.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def _build(cls, data: Mapping[str, Any], signature: Signature | None) -> Asset:
        """Build an asset whose execute function's ``signature`` the caller has already read.

        Raises :class:`pydantic.ValidationError` like ``Asset(**data)`` for values of wrong types.
        """
        values = _plain_values(data) if cls is Asset else None
        if values is None:
            return cls(**data)
        built = cls.__new__(cls)
        built._fill(values, data, signature)
        return built

    def _fill(
        self,
        values: dict[str, Any],
        given: Mapping[str, Any],
        signature: Signature | _Unread | None,
    ) -> None:
        """Set up a model from checked values, as pydantic's validator would."""
        setattr_ = object.__setattr__
        setattr_(self, "__dict__", values)
        setattr_(self, "__pydantic_fields_set__", set(given))
        setattr_(self, "__pydantic_extra__", None)
        setattr_(self, "__pydantic_private__", _private_state(values, signature))

    @field_validator("depends_on", mode="before")
    @classmethod
    def _names_of_assets(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        if isinstance(value, (list, tuple)):
            return [item.name if isinstance(item, Asset) else item for item in value]
        return value

    @field_validator("tags", "requires", mode="before")
    @classmethod
    def _single_string_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def __getstate__(self) -> dict[Any, Any]:
        """The pickled state: the fields (the private state is worked out again when loaded)."""
        state = super().__getstate__()
        state["__pydantic_private__"] = None  # (it holds code objects, which do not pickle)
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        object.__setattr__(
            self, "__pydantic_private__", _private_state(self.__dict__, _Unread.UNREAD)
        )

    def model_post_init(self, context: Any, /) -> None:
        """Inspect the execute function and resolve the partitioning once."""
        private = self.__pydantic_private__
        assert private is not None, "pydantic sets up private attributes before this runs"
        private.update(_private_state(self.__dict__, _Unread.UNREAD))

    @property
    def partitions(self) -> PartitionsDefinition | None:
        """The partitions definition (seed strings resolved), or ``None`` when unpartitioned."""
        # Straight from the private dict: pydantic's __getattr__ costs microseconds per read.
        partitions: PartitionsDefinition | None = (self.__pydantic_private__ or {})["_partitions"]
        return partitions  # (no typing.cast: a Python-level call on every read)

    @property
    def upstream(self) -> list[str]:
        """``depends_on`` without the asset itself (a previous-partition self-dependency)."""
        depends_on, own = self.depends_on, self.name
        return [name for name in depends_on if name != own] if own in depends_on else [*depends_on]

    @property
    def signature(self) -> Signature | None:
        """The execute function's parameters, or ``None`` when it has none to inspect."""
        signature: Signature | None = (self.__pydantic_private__ or {})["_signature"]
        return signature

    @property
    def style(self) -> str | None:
        """``"decorator"`` or ``"seed"`` — how the execute function takes its inputs."""
        signature = self.signature
        return signature.style(self.depends_on) if signature else None

    @property
    def takes_context(self) -> bool:
        """Whether the execute function is handed a context (``True`` when it cannot tell)."""
        call = (self.__pydantic_private__ or {})["_call"]
        return call is None or call.context

    def invoke(self, context: Any, inputs: Mapping[str, Any]) -> Any:
        """Call the execute function with the context and upstream values, in its own style."""
        call: _Call | None = (self.__pydantic_private__ or {})["_call"]
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


def call_of(asset: Asset) -> _Call | None:
    """How :meth:`Asset.invoke` calls the asset's function (``None``: nothing to inspect)."""
    call: _Call | None = (asset.__pydantic_private__ or {})["_call"]
    return call


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
    partitions = map(_PARTITIONS, map(_PRIVATE, assets))
    return any(map(operator.is_not, partitions, itertools.repeat(None)))


# What Asset.partitions reads, as C-level getters: pydantic sets the private dict up on creation.
_PRIVATE = operator.attrgetter("__pydantic_private__")
_PARTITIONS = operator.itemgetter("_partitions")


class _Unread(Enum):
    """Stands for "the execute function's signature has not been read yet"."""

    UNREAD = "unread"


def _private_state(
    values: Mapping[str, Any], signature: Signature | _Unread | None
) -> dict[str, Any]:
    """The private attributes of a model with these field values: signature and partitions."""
    if signature is _Unread.UNREAD:
        fn = values["execute_fn"]
        signature = Signature.of(fn) if callable(fn) else None
    partitioned_by, partition_fn = values["partitioned_by"], values["partition_fn"]
    partitions = None
    if partitioned_by is not None or partition_fn is not None:
        try:
            partitions = resolve_partitions(partitioned_by, partition_fn)
        except PartitionError:
            partitions = None  # validate() reports the inconsistency
    return {
        "_signature": signature,
        "_partitions": partitions,
        "_call": None
        if signature is None
        else _Call.of(signature, values["depends_on"], values["execute_fn"]),
    }


#: Says "not already of the field's type" in the checks below.
_NO = object()


def _number(value: Any) -> Any:
    return value if value is None or type(value) is int else _NO


def _names(value: Any) -> Any:
    """``depends_on``: a name, or a list or tuple of names and assets."""
    if type(value) is str:
        return [value]
    if type(value) is not list and type(value) is not tuple:
        return _NO
    names = [item.name if isinstance(item, Asset) else item for item in value]
    for name in names:
        if type(name) is not str:
            return _NO
    return names


def _strings(value: Any) -> Any:
    """``requires``: a string, or a list or tuple of strings."""
    if type(value) is str:
        return [value]
    if type(value) is not list and type(value) is not tuple:
        return _NO
    for item in value:
        if type(item) is not str:
            return _NO
    return list(value)


def _labels(value: Any) -> Any:
    """``tags``: a string, or a list or tuple of anything (validate() checks the items)."""
    if isinstance(value, str):
        return [value]
    return list(value) if type(value) is list or type(value) is tuple else _NO


def _options(value: Any) -> Any:
    """``io_config`` and ``metadata``: a dict with string keys."""
    if type(value) is not dict:
        return _NO
    for key in value:
        if type(key) is not str:
            return _NO
    return dict(value)


def _mappings(value: Any) -> Any:
    """``partition_mappings``: a dict of names to partition mappings."""
    if type(value) is not dict:
        return _NO
    for key, mapping in value.items():
        if type(key) is not str or not isinstance(mapping, PartitionMapping):
            return _NO
    return dict(value)


def _partitioning(value: Any) -> Any:
    if value is None or type(value) is str or isinstance(value, PartitionsDefinition):
        return value
    return _NO


#: Fields whose value is kept when it is ``None`` or a ``str``.
_TEXT_FIELDS = frozenset({"name", "description", "io_manager", "module", "code_version"})
#: Fields of type ``Any``: every value is kept as it is.
_ANY_FIELDS = frozenset({"execute_fn", "partition_fn"})
#: The other fields: a check returning the field's value, or ``_NO``.
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "depends_on": _names,
    "io_config": _options,
    "partitioned_by": _partitioning,
    "partition_mappings": _mappings,
    "requires": _strings,
    "metadata": _options,
    "tags": _labels,
    "line": _number,
}


def _plain_values(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """Every field's value when ``data`` holds only values of their fields' final types.

    Lists, tuples and dicts are copied (as pydantic copies them), a single string becomes a
    one-item list where the field validators make it one, assets in ``depends_on`` become their
    names. ``None`` when any value needs pydantic: a wrong type, a value pydantic would convert
    (a ``str`` subclass, a ``bool`` line, a set of tags ...) or an unknown field.
    """
    values: dict[str, Any] = {
        "name": None,
        "description": None,
        "depends_on": [],
        "io_manager": None,
        "io_config": {},
        "partitioned_by": None,
        "partition_fn": None,
        "partition_mappings": {},
        "execute_fn": None,
        "requires": [],
        "metadata": {},
        "tags": [],
        "module": None,
        "line": None,
        "code_version": None,
    }
    for key, value in data.items():
        if key in _TEXT_FIELDS:
            if value is not None and type(value) is not str:
                return None
        elif key not in _ANY_FIELDS:
            check = _CHECKS.get(key)
            if check is None:
                return None
            value = check(value)  # noqa: PLW2901  # the field's final value
            if value is _NO:
                return None
        values[key] = value
    return values
