"""Execution: plans, the runner that materializes them, backfills and remote executors.

Runs report progress through :mod:`flowstone_nb._core.events`, never by importing a widget.
"""
