"""Export: a notebook's definitions written out as a plain Python module.

:func:`export_notebook` reads a notebook without running it and writes what definition mode
would run (:func:`~flowstone_nb._notebook.loader.plan_cells`): the imports (gathered at the top),
constants, helpers, classes and setup calls, decorated assets as they are, and every ``%%asset``
cell as an ``@fs.asset`` function whose parameters are its upstream assets and whose last
expression is returned (every ``%%check`` cell as an ``@fs.check`` function taking the value).
Cells that only look are left out, and so are the kernel's own setup magics (``%load_ext``,
``%config``). The functions are written exactly as the kernel compiled the cells, so the exported
assets (and checks) keep the notebook's code versions: materializing the module reuses what the
notebook made. Importing the module defines assets and materializes nothing.
"""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flowstone_nb._core.errors import FlowstoneError, PartitionError
from flowstone_nb._define.cell_function import function_source, parse_cell
from flowstone_nb._notebook.loader import (
    Action,
    CellPlan,
    SourceError,
    plan_cells,
    read_notebook,
)
from flowstone_nb._partitioning.mappings import (
    MultiToSingleDimension,
    PartitionMapping,
    parse_mapping_spec,
)
from flowstone_nb._partitioning.spec import parse_partition_spec

if TYPE_CHECKING:
    from flowstone_nb._notebook.magic_lines import AssetArgs

__all__ = ["ExportError", "export_notebook", "module_text"]

_PACKAGE = "flowstone_nb"


class ExportError(FlowstoneError):
    """A notebook cell cannot be written as module code (the message names the cell)."""


@dataclass(frozen=True)
class _AssetCell:
    """What an ``%%asset`` line asks for."""

    name: str
    depends_on: tuple[str, ...] | None
    options: dict[str, str]  # decorator keyword -> Python source of its value
    concat: tuple[str, ...] = ()  # parameters annotated pd.DataFrame


def export_notebook(notebook: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Write the definitions of ``notebook`` to the module ``target``; return its path."""
    source = Path(notebook)
    if not source.is_file():
        raise SourceError(f"No such notebook: {str(source)!r}.")
    path = Path(target)
    if path.suffix != ".py":
        raise ExportError(f"Export to a .py file, not {str(path)!r}.")
    text = module_text(source)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)  # never a half-written module
    return path


def module_text(notebook: Path) -> str:
    """The module that defines ``notebook``'s assets, as text."""
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    plans = plan_cells(read_notebook(notebook), transform)
    imports: list[str] = []
    blocks: list[str] = []
    alias = "fs"
    assets: list[str] = []
    for plan in plans:
        if plan.action is Action.RUN:
            found_imports, block, seen = _python_block(plan, transform(plan.code), alias)
            for line in found_imports:
                if line not in imports:
                    imports.append(line)
            alias = seen.get(_PACKAGE, alias)
            assets.extend(seen.get("", "").split())
            if block:
                blocks.append(block)
        elif plan.action is Action.DEFINE:
            cell = _asset_cell(plan, alias)
            blocks.append(_asset_function(plan, cell, assets, alias))
            assets.append(cell.name)
        elif plan.action is Action.CHECK:
            blocks.append(_check_function(plan, alias))
    package_import = f"import {_PACKAGE} as {alias}" if alias != _PACKAGE else f"import {_PACKAGE}"
    if not any(line.startswith(f"import {_PACKAGE}") for line in imports):
        imports.append(package_import)
    header = (
        f'"""Assets of {notebook.name}, exported by `flowstone export`.\n\n'
        'Importing this module defines the assets and materializes nothing.\n"""\n'
    )
    code = "\n\n\n".join(block.strip("\n") for block in blocks if block.strip())
    first = code.lstrip().split(maxsplit=1)[0] if code.strip() else ""
    gap = "\n\n\n" if first.startswith(("def", "class", "async", "@")) else "\n\n"
    return f"{header}\n{_sorted_imports(imports)}{gap}{code}\n"


def _sorted_imports(imports: list[str]) -> str:
    """Import lines grouped and sorted as isort does: future, standard library, the rest."""

    def module(line: str) -> str:
        return line.split()[1]

    def group(line: str) -> int:
        root = module(line).split(".")[0]
        return 0 if root == "__future__" else 1 if root in sys.stdlib_module_names else 2

    blocks = []
    for number in (0, 1, 2):
        lines = [line for line in imports if group(line) == number]
        plain = sorted((line for line in lines if line.startswith("import ")), key=module)
        froms = sorted((line for line in lines if line.startswith("from ")), key=module)
        if lines:
            blocks.append("\n".join([*plain, *froms]))
    return "\n\n".join(blocks)


def _python_block(plan: CellPlan, code: str, alias: str) -> tuple[list[str], str, dict[str, str]]:
    """A cell's imports, its other statements as text, and the names it gives the package.

    The third value maps ``flowstone_nb`` to the alias it is imported as and ``""`` to the names
    of the ``@fs.asset`` functions the cell defines (space-separated).
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        raise ExportError(
            f"Cell {plan.cell.index} ({plan.cell.first_line!r}) is not valid Python: {error}."
        ) from error
    lines = code.splitlines()
    imports: list[str] = []
    drop: set[int] = set()
    seen: dict[str, str] = {}
    defined = []
    for statement in tree.body:
        span = range(statement.lineno, (statement.end_lineno or statement.lineno) + 1)
        if isinstance(statement, ast.Import | ast.ImportFrom) and statement.col_offset == 0:
            imports.append(ast.unparse(statement))
            drop.update(span)
            for name in statement.names if isinstance(statement, ast.Import) else ():
                if name.name == _PACKAGE:
                    seen[_PACKAGE] = name.asname or _PACKAGE
        elif _is_shell_call(statement):
            drop.update(span)
        elif isinstance(statement, ast.FunctionDef) and _is_asset(statement, alias):
            defined.append(statement.name)
        elif isinstance(statement, ast.Expr) and lines[span[-1] - 1].rstrip().endswith(";"):
            # A notebook's `;` only hides the value a cell would show; a module has none.
            lines[span[-1] - 1] = lines[span[-1] - 1].rstrip().removesuffix(";")
    seen[""] = " ".join(defined)
    kept = [line for number, line in enumerate(lines, start=1) if number not in drop]
    return imports, _squeeze("\n".join(kept)), seen


def _is_asset(function: ast.FunctionDef, alias: str) -> bool:
    """Whether ``function`` is decorated with ``@fs.asset`` or ``@fs.asset(...)``."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (
            isinstance(target, ast.Attribute)
            and target.attr == "asset"
            and isinstance(target.value, ast.Name)
            and target.value.id == alias
        ):
            return True
    return False


