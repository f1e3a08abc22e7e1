"""Class-based grouping of assets: ``class Sales(fs.Pipeline): ...``.

The Python form of FlowStone's Pipeline DSL. Assets are declared in the class body with
``@fs.asset`` (written like plain functions, without ``self``). When the class statement runs, the
whole pipeline is validated — bad definitions, unknown dependencies, duplicate names, cycles,
partition mappings that cannot work — and,
unless ``register=False``, registered in one step. Nothing is registered when anything is wrong.
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any, ClassVar

from flowstone_nb._core.errors import AssetDefinitionError, CycleError
from flowstone_nb._define.asset import Asset
from flowstone_nb._define.checks import asset_issues, format_issues
from flowstone_nb._define.definition_site import Origin, origin_of_cell, running_shell
from flowstone_nb._define.dependency_checks import check_dependencies
from flowstone_nb._define.registry import Registry, get_registry
from flowstone_nb._graph.dag import DAG

__all__ = ["Pipeline"]


class Pipeline:
    """Base class for a group of assets declared in a class body.

    Examples
    --------
    ::

        class Sales(fs.Pipeline):
            @fs.asset
            def orders():
                return load_orders()

            @fs.asset
            def revenue(orders):
                return orders.amount.sum()

    ``Sales.assets()`` lists them; ``Sales.register(registry)`` registers them elsewhere. Pass
    ``register=False`` in the class statement to skip registering in the kernel registry.
    """

    __flowstone_assets__: ClassVar[dict[str, Asset]] = {}

    def __init_subclass__(
        cls, *, register: bool = True, registry: Registry | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        collected: dict[str, Asset] = {}
        for base in reversed(cls.__mro__[1:]):
            collected.update(getattr(base, "__flowstone_assets__", {}))
        collected.update(cls._declared_here())
        cls.__flowstone_assets__ = collected
        target = registry if registry is not None else get_registry()
        cls._check(target)
        if register:
            cls._register(target, validated=True)

    @classmethod
    def _declared_here(cls) -> dict[str, Asset]:
        declared: dict[str, Asset] = {}
        attributes: dict[str, str] = {}
        for attribute, value in vars(cls).items():
            if not isinstance(value, Asset):
                continue
            name = str(value.name)
            if name in declared:
                raise AssetDefinitionError(
                    f"Pipeline {cls.__name__!r} defines asset {name!r} twice (attributes "
                    f"{attributes[name]!r} and {attribute!r}): give each asset its own name.",
                    asset=name,
                )
            if value.signature is not None and value.signature.required[:1] == ("self",):
                raise AssetDefinitionError(
                    f"Asset {name!r} in pipeline {cls.__name__!r} takes 'self': pipeline assets "
                    "are written like plain functions; remove the 'self' parameter.",
                    asset=name,
                )
            declared[name] = value
            attributes[name] = attribute
        return declared

    @classmethod
    def _check(cls, registry: Registry) -> None:
        """Validate the whole pipeline: each asset, unknown dependencies, cycles, mappings."""
        assets = cls.__flowstone_assets__
        for asset in assets.values():
            issues = asset_issues(asset)
            if issues:
                where = f"pipeline {cls.__name__}"
                raise AssetDefinitionError(
                    format_issues(asset.name, issues, where), asset=asset.name, issues=issues
                )
        known = {*assets, *registry.names()}
        dag = DAG.from_dependencies(
            {**{name: [] for name in known}, **{n: a.upstream for n, a in assets.items()}}
        )
        for name in sorted(assets):
            message = dag.missing_message(name)
            if message:
                raise AssetDefinitionError(
                    f"{message} (in pipeline {cls.__name__!r}). Define them in the pipeline or "
                    "before it, or fix the names.",
                    asset=name,
                )
        path = dag.subgraph(assets).find_cycle()
        if path is not None:
            raise CycleError(path, context=f"in pipeline {cls.__name__!r}")
        _, registered = registry.snapshot()
        check_dependencies(
            assets.values(),
            ChainMap(assets, registered),
            lambda name: f"pipeline {cls.__name__}",
        )

    @classmethod
    def assets(cls) -> dict[str, Asset]:
        """The pipeline's assets by name, in dependency order."""
        assets = cls.__flowstone_assets__
        order = DAG.from_dependencies({n: a.upstream for n, a in assets.items()})
        return {name: assets[name] for name in order.topological_order()}

    @classmethod
    def asset_names(cls) -> list[str]:
        """The pipeline's asset names, in dependency order."""
        return list(cls.assets())

    @classmethod
    def register(cls, registry: Registry | None = None, *, replace: bool = False) -> None:
        """Register every asset of the pipeline in one step (all or none)."""
        cls._register(registry if registry is not None else get_registry(), replace=replace)

    @classmethod
    def _register(cls, target: Registry, *, replace: bool = False, validated: bool = False) -> None:
        target.register_all(
            [(asset, cls._origin_of(asset)) for asset in cls.assets().values()],
            replace=replace,
            unknown="error",
            validated=validated,
        )

    @classmethod
    def _origin_of(cls, asset: Asset) -> Origin:
        if cls.__module__ == "__main__" and running_shell() is not None:
            cell = origin_of_cell()
            key = f"{cell.key}:{cls.__qualname__}" if cell.key else None
            return Origin(key=key, label=f"pipeline {cls.__name__} in {cell.label}")
        return Origin(
            key=f"{cls.__module__}:{cls.__qualname__}.{asset.name}",
            label=f"pipeline {cls.__module__}.{cls.__qualname__}",
        )
