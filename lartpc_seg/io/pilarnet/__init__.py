"""Import of PILArNet-M (DeepLearnPhysics' HDF5 open data) into event files (docs/open-data.md).

Modules: :mod:`.layout` (the published HDF5 layout and per-event reshape), :mod:`.semantics`
(semantic types and particle IDs to the study's classes, 2019 labels through group IDs, the
particle table), :mod:`.voxelize` (points onto the study's grid), :mod:`.importer` (streamed
conversion) and :mod:`.command` (``python -m lartpc_seg import-pilarnet``).
"""

from lartpc_seg.io.pilarnet.importer import ImportOptions, import_pilarnet
from lartpc_seg.io.pilarnet.layout import PilarnetFile, RawEvent, reshape_event
from lartpc_seg.io.pilarnet.semantics import LabelOptions
from lartpc_seg.io.pilarnet.voxelize import Grid

__all__ = [
    "Grid",
    "ImportOptions",
    "LabelOptions",
    "PilarnetFile",
    "RawEvent",
    "import_pilarnet",
    "reshape_event",
]
