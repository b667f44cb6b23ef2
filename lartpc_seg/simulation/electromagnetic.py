"""Photon and bremsstrahlung physics: attenuation, Compton (Klein–Nishina), pairs, brems spectrum.

Energies in MeV, lengths in cm. Every function is vectorised over particles.
"""

from __future__ import annotations

import numpy as np

from lartpc_seg.constants import (
    ELECTRON_MASS_MEV,
    LAR_RADIATION_LENGTH_CM,
    PHOTON_ATTENUATION_CM,
    PHOTON_PAIR_FRACTION,
    PHOTON_TABLE_E_MEV,
)

_LOG_E = np.log(PHOTON_TABLE_E_MEV)
#: Threshold of pair production, MeV.
PAIR_THRESHOLD_MEV = 2.0 * ELECTRON_MASS_MEV


def attenuation_length_cm(energy_mev: np.ndarray) -> np.ndarray:
    """Photon attenuation length in LAr (cm), log-interpolated (table: docs/physics.md §5)."""
    return np.interp(np.log(np.maximum(energy_mev, 1e-6)), _LOG_E, PHOTON_ATTENUATION_CM)


def pair_fraction(energy_mev: np.ndarray) -> np.ndarray:
    """Fraction of photon interactions that are pair conversions (0 below 2 m_e)."""
    f = np.interp(np.log(np.maximum(energy_mev, 1e-6)), _LOG_E, PHOTON_PAIR_FRACTION)
    return np.where(np.asarray(energy_mev) > PAIR_THRESHOLD_MEV, f, 0.0)


def sample_compton(rng: np.random.Generator, energy_mev: np.ndarray) -> np.ndarray:
    """Ratio ε = E'/E of scattered to incident photon energy from the Klein–Nishina law.

    The sampling algorithm of Geant4's G4KleinNishinaCompton (Butcher & Messel): choose between
    1/ε and ε on [ε0, 1], then reject with g = 1 − ε sin²θ/(1 + ε²).

    Parameters
    ----------
    rng : numpy.random.Generator
    energy_mev : (N,) float
        Incident photon energies.

    Returns
    -------
    (N,) float
        ε; the photon's polar scattering angle follows from cos θ = 1 − (1/ε − 1) m_e/E.
    """
    k = np.asarray(energy_mev, dtype=np.float64) / ELECTRON_MASS_MEV
    eps0 = 1.0 / (1.0 + 2.0 * k)
    eps0sq = eps0 * eps0
    alpha1 = -np.log(eps0)
    alpha2 = alpha1 + 0.5 * (1.0 - eps0sq)
    out = np.empty(len(k))
    todo = np.arange(len(k))
    while todo.size:
        r1, r2, r3 = rng.random((3, todo.size))
        a1, a2, e0sq = alpha1[todo], alpha2[todo], eps0sq[todo]
        first = a1 > a2 * r1
        eps = np.where(first, np.exp(-a1 * r2), np.sqrt(e0sq + (1.0 - e0sq) * r2))
        onecost = (1.0 - eps) / (eps * k[todo])
        sint2 = onecost * (2.0 - onecost)
        accept = 1.0 - eps * sint2 / (1.0 + eps * eps) >= r3
        out[todo[accept]] = eps[accept]
        todo = todo[~accept]
    return out


def brems_rate_per_cm(ke_mev: np.ndarray, k_min_mev: float, scale: float) -> np.ndarray:
    """Mean number of brems photons above ``k_min_mev`` emitted per cm by electrons of ``ke_mev``.

    Complete-screening spectrum dN/dk dx = scale/X0 · (4/3 − 4/3 y + y²)/k, y = k/T, whose
    radiative loss is scale · T/X0.
    """
    t = np.maximum(np.asarray(ke_mev, dtype=np.float64), k_min_mev)
    rate = (
        4.0 / 3.0 * np.log(t / k_min_mev)
        - 4.0 / 3.0 * (t - k_min_mev) / t
        + (t * t - k_min_mev * k_min_mev) / (2.0 * t * t)
    )
    return scale / LAR_RADIATION_LENGTH_CM * rate


def sample_brems_energy(
    rng: np.random.Generator, ke_mev: np.ndarray, k_min_mev: float
) -> np.ndarray:
    """Photon energies k (MeV) from (4/3 − 4/3 y + y²)/k on [k_min, T], y = k/T.

    Parameters
    ----------
    rng : numpy.random.Generator
    ke_mev : (N,) float
        Electron kinetic energies T (> k_min).
    k_min_mev : float
        Lowest photon energy emitted.

    Returns
    -------
    (N,) float
    """
    t = np.asarray(ke_mev, dtype=np.float64)
    out = np.empty(len(t))
    todo = np.arange(len(t))
    while todo.size:
        tt = t[todo]
        k = k_min_mev * (tt / k_min_mev) ** rng.random(todo.size)
        y = k / tt
        accept = rng.random(todo.size) * (4.0 / 3.0) < 4.0 / 3.0 - 4.0 / 3.0 * y + y * y
        out[todo[accept]] = k[accept]
        todo = todo[~accept]
    return out
