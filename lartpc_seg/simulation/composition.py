"""Event composition: the primaries of one event (MPV vertex + MPR-like rain + stopping muons)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lartpc_seg.constants import VOXEL_CM
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.geometry import isotropic
from lartpc_seg.simulation.transport import (
    ELECTRON,
    MUON,
    PHOTON,
    PION,
    PION0,
    PROTON,
    range_table,
)


@dataclass
class Primary:
    """One primary particle: PDG code, kinetic energy (MeV), start (cm) and unit direction."""

    pdg: int
    ke_mev: float
    start_cm: np.ndarray
    direction: np.ndarray


def _muon_pdg(rng: np.random.Generator, config: SimulationConfig) -> int:
    return -MUON if rng.random() < config.mu_plus_fraction else MUON


#: PDG codes of the ``lepton`` vertex species, drawn evenly.
LEPTON_PDGS = (ELECTRON, -ELECTRON, MUON, -MUON)


def _species_pdg(rng: np.random.Generator, config: SimulationConfig, species: str) -> int:
    if species == "muon":
        return _muon_pdg(rng, config)
    if species == "pion":
        return PION if rng.random() < 0.5 else -PION
    if species == "lepton":
        return LEPTON_PDGS[int(rng.integers(len(LEPTON_PDGS)))]
    return {"proton": PROTON, "electron": ELECTRON, "photon": PHOTON, "pi0": PION0}[species]


def _uniform(rng: np.random.Generator, bounds: list[float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def vertex_species_counts(
    config: SimulationConfig, rng: np.random.Generator, n_particles: int
) -> list[str]:
    """The species of a vertex's particles, in the order they are made.

    DeepLearnPhysics' ParticleBomb rule: every species with a fewest count in
    ``vertex_multiplicity`` gets it first; the remaining particles are drawn one by one by
    ``vertex_species`` weight among the species still below their most (the vertex ends early
    when none is left).
    """
    names = list(config.vertex_species)
    weights = np.array([config.vertex_species[k] for k in names], np.float64)
    bounds = [config.vertex_multiplicity.get(k, [0, n_particles]) for k in names]
    counts = np.array([b[0] for b in bounds], np.int64)
    most = np.array([b[1] for b in bounds], np.int64)
    species = [name for name, c in zip(names, counts, strict=True) for _ in range(c)]
    for _ in range(n_particles - len(species)):
        open_weights = np.where(counts < most, weights, 0.0)
        if open_weights.sum() <= 0:
            break
        k = int(rng.choice(len(names), p=open_weights / open_weights.sum()))
        counts[k] += 1
        species.append(names[k])
    return species


def compose_event(config: SimulationConfig, rng: np.random.Generator) -> list[Primary]:
    """Draw the primaries of one event.

    * one vertex, uniform in the cube less ``vertex_margin_vox``, with a number of particles
      flat in ``vertex_particles``, species drawn from ``vertex_species`` within
      ``vertex_multiplicity`` (:func:`vertex_species_counts`), isotropic, each with a flat
      kinetic energy in its species' range;
    * cosmic-like tracks (muons, or protons with ``cosmic_proton_fraction``), start uniform in
      the cube, isotropic;
    * stopping muons: kinetic energy flat in ``stopping_muon_ke`` (capped so that the range fits
      in 90 % of the cube), isotropic, start drawn uniformly among the points from which the
      straight-line range ends inside the cube;
    * ambient γ rays (``ambient_photons``), start uniform in the cube, isotropic, energy flat in
      ``ambient_photon_mev``. None are drawn, and the generator is left untouched, when the
      range is [0, 0], so events of configurations without them are unchanged.

    Parameters
    ----------
    config : SimulationConfig
    rng : numpy.random.Generator

    Returns
    -------
    list of Primary
    """
    size = config.grid * VOXEL_CM
    primaries: list[Primary] = []

    n_vertex = int(rng.integers(config.vertex_particles[0], config.vertex_particles[1] + 1))
    if n_vertex:
        margin = min(config.vertex_margin_vox * VOXEL_CM, 0.45 * size)
        vertex = rng.uniform(margin, size - margin, 3)
        for species in vertex_species_counts(config, rng, n_vertex):
            pdg = _species_pdg(rng, config, species)
            ke = _uniform(rng, getattr(config, f"{species}_ke"))
            primaries.append(Primary(pdg, ke, vertex.copy(), isotropic(rng, 1)[0]))

    for _ in range(int(rng.integers(config.cosmic_tracks[0], config.cosmic_tracks[1] + 1))):
        if rng.random() < config.cosmic_proton_fraction:
            pdg, ke = PROTON, _uniform(rng, config.cosmic_proton_ke)
        else:
            pdg, ke = _muon_pdg(rng, config), _uniform(rng, config.cosmic_muon_ke)
        primaries.append(Primary(pdg, ke, rng.uniform(0.0, size, 3), isotropic(rng, 1)[0]))

    table = range_table(MUON)
    margin = config.stopping_muon_margin_vox * VOXEL_CM
    ke_cap = float(table.energy(0.9 * (size - 2.0 * margin)))
    for _ in range(int(rng.integers(config.stopping_muons[0], config.stopping_muons[1] + 1))):
        pdg = _muon_pdg(rng, config)
        ke = min(_uniform(rng, config.stopping_muon_ke), ke_cap)
        direction = isotropic(rng, 1)[0]
        reach = float(table.range(ke)) * direction
        low = margin - np.minimum(reach, 0.0)
        high = size - margin - np.maximum(reach, 0.0)
        start = low + rng.random(3) * (high - low)
        primaries.append(Primary(pdg, ke, start, direction))

    if config.ambient_photons[1] > 0:
        low, high = config.ambient_photons
        for _ in range(int(rng.integers(low, high + 1))):
            ke = _uniform(rng, config.ambient_photon_mev)
            primaries.append(Primary(PHOTON, ke, rng.uniform(0.0, size, 3), isotropic(rng, 1)[0]))
    return primaries
