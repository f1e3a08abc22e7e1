"""The asset registry: a thread-safe map of names to definitions.

It is the Registry of docs/adr/0001-asset-first-orchestration.md. A :class:`Registry` validates what
it is given, refuses definitions that would make the graph inconsistent (cycles, conflicting
origins), and hands out immutable :class:`~flowstone_nb._graph.dag.DAG` snapshots.
:func:`get_registry` returns the kernel-scoped default. This module runs no user code.
"""

from __future__ import annotations

import threading
from collections import ChainMap, defaultdict
from collections.abc import Collection, Iterator, Sequence
from types import FunctionType
from typing import Literal

from flowstone_nb._core.errors import AssetDefinitionError, AssetNotFoundError, CycleError
from flowstone_nb._define.asset import Asset
from flowstone_nb._define.checks import ValidationIssue, asset_issues, format_issues
from flowstone_nb._define.data_checks import Check, as_check
from flowstone_nb._define.definition_site import (
    Origin,
    origin_of_cell,
    origin_of_function,
    warn_in_user_code,
)
from flowstone_nb._define.dependency_checks import (
    check_dependencies,
    dependency_issues,
    may_have_dependency_issues,
)
from flowstone_nb._graph.dag import DAG

__all__ = ["Registry", "get_registry", "resolve_registry", "set_registry"]

UnknownPolicy = Literal["warn", "error", "ignore"]
#: A definition on its way in: name, asset, origin (``None``: its function's module, worked out
#: when needed) and upstream names.
_Entry = tuple[str, Asset, Origin | None, list[str]]


