"""Decays at rest: the Michel spectrum, the fate of a stopped μ−, and π+ → μ+ ν."""

from __future__ import annotations

import numpy as np

from lartpc_seg.constants import (
    ELECTRON_MASS_MEV,
    MICHEL_ENDPOINT_MEV,
    MU_MINUS_DECAY_PROBABILITY,
)

#: Smallest x = E/E_max of a Michel electron (its total energy is at least m_e).
_X_MIN = ELECTRON_MASS_MEV / MICHEL_ENDPOINT_MEV


def michel_pdf(x: np.ndarray) -> np.ndarray:
    """Michel spectrum dΓ/dx = 2x²(3 − 2x) on [0, 1], x = E/E_max (normalised, physics.md §3)."""
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


def mu_minus_decays(rng: np.random.Generator, n: int | None = None) -> np.ndarray | bool:
    """Whether stopped μ− decay (probability 0.258) rather than being captured by the nucleus.

    Returns one bool when ``n`` is None, else an (n,) bool array.
    """
    if n is None:
        return bool(rng.random() < MU_MINUS_DECAY_PROBABILITY)
    return rng.random(n) < MU_MINUS_DECAY_PROBABILITY
