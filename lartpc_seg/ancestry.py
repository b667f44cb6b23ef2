"""The one walk up a particle table: each particle's nearest ancestor (itself included) of a kind.

The particle table stores each particle's parent index (-1 for a primary). Every question the
project asks of the family tree — which Michel electron a bremsstrahlung photon's Compton
electron comes from, which δ ray a voxel belongs to, which class an ``eIoni`` electron inherits
— is "the nearest of itself and its ancestors that is X", answered here by pointer jumping:
after ``k`` rounds every particle has looked ``2**k`` generations up, so a table of ``P``
particles needs at most ``log2(P) + 1`` rounds of vectorised work.
"""

from __future__ import annotations

import numpy as np


def nearest_ancestor(parent: np.ndarray, is_target: np.ndarray) -> np.ndarray:
    """Index of the nearest of each particle and its ancestors for which ``is_target`` holds.

    Parameters
    ----------
    parent : (P,) int
        Parent index of every particle, -1 for a primary.
    is_target : (P,) bool
        The particles being looked for.

    Returns
    -------
    (P,) int64
        The particle itself when it is a target, else its nearest target ancestor; -1 when
        neither it nor any ancestor is one (or the chain above it loops without one).
    """
    parent = np.asarray(parent, np.int64)
    is_target = np.asarray(is_target, bool)
    n = len(parent)
    # up[i]: the particle i's search has reached; done where it is a target or -1.
    up = np.where(is_target, np.arange(n), parent)
    for _ in range(int(np.log2(max(n, 1))) + 2):
        open_ = up >= 0
        open_[open_] = ~is_target[up[open_]]
        if not open_.any():
            return up
        # A particle not yet done jumps to where its current particle's own search has reached.
        up[open_] = up[up[open_]]
    open_ = up >= 0
    open_[open_] = ~is_target[up[open_]]
    up[open_] = -1  # a loop in the table: no target above
    return up
