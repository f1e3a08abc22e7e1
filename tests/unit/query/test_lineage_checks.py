"""Lineage rows say which of their values a data check fails on, read in one query.

A value reached by walking lineage shows its failing checks (the latest outcome of each check on
that very value) in a ``checks`` column, which the text and HTML views add only when some entry
has one; a collapsed run of entries counts them. After a restart (the asset not defined) the
recorded outcomes speak; while it is defined, only its checks defined now count.
"""

from __future__ import annotations

import flowstone_nb as fs
from flowstone_nb._core.states import PALETTE, CheckState
from flowstone_nb._define.registry import Registry, set_registry
from flowstone_nb._notebook.widgets.lineage import LineageWidget
from flowstone_nb._query.lineage import COLLAPSE_FROM
from tests.resources.catalog_statements import statements_of
from tests.resources.regional_sales import define_sales, positive_check

EVIL = "<script>alert(1)</script>"


regions = define_sales
positive = positive_check(EVIL)


def test_an_entry_names_the_checks_that_fail_on_its_value() -> None:
    regions(["north", "south"])
    fs.check("sales")(positive)
    fs.check("sales", name="has_rows")(lambda sales: len(sales) > 0)
    fs.materialize("total")
    lineage = fs.lineage("total")
    marks = {entry.partition: entry.checks_failing for entry in lineage.upstream}
    assert marks == {"north": (), "south": ("positive",)}
    text = repr(lineage)
    header = next(line for line in text.splitlines() if line.startswith("depth"))
    assert header.split()[-1] == "checks"
    assert "⚑ positive" in text
    html = lineage._repr_html_()
    assert ">checks</th>" in html
    assert f"color:{PALETTE[CheckState.FAILING].strong}" in html
    assert "<script" not in html
    frame = lineage.to_frame()
    assert frame.loc[frame.partition == "south", "checks_failing"].iloc[0] == ("positive",)


def test_a_lineage_without_failing_checks_has_no_checks_column() -> None:
    regions(["north"])
    fs.check("sales")(positive)
    fs.materialize("total")
    lineage = fs.lineage("total")
    assert "checks" not in repr(lineage)
    assert ">checks</th>" not in lineage._repr_html_()


def test_a_collapsed_run_counts_the_entries_checks_fail_on() -> None:
    keys = ["north", *(f"s{i}" for i in range(COLLAPSE_FROM))]
    regions(keys)
    fs.check("sales")(positive)
    fs.materialize("total")
    lineage = fs.lineage("total")
    [group] = lineage.groups("upstream")
    assert group.collapsed
    assert group.flagged == COLLAPSE_FROM
    assert group.summary.endswith(f"· ⚑ {COLLAPSE_FROM} partitions with failing checks")
    assert f"{COLLAPSE_FROM} partitions with failing checks" in repr(lineage)
    assert f"{COLLAPSE_FROM} partitions with failing checks" in lineage._repr_html_()


def test_after_a_restart_the_recorded_outcomes_speak() -> None:
    regions(["north", "south"])
    fs.check("sales")(positive)
    fs.materialize("total")
    set_registry(Registry())  # a new kernel: nothing is defined
    lineage = fs.lineage("total")
    assert {e.partition: e.checks_failing for e in lineage.upstream} == {
        "north": (),
        "south": ("positive",),
    }


def test_while_defined_only_the_checks_defined_now_count() -> None:
    regions(["north", "south"])
    fs.check("sales")(positive)
    fs.materialize("total")
    set_registry(Registry())
    regions(["north", "south"])  # the same assets, without the check
    assert all(not e.checks_failing for e in fs.lineage("total").upstream)


def test_one_query_reads_the_checks_of_every_entry() -> None:
    regions([f"s{i}" for i in range(40)])
    fs.check("sales")(positive)
    fs.materialize("total")
    found: list[fs.Lineage] = []
    statements = statements_of(lambda: found.append(fs.lineage("total")))
    assert len(found[0].upstream) == 40
    assert sum("check_results" in statement for statement in statements) == 1


def test_the_lineage_widget_flags_the_row() -> None:
    regions(["north", "south"])
    fs.check("sales")(positive)
    fs.materialize("total")
    widget = LineageWidget(fs.lineage("total"))
    html = widget.to_html()
    assert "⚑" in html
    grid = widget.sections.children[1].children
    cells = [child.value for child in grid if type(child).__name__ == "HTML"]
    flagged = [cell for cell in cells if "fs-check-flag" in cell]
    assert len(flagged) == 1
    assert "positive" in flagged[0]
    assert "<script" not in "".join(cells)


def test_without_checks_defined_the_outcomes_are_not_even_asked_for() -> None:
    regions(["north", "south"])
    fs.materialize("total")
    found: list[fs.Lineage] = []
    statements = statements_of(lambda: found.append(fs.lineage("total")))
    assert len(found[0].upstream) == 2
    assert not any("check_results" in statement for statement in statements)
