"""Definitions: the asset model, decorator, pipeline class, cells, validation and registry.

Also where a definition comes from (a cell, a module). Definitions know no store and no run.
"""
