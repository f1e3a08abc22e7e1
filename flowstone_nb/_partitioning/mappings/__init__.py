"""Partition mappings: which upstream partitions a downstream partition consumes, and back.

``base`` holds the interface (:class:`PartitionMapping`, and the :class:`~.base.Step` it answers
in either direction) with identity and all-partitions; ``windows`` the time-window mapping and the
window arithmetic; ``ordered`` the trailing window and the previous partition; ``inference`` the
mapping used when none is given, with the multi-to-single-dimension mapping it picks; ``spec``
the short spellings of ``%%asset --map`` (``trailing:7``).

This package is the one home of the public names below: importers take them from here, and the
mapping classes report it as their ``__module__`` (so pickles and "is this one of ours?" do not
depend on which module inside defines a class). Pure values over partitions definitions: nothing
here runs, loads or stores anything.
"""

from flowstone_nb._partitioning.mappings.base import (
    AllPartitionsMapping,
    IdentityMapping,
    PartitionMapping,
    mapping_issues,
)
from flowstone_nb._partitioning.mappings.inference import MultiToSingleDimension, infer_mapping
from flowstone_nb._partitioning.mappings.ordered import PreviousPartition, TrailingWindow
from flowstone_nb._partitioning.mappings.spec import MAPPING_FORMS, parse_mapping_spec
from flowstone_nb._partitioning.mappings.windows import TimeWindowMapping

__all__ = [
    "MAPPING_FORMS",
    "AllPartitionsMapping",
    "IdentityMapping",
    "MultiToSingleDimension",
    "PartitionMapping",
    "PreviousPartition",
    "TimeWindowMapping",
    "TrailingWindow",
    "infer_mapping",
    "mapping_issues",
    "parse_mapping_spec",
]
