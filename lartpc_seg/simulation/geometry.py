"""Direction algebra, vectorised over rows: perpendicular bases, rotations, scattering walks."""

from __future__ import annotations

import numpy as np


def unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` (N, 3) scaled to unit length."""
    return v / np.sqrt((v * v).sum(axis=-1, keepdims=True))


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (N, 3) arrays (cheaper than numpy.cross for small N)."""
    return np.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


def perpendicular_basis(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors (N, 3) orthogonal to each unit row of ``d`` (N, 3) and to each other."""
    d = np.atleast_2d(d)
    helper = np.zeros_like(d)
    use_y = np.abs(d[:, 0]) > 0.9
    helper[~use_y, 0] = 1.0
    helper[use_y, 1] = 1.0
    u = unit(cross(d, helper))
    return u, cross(d, u)


def deflect(d: np.ndarray, cos_theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Directions (N, 3) at polar angle acos(cos_theta) and azimuth phi around unit rows ``d``."""
    d = np.atleast_2d(d)
    u, v = perpendicular_basis(d)
    cos_theta = np.clip(cos_theta, -1.0, 1.0)
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    out = (
        cos_theta[:, None] * d
        + (sin_theta * np.cos(phi))[:, None] * u
        + (sin_theta * np.sin(phi))[:, None] * v
    )
    return unit(out)


def isotropic(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` isotropic unit vectors (n, 3)."""
    cos_theta = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    return np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=1)


def scattering_walk(rng: np.random.Generator, d0: np.ndarray, theta0: np.ndarray) -> np.ndarray:
    """Directions of consecutive steps under multiple scattering, vectorised over the steps.

    Each step adds two independent plane-projected gaussian angles of width ``theta0``; the
    accumulated 2D angle vector a is mapped to a direction by the exponential map of the sphere
    around ``d0`` (cos|a| d0 + sin|a| â), which is exact for small angles and stays a unit vector.

    Parameters
    ----------
    rng : numpy.random.Generator
    d0 : (3,) float
        Unit direction at the start.
    theta0 : (n,) float
        Scattering width of each step, rad.

    Returns
    -------
    (n, 3) float
        Direction during each step (the first step goes along ``d0``).
    """
    n = len(theta0)
    kicks = rng.standard_normal((n, 2)) * theta0[:, None]
    angles = np.zeros((n, 2))
    angles[1:] = np.cumsum(kicks[:-1], axis=0)
    u, v = perpendicular_basis(d0[None, :])
    size = np.hypot(angles[:, 0], angles[:, 1])
    safe = np.where(size > 0, size, 1.0)
    transverse = (angles[:, :1] * u + angles[:, 1:] * v) / safe[:, None]
    return np.cos(size)[:, None] * d0[None, :] + np.sin(size)[:, None] * transverse
