"""What the status report reads: each partition's newest attempt and newest success, narrowly."""

from __future__ import annotations

from pathlib import Path

from flowstone_nb._storage.catalog import Catalog
from flowstone_nb._storage.catalog.status_reads import (
    FEW_KEYS,
    GIVEN,
    RANGE,
    RECORDED,
    PartitionLatest,
    newest,
)
from tests.unit.storage.catalog.shorthands import edge, raw, row


def mixed_history(catalog: Catalog) -> None:
    """Partitions of ``a`` and ``b`` whose newest attempt is a success, a failure after a
    success, a run, a failure alone; equal start times; inputs consumed by some."""
    catalog.write(
        [
            row("a1-old", partition="p1", started_at=1.0, data_version="old"),
            row("a1", partition="p1", started_at=2.0, data_version="d1", location="data/a/p1"),
            row("a2-good", partition="p2", started_at=1.0, data_version="d2"),
            row(
                "a2-bad",
                partition="p2",
                status="failed",
                started_at=3.0,
                error_type="ValueError",
                error_message="no",
            ),
            row("a3-good", partition="p3", started_at=1.0),
            row("a3-now", partition="p3", status="running", started_at=5.0),
            row("a4", partition="p4", status="failed", started_at=1.0, error_type="KeyError"),
            row("a5-first", partition="p5", started_at=7.0),
            row("a5-second", partition="p5", started_at=7.0, data_version="later"),
            row("b1", "b", partition="p1", started_at=4.0),
            row("c1", "c", started_at=4.0),
        ],
        [edge("b1", "a1", "a", "p1", "d1"), edge("b1", "c1", "c", "", "v"), edge("a1", "c1", "c")],
    )


def test_each_partition_has_its_newest_attempt_and_newest_success(catalog: Catalog) -> None:
    mixed_history(catalog)
    found = catalog.newest({"a": None, "b": None, "zz": None})
    assert set(found) == {"a", "b"}
    a = found["a"]
    assert sorted(a) == ["p1", "p2", "p3", "p4", "p5"]
    # the newest attempt is the newest success: the attempt's own fields are left empty
    assert a["p1"].last_status is None
    assert a["p1"].last_id is None
    assert (a["p1"].id, a["p1"].data_version, a["p1"].location) == ("a1", "d1", "data/a/p1")
    assert a["p1"].inputs == frozenset({("c", "", "v")})
    # a failure after a success: both
    assert (a["p2"].last_status, a["p2"].last_id, a["p2"].id) == ("failed", "a2-bad", "a2-good")
    assert (a["p2"].last_error_type, a["p2"].last_error_message) == ("ValueError", "no")
    assert a["p2"].data_version == "d2"
    assert (a["p3"].last_status, a["p3"].last_id, a["p3"].id) == ("running", "a3-now", "a3-good")
    # nothing succeeded: no success at all
    assert (a["p4"].last_status, a["p4"].last_id, a["p4"].id) == ("failed", "a4", None)
    assert a["p4"].data_version is None
    assert a["p4"].inputs == frozenset()
    # equal start times: the one written last
    assert (a["p5"].id, a["p5"].data_version) == ("a5-second", "later")
    assert found["b"]["p1"].inputs == frozenset({("a", "p1", "d1"), ("c", "", "v")})
    assert catalog.newest({}) == {}


def test_only_the_keys_asked_for_are_read(catalog: Catalog) -> None:
    # (the keys of an asset's definition; None asks for every partition recorded)
    mixed_history(catalog)
    found = catalog.newest({"a": ["p2", "p9", "p4"], "b": None, "c": [""]})
    assert sorted(found["a"]) == ["p2", "p4"]  # p9 was never attempted
    assert found["a"] == {
        k: v for k, v in catalog.newest({"a": None})["a"].items() if k in found["a"]
    }
    assert sorted(found["b"]) == ["p1"]
    assert found["c"][""].id == "c1"
    assert catalog.newest({"a": []}) == {}


def test_it_agrees_with_the_full_rows_of_the_current_states(catalog: Catalog) -> None:
    mixed_history(catalog)
    found = catalog.newest({"a": None, "b": None, "c": None})
    for (asset, partition), state in catalog.current(["a", "b", "c"]).items():
        latest = found[asset][partition]
        same = state.success is not None and state.last.id == state.success.id
        assert latest.last_id == (None if same else state.last.id)
        assert latest.last_status == (None if same else state.last.status)
        success = state.success
        fields = PartitionLatest._fields[6:-1]  # code_version .. ended_at
        if success is None:
            assert latest.id is None
            assert all(getattr(latest, f) is None for f in fields)
        else:
            assert latest.id == success.id
            assert [getattr(latest, f) for f in fields] == [getattr(success, f) for f in fields]
            edges = catalog.inputs(success.id)
            assert latest.inputs == {
                (e.upstream_asset, e.upstream_partition, e.upstream_data_version) for e in edges
            }


