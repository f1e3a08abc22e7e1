"""Many upstream partitions into a parameter annotated ``pd.DataFrame``: one frame, keyed rows.

A coarser asset (a month of days, everything, a trailing window) receives ``{partition: value}``
unless its parameter asks for a DataFrame; then the frames arrive concatenated with a
``partition`` column. Runs in the engine, in a worker task, and from an ``%%asset`` cell.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._define.inputs import PARTITION_COLUMN, many_partitions_value, wants_frame
from flowstone_nb._run.plan import make_node
from flowstone_nb._run.remote import RemoteTask, run_remote
from flowstone_nb._storage.store import get_store

DAYS = fs.DailyPartitions("2024-01-30", "2024-02-02")


def define_days() -> fs.Asset:
    @fs.asset(partitioned_by=DAYS)
    def sales(context: Any) -> pd.DataFrame:
        day = context.partition.day
        return pd.DataFrame({"amount": [day, day * 10]}, index=pd.Index([0, 1], name="row"))

    return sales


def test_a_frame_annotation_receives_the_partitions_concatenated_with_their_key() -> None:
    define_days()

    @fs.asset(partitioned_by=fs.MonthlyPartitions("2024-01", "2024-02"))
    def monthly(sales: pd.DataFrame) -> pd.DataFrame:
        return sales

    frame = fs.materialize(monthly, "2024-01")
    assert list(frame.columns) == [PARTITION_COLUMN, "amount"]
    assert (
        frame[PARTITION_COLUMN].tolist() == [dt.date(2024, 1, 30)] * 2 + [dt.date(2024, 1, 31)] * 2
    )
    assert frame["amount"].tolist() == [30, 300, 31, 310]
    assert frame.index.tolist() == [0, 1, 0, 1]  # each frame keeps its index
    assert frame.index.name == "row"
    totals = frame.groupby(PARTITION_COLUMN)["amount"].sum()
    assert totals.to_dict() == {dt.date(2024, 1, 30): 330, dt.date(2024, 1, 31): 341}


def test_without_the_annotation_the_mapping_arrives_as_before() -> None:
    define_days()

    @fs.asset
    def everything(sales: dict[dt.date, pd.DataFrame]) -> list[dt.date]:
        assert isinstance(sales, dict)
        return list(sales)

    assert fs.materialize(everything) == DAYS.keys()


def test_postponed_annotations_ask_for_a_frame_too() -> None:
    sales = define_days()
    for text in ("pd.DataFrame", "pandas.DataFrame", "DataFrame", " pd.DataFrame "):

        def take(sales: Any) -> Any:
            return sales

        take.__annotations__ = {"sales": text}
        consumer = fs.Asset(name="consumer", depends_on=[sales], execute_fn=take)
        assert wants_frame(consumer, "sales"), text
    take.__annotations__ = {"sales": "dict"}
    assert not wants_frame(fs.Asset(name="c", depends_on=[sales], execute_fn=take), "sales")
    assert not wants_frame(fs.Asset(name="c", depends_on=[sales], execute_fn=len), "sales")


def test_a_window_with_no_partition_gives_an_empty_frame_with_the_column() -> None:
    sales = define_days()

    def take(sales: pd.DataFrame) -> pd.DataFrame:
        return sales

    consumer = fs.Asset(name="consumer", depends_on=[sales], execute_fn=take)
    empty = many_partitions_value(consumer, "sales", {})
    assert list(empty.columns) == [PARTITION_COLUMN]
    assert empty.empty


def test_values_that_are_not_frames_fail_saying_what_arrives() -> None:
    @fs.asset(partitioned_by=DAYS)
    def counts(context: Any) -> list[int]:
        return [context.partition.day]

    @fs.asset
    def table(counts: pd.DataFrame) -> int:
        return len(counts)

    with pytest.raises(fs.AssetDefinitionError) as caught:
        fs.materialize(table)
    message = str(caught.value)
    assert (
        "Asset 'table' takes 'counts' as one pd.DataFrame (its parameter's annotation)" in message
    )
    assert "partition 2024-01-30 of 'counts' holds a value of type list" in message
    assert "Annotate the parameter dict to receive {partition: value}" in message
    assert fs.history("table").status.tolist() == ["failed"]


def test_a_partition_column_already_there_is_not_overwritten() -> None:
    @fs.asset(partitioned_by=DAYS)
    def keyed(context: Any) -> pd.DataFrame:
        return pd.DataFrame({"partition": [1]})

    @fs.asset
    def table(keyed: pd.DataFrame) -> int:
        return len(keyed)

    with pytest.raises(fs.AssetDefinitionError, match=r"is a frame with a 'partition' column"):
        fs.materialize(table)


def test_a_worker_task_delivers_the_same_frame() -> None:
    define_days()

    @fs.asset
    def total(sales: pd.DataFrame) -> int:
        return int(sales.loc[sales[PARTITION_COLUMN] == dt.date(2024, 2, 1), "amount"].sum())

    fs.backfill("sales")
    store = get_store()
    sources = []
    keys = DAYS.keys()
    for key in keys:
        row = store.catalog.latest_success("sales", make_node("sales", DAYS, key).encoded)
        assert row is not None
        sources.append((DAYS.context_value(key), str(row.io_manager), str(row.location)))
    task = RemoteTask(
        asset=total,
        node=make_node("total", None, None),
        run_id="r",
        home=store.home,
        io_manager="filesystem",
        inputs=(("sales", True, tuple(sources)),),
        resources={},
    )
    assert store.io_manager("filesystem").load(run_remote(task).stored.location) == 11


def test_a_worker_task_delivers_a_single_value_as_it_is() -> None:
    define_days()

    @fs.asset(partitioned_by=DAYS)
    def same_day(sales: pd.DataFrame) -> int:
        return int(sales["amount"].sum())

    fs.materialize("sales", "2024-01-31")
    store = get_store()
    key = DAYS.parse_key("2024-01-31")
    row = store.catalog.latest_success("sales", make_node("sales", DAYS, key).encoded)
    assert row is not None
    task = RemoteTask(
        asset=same_day,
        node=make_node("same_day", DAYS, key),
        run_id="r",
        home=store.home,
        io_manager="filesystem",
        inputs=(("sales", False, ((key, str(row.io_manager), str(row.location)),)),),
        resources={},
    )
    assert store.io_manager("filesystem").load(run_remote(task).stored.location) == 341
