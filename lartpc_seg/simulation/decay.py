"""Decays at rest: the Michel spectrum (free and bound μ), the fate of a stopped μ−, π+ → μ+ ν."""

from __future__ import annotations

import numpy as np

from lartpc_seg.constants import (
    ELECTRON_MASS_MEV,
    MICHEL_ENDPOINT_MEV,
    MU_MINUS_DECAY_PROBABILITY,
    MUON_BINDING_AR_MEV,
    MUON_MASS_MEV,
    MUON_ORBIT_MOMENTUM_AR_MEV,
)

#: Smallest x = E/E_max of a Michel electron (its total energy is at least m_e).
_X_MIN = ELECTRON_MASS_MEV / MICHEL_ENDPOINT_MEV


def michel_pdf(x: np.ndarray) -> np.ndarray:
    """Michel spectrum dΓ/dx = 2x²(3 − 2x), x = E/E_max (normalised; docs/physics.md §6)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where((x >= 0) & (x <= 1), 2.0 * x * x * (3.0 - 2.0 * x), 0.0)


def michel_cdf(x: np.ndarray) -> np.ndarray:
    """Cumulative Michel spectrum 2x³ − x⁴ on [0, 1]."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return 2.0 * x**3 - x**4


def sample_michel_x(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` values of x = E/E_max from the Michel spectrum (rejection, pdf ≤ 2).

    Values with total energy below m_e (x < 0.0097, probability 2·10⁻⁶) are redrawn.
    """
    out = np.empty(n)
    todo = np.arange(n)
    while todo.size:
        x = rng.random(todo.size)
        accept = (rng.random(todo.size) * 2.0 < michel_pdf(x)) & (x >= _X_MIN)
        out[todo[accept]] = x[accept]
        todo = todo[~accept]
    return out


def michel_kinetic_energy(rng: np.random.Generator, n: int) -> np.ndarray:
    """Kinetic energies (MeV) of ``n`` Michel electrons: x·E_max − m_e, endpoint 52.32 MeV."""
    return sample_michel_x(rng, n) * MICHEL_ENDPOINT_MEV - ELECTRON_MASS_MEV


def _orbit_momentum_table() -> tuple[np.ndarray, np.ndarray]:
    """Cumulative distribution of u = p/p0 for the 1s momentum density ∝ u² / (1 + u²)⁴."""
    u = np.linspace(0.0, 40.0, 8001)
    pdf = u**2 / (1.0 + u**2) ** 4
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(u))])
    return cdf / cdf[-1], u


_ORBIT_CDF, _ORBIT_U = _orbit_momentum_table()


def sample_orbit_momentum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Momenta (MeV/c) of ``n`` 1s muons of argon, from the hydrogen-like density."""
    return MUON_ORBIT_MOMENTUM_AR_MEV * np.interp(rng.random(n), _ORBIT_CDF, _ORBIT_U)


def bound_michel_kinetic_energy(rng: np.random.Generator, n: int) -> np.ndarray:
    """Kinetic energies (MeV) of ``n`` electrons of μ− decaying in orbit in argon.

    Impulse approximation: the muon decays as if free (Michel spectrum, isotropic, in its rest
    frame) while moving with the momentum of its 1s orbit, and the electron then pays the
    binding energy. The Doppler shift smears the endpoint into a tail above 52.8 MeV and the
    binding lowers the spectrum, the two features of the bound spectrum (Watanabe et al.,
    At. Data Nucl. Data Tables 54 (1993) 165; Czarnecki, Garcia i Tormo and Marciano,
    Phys. Rev. D 84 (2011) 013006); the recoil tail beyond ~60 MeV, of relative size 10⁻⁵,
    is left out. Draws with a non-positive kinetic energy are redrawn.
    """
    out = np.empty(n)
    todo = np.arange(n)
    while todo.size:
        k = todo.size
        e_star = sample_michel_x(rng, k) * MICHEL_ENDPOINT_MEV
        p_star = np.sqrt(np.maximum(e_star**2 - ELECTRON_MASS_MEV**2, 0.0))
        cos_theta = rng.uniform(-1.0, 1.0, k)
        p_mu = sample_orbit_momentum(rng, k)
        e_mu = np.sqrt(p_mu**2 + MUON_MASS_MEV**2)
        e_lab = (e_mu * e_star + p_mu * p_star * cos_theta) / MUON_MASS_MEV
        ke = e_lab - MUON_BINDING_AR_MEV - ELECTRON_MASS_MEV
        ok = ke > 0.0
        out[todo[ok]] = ke[ok]
        todo = todo[~ok]
    return out


def mu_minus_decays(rng: np.random.Generator, n: int | None = None) -> np.ndarray | bool:
    """Whether stopped μ− decay (probability 0.258) rather than being captured by the nucleus.

    Returns one bool when ``n`` is None, else an (n,) bool array.
    """
    if n is None:
        return bool(rng.random() < MU_MINUS_DECAY_PROBABILITY)
    return rng.random(n) < MU_MINUS_DECAY_PROBABILITY