def _is_shell_call(statement: ast.stmt) -> bool:
    """``get_ipython().run_line_magic(...)``: the kernel's own setup, meaningless in a module."""
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return False
    owner = statement.value.func
    return (
        isinstance(owner, ast.Attribute)
        and isinstance(owner.value, ast.Call)
        and isinstance(owner.value.func, ast.Name)
        and owner.value.func.id == "get_ipython"
    )


def _squeeze(text: str) -> str:
    """Runs of blank lines shortened to two, none at either end."""
    out: list[str] = []
    for line in text.strip("\n").splitlines():
        if not line.strip() and len(out) >= 2 and not out[-1].strip() and not out[-2].strip():
            continue
        out.append(line.rstrip())
    return "\n".join(out)


def _asset_cell(plan: CellPlan, alias: str) -> _AssetCell:
    from flowstone_nb._notebook.magic_lines import parse_asset_line

    first, _, _ = plan.cell.source.lstrip()[2:].partition("\n")
    line = first.partition(" ")[2]
    try:
        args = parse_asset_line(line)
    except Exception as error:  # IPython's UsageError, with the magic's own words
        raise ExportError(f"Cell {plan.cell.index} ({plan.cell.first_line!r}): {error}") from error
    try:
        options = _options(args, alias)
    except PartitionError as error:
        raise ExportError(f"Cell {plan.cell.index} ({plan.cell.first_line!r}): {error}") from error
    return _AssetCell(args.name, args.depends_on, options, args.concat)


