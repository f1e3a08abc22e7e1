"""The flowstone_nb benchmark suite: ours against the floor and against Dagster and Hamilton.

Run it with ``python -m benchmarks`` (``make bench``); see ``benchmarks/README.md`` for the
workloads, the targets, the latest table and how to install the peers. Nothing here is a test:
``tests/test_benchmarks_smoke.py`` only runs each workload once with tiny sizes.

Layout: :mod:`benchmarks._measure` (timing, stdlib only), :mod:`benchmarks._sizes` (workload
sizes), :mod:`benchmarks._gen` (generated asset modules shared by every contender),
:mod:`benchmarks._data` (the seeded partition data), :mod:`benchmarks.ours` and
:mod:`benchmarks.floor` (run in this interpreter), :mod:`benchmarks.peers` (run in the peers'
interpreter, never importing flowstone_nb), :mod:`benchmarks._driver` (the table).
"""
