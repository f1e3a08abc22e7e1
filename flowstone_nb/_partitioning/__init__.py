"""Partition definitions, their key encoding, and the mappings between partitionings.

Pure values: no registry, store or run; only ``_core`` below it.
"""
