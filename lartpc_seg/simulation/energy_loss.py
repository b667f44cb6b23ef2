"""Continuous energy loss in liquid argon: Bethe–Bloch, CSDA range tables, fluctuations, δ rays.

All energies in MeV, lengths in cm. Formulas from the PDG Review of Particle Physics, "Passage of
particles through matter" (Bethe equation with the Sternheimer density effect; the electron
collision stopping power of ICRU 37; the δ-ray spectrum d²N/dT dx = ½K(Z/A)ρ/β² F(T)/T²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lartpc_seg.constants import (
    BETHE_K_MEV_CM2_MOL,
    DELTA_PREFACTOR_MEV_CM,
    ELECTRON_MASS_MEV,
    HIGHLAND_LOG,
    HIGHLAND_MEV,
    LAR_A_G_MOL,
    LAR_DENSITY_G_CM3,
    LAR_MEAN_EXCITATION_MEV,
    LAR_RADIATION_LENGTH_CM,
    LAR_STERNHEIMER,
    LAR_Z,
)

_KZA_RHO = BETHE_K_MEV_CM2_MOL * LAR_Z / LAR_A_G_MOL * LAR_DENSITY_G_CM3  # MeV/cm
_LN10 = np.log(10.0)


def kinematics(ke_mev: np.ndarray, mass_mev: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Momentum (MeV/c), β and γ of particles of kinetic energy ``ke_mev``."""
    ke = np.asarray(ke_mev, dtype=np.float64)
    gamma = 1.0 + ke / mass_mev
    p = np.sqrt(ke * (ke + 2.0 * mass_mev))
    beta = p / (ke + mass_mev)
    return p, beta, gamma


def density_effect(beta_gamma: np.ndarray) -> np.ndarray:
    """Sternheimer density correction δ(βγ) of liquid argon (dimensionless)."""
    s = LAR_STERNHEIMER
    x = np.log10(np.maximum(beta_gamma, 1e-12))
    delta = 2.0 * _LN10 * x - s["cbar"]
    mid = (x >= s["x0"]) & (x < s["x1"])
    delta = np.where(mid, delta + s["a"] * (s["x1"] - x) ** s["k"], delta)
    low = s["delta0"] * 10.0 ** (2.0 * (x - s["x0"]))
    return np.where(x < s["x0"], low, delta)


def max_energy_transfer(ke_mev: np.ndarray, mass_mev: float) -> np.ndarray:
    """Largest kinetic energy T_max (MeV) given to a free electron in one collision."""
    _, beta, gamma = kinematics(ke_mev, mass_mev)
    bg2 = (beta * gamma) ** 2
    r = ELECTRON_MASS_MEV / mass_mev
    return 2.0 * ELECTRON_MASS_MEV * bg2 / (1.0 + 2.0 * gamma * r + r * r)


def bethe_dedx(ke_mev: np.ndarray, mass_mev: float) -> np.ndarray:
    """Mean stopping power of a singly charged heavy particle in LAr (Bethe equation), MeV/cm.

    Parameters
    ----------
    ke_mev : (N,) float
        Kinetic energy, MeV.
    mass_mev : float
        Particle mass, MeV.

    Returns
    -------
    (N,) float
        −dE/dx, MeV/cm; floored at a small positive value where the Bethe equation fails
        (kinetic energies far below 1 MeV per nucleon).
    """
    _, beta, gamma = kinematics(ke_mev, mass_mev)
    bg = beta * gamma
    tmax = max_energy_transfer(ke_mev, mass_mev)
    arg = 2.0 * ELECTRON_MASS_MEV * bg**2 * tmax / LAR_MEAN_EXCITATION_MEV**2
    bracket = 0.5 * np.log(arg) - beta**2 - 0.5 * density_effect(bg)
    return _KZA_RHO / beta**2 * np.maximum(bracket, 0.05)


