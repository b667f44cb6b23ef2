"""The 48 symmetries of the voxel cube: axis permutations combined with reflections.

A simulated LArTPC image has no preferred direction (isotropic particles, no drift field in the
voxels), so a symmetry of the cube maps an event onto an equally likely one. Training draws one
at random per event (data augmentation); inference can average the network's class scores over
a group of them (test-time symmetry averaging).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

#: Sizes of the groups :func:`symmetry_group` offers: the identity alone, the 8 reflections
#: (each axis flipped or not), and all 48 (reflections × the 6 axis permutations).
GROUP_SIZES = (1, 8, 48)


@dataclass(frozen=True)
class CubeSymmetry:
    """One symmetry of a cube of voxels: new axis ``i`` is old axis ``axes[i]``, then flipped
    (``x → grid - 1 - x``) where ``flips[i]``."""

    axes: tuple[int, int, int] = (0, 1, 2)
    flips: tuple[bool, bool, bool] = (False, False, False)

    def apply(self, coords: np.ndarray, grid: int) -> np.ndarray:
        """Map voxel indices ``coords`` (N, 3), ``0 <= i < grid``, into the same grid."""
        out = coords[:, list(self.axes)]
        flipped = np.asarray(self.flips, dtype=bool)
        out[:, flipped] = grid - 1 - out[:, flipped]
        return out


def random_symmetry(rng: np.random.Generator) -> CubeSymmetry:
    """One of the 48 symmetries, uniformly: a random axis permutation and random flips."""
    axes = tuple(int(a) for a in rng.permutation(3))
    flips = tuple(bool(f) for f in rng.integers(0, 2, size=3))
    return CubeSymmetry(axes, flips)


def symmetry_group(size: int) -> list[CubeSymmetry]:
    """The identity (``size`` 1), the 8 reflections, or all 48 symmetries; identity first.

    Raises
    ------
    ValueError
        If ``size`` is not one of :data:`GROUP_SIZES`.
    """
    if size not in GROUP_SIZES:
        raise ValueError(
            f"a group of cube symmetries has {', '.join(map(str, GROUP_SIZES))} elements, "
            f"not {size}"
        )
    perms = list(itertools.permutations(range(3))) if size == 48 else [(0, 1, 2)]
    flips = list(itertools.product((False, True), repeat=3)) if size > 1 else [(False,) * 3]
    return [CubeSymmetry(axes, flip) for axes in perms for flip in flips]
