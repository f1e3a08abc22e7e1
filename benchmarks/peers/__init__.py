"""The peers' side of the workloads: Dagster and Apache Hamilton, each the idiomatic way.

These modules run in the peers' own interpreter (a separate virtualenv, see the README), started
by :mod:`benchmarks._peers` as ``python -m benchmarks.peers PEER WORKLOAD``. They must never
import flowstone_nb, and only :mod:`benchmarks._measure`, :mod:`benchmarks._sizes`,
:mod:`benchmarks._gen` and :mod:`benchmarks._data` of the suite.
"""
