"""Import of LArCV2 ROOT files (the DeepLearnPhysics open data) into event files, with uproot only.

The package follows the import from the file inward:

- :mod:`~lartpc_seg.io.larcv.leaves`: LArCV2's trees and leaves (sparse tensors, particles,
  clusters) read with uproot;
- :mod:`~lartpc_seg.io.larcv.particles`: the particle table of the event format (energies in
  MeV, parents, processes, classes);
- :mod:`~lartpc_seg.io.larcv.assignment`: the particle of each voxel (``vox_part``);
- :mod:`~lartpc_seg.io.larcv.importer`: events from entries, and the file conversion;
- :mod:`~lartpc_seg.io.larcv.command`: ``python -m lartpc_seg import-larcv``.

The policies of the import are in docs/open-data.md and in the modules' docstrings.
"""

from lartpc_seg.io.larcv.assignment import assign_by_clusters, assign_by_proximity
from lartpc_seg.io.larcv.importer import ImportOptions, import_larcv, iterate_larcv, join_voxels
from lartpc_seg.io.larcv.leaves import (
    ParticleRecords,
    Producers,
    VoxelMeta,
    decode_voxel_ids,
    encode_voxel_ids,
    read_particles,
    read_sparse3d,
    tree_name,
)
from lartpc_seg.io.larcv.particles import (
    energy_scale_to_mev,
    parent_indices,
    particle_classes,
    particle_table,
    process_codes,
    rest_mass_mev,
)

__all__ = [
    "ImportOptions",
    "ParticleRecords",
    "Producers",
    "VoxelMeta",
    "assign_by_clusters",
    "assign_by_proximity",
    "decode_voxel_ids",
    "encode_voxel_ids",
    "energy_scale_to_mev",
    "import_larcv",
    "iterate_larcv",
    "join_voxels",
    "parent_indices",
    "particle_classes",
    "particle_table",
    "process_codes",
    "read_particles",
    "read_sparse3d",
    "rest_mass_mev",
    "tree_name",
]
