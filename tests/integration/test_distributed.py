"""Backfills on a real Dask cluster (worker processes on loopback) and in worker processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import flowstone_nb as fs
from flowstone_nb._storage.store import get_store

distributed = pytest.importorskip(
    "distributed", reason="Dask is an optional extra: pip install 'flowstone-nb[dask]'"
)

pytestmark = pytest.mark.dask

DAYS = fs.DailyPartitions("2024-03-01", "2024-03-06")


def define() -> fs.Asset:
    @fs.asset(partitioned_by=DAYS)
    def orders(context: Any) -> pd.DataFrame:
        day = context.partition
        return pd.DataFrame(
            {"day": [day.isoformat()] * 4, "amount": [day.day * k for k in range(4)]}
        )

    @fs.asset(partitioned_by=DAYS)
    def per_day(orders: pd.DataFrame) -> pd.DataFrame:
        return orders.groupby("day", as_index=False).amount.sum()

    return per_day


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", host="127.0.0.1"
    )
    dask_client = distributed.Client(cluster)
    try:
        yield dask_client
    finally:
        dask_client.close()
        cluster.close()


def catalog_summary() -> list[tuple[str, str, str | None, str | None]]:
    rows = get_store().catalog.history(statuses=["success"])
    return sorted((r.asset, r.partition, r.data_version, r.code_version) for r in rows)


def test_dask_backfill_equals_a_local_run(client: Any, tmp_path: Any) -> None:
    per_day = define()
    remote = fs.backfill(per_day, executor=client, max_workers=2)
    assert remote.ok
    assert remote.counts() == {"computed": 6}
    remote_catalog = catalog_summary()
    assert len(remote_catalog) == 12
    remote_lineage = {(e.asset, e.partition) for e in fs.lineage(per_day, "2024-03-04").upstream}
    assert remote_lineage == {("orders", "2024-03-04")}
    # A later local materialize finds everything fresh.
    assert fs.materialize(per_day, "2024-03-04").amount.tolist() == [24]
    assert catalog_summary() == remote_catalog
    # The same run locally, in a fresh store, records the same versions.
    fs.configure(home=tmp_path / "local")
    local = fs.backfill(per_day)
    assert local.counts() == remote.counts()
    assert catalog_summary() == remote_catalog


def test_memory_assets_cannot_feed_cluster_workers(client: Any) -> None:
    @fs.asset(io_manager="memory")
    def cached() -> int:
        return 2

    @fs.asset(partitioned_by=DAYS)
    def scaled(context: Any, cached: int) -> int:
        return cached * context.partition.day

    result = fs.backfill(scaled, "2024-03-01..2024-03-02", executor=client)
    assert not result.ok
    assert "io_manager='memory'" in str(result.failed[0].error)


def test_failures_on_workers_are_recorded_by_the_coordinator(client: Any) -> None:
    @fs.asset(partitioned_by=DAYS)
    def fragile(context: Any) -> int:
        if context.partition.day == 2:
            raise ValueError("bad day")
        return 1

    result = fs.backfill(fragile, executor=client)
    assert [p.partition for p in result.failed] == ["2024-03-02"]
    assert result.failed[0].error_type == "ValueError"
    failed = get_store().catalog.history("fragile", statuses=["failed"])
    assert failed[0].traceback is not None
    assert "bad day" in failed[0].traceback


def test_executor_dask_starts_and_stops_a_local_cluster() -> None:
    per_day = define()
    result = fs.backfill(per_day, "2024-03-01..2024-03-02", executor="dask")
    assert result.counts() == {"computed": 2}


def test_executor_processes() -> None:
    per_day = define()
    result = fs.backfill(per_day, "2024-03-05..2024-03-06", executor="processes", max_workers=2)
    assert result.counts() == {"computed": 2}
    assert fs.status(per_day)["per_day"]["2024-03-06"] == "fresh"


def test_checks_run_on_the_dask_workers_and_a_blocking_failure_skips_its_downstream(
    client: Any,
) -> None:
    per_day = define()

    @fs.check("orders", blocking=True)
    def not_the_fourth(orders: pd.DataFrame) -> fs.CheckResult:
        day = str(orders.day.iloc[0])
        return fs.CheckResult(day != "2024-03-04", f"{day} is closed")

    @fs.check("per_day")
    def where(per_day: pd.DataFrame) -> fs.CheckResult:
        import os

        return fs.CheckResult(True, metadata={"pid": os.getpid()})

    result = fs.backfill(per_day, executor=client, max_workers=2)
    assert result.counts() == {"computed": 5, "skipped": 1}
    skipped = result["2024-03-04"].error
    assert skipped == "upstream orders[2024-03-04] failed its check 'not_the_fourth'"
    outcomes = fs.checks()
    failing = outcomes[~outcomes.passed]
    assert (failing.asset.tolist(), failing.partition.tolist()) == (["orders"], ["2024-03-04"])
    assert failing.message.tolist() == ["2024-03-04 is closed"]
    pids = {m["pid"] for m in outcomes[outcomes.check == "where"].metadata}
    assert pids
    assert os.getpid() not in pids
    assert fs.status("orders")["orders"]["2024-03-04"] == "failed"


def test_checks_run_in_worker_processes() -> None:
    @fs.asset(partitioned_by=DAYS, checks=[worker_pid])
    def remote(context: Any) -> int:
        return int(context.partition.day)

    assert fs.backfill(remote, "2024-03-01..2024-03-02", executor="processes").ok
    outcomes = fs.checks("remote")
    assert sorted(outcomes.partition) == ["2024-03-01", "2024-03-02"]
    pids = {metadata["pid"] for metadata in outcomes.metadata}
    assert pids
    assert os.getpid() not in pids


def worker_pid(remote: int) -> fs.CheckResult:
    return fs.CheckResult(remote > 0, metadata={"pid": os.getpid()})