def electron_collision_dedx(ke_mev: np.ndarray) -> np.ndarray:
    """Collision (ionisation) stopping power of electrons in LAr, MeV/cm (ICRU 37 / PDG).

    −dE/dx = ½K(Z/A)ρ/β² [ln(τ²(τ+2)/(2(I/mc²)²)) + F(τ) − δ], with τ = T/mc² and
    F(τ) = 1 − β² + (τ²/8 − (2τ+1) ln 2)/(τ+1)².
    """
    ke = np.asarray(ke_mev, dtype=np.float64)
    _, beta, gamma = kinematics(ke, ELECTRON_MASS_MEV)
    tau = ke / ELECTRON_MASS_MEV
    i_rel = LAR_MEAN_EXCITATION_MEV / ELECTRON_MASS_MEV
    f = 1.0 - beta**2 + (tau**2 / 8.0 - (2.0 * tau + 1.0) * np.log(2.0)) / (tau + 1.0) ** 2
    bracket = np.log(tau**2 * (tau + 2.0) / (2.0 * i_rel**2)) + f - density_effect(beta * gamma)
    return 0.5 * _KZA_RHO / beta**2 * np.maximum(bracket, 0.1)


@dataclass(frozen=True)
class RangeTable:
    """CSDA range ↔ kinetic energy of one particle type, tabulated on a log grid.

    Attributes
    ----------
    ke_mev : (K,) float
        Kinetic energies, MeV (increasing).
    range_cm : (K,) float
        CSDA range at each energy, cm (increasing).
    """

    ke_mev: np.ndarray
    range_cm: np.ndarray

    @classmethod
    def build(
        cls, dedx, ke_min_mev: float = 1e-3, ke_max_mev: float = 2e4, points: int = 3000
    ) -> RangeTable:
        """Integrate 1/(dE/dx) over a log grid of kinetic energies.

        Parameters
        ----------
        dedx : callable
            Stopping power, MeV/cm, as a function of kinetic energy (MeV).
        ke_min_mev, ke_max_mev : float
            Table limits; the range below ``ke_min_mev`` is taken as ke_min/(dE/dx(ke_min)).
        points : int
            Grid points.
        """
        ke = np.geomspace(ke_min_mev, ke_max_mev, points)
        inv = 1.0 / dedx(ke)
        steps = 0.5 * (inv[1:] + inv[:-1]) * np.diff(ke)
        r0 = ke_min_mev * inv[0]
        range_cm = np.concatenate([[r0], r0 + np.cumsum(steps)])
        return cls(np.concatenate([[0.0], ke]), np.concatenate([[0.0], range_cm]))

    def range(self, ke_mev: np.ndarray) -> np.ndarray:
        """CSDA range (cm) of kinetic energy ``ke_mev`` (MeV)."""
        return np.interp(ke_mev, self.ke_mev, self.range_cm)

    def energy(self, range_cm: np.ndarray) -> np.ndarray:
        """Kinetic energy (MeV) of a particle with residual range ``range_cm`` (cm)."""
        return np.interp(range_cm, self.range_cm, self.ke_mev)


def heavy_range_table(mass_mev: float) -> RangeTable:
    """CSDA range table of a singly charged heavy particle (μ, π, p) from :func:`bethe_dedx`."""
    return RangeTable.build(lambda ke: bethe_dedx(ke, mass_mev))


def electron_range_table() -> RangeTable:
    """Range table of electrons under collision loss only (radiation is simulated explicitly)."""
    return RangeTable.build(electron_collision_dedx, ke_min_mev=1e-3, ke_max_mev=1e4)


def highland_theta0(p_mev: np.ndarray, beta: np.ndarray, length_cm: np.ndarray) -> np.ndarray:
    """Highland width θ0 (rad, plane-projected) of a path of length ``length_cm`` at fixed p.

    θ0 = 13.6 MeV/(βcp) √(x/X0) (1 + 0.038 ln(x/(X0 β²))), charge 1 (PDG RPP, "Passage of
    particles through matter", multiple scattering, with the Lynch–Dahl log argument). The
    formula holds for the whole path only: it is not additive over the steps of a path.
    """
    t = np.maximum(length_cm, 1e-12) / LAR_RADIATION_LENGTH_CM
    log_term = np.maximum(1.0 + HIGHLAND_LOG * np.log(t / beta**2), 0.0)
    return HIGHLAND_MEV / (beta * p_mev) * np.sqrt(t) * log_term


