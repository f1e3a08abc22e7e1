"""How big each workload is: the issue's sizes, and tiny ones for the smoke test.

Standard library only: the sizes travel to the peers' interpreter as JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Sizes:
    """Every size a workload reads, and how many samples to take.

    ``repeat`` samples of every measurement, except imports (``import_repeat`` processes), quick
    calls (``cache_hits`` samples of cache hits, stores and loads; stores and loads take one
    round each, so ours and the floor's are side by side), the trivial graphs
    (``graph_repeat`` rounds of the chain and the wide DAG: a round takes under a second, and
    their ratios to Hamilton are the closest), the partitions (``partition_repeat`` rounds:
    a sample takes seconds, and the shared machine's noise is largest against the 5 % margin
    of its target) and the peers' slowest runs (``slow_repeat``).
    """

    chain_assets: int = 100
    wide_layers: int = 10
    wide_width: int = 100
    partitions: int = 30
    rows: int = 100_000
    trivial_partitions: int = 365
    lineage_assets: int = 10
    lineage_days: int = 1_000
    lineage_runs: int = 10
    scale_partitions: int = 10_000
    scale_fanout: int = 20_000
    scale_days: int = 1_000
    scale_runs: int = 50
    million_assets: int = 10
    million_days: int = 10_000
    million_runs: int = 10
    growth: tuple[int, ...] = (1_000, 10_000, 100_000)
    memory_partitions: int = 40
    memory_rows: int = 400_000
    dot_layers: int = 10
    dot_width: int = 100
    topo_layers: int = 100
    topo_width: int = 100
    live_assets: int = 50
    repeat: int = 5
    graph_repeat: int = 15
    partition_repeat: int = 10
    import_repeat: int = 10
    cache_hits: int = 30
    slow_repeat: int = 2
    growth_repeat: int = 2
    memory_repeat: int = 3

    @property
    def wide_assets(self) -> int:
        """Assets in the wide DAG."""
        return self.wide_layers * self.wide_width

    @property
    def million_materializations(self) -> int:
        """Materializations in the catalog of a million."""
        return self.million_assets * self.million_days * self.million_runs

    @property
    def lineage_materializations(self) -> int:
        """Materializations put in the catalog before the lineage queries."""
        return self.lineage_assets * self.lineage_days * self.lineage_runs

    def to_json(self) -> str:
        """The sizes as JSON (for the peers' interpreter)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Sizes:
        """Sizes from :meth:`to_json` text."""
        values: dict[str, Any] = json.loads(text)
        values["growth"] = tuple(values.get("growth", ()))
        return cls(**values)

    def with_repeat(self, repeat: int) -> Sizes:
        """The same sizes with another sample count."""
        return replace(
            self,
            repeat=repeat,
            graph_repeat=3 * repeat,
            partition_repeat=2 * repeat,
            import_repeat=2 * repeat,
        )

    def rounds(self, workload: str) -> int:
        """How many rounds (one sample of each contender) ``workload`` takes."""
        if workload in ("chain", "wide"):
            return self.graph_repeat
        if workload == "store_load":  # one store and one load each per round
            return self.cache_hits
        if workload in ("growth", "memory"):  # (a round takes up to a minute)
            return self.growth_repeat if workload == "growth" else self.memory_repeat
        return self.partition_repeat if workload == "partitions" else self.repeat


FULL = Sizes()

#: Tiny sizes: every code path of every workload runs once, in well under a second each.
SMOKE = Sizes(
    chain_assets=5,
    wide_layers=2,
    wide_width=3,
    partitions=2,
    rows=200,
    trivial_partitions=3,
    lineage_assets=3,
    lineage_days=4,
    lineage_runs=2,
    scale_partitions=6,
    scale_fanout=5,
    scale_days=4,
    scale_runs=3,
    million_assets=3,
    million_days=4,
    million_runs=2,
    growth=(3, 5),
    memory_partitions=2,
    memory_rows=1_000,
    dot_layers=2,
    dot_width=3,
    topo_layers=5,
    topo_width=4,
    live_assets=3,
    repeat=1,
    graph_repeat=1,
    partition_repeat=1,
    import_repeat=1,
    cache_hits=1,
    slow_repeat=1,
    growth_repeat=1,
    memory_repeat=1,
)
