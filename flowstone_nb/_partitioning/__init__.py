"""Partitions: which keys an asset has, how they are stored, and how partitionings map.

Definitions: ``base`` (the interface every definition shares and its message helpers), ``time``
(the index arithmetic of time partitions), ``days`` (daily, weekly, monthly), ``hours`` (hourly),
``static_multi`` (static keys and products of definitions), ``function`` (keys listed by a
``partition_fn``), ``spec`` (the Asset fields and ``--partitioned-by`` strings), with
``datetimes`` (zones, fixed-offset instants, ISO text). ``keys`` encodes keys for the catalog and
file names; ``mappings`` says which upstream partitions a downstream partition consumes.

Pure values: no registry, store or run; only ``_core`` below it. Stdlib only, since definitions
are built whenever an asset is defined: no pandas.
"""
