"""Parametrised simulation of 3D LArTPC voxel events in liquid argon (docs/physics.md).

Public API: :class:`SimulationConfig`, :func:`simulate_event`, :func:`simulate_file`,
:func:`simulate_primaries` with :class:`Primary`.
"""

from lartpc_seg.simulation.composition import Primary
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.event import simulate_event, simulate_file, simulate_primaries

__all__ = ["Primary", "SimulationConfig", "simulate_event", "simulate_file", "simulate_primaries"]
