"""Execution: plans, the runner that materializes them, backfills and remote executors.

``plan`` decides which nodes a materialization needs; ``prepare`` works out what running them
needs; ``runner`` reuses or computes each node (``freshness`` holds the one rule for reuse) and
hands every outcome to ``recorder``, the only writer of runs, rows and lineage; ``scheduler``
runs nodes on threads, ``remote`` on other workers; ``api`` holds ``fs.materialize`` and
``fs.load``, ``backfill`` ``fs.backfill``. Runs report progress through
:mod:`flowstone_nb._core.events`, never by importing a widget.
"""
