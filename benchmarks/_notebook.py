"""The notebook workload's source: a 30-cell exploratory notebook, and the module it amounts to.

:func:`notebook_json` is a notebook as an analyst leaves it: markdown, an imports cell with
``%load_ext flowstone_nb``, constants and helpers, eleven ``%%asset`` cells (seeded pandas frames,
merges and group-bys of upstream assets), three ``@fs.asset`` functions (one partitioned daily,
backfilled in the cell that defines it) and cells that only look (bare expressions,
``display(...)``, ``fs.status()``, ``fs.materialize(...)``, ``%flowstone graph``, ``!echo``),
which definition mode skips. :func:`module_source` is the same definitions as a plain module:
the imports, constants and helpers, each ``%%asset`` cell as an ``@fs.asset`` function of its
upstream assets returning its last expression, the decorated functions as they are, and nothing
that only looks. Both come from the one list of cells below, so they always define the same
assets with the same bodies.

``variant`` (a sample's number) goes into a comment at the top of every code cell and every
module part: texts differ from one sample to the next, so nothing cached per cell text carries
over, and comments change no code version. Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

#: The notebook's cells, markdown included.
CELLS = 30


@dataclass(frozen=True)
class _Cell:
    """One notebook cell: its text there (``notebook``) and in the module (``module``, ``""``
    when it defines nothing)."""

    kind: str
    notebook: str
    module: str = ""


def _markdown(text: str) -> _Cell:
    return _Cell("markdown", text)


def _code(text: str, module: str | None = None) -> _Cell:
    """A code cell that runs as written (``module`` defaults to the same text)."""
    return _Cell("code", text, text if module is None else module)


def _looks(text: str) -> _Cell:
    """A code cell that only looks: definition mode skips it, the module leaves it out."""
    return _Cell("code", text)


def _asset(name: str, upstream: str, body: str, last: str) -> _Cell:
    """An ``%%asset`` cell: ``body`` (statements, may be empty) then the ``last`` expression;
    in the module, a function of its ``upstream`` assets that returns ``last``."""
    lines = [*body.splitlines(), *last.splitlines()]
    cell = "\n".join([f"%%asset {name}", *lines])
    returned = [*body.splitlines(), *f"return {last}".splitlines()]
    indented = "\n".join(f"    {line}" if line else "" for line in returned)
    function = f"@fs.asset\ndef {name}({upstream}):\n{indented}"
    return _Cell("code", cell, function)


_IMPORTS = """import numpy as np
import pandas as pd

import flowstone_nb as fs"""

_CONSTANTS = '''SEED = 7
REGIONS = ["eu", "us", "apac", "latam"]
PRODUCTS = {"basic": 9.5, "plus": 19.0, "pro": 49.0, "team": 99.0}
N_CUSTOMERS = 500
N_ORDERS = 20_000
VAT = 0.2
START, END = "2024-01-01", "2024-03-31"'''

_HELPERS = '''def with_vat(amount):
    """The amount with VAT."""
    return amount * (1 + VAT)


def month_of(dates):
    """The month of each date, as text (2024-01)."""
    return pd.to_datetime(dates).dt.to_period("M").astype(str)


def share(frame, column):
    """``frame`` with each row's share of ``column``'s total."""
    return frame.assign(share=frame[column] / frame[column].sum())'''

_TARGETS = """@fs.asset
def region_targets() -> pd.DataFrame:
    targets = [400_000.0, 500_000.0, 150_000.0, 80_000.0]
    return pd.DataFrame({"region": REGIONS, "target": targets})