def test_it_reads_one_row_per_partition_instead_of_the_history(
    catalog: Catalog, path: Path
) -> None:
    # Cost grows with the partitions, not with how often each was materialized: the asset's
    # rows of partition_latest are read in key order (a range of its primary key), or sought one
    # by one for a few keys; the inputs by the lineage's primary key; nothing scans a table or
    # sorts.
    mixed_history(catalog)
    plans = {}
    with raw(path) as conn:
        for name, sql in {"given": GIVEN, "recorded": RECORDED, "range": RANGE}.items():
            params = {"asset": "a", "keys": '["p1"]', "first": "p1", "last": "p2"}
            found = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plans[name] = [r[3] for r in found]
    text = {name: " | ".join(steps) for name, steps in plans.items()}
    assert "SEARCH s USING PRIMARY KEY (asset=?)" in text["recorded"]
    between = "SEARCH s USING PRIMARY KEY (asset=? AND partition_key>? AND partition_key<?)"
    assert between in text["range"]
    assert "SEARCH s USING PRIMARY KEY (asset=? AND partition_key=?)" in text["given"]
    assert text["given"].index("SCAN k") < text["given"].index("SEARCH s")  # (the keys first)
    for name, steps in plans.items():
        assert "SEARCH e USING PRIMARY KEY (materialization_id=?)" in text[name]
        scans = [step for step in steps if step.startswith("SCAN ")]
        assert not [step for step in scans if step.split()[1] in {"s", "e"}], text[name]
        assert "materializations" not in text[name]
        assert "TEMP B-TREE" not in text[name]


def test_many_keys_read_a_range_and_keep_only_those_asked_for(catalog: Catalog) -> None:
    # More keys than FEW_KEYS bound a range: partitions recorded inside it but not asked for
    # (a definition narrowed since) are left out, as with a few keys.
    catalog.write([row(f"m{n}", partition=f"p{n:03d}", started_at=1.0) for n in range(200)])
    asked = [f"p{n:03d}" for n in range(0, 200, 2)] + ["zz"]  # (zz was never attempted)
    assert len(asked) > FEW_KEYS
    found = catalog.newest({"a": asked})["a"]
    assert sorted(found) == asked[:-1]
    assert found["p010"].id == "m10"
    few = catalog.newest({"a": asked[:3]})["a"]
    assert few == {key: found[key] for key in asked[:3]}


def test_one_read_sees_one_moment(catalog: Catalog, path: Path) -> None:
    # The assets are read in one read transaction (a write another connection commits while
    # the read runs is seen by all of it or none).
    mixed_history(catalog)
    sent: list[str] = []
    with raw(path) as conn:
        conn.set_trace_callback(sent.append)
        newest(conn, {"a": None, "b": ["p1"]})
    seen = [statement.split()[0] for statement in sent]
    assert seen[0] == "BEGIN"
    assert seen[-1] == "COMMIT"
    assert seen.count("BEGIN") == 1


def test_a_partition_that_consumed_many_inputs_is_one_latest_with_all_of_them(
    catalog: Catalog,
) -> None:
    # Each input makes one more row of the read (for a newest success, for a newest attempt
    # that failed after consuming two, and for the older success under it): each partition
    # comes out once, with the inputs of its newest success.
    catalog.write(
        [
            row("up1", "u", partition="p1"),
            row("up2", "u", partition="p2"),
            row("ok", partition="p1", started_at=1.0),
            row("good", partition="p2", started_at=1.0),
            row("bad", partition="p2", status="failed", started_at=2.0, error_type="E"),
        ],
        [
            edge("ok", "up1", "u", "p1", "x"),
            edge("ok", "up2", "u", "p2", "y"),
            edge("good", "up1", "u", "p1", "x"),
            edge("good", "up2", "u", "p2", "y"),
            edge("bad", "up1", "u", "p1", "z"),
            edge("bad", "up2", "u", "p2", "z"),
        ],
    )
    both = frozenset({("u", "p1", "x"), ("u", "p2", "y")})
    for asked in (None, ["p1", "p2"]):
        found = catalog.newest({"a": asked})["a"]
        assert sorted(found) == ["p1", "p2"]
        assert (found["p1"].id, found["p1"].last_status, found["p1"].inputs) == ("ok", None, both)
        assert (found["p2"].last_status, found["p2"].last_id) == ("failed", "bad")
        assert (found["p2"].id, found["p2"].inputs) == ("good", both)
