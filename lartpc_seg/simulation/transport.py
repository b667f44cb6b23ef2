"""Transport of all particles of one event: a queue of charged tracks and batches of photons.

Heavy particles and energetic electrons are tracked one by one (vectorised over their steps);
low-energy electrons are deposited as blobs and photons are propagated in vectorised batches.
Decays at rest (μ → e, π+ → μ+) and positron annihilation add particles to the queues.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cache

import numpy as np

from lartpc_seg.constants import (
    BREMS_LOSS_SCALE,
    ELECTRON_MASS_MEV,
    MUON_MASS_MEV,
    NUCLEON_SEPARATION_MEV,
    PION0_MASS_MEV,
    PION_ABSORPTION_PP_PROBABILITY,
    PION_DECAY_MUON_KE_MEV,
    PION_MASS_MEV,
    PROTON_MASS_MEV,
    VOXEL_CM,
)
from lartpc_seg.labels import Process
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.decay import (
    bound_michel_kinetic_energy,
    michel_kinetic_energy,
    mu_minus_decays,
)
from lartpc_seg.simulation.electromagnetic import (
    attenuation_length_cm,
    pair_fraction,
    sample_compton,
)
from lartpc_seg.simulation.energy_loss import (
    RangeTable,
    electron_range_table,
    heavy_range_table,
)
from lartpc_seg.simulation.geometry import deflect, isotropic, unit
from lartpc_seg.simulation.particles import ParticleStore
from lartpc_seg.simulation.tracks import (
    Medium,
    Track,
    electron_blobs,
    track_electron,
    track_heavy,
)

#: PDG codes.
ELECTRON, PHOTON, MUON, PION, PION0, PROTON = 11, 22, 13, 211, 111, 2212
#: Masses of the heavy charged particles tracked, MeV, by |PDG|.
HEAVY_MASS_MEV = {MUON: MUON_MASS_MEV, PION: PION_MASS_MEV, PROTON: PROTON_MASS_MEV}


@cache
def range_table(abs_pdg: int) -> RangeTable:
    """The CSDA range table of a particle type (built once per process)."""
    if abs_pdg == ELECTRON:
        return electron_range_table()
    return heavy_range_table(HEAVY_MASS_MEV[abs_pdg])


@dataclass
class Deposits:
    """All deposit points of one event: (M, 3) cm, (M,) MeV, (M,) particle index."""

    points: np.ndarray
    energy: np.ndarray
    particle: np.ndarray


class Transport:
    """Simulate one event's particles from their primaries to their deposits.

    Parameters
    ----------
    config : SimulationConfig
    rng : numpy.random.Generator
        The event's generator (every random draw of the event comes from it, in a fixed order).
    """

    def __init__(self, config: SimulationConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        self.medium = Medium(
            size_cm=config.grid * VOXEL_CM,
            step_cm=config.step_mm / 10.0,
            landau_sigma=config.landau_sigma,
            delta_cut_mev=config.delta_cut_mev,
            brems_cut_mev=config.brems_cut_mev,
            brems_scale=BREMS_LOSS_SCALE,
        )
        self.store = ParticleStore()
        self._queue: deque[tuple[int, float, np.ndarray, np.ndarray]] = deque()
        self._blobs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._photons: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._points: list[np.ndarray] = []
        self._energy: list[np.ndarray] = []
        self._particle: list[np.ndarray] = []

    # --- bookkeeping ---------------------------------------------------------------------------
    def _deposit(self, points: np.ndarray, energy: np.ndarray, particle) -> None:
        self._points.append(points)
        self._energy.append(energy)
        self._particle.append(np.broadcast_to(np.asarray(particle, np.int64), energy.shape))

    def add(
        self,
        pdg: np.ndarray | int,
        parent: np.ndarray | int,
        process: Process,
        ke_mev: np.ndarray | float,
        start_cm: np.ndarray,
        direction: np.ndarray,
    ) -> np.ndarray:
        """Register particles and schedule their transport; return their indices.

        Parameters
        ----------
        pdg, parent : int or (k,) int
        process : Process
        ke_mev : float or (k,) float
        start_cm, direction : (3,) or (k, 3) float
        """
        start = np.atleast_2d(np.asarray(start_cm, np.float64))
        k = len(start)
        direction = np.broadcast_to(np.atleast_2d(direction), (k, 3)).astype(np.float64)
        ke = np.broadcast_to(np.asarray(ke_mev, np.float64), (k,)).copy()
        pdg = np.broadcast_to(np.asarray(pdg, np.int64), (k,)).copy()
        idx = self.store.add(pdg, parent, process, ke, start)
        apdg = np.abs(pdg)
        photon = apdg == PHOTON
        if photon.any():
            self._photons.append((idx[photon], start[photon], direction[photon], ke[photon]))
        blob = (apdg == ELECTRON) & (ke < self.config.electron_track_cut_mev)
        if blob.any():
            self._blobs.append((idx[blob], start[blob], direction[blob], ke[blob]))
        for i in np.flatnonzero(~photon & ~blob):
            if apdg[i] == PION0:
                self._decay_pi0(int(idx[i]), ke[i], start[i], direction[i])
            else:
                self._queue.append((int(idx[i]), float(ke[i]), start[i], direction[i]))
        return idx

    # --- the event loop ------------------------------------------------------------------------
    def run(self) -> Deposits:
        """Transport everything scheduled until nothing is left; return the deposits."""
        while True:
            if self._queue:
                self._track(*self._queue.popleft())
            elif self._blobs:
                self._flush_blobs()
            elif self._photons:
                self._propagate_photons()
            else:
                break
        if not self._energy:
            return Deposits(np.zeros((0, 3)), np.zeros(0), np.zeros(0, np.int64))
        return Deposits(
            np.concatenate(self._points),
            np.concatenate(self._energy),
            np.concatenate(self._particle),
        )

    def _track(self, pid: int, ke: float, start: np.ndarray, direction: np.ndarray) -> None:
        pdg = int(self.store.pdg[pid])
        apdg = abs(pdg)
        if apdg == ELECTRON:
            track = track_electron(
                self.rng, self.medium, range_table(ELECTRON), ke, start, direction
            )
            self._finish(pid, track)
            self.add(
                PHOTON,
                pid,
                Process.eBrem,
                track.secondaries.ke,
                track.secondaries.start,
                track.secondaries.direction,
            )
            if pdg == -ELECTRON and track.stopped:
                self._annihilate(np.array([pid]), track.end[None, :])
            return
        track = track_heavy(
            self.rng, self.medium, range_table(apdg), HEAVY_MASS_MEV[apdg], ke, start, direction
        )
        self._finish(pid, track)
        delta_process = Process.muIoni if apdg == MUON else Process.hIoni
        self.add(
            ELECTRON,
            pid,
            delta_process,
            track.secondaries.ke,
            track.secondaries.start,
            track.secondaries.direction,
        )
        if track.stopped:
            self._decay_at_rest(pid, pdg, track.end)

    def _finish(self, pid: int, track: Track) -> None:
        self.store.end[pid] = track.end
        self._deposit(track.points, track.energy, pid)

    # --- decays ---------------------------------------------------------------------------------
    def _decay_at_rest(self, pid: int, pdg: int, at: np.ndarray) -> None:
        """μ+ → e+ (free Michel spectrum) always; μ− → e− with probability 0.26 (bound
        spectrum), else capture (with its γ rays, see ``SimulationConfig.capture_photons``);
        π+ → μ+ ν; π− absorbed by the nucleus (:meth:`_absorb_pion`)."""
        if pdg == MUON and not mu_minus_decays(self.rng):
            self._capture_photons(pid, at)
        elif pdg == -MUON or pdg == MUON:
            process = Process.Decay if pdg == -MUON else Process.muMinusCaptureAtRest
            if pdg == -MUON:
                ke = michel_kinetic_energy(self.rng, 1)
            else:
                ke = bound_michel_kinetic_energy(self.rng, 1)
            self.add(
                -ELECTRON if pdg == -MUON else ELECTRON,
                pid,
                process,
                ke,
                at,
                isotropic(self.rng, 1),
            )
        elif pdg == PION:
            self.add(-MUON, pid, Process.Decay, PION_DECAY_MUON_KE_MEV, at, isotropic(self.rng, 1))
        elif pdg == -PION:
            self._absorb_pion(pid, at)

    def _absorb_pion(self, pid: int, at: np.ndarray) -> None:
        """A stopped π− absorbed on a nucleon pair (Geant4 Physics Reference Manual, "Pion
        absorption at rest"): the pair shares m_π less two separation energies back to back.
        On a pp pair (probability 0.088, constants) a proton and a neutron leave, on a pn pair
        two neutrons; neutrons are not simulated. The residual nucleus de-excites with the γ
        rays of ``capture_photons`` (label Shower), as after μ− capture."""
        if self.rng.random() < PION_ABSORPTION_PP_PROBABILITY:
            share = 0.5 * (PION_MASS_MEV - 2.0 * NUCLEON_SEPARATION_MEV)
            ke = share * self.rng.uniform(0.5, 1.5)
            self.add(PROTON, pid, Process.hadronic, ke, at, isotropic(self.rng, 1))
        self._capture_photons(pid, at, Process.hadronic)

    def _capture_photons(
        self, pid: int, at: np.ndarray, process: Process = Process.muMinusCaptureAtRest
    ) -> None:
        """γ rays of a nuclear capture, isotropic from the stopping point (label Shower)."""
        low, high = self.config.capture_photons
        n = int(self.rng.integers(low, high + 1))
        if n == 0:
            return
        e_low, e_high = self.config.capture_photon_mev
        self.add(
            PHOTON,
            pid,
            process,
            self.rng.uniform(e_low, e_high, n),
            np.repeat(np.asarray(at, dtype=float).reshape(1, 3), n, axis=0),
            isotropic(self.rng, n),
        )

    def _decay_pi0(self, pid: int, ke: float, at: np.ndarray, direction: np.ndarray) -> None:
        """π0 → γγ at its production point: isotropic in the rest frame, boosted."""
        e_star = 0.5 * PION0_MASS_MEV
        d_star = isotropic(self.rng, 1)[0]
        p_star = e_star * np.stack([d_star, -d_star])
        gamma = 1.0 + ke / PION0_MASS_MEV
        beta = np.sqrt(1.0 - 1.0 / gamma**2)
        p_par = p_star @ direction
        energy = gamma * (e_star + beta * p_par)
        p_lab = p_star + ((gamma - 1.0) * p_par + gamma * beta * e_star)[:, None] * direction
        self.add(PHOTON, pid, Process.Decay, energy, np.stack([at, at]), unit(p_lab))

    def _annihilate(self, pids: np.ndarray, at: np.ndarray) -> None:
        """Stopped positrons → two back-to-back 0.511 MeV photons each."""
        d = isotropic(self.rng, len(pids))
        parents = np.repeat(pids, 2)
        dirs = np.stack([d, -d], axis=1).reshape(-1, 3)
        self.add(
            PHOTON, parents, Process.annihil, ELECTRON_MASS_MEV, np.repeat(at, 2, axis=0), dirs
        )

    # --- vectorised batches ---------------------------------------------------------------------
    def _flush_blobs(self) -> None:
        pid, start, direction, ke = (np.concatenate(x) for x in zip(*self._blobs, strict=True))
        self._blobs.clear()
        points, energy, owner, end = electron_blobs(
            range_table(ELECTRON), ke, start, direction, self.medium.step_cm
        )
        self.store.end[pid] = end
        self._deposit(points, energy, pid[owner])
        positron = self.store.pdg[pid] == -ELECTRON
        if positron.any():
            self._annihilate(pid[positron], end[positron])

    def _propagate_photons(self) -> None:
        """Free paths, Compton scatters and conversions of all pending photons, in generations."""
        pid, pos, d, e = (np.concatenate(x) for x in zip(*self._photons, strict=True))
        self._photons.clear()
        rng, size = self.rng, self.medium.size_cm
        while pid.size:
            pos = pos + rng.exponential(attenuation_length_cm(e))[:, None] * d
            self.store.end[pid] = pos
            inside = ((pos >= 0.0) & (pos < size)).all(axis=1)
            absorbed = inside & (e < self.config.photon_cut_mev)
            if absorbed.any():
                self._deposit(pos[absorbed], e[absorbed], pid[absorbed])
            live = inside & ~absorbed
            pid, pos, d, e = pid[live], pos[live], d[live], e[live]
            pair = rng.random(pid.size) < pair_fraction(e)
            if pair.any():
                self._convert(pid[pair], pos[pair], d[pair], e[pair])
            pid, pos, d, e = pid[~pair], pos[~pair], d[~pair], e[~pair]
            if not pid.size:
                break
            eps = sample_compton(rng, e)
            cos_theta = 1.0 - (1.0 / eps - 1.0) * ELECTRON_MASS_MEV / e
            d_new = deflect(d, cos_theta, rng.uniform(0.0, 2.0 * np.pi, pid.size))
            e_new = eps * e
            p_electron = e[:, None] * d - e_new[:, None] * d_new
            self.add(ELECTRON, pid, Process.compt, e - e_new, pos, unit(p_electron))
            d, e = d_new, e_new

    def _convert(self, pid: np.ndarray, pos: np.ndarray, d: np.ndarray, e: np.ndarray) -> None:
        """Pair conversions: e− and e+ share E − 2m_e evenly at random, at angles ~ m_e/E."""
        rng = self.rng
        share = rng.random(pid.size)
        available = e - 2.0 * ELECTRON_MASS_MEV
        ke = np.concatenate([share * available, (1.0 - share) * available])
        theta = np.tile(ELECTRON_MASS_MEV / e, 2) * rng.exponential(size=2 * pid.size)
        dirs = deflect(np.tile(d, (2, 1)), np.cos(theta), rng.uniform(0, 2 * np.pi, 2 * pid.size))
        pdg = np.repeat([ELECTRON, -ELECTRON], pid.size)
        self.add(pdg, np.tile(pid, 2), Process.conv, ke, np.tile(pos, (2, 1)), dirs)
