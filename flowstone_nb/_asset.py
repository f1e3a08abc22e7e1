"""The asset model (ADR-0001's Asset struct) and how its execute function is called.

An :class:`Asset` is plain data about one named, persistent artifact: what it depends on, how it is
computed, stored and partitioned. Wrong *types* fail when the model is built (pydantic names the
field); *semantic* problems are reported by :func:`flowstone_nb.validate`. This module must not run,
store or display anything.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FunctionType
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from ._errors import PartitionError
from ._mappings import PartitionMapping
from ._partitions import PartitionsDefinition, resolve_partitions

__all__ = ["Asset", "Signature"]

CONTEXT = "context"


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
        positional = code.co_varnames[: code.co_argcount]
        keyword_only = code.co_varnames[
            code.co_argcount : code.co_argcount + code.co_kwonlyargcount
        ]
        defaulted = len(fn.__defaults__ or ())
        kw_defaults = fn.__kwdefaults__ or {}
        split = len(positional) - defaulted
        required = positional[:split] + tuple(n for n in keyword_only if n not in kw_defaults)
        optional = positional[split:] + tuple(n for n in keyword_only if n in kw_defaults)
        variadic = bool(code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))
        return cls(required=required, optional=optional, variadic=variadic)

    def style(self, depends_on: Sequence[str]) -> str | None:
        """``"decorator"``, ``"seed"`` or ``None`` (a shape that fits neither).

        Decorator style: every required parameter is an upstream name, optionally preceded by
        ``context``. Seed style: exactly two required parameters, ``(context, deps)``.
        """
        if self.variadic:
            return None
        names = self.required
        rest = names[1:] if names[:1] == (CONTEXT,) else names
        if all(name in depends_on for name in rest):
            return "decorator"
        if len(names) == 2:
            return "seed"
        return None


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

    def model_post_init(self, context: Any, /) -> None:
        """Inspect the execute function and resolve the partitioning once."""
        if callable(self.execute_fn):
            self._signature = Signature.of(self.execute_fn)
        try:
            self._partitions = resolve_partitions(self.partitioned_by, self.partition_fn)
        except PartitionError:
            self._partitions = None  # validate() reports the inconsistency

    @property
    def _private(self) -> dict[str, Any]:
        return self.__pydantic_private__ or {}

    @property
    def partitions(self) -> PartitionsDefinition | None:
        """The partitions definition (seed strings resolved), or ``None`` when unpartitioned."""
        # Straight from the private dict: pydantic's __getattr__ costs microseconds per read.
        return cast("PartitionsDefinition | None", self._private["_partitions"])

    @property
    def upstream(self) -> list[str]:
        """``depends_on`` without the asset itself (a previous-partition self-dependency)."""
        return [name for name in self.depends_on if name != self.name]

    @property
    def signature(self) -> Signature | None:
        """The execute function's parameters, or ``None`` when it has none to inspect."""
        return cast("Signature | None", self._private["_signature"])

    @property
    def style(self) -> str | None:
        """``"decorator"`` or ``"seed"`` — how the execute function takes its inputs."""
        signature = self.signature
        return signature.style(self.depends_on) if signature else None

    def invoke(self, context: Any, inputs: Mapping[str, Any]) -> Any:
        """Call the execute function with the context and upstream values, in its own style."""
        signature = self.signature
        assert signature is not None, "validated assets always have an inspectable execute_fn"
        if signature.style(self.depends_on) == "seed":
            return self.execute_fn(context, dict(inputs))
        arguments = {
            name: context if name == CONTEXT else inputs[name] for name in signature.required
        }
        arguments.update((name, inputs[name]) for name in signature.optional if name in inputs)
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