@fs.asset
def target_gap(revenue_by_region: pd.DataFrame, region_targets: pd.DataFrame) -> pd.DataFrame:
    gap = revenue_by_region.merge(region_targets, on="region")
    return gap.assign(gap=gap.gross - gap.target, reached=gap.gross >= gap.target)"""

_VISITS = """@fs.asset(partitioned_by=fs.DailyPartitions(START, END))
def daily_visits(context: fs.AssetContext) -> pd.DataFrame:
    day = context.partition
    rng = np.random.default_rng(SEED + day.toordinal())
    visits = rng.integers(100, 1_000, len(REGIONS))
    return pd.DataFrame({"day": day.isoformat(), "region": REGIONS, "visits": visits})"""

_NOTEBOOK: tuple[_Cell, ...] = (
    _markdown(
        "# Sales review\n\nThe quarter's orders, customers and products, cleaned and summed up by "
        "region, product and month; daily visits; one report."
    ),
    _code(f"%load_ext flowstone_nb\n{_IMPORTS}", _IMPORTS),
    _markdown("## Settings"),
    _code(_CONSTANTS),
    _code(_HELPERS),
    _markdown("## Raw data\n\nSeeded, so every run sees the same rows."),
    _asset(
        "customers",
        "",
        "rng = np.random.default_rng(SEED)\nsince = rng.integers(0, 900, N_CUSTOMERS)",
        "pd.DataFrame(\n    {\n"
        '        "customer": np.arange(N_CUSTOMERS),\n'
        '        "region": rng.choice(REGIONS, N_CUSTOMERS),\n'
        '        "since": pd.Timestamp(START) - pd.to_timedelta(since, unit="D"),\n'
        "    }\n)",
    ),
    _asset(
        "products",
        "",
        "",
        'pd.DataFrame({"product": list(PRODUCTS), "price": list(PRODUCTS.values())})',
    ),
    _asset(
        "orders",
        "",
        'rng = np.random.default_rng(SEED + 1)\ndays = pd.date_range(START, END, freq="D")',
        "pd.DataFrame(\n    {\n"
        '        "order": np.arange(N_ORDERS),\n'
        '        "customer": rng.integers(0, N_CUSTOMERS, N_ORDERS),\n'
        '        "product": rng.choice(list(PRODUCTS), N_ORDERS),\n'
        '        "quantity": rng.integers(1, 5, N_ORDERS),\n'
        '        "day": rng.choice(days, N_ORDERS),\n'
        "    }\n)",
    ),
    _looks("orders.head()"),
    _markdown("## Cleaning"),
    _asset(
        "clean_orders",
        "orders, customers",
        "known = orders[orders.customer.isin(customers.customer)]",
        'known.drop_duplicates("order").assign(day=lambda d: pd.to_datetime(d.day))',
    ),
    _asset(
        "order_lines",
        "clean_orders, products, customers",
        'lines = clean_orders.merge(products, on="product")\n'
        'lines = lines.merge(customers[["customer", "region"]], on="customer")\n'
        "net = lines.quantity * lines.price",
        "lines.assign(net=net, gross=with_vat(net), month=month_of(lines.day))",
    ),
    _looks("display(order_lines.describe())"),
    _markdown("## Revenue"),
    _asset(
        "revenue_by_region",
        "order_lines",
        "",
        'share(order_lines.groupby("region", as_index=False).gross.sum(), "gross")',
    ),
    _asset(
        "revenue_by_product",
        "order_lines",
        'by_product = order_lines.groupby("product", as_index=False)',
        'by_product.agg(units=("quantity", "sum"), gross=("gross", "sum"))',
    ),
    _asset(
        "revenue_by_month",
        "order_lines",
        "monthly = order_lines.pivot_table(\n"
        '    index="month", columns="region", values="gross", aggfunc="sum"\n'
        ")",
        "monthly.fillna(0.0).reset_index()",
    ),
    _asset(
        "top_customers",
        "order_lines, customers",
        'spend = order_lines.groupby("customer", as_index=False).gross.sum()',
        'spend.nlargest(20, "gross").merge(customers, on="customer")',
    ),
    _looks("fs.status()"),
    _markdown("## Targets and traffic\n\nPlain functions are assets too, with `@fs.asset`."),
    _code(_TARGETS),
    _code(f'{_VISITS}\n\n\nfs.backfill(daily_visits, "2024-01-01..2024-01-07")', _VISITS),
    _looks('fs.materialize("target_gap")'),
    _looks("%flowstone graph"),
    _markdown("## Report"),
    _asset(
        "report",
        "revenue_by_region, target_gap, top_customers, order_lines",
        'summary = revenue_by_region.merge(target_gap[["region", "target", "reached"]], '
        'on="region")',
        "summary.assign(top_share=top_customers.gross.sum() / order_lines.gross.sum())",
    ),
    _asset(
        "kpis",
        "clean_orders, order_lines, report, revenue_by_product",
        'best = revenue_by_product.nlargest(1, "gross")["product"].iloc[0]',
        "pd.DataFrame(\n    {\n"
        '        "orders": [len(clean_orders)],\n'
        '        "gross": [order_lines.gross.sum()],\n'
        '        "regions_reached": [int(report.reached.sum())],\n'
        '        "best_product": [best],\n'
        "    }\n)",
    ),
    _looks('!echo "report ready"'),
    _looks("kpis"),
)


def _stamp(text: str, variant: int) -> str:
    """``text`` with a comment naming the sample (after an ``%%asset`` line, which must lead)."""
    comment = f"# sample {variant}"
    if text.startswith("%%"):
        first, _, rest = text.partition("\n")
        return f"{first}\n{comment}\n{rest}"
    return f"{comment}\n{text}"


def notebook_json(variant: int = 0) -> str:
    """The notebook file's text (nbformat 4.5: cells have ids, as Jupyter writes them)."""
    cells = []
    for index, cell in enumerate(_NOTEBOOK, start=1):
        text = _stamp(cell.notebook, variant) if cell.kind == "code" else cell.notebook
        entry: dict[str, object] = {
            "cell_type": cell.kind,
            "id": f"{index:04d}a0c-sales",
            "metadata": {},
            "source": text.splitlines(keepends=True),
        }
        if cell.kind == "code":
            entry.update(execution_count=None, outputs=[])
        cells.append(entry)
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    metadata = {"kernelspec": kernel, "language_info": {"name": "python"}}
    document = {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(document, indent=1) + "\n"


def module_source(variant: int = 0) -> str:
    """The plain module the notebook's definitions amount to."""
    parts = [_stamp(cell.module, variant) for cell in _NOTEBOOK if cell.module]
    return "\n\n\n".join(parts) + "\n"
