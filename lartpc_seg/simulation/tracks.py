"""Tracking of one charged particle through liquid argon, vectorised over its steps.

A heavy particle (μ, π, p) follows its CSDA range with multiple scattering whose accumulated
width is Highland's for the path travelled (:func:`scattering_widths`), deposits
its restricted loss with Landau-like fluctuations, and emits δ rays above a cut at the PDG rate.
An electron loses energy by collision (same treatment) and emits bremsstrahlung photons; it is
tracked in segments that end at each emission. Lengths in cm, energies in MeV.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lartpc_seg.constants import ELECTRON_MASS_MEV
from lartpc_seg.simulation.electromagnetic import brems_rate_per_cm, sample_brems_energy
from lartpc_seg.simulation.energy_loss import (
    RangeTable,
    ScatteringPath,
    bethe_dedx,
    delta_loss_per_cm,
    delta_rate_per_cm,
    kinematics,
    landau_factors,
    max_energy_transfer,
    sample_delta_energies,
    scattering_path_after,
    scattering_widths,
)
from lartpc_seg.simulation.geometry import deflect, scattering_walk

#: Longest electron segment, in steps, before a new segment starts (bounds wasted work).
_MAX_SEGMENT_STEPS = 200


@dataclass
class Secondaries:
    """Particles emitted along a track: start points (k, 3), kinetic energies (k,), dirs (k, 3)."""

    start: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    ke: np.ndarray = field(default_factory=lambda: np.zeros(0))
    direction: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))

    def __len__(self) -> int:
        return len(self.ke)


@dataclass
class Track:
    """What tracking one particle produced.

    Attributes
    ----------
    points : (m, 3) float
        Deposit points, cm.
    energy : (m,) float
        Energy deposited at each point, MeV.
    end : (3,) float
        End point, cm.
    end_direction : (3,) float
    stopped : bool
        True when the particle came to rest inside the volume (False: it left).
    secondaries : Secondaries
        δ rays (heavy particles) or bremsstrahlung photons (electrons).
    """

    points: np.ndarray
    energy: np.ndarray
    end: np.ndarray
    end_direction: np.ndarray
    stopped: bool
    secondaries: Secondaries


@dataclass(frozen=True)
class Medium:
    """Everything tracking needs besides the particle: box, step and physics knobs.

    Attributes
    ----------
    size_cm : float
        Side of the cubic volume [0, size_cm)³.
    step_cm : float
        Tracking step.
    landau_sigma : float
        Relative Landau-like spread of one step's deposit.
    delta_cut_mev, brems_cut_mev, brems_scale : float
        δ-ray production cut; lowest brems photon; radiative loss relative to E/X0.
    """

    size_cm: float
    step_cm: float
    landau_sigma: float
    delta_cut_mev: float
    brems_cut_mev: float
    brems_scale: float

    def first_outside(self, points: np.ndarray) -> int:
        """Index of the first point outside the volume, or len(points) if none."""
        out = np.flatnonzero(((points < 0.0) | (points >= self.size_cm)).any(axis=1))
        return int(out[0]) if out.size else len(points)


def _steps(table: RangeTable, ke0: float, ds: float, max_len: float):
    """Path lengths, energies at step ends and step lengths of a CSDA walk from ``ke0``."""
    r0 = float(table.range(ke0))
    path = min(r0, max_len)
    n = max(1, int(np.ceil(path / ds)))
    s = np.minimum(ds * np.arange(1, n + 1), path)
    ke_end = table.energy(r0 - s)
    if s[-1] >= r0:
        ke_end[-1] = 0.0
    ke_start = np.concatenate([[ke0], ke_end[:-1]])
    step = np.diff(np.concatenate([[0.0], s]))
    return ke_start, ke_end, step, s[-1] >= r0


def track_heavy(
    rng: np.random.Generator,
    medium: Medium,
    table: RangeTable,
    mass_mev: float,
    ke_mev: float,
    start: np.ndarray,
    direction: np.ndarray,
) -> Track:
    """Track a singly charged heavy particle until it stops or leaves the volume.

    Parameters
    ----------
    rng : numpy.random.Generator
    medium : Medium
    table : RangeTable
        The particle's CSDA range table.
    mass_mev, ke_mev : float
        Mass and initial kinetic energy, MeV.
    start, direction : (3,) float
        Start point (cm) and unit direction.
    """
    max_len = np.sqrt(3.0) * medium.size_cm + medium.step_cm
    ke_start, ke_end, step, ranged_out = _steps(table, ke_mev, medium.step_cm, max_len)
    ke_mid = 0.5 * (ke_start + ke_end)
    p, beta, _ = kinematics(ke_mid, mass_mev)
    widths, _ = scattering_widths(p, beta, step, ScatteringPath())
    dirs = scattering_walk(rng, direction, widths)
    ends = start + np.cumsum(dirs * step[:, None], axis=0)
    out = medium.first_outside(ends)
    m = min(out + 1, len(step))
    stopped = bool(ranged_out and out == len(step))
    ke_mid, step, dirs, ends, beta = ke_mid[:m], step[:m], dirs[:m], ends[:m], beta[:m]
    d_e = (ke_start - ke_end)[:m]

    cut = medium.delta_cut_mev
    frac = np.clip(delta_loss_per_cm(ke_mid, mass_mev, cut) / bethe_dedx(ke_mid, mass_mev), 0, 1)
    energy = d_e * (1.0 - frac) * landau_factors(rng, m, medium.landau_sigma)
    points = ends - 0.5 * step[:, None] * dirs

    counts = rng.poisson(delta_rate_per_cm(ke_mid, mass_mev, cut) * step)
    at = np.repeat(np.arange(m), counts)
    tmax = max_energy_transfer(ke_mid[at], mass_mev)
    t = sample_delta_energies(rng, beta[at], tmax, cut)
    p_e = np.sqrt(t * (t + 2.0 * ELECTRON_MASS_MEV))
    p_max = np.sqrt(tmax * (tmax + 2.0 * ELECTRON_MASS_MEV))
    cos_theta = (t / p_e) * (p_max / tmax)
    delta_dirs = deflect(dirs[at], cos_theta, rng.uniform(0.0, 2.0 * np.pi, at.size))
    delta_start = ends[at] - (rng.random(at.size) * step[at])[:, None] * dirs[at]
    return Track(
        points=points,
        energy=energy,
        end=ends[-1],
        end_direction=dirs[-1],
        stopped=stopped,
        secondaries=Secondaries(delta_start, t, delta_dirs),
    )


def track_electron(
    rng: np.random.Generator,
    medium: Medium,
    table: RangeTable,
    ke_mev: float,
    start: np.ndarray,
    direction: np.ndarray,
) -> Track:
    """Track an electron or positron: collision loss, scattering and bremsstrahlung.

    The electron walks its collision-only CSDA range; bremsstrahlung photons above the brems cut
    are emitted at the rate of :func:`brems_rate_per_cm` (one segment per emission: the photon's
    energy is taken away and the walk restarts from the reduced energy).

    Parameters
    ----------
    rng : numpy.random.Generator
    medium : Medium
    table : RangeTable
        Electron collision range table.
    ke_mev : float
        Initial kinetic energy, MeV.
    start, direction : (3,) float
        Start point (cm) and unit direction.
    """
    pos, d, ke = np.asarray(start, float), np.asarray(direction, float), float(ke_mev)
    kmin = medium.brems_cut_mev
    points, energies = [], []
    ph_start, ph_ke, ph_dir = [], [], []
    stopped = False
    path = ScatteringPath()
    while True:
        max_len = medium.step_cm * _MAX_SEGMENT_STEPS
        ke_start, ke_end, step, ranged_out = _steps(table, ke, medium.step_cm, max_len)
        ke_mid = 0.5 * (ke_start + ke_end)
        p, beta, _ = kinematics(ke_mid, ELECTRON_MASS_MEV)
        widths, variance = scattering_widths(p, beta, step, path)
        dirs = scattering_walk(rng, d, widths)
        ends = pos + np.cumsum(dirs * step[:, None], axis=0)
        n = len(step)
        rate = np.where(ke_mid > kmin, brems_rate_per_cm(ke_mid, kmin, medium.brems_scale), 0.0)
        emits = np.flatnonzero(rng.random(n) < -np.expm1(-rate * step))
        emit = int(emits[0]) if emits.size else n
        out = medium.first_outside(ends)
        m = min(emit, out, n - 1) + 1
        energies.append((ke_start - ke_end)[:m] * landau_factors(rng, m, medium.landau_sigma))
        points.append(ends[:m] - 0.5 * step[:m, None] * dirs[:m])
        pos, d = ends[m - 1], dirs[m - 1]
        path = scattering_path_after(path, p, beta, step, variance, m)
        if out < n and out <= emit:
            break
        if emit < n:
            k = min(
                float(sample_brems_energy(rng, ke_mid[emit : emit + 1], kmin)[0]),
                float(ke_end[emit]),
            )
            e_total = ke_mid[emit] + ELECTRON_MASS_MEV
            theta = ELECTRON_MASS_MEV / e_total * rng.exponential()
            ph_start.append(pos)
            ph_ke.append(k)
            ph_dir.append(deflect(d[None, :], np.cos([theta]), rng.uniform(0, 2 * np.pi, 1))[0])
            ke = float(ke_end[emit]) - k
            if ke <= 0.0:
                stopped = True
                break
            continue
        if ranged_out:
            stopped = True
            break
        ke = float(ke_end[-1])
    photons = (
        Secondaries(np.array(ph_start), np.array(ph_ke), np.array(ph_dir))
        if ph_ke
        else Secondaries()
    )
    return Track(
        points=np.concatenate(points),
        energy=np.concatenate(energies),
        end=pos,
        end_direction=d,
        stopped=stopped,
        secondaries=photons,
    )


def electron_blobs(
    table: RangeTable,
    ke_mev: np.ndarray,
    start: np.ndarray,
    direction: np.ndarray,
    step_cm: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Deposits of low-energy electrons as short straight segments, vectorised over electrons.

    Each electron's energy is shared equally among points one ``step_cm`` apart (at least two)
    along its CSDA range in its initial direction: a 1–5 voxel blob once diffused.

    Parameters
    ----------
    table : RangeTable
        Electron collision range table.
    ke_mev : (k,) float
    start, direction : (k, 3) float
    step_cm : float
        Spacing of the deposit points.

    Returns
    -------
    points : (q, 3) float
        Deposit points, cm, grouped by electron.
    energy : (q,) float
        MeV.
    owner : (q,) int
        Index (0..k-1) of the electron of each point.
    end : (k, 3) float
        End points, cm.
    """
    r = table.range(ke_mev)
    counts = np.maximum(np.ceil(r / step_cm).astype(np.int64), 2)
    owner = np.repeat(np.arange(len(r)), counts)
    first = np.cumsum(counts) - counts
    frac = (np.arange(len(owner)) - first[owner] + 0.5) / counts[owner]
    points = start[owner] + (r[owner] * frac)[:, None] * direction[owner]
    energy = ke_mev[owner] / counts[owner]
    return points, energy, owner, start + r[:, None] * direction
