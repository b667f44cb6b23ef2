"""The symmetries of the voxel cube used for augmentation and test-time averaging."""

import numpy as np
import pytest

from lartpc_seg.cube import CubeSymmetry, random_symmetry, symmetry_group


@pytest.mark.parametrize("size", [1, 8, 48])
def test_groups_are_distinct_symmetries_identity_first(size):
    group = symmetry_group(size)
    assert len(group) == len(set(group)) == size
    assert group[0] == CubeSymmetry()
    rng = np.random.default_rng(0)
    coords = rng.integers(0, 16, size=(300, 3))
    images = set()
    for symmetry in group:
        out = symmetry.apply(coords, 16)
        assert out.min() >= 0 and out.max() < 16
        # A symmetry of the cube preserves every distance.
        d_in = np.linalg.norm(coords[:30, None] - coords[None, :30], axis=2)
        d_out = np.linalg.norm(out[:30, None] - out[None, :30], axis=2)
        np.testing.assert_allclose(d_in, d_out)
        images.add(out.tobytes())
    # Distinct symmetries move a random cloud differently.
    assert len(images) == size


def test_reflections_are_the_48_group_without_permutations():
    reflections = set(symmetry_group(8))
    assert reflections < set(symmetry_group(48))
    assert all(s.axes == (0, 1, 2) for s in reflections)


def test_apply_by_hand():
    coords = np.array([[0, 1, 2], [3, 4, 5]])
    out = CubeSymmetry(axes=(2, 0, 1), flips=(True, False, False)).apply(coords, 8)
    # new x = old z flipped, new y = old x, new z = old y
    np.testing.assert_array_equal(out, [[5, 0, 1], [2, 3, 4]])
    np.testing.assert_array_equal(coords, [[0, 1, 2], [3, 4, 5]])


def test_random_symmetry_draws_all_48():
    rng = np.random.default_rng(1)
    drawn = {random_symmetry(rng) for _ in range(2000)}
    assert drawn == set(symmetry_group(48))


@pytest.mark.parametrize("size", [0, 2, 6, 49])
def test_other_group_sizes_are_refused(size):
    with pytest.raises(ValueError, match=r"1, 8, 48 elements, not " + str(size)):
        symmetry_group(size)