def _options(args: AssetArgs, alias: str) -> dict[str, str]:
    """The decorator's keywords an ``%%asset`` line gives, as Python source."""
    options: dict[str, str] = {}
    if args.partition_fn:
        options["partitioned_by"] = repr(args.partitioned_by or "custom")
        options["partition_fn"] = args.partition_fn
    elif args.partitioned_by:
        options["partitioned_by"] = _partitions_source(args.partitioned_by, alias)
    if args.partition_mappings:
        pairs = (f"{up!r}: {_mapping_source(t, alias)}" for up, t in args.partition_mappings)
        options["partition_mappings"] = f"{{{', '.join(pairs)}}}"
    if args.io_manager:
        options["io_manager"] = repr(args.io_manager)
    if args.io_config:
        options["io_config"] = repr(dict(args.io_config))
    if args.requires:
        options["requires"] = repr(list(args.requires))
    if args.metadata:
        options["metadata"] = repr(dict(args.metadata))
    if args.tags:
        options["tags"] = repr(list(args.tags))
    if args.description:
        options["description"] = repr(args.description)
    if args.code_version:
        options["code_version"] = repr(args.code_version)
    if args.timeout is not None:
        options["timeout"] = repr(args.timeout)
    if args.checks:
        options["checks"] = f"[{', '.join(args.checks)}]"
    options.update(_retry_options(args))
    return options


def _retry_options(args: AssetArgs) -> dict[str, str]:
    """The retry keywords an ``%%asset`` line gives, as Python source."""
    numbers = {
        "retries": args.retries,
        "retry_delay": args.retry_delay,
        "retry_backoff": args.retry_backoff,
    }
    options = {name: repr(value) for name, value in numbers.items() if value is not None}
    if args.retry_on:
        names = ", ".join(args.retry_on)  # (as typed: the module has the notebook's names)
        options["retry_on"] = f"({names})" if len(args.retry_on) > 1 else names
    return options


def _partitions_source(spec: str, alias: str) -> str:
    """Python source that builds the partitions ``spec`` names (checked to build the same).

    A spec that is the name of a notebook variable (``--partitioned-by months``) is that name.
    """
    import flowstone_nb as fs

    try:
        definition = parse_partition_spec(spec)
    except PartitionError:
        if spec.isidentifier():
            return spec
        raise
    text = f"{alias}.{definition!r}"
    try:
        rebuilt = eval(text, {alias: fs})  # noqa: S307  # our own repr, checked right here
    except Exception:  # noqa: BLE001  # any failure means: not writable as code
        rebuilt = None
    if rebuilt != definition:
        raise PartitionError(
            f"its partitions {spec!r} cannot be written as code; define the asset with "
            "@fs.asset in the notebook instead."
        )
    return text


def _mapping_source(text: str, alias: str) -> str:
    """Python source of the mapping ``text`` spells, or the notebook name it is."""
    try:
        mapping = parse_mapping_spec(text)
    except PartitionError:
        if text.isidentifier():
            return text
        raise
    return _mapping_code(mapping, alias)


def _mapping_code(mapping: PartitionMapping, alias: str) -> str:
    if isinstance(mapping, MultiToSingleDimension):
        inner = "" if mapping.mapping is None else f", {_mapping_code(mapping.mapping, alias)}"
        return f"{alias}.MultiToSingleDimension({mapping.dimension!r}{inner})"
    return f"{alias}.{mapping!r}"


def _asset_function(plan: CellPlan, cell: _AssetCell, assets: list[str], alias: str) -> str:
    body = plan.cell.source.lstrip()[2:].partition("\n")[2]
    if cell.depends_on is not None:
        parameters = list(cell.depends_on)
    else:
        reads = parse_cell(cell.name, body).reads
        parameters = [name for name in reads if name in assets and name != cell.name]
    # A --concat upstream arrives as one frame, as a parameter annotated pd.DataFrame asks.
    parameters = [f'{p}: "pd.DataFrame"' if p in cell.concat else p for p in parameters]
    options = ", ".join(f"{key}={value}" for key, value in cell.options.items())
    decorator = f"@{alias}.asset({options})" if options else f"@{alias}.asset"
    return f"{decorator}\n{function_source(cell.name, ['context', *parameters], body)}"


def _check_function(plan: CellPlan, alias: str) -> str:
    """A ``%%check`` cell as the ``@fs.check`` function the magic registers (same code)."""
    from flowstone_nb._notebook.check_cell import check_name, check_parameters
    from flowstone_nb._notebook.check_line import parse_check_line

    first, _, body = plan.cell.source.lstrip()[2:].partition("\n")
    try:
        args = parse_check_line(first.partition(" ")[2])
        name, parameters = check_name(args), check_parameters(args, body)
    except Exception as error:  # IPython's UsageError, with the magic's own words
        raise ExportError(f"Cell {plan.cell.index} ({plan.cell.first_line!r}): {error}") from error
    options = [repr(args.asset), *(["blocking=True"] * args.blocking)]
    options += [f"name={name!r}"] if args.name else []
    return f"@{alias}.check({', '.join(options)})\n{function_source(name, parameters, body)}"