@dataclass(frozen=True)
class ScatteringPath:
    """What multiple scattering remembers of the path travelled so far (all 0 at the start).

    Attributes
    ----------
    inv_p2 : float
        ∫ ds / (X0 (βcp)²) over the path, MeV⁻²: the Highland width without its log term.
    inv_beta2 : float
        ∫ ds / (X0 β²) over the path: the argument of the log term.
    applied : float
        Variance (rad²) of the kicks already applied to the current direction; it lags θ0² of
        the path by the kicks still to come.
    """

    inv_p2: float = 0.0
    inv_beta2: float = 0.0
    applied: float = 0.0


def highland_variance(inv_p2: np.ndarray, inv_beta2: np.ndarray) -> np.ndarray:
    """θ0² (rad²) of a path with the integrals of :class:`ScatteringPath` (0 for no path)."""
    inv_p2, inv_beta2 = np.asarray(inv_p2, np.float64), np.asarray(inv_beta2, np.float64)
    safe = np.maximum(inv_beta2, 1e-300)
    log_term = np.where(inv_beta2 > 0, np.maximum(1.0 + HIGHLAND_LOG * np.log(safe), 0.0), 0.0)
    return HIGHLAND_MEV**2 * inv_p2 * log_term**2


def scattering_widths(
    p_mev: np.ndarray, beta: np.ndarray, step_cm: np.ndarray, path: ScatteringPath
) -> tuple[np.ndarray, np.ndarray]:
    """Widths of each step's scattering kick, so that the variances add up to Highland's θ0².

    The Highland width of the accumulated path, θ0²(s) = 13.6² A(s) (1 + 0.038 ln B(s))² with
    A = ∫ ds/(X0 (βcp)²) and B = ∫ ds/(X0 β²), is the PDG formula for the whole path when p is
    constant and its usual extension when p falls along the path (the momentum enters through
    the integral, the log term through the total thickness). The kick after step ``i`` gets the
    width √(θ0²(s_i) − θ0²(s_i−1)), so the projected angle after any path length has the
    Highland width of that length, whatever the step size.

    Parameters
    ----------
    p_mev, beta, step_cm : (n,) float
        Momentum, β and length of each step.
    path : ScatteringPath
        The path before the first step.

    Returns
    -------
    widths : (n,) float
        Plane-projected width of the kick after each step, rad.
    variance : (n,) float
        θ0² of the path at the end of each step, rad².
    """
    x = np.asarray(step_cm, np.float64) / LAR_RADIATION_LENGTH_CM
    inv_p2 = path.inv_p2 + np.cumsum(x / (beta * p_mev) ** 2)
    inv_beta2 = path.inv_beta2 + np.cumsum(x / beta**2)
    var = highland_variance(inv_p2, inv_beta2)
    before = np.concatenate([[path.applied], var[:-1]])
    return np.sqrt(np.maximum(var - before, 0.0)), var


def scattering_path_after(
    path: ScatteringPath,
    p_mev: np.ndarray,
    beta: np.ndarray,
    step_cm: np.ndarray,
    variance: np.ndarray,
    m: int,
) -> ScatteringPath:
    """The path after the first ``m`` steps of a walk whose kicks up to step m-2 were applied.

    A walk's direction during step ``i`` carries the kicks of steps 0..i-1 (see
    ``geometry.scattering_walk``), so a walk cut after step m-1 leaves the kick of that step
    to the next walk, whose first kick makes it up.
    """
    x = np.asarray(step_cm[:m], np.float64) / LAR_RADIATION_LENGTH_CM
    return ScatteringPath(
        inv_p2=path.inv_p2 + float(np.sum(x / (beta[:m] * p_mev[:m]) ** 2)),
        inv_beta2=path.inv_beta2 + float(np.sum(x / beta[:m] ** 2)),
        applied=float(variance[m - 2]) if m > 1 else path.applied,
    )