class Registry:
    """A thread-safe collection of asset definitions, keyed by name.

    ``fs.get_registry()`` is the kernel-scoped default; ``Registry()`` makes an isolated one for
    tests and libraries.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._assets: dict[str, Asset] = {}
        # Definitions from a module's function have no entry until asked: see _origin_of().
        self._origins: dict[str, Origin] = {}
        self._dependents: defaultdict[str, set[str]] = defaultdict(set)
        self._generation = 0
        self._dag: tuple[int, DAG] | None = None
        # Data checks: those registered by @fs.check, per asset and name, with their origin
        # (kept while their asset is redefined or removed); and the assets with checks=[...].
        self._checks: dict[str, dict[str, tuple[Check, Origin]]] = {}
        self._inline_checks: set[str] = set()

    @property
    def generation(self) -> int:
        """A number that changes whenever a definition is added, replaced or removed."""
        return self._generation

    # -- registration -------------------------------------------------------------------------
    def register(
        self,
        asset: Asset,
        *,
        origin: Origin | None = None,
        replace: bool = False,
        unknown: UnknownPolicy = "warn",
    ) -> Asset:
        """Validate ``asset`` and add it, replacing a definition from the same origin.

        Parameters
        ----------
        asset
            The definition.
        origin
            Where it was defined (default: the execute function's module or the current cell).
        replace
            Replace a definition of the same name from a different origin.
        unknown
            What to do about dependencies no asset has yet: ``"warn"`` (notebooks, where cells
            come in any order), ``"error"`` or ``"ignore"``.

        Raises
        ------
        AssetDefinitionError
            The definition is invalid, or the name is taken by another cell or module.
        CycleError
            The new dependencies would close a cycle.
        """
        self.register_all([(asset, origin)], replace=replace, unknown=unknown)
        return asset

    def register_all(
        self,
        items: Sequence[tuple[Asset, Origin | None]],
        *,
        replace: bool = False,
        unknown: UnknownPolicy = "warn",
        validated: bool = False,
    ) -> None:
        """Register several definitions at once: all of them, or none when one is refused.

        ``validated=True`` says the caller has just validated every definition (a pipeline's
        class statement does): they are not validated again. Otherwise each definition's
        partition mappings are checked against the upstream definitions known now (those given
        together included); one whose upstream comes later is checked before it runs.
        """
        entries: list[_Entry] = []
        for asset, given in items:
            origin = given if given is not None else _origin_now(asset)
            issues = [] if validated else asset_issues(asset)
            if issues:
                where = (origin or _module_origin(asset)).label
                raise AssetDefinitionError(
                    format_issues(asset.name, issues, where), asset=asset.name, issues=issues
                )
            entries.append((str(asset.name), asset, origin, asset.upstream))
        with self._lock:
            warned = [
                self._check_origin(name, asset, origin, replace)
                for name, asset, origin, _ in entries
                if name in self._assets
            ]
            self._check_cycles(entries)
            self._check_unknown(entries, unknown)
            for name, asset, origin, _ in entries:
                if asset.checks and name in self._checks:
                    self._check_inline_names(name, asset, origin)
            if not validated:
                self._check_dependencies(entries)
            for entry in entries:
                self._put(*entry)
        for message in warned:
            if message:
                warn_in_user_code(message)

    def _check_origin(
        self, name: str, asset: Asset, given: Origin | None, replace: bool
    ) -> str | None:
        """Raise for a conflicting redefinition; return a warning text for an unsure one."""
        if replace:
            return None
        existing = self._origin_of(name)
        origin = given or _module_origin(asset)
        if origin.key is not None and origin.key == existing.key:
            return None
        if origin.key is None or existing.key is None:
            return (
                f"Asset {name!r} was defined before in {existing.label} and is now replaced by "
                f"{origin.label}. If these are different cells, rename one of them."
            )
        raise AssetDefinitionError(
            f"Asset {name!r} is already defined in {existing.label}; {origin.label} defines it "
            "again. Rename one of them, or replace it on purpose with replace=True "
            "(%%asset --replace).",
            asset=name,
        )

    def _check_cycles(self, entries: Sequence[_Entry]) -> None:
        """Refuse definitions whose dependencies lead back to themselves."""
        # A cycle through one new definition needs an existing asset that depends on it.
        if len(entries) == 1 and not self._dependents.get(entries[0][0]):
            return
        dependencies = {name: a.upstream for name, a in self._assets.items()}
        dependencies.update({name: upstream for name, _, _, upstream in entries})
        path = DAG.from_dependencies(dependencies).find_cycle()
        if path is not None:
            new_names = sorted({name for name, _, _, _ in entries})
            raise CycleError(path, context=f"when defining {new_names}")

    def _check_unknown(self, entries: Sequence[_Entry], policy: UnknownPolicy) -> None:
        if policy == "ignore":
            return
        registered = self._assets
        for name, _, _, upstream in entries:
            unknown = [d for d in upstream if d not in registered]
            if unknown:
                self._report_unknown(name, upstream, unknown, entries, policy)

    def _check_dependencies(self, entries: Sequence[_Entry]) -> None:
        """Refuse a definition whose partition mappings cannot work with its known upstreams."""
        checked = [entry[1] for entry in entries if may_have_dependency_issues(entry[1])]
        if not checked:
            return
        new = {name: (asset, origin) for name, asset, origin, _ in entries}

        def where(name: str) -> str:
            asset, origin = new[name]
            return (origin or _module_origin(asset)).label

        known = ChainMap({name: asset for name, (asset, _) in new.items()}, self._assets)
        check_dependencies(checked, known, where)

    def dependency_issues(self, asset: Asset) -> list[ValidationIssue]:
        """Why ``asset``'s partition mappings cannot work with the upstreams registered here."""
        with self._lock:
            return dependency_issues(asset, self._assets)

    def _report_unknown(
        self,
        name: str,
        upstream: list[str],
        unknown: list[str],
        entries: Sequence[_Entry],
        policy: UnknownPolicy,
    ) -> None:
        """Warn or raise about dependencies neither registered nor defined with ``name``."""
        new_names = {new for new, _, _, _ in entries}
        if all(d in new_names for d in unknown):
            return
        known = set(self._assets) | new_names
        dag = DAG.from_dependencies({**{n: [] for n in known}, name: upstream})
        message = str(dag.missing_message(name))
        if policy == "error":
            raise AssetDefinitionError(
                f"{message}. Define them first, or fix the names in depends_on.", asset=name
            )
        warn_in_user_code(f"{message}. Define them before materializing {name!r}.")

    def _put(self, name: str, asset: Asset, origin: Origin | None, upstream: list[str]) -> None:
        previous = self._assets.get(name)
        dependents = self._dependents
        if previous is not None:
            for dep in previous.upstream:
                dependents[dep].discard(name)
        self._assets[name] = asset
        if asset.checks:
            self._inline_checks.add(name)
        elif self._inline_checks:
            self._inline_checks.discard(name)
        if origin is None:
            self._origins.pop(name, None)
        else:
            self._origins[name] = origin
        for dep in upstream:
            dependents[dep].add(name)
        self._generation += 1

    # -- data checks ----------------------------------------------------------------------------
    def register_check(self, check: Check, *, origin: Origin | None = None) -> Check:
        """Add a data check of its asset (which may be defined later); return it.

        A check of the same asset and name from the same origin (a cell run again) is replaced.

        Raises
        ------
        AssetDefinitionError
            Another cell or module (or the asset's own ``checks=[...]``) has a check of that
            name for the asset.
        """
        asset = str(check.asset)
        where = origin if origin is not None else _check_origin(check)
        with self._lock:
            self._check_check_name(asset, check, where)
            self._checks.setdefault(asset, {})[check.name] = (check, where)
            self._generation += 1
        return check

    def drop_checks_of(self, origin: Origin, *, keep: Check) -> list[Check]:
        """Remove the checks registered from ``origin`` other than ``keep``; return them.

        A ``%%check`` cell defines one check: run again with another name or asset, the check
        it defined before goes. Nothing is removed for an origin without a key (no cell id).
        """
        if origin.key is None:
            return []
        dropped = []
        with self._lock:
            for found in self._checks.values():
                for name, (check, where) in list(found.items()):
                    if where.key == origin.key and check is not keep:
                        del found[name]
                        dropped.append(check)
            if dropped:
                self._generation += 1
        return dropped

    def _check_check_name(self, asset: str, check: Check, origin: Origin) -> None:
        """Refuse a registered check named as another check of ``asset`` from elsewhere."""
        defined = self._assets.get(asset)
        if defined is not None and defined.checks:
            for item in defined.checks:
                if item is not check and as_check(item, asset).name == check.name:
                    raise _check_name_taken(
                        asset, check.name, f"its checks=[...] ({self._origin_of(asset).label})"
                    )
        registered = self._checks.get(asset, {}).get(check.name)
        if registered is not None:
            known = registered[1].key
            if known is not None and origin.key is not None and known != origin.key:
                raise _check_name_taken(asset, check.name, registered[1].label, origin.label)

    def _check_inline_names(self, name: str, asset: Asset, origin: Origin | None) -> None:
        """Refuse ``checks=[...]`` of ``asset`` named as a check registered for it."""
        registered = self._checks.get(name, {})
        for item in asset.checks:
            found = registered.get(as_check(item, name).name)
            if found is not None and found[0] is not item:
                where = (origin or _module_origin(asset)).label
                raise _check_name_taken(name, found[0].name, found[1].label, where)

    def checks_of(self, name: str) -> tuple[Check, ...]:
        """The data checks of the asset ``name``: its own ``checks=[...]``, then registered ones."""
        with self._lock:
            defined = self._assets.get(name)
            inline = [as_check(item, name) for item in defined.checks] if defined else []
            registered = [check for check, _ in self._checks.get(name, {}).values()]
        return (*inline, *(check for check in registered if check not in inline))

    def checks_for(self, names: Collection[str]) -> dict[str, tuple[Check, ...]]:
        """:meth:`checks_of` each of ``names`` that has any (none looked at when none has)."""
        with self._lock:
            checked = [n for n in (*self._inline_checks, *self._checks) if n in names]
        found = {name: self.checks_of(name) for name in checked}
        return {name: checks for name, checks in found.items() if checks}

    # -- lookup ---------------------------------------------------------------------------------
    def get(self, name: str) -> Asset:
        """Return the asset called ``name``.

        Raises
        ------
        AssetNotFoundError
            No such asset; the message suggests close names.
        """
        try:
            return self._assets[name]
        except KeyError:
            with self._lock:
                known = list(self._assets)
            raise AssetNotFoundError(name, known) from None

    def origin(self, name: str) -> Origin:
        """Where the asset ``name`` was defined."""
        self.get(name)
        with self._lock:
            return self._origin_of(name)

    def _origin_of(self, name: str) -> Origin:
        """The origin of the registered ``name``, worked out now for a module's function."""
        origin = self._origins.get(name)
        if origin is None:
            origin = self._origins[name] = _module_origin(self._assets[name])
        return origin

    def list_all(self) -> list[Asset]:
        """Every registered asset, sorted by name."""
        with self._lock:
            return [self._assets[name] for name in sorted(self._assets)]

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        with self._lock:
            return sorted(self._assets)

    def unregister(self, name: str) -> Asset:
        """Remove the asset ``name`` and return it; unknown names raise AssetNotFoundError."""
        with self._lock:
            asset = self.get(name)
            del self._assets[name]
            self._origins.pop(name, None)
            self._inline_checks.discard(name)
            for dep in asset.upstream:
                self._dependents[dep].discard(name)
            self._generation += 1
            return asset

    def clear(self) -> None:
        """Remove every asset."""
        with self._lock:
            self._assets.clear()
            self._origins.clear()
            self._dependents.clear()
            self._checks.clear()
            self._inline_checks.clear()
            self._generation += 1

    def dag(self) -> DAG:
        """An immutable graph snapshot of the registered assets (cached until a change)."""
        with self._lock:
            cached = self._dag
            if cached is not None and cached[0] == self._generation:
                return cached[1]
            dag = DAG.from_dependencies({n: a.upstream for n, a in self._assets.items()})
            self._dag = (self._generation, dag)
            return dag

    def snapshot(self) -> tuple[DAG, dict[str, Asset]]:
        """The graph and a copy of the definitions, taken together (no change in between)."""
        with self._lock:
            return self.dag(), self._assets.copy()

    def __contains__(self, name: object) -> bool:
        return name in self._assets

    def __len__(self) -> int:
        return len(self._assets)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __repr__(self) -> str:
        names = self.names()
        shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
        return f"Registry({len(names)} assets: {shown})" if names else "Registry(empty)"


def _origin_now(asset: Asset) -> Origin | None:
    """Where a definition given without an origin comes from, when that can change later.

    A notebook cell (``__main__``, or no execute function to tell) is the cell running now; a
    function of another module names its module and qualified name, which stay what they are:
    ``None`` leaves that to :func:`_module_origin` when the origin is needed.
    """
    fn = asset.execute_fn
    if not callable(fn):
        return origin_of_cell()
    module = getattr(fn, "__module__", None)
    if not module or module == "__main__":
        return origin_of_function(fn)
    return None


def _check_name_taken(asset: str, name: str, first: str, second: str = "") -> AssetDefinitionError:
    again = f"; {second} defines another" if second else ""
    return AssetDefinitionError(
        f"Asset {asset!r} already has a check named {name!r}, defined in {first}{again}. "
        "Rename one of them (fs.check(..., name='...')).",
        asset=asset,
    )


def _check_origin(check: Check) -> Origin:
    """Where a check comes from: its function's cell or module (a schema's: the cell now)."""
    function = check.function
    if isinstance(function, FunctionType):
        return origin_of_function(function)
    return origin_of_cell()


def _module_origin(asset: Asset) -> Origin:
    """The origin of a definition whose execute function belongs to a module."""
    return origin_of_function(asset.execute_fn)


_default_lock = threading.Lock()
_default: list[Registry] = []


def get_registry() -> Registry:
    """The kernel-scoped default registry (one per interpreter, created on first use)."""
    with _default_lock:
        if not _default:
            _default.append(Registry())
        return _default[0]


def resolve_registry(registry: Registry | None) -> Registry:
    """``registry``, or the kernel registry when it is ``None`` (an empty registry is falsy)."""
    return registry if registry is not None else get_registry()


def set_registry(registry: Registry) -> Registry:
    """Make ``registry`` the default and return the previous one (for tests and embedding)."""
    previous = get_registry()
    with _default_lock:
        _default[0] = registry
    return previous