def landau_factors(rng: np.random.Generator, n: int, rel_sigma: float) -> np.ndarray:
    """Landau-like fluctuation factors of ``n`` steps, with mean exactly 1 over the steps.

    Each factor is 1 + ``rel_sigma`` · M, M a standardised Moyal variate (the Moyal law
    approximates the Landau distribution: skewed, with a long upper tail), clipped at 0.05;
    the factors are then divided by their mean so that the track's total loss is the CSDA one.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Number of steps.
    rel_sigma : float
        Relative spread of one step's deposit.

    Returns
    -------
    (n,) float
    """
    if n == 0:
        return np.zeros(0)
    moyal = -np.log(rng.standard_normal(n) ** 2)
    standard = (moyal - (np.euler_gamma + np.log(2.0))) / (np.pi / np.sqrt(2.0))
    f = np.maximum(1.0 + rel_sigma * standard, 0.05)
    return f / f.mean()


def delta_rate_per_cm(ke_mev: np.ndarray, mass_mev: float, t_cut_mev: float) -> np.ndarray:
    """Mean number of δ rays with kinetic energy above ``t_cut_mev`` per cm (spin-0 F(T)).

    N = ½K(Z/A)ρ/β² [1/T_cut − 1/T_max − (β²/T_max) ln(T_max/T_cut)], zero when T_max ≤ T_cut.
    """
    _, beta, _ = kinematics(ke_mev, mass_mev)
    tmax = max_energy_transfer(ke_mev, mass_mev)
    ok = tmax > t_cut_mev
    tm = np.where(ok, tmax, 2.0 * t_cut_mev)
    n = (
        DELTA_PREFACTOR_MEV_CM
        / beta**2
        * (1.0 / t_cut_mev - 1.0 / tm - beta**2 / tm * np.log(tm / t_cut_mev))
    )
    return np.where(ok, n, 0.0)


def delta_loss_per_cm(ke_mev: np.ndarray, mass_mev: float, t_cut_mev: float) -> np.ndarray:
    """Mean energy (MeV/cm) carried by δ rays above ``t_cut_mev`` (spin-0 F(T)).

    ∫ T dN = ½K(Z/A)ρ/β² [ln(T_max/T_cut) − β²(T_max − T_cut)/T_max].
    """
    _, beta, _ = kinematics(ke_mev, mass_mev)
    tmax = max_energy_transfer(ke_mev, mass_mev)
    ok = tmax > t_cut_mev
    tm = np.where(ok, tmax, 2.0 * t_cut_mev)
    loss = (
        DELTA_PREFACTOR_MEV_CM
        / beta**2
        * (np.log(tm / t_cut_mev) - beta**2 * (tm - t_cut_mev) / tm)
    )
    return np.where(ok, loss, 0.0)


def sample_delta_energies(
    rng: np.random.Generator, beta: np.ndarray, tmax: np.ndarray, t_cut_mev: float
) -> np.ndarray:
    """Kinetic energies (MeV) of δ rays from F(T)/T², F = 1 − β²T/T_max, on [T_cut, T_max].

    Parameters
    ----------
    rng : numpy.random.Generator
    beta, tmax : (N,) float
        β of the parent and T_max of each δ ray to draw (T_max > T_cut).
    t_cut_mev : float
        Production threshold.

    Returns
    -------
    (N,) float
    """
    out = np.empty(len(beta))
    todo = np.arange(len(beta))
    while todo.size:
        u = rng.random(todo.size)
        tm = tmax[todo]
        # inverse CDF of 1/T² on [T_cut, T_max]
        t = 1.0 / (1.0 / t_cut_mev - u * (1.0 / t_cut_mev - 1.0 / tm))
        accept = rng.random(todo.size) < 1.0 - beta[todo] ** 2 * t / tm
        out[todo[accept]] = t[accept]
        todo = todo[~accept]
    return out
