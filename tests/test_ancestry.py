"""The walk up the particle table: nearest ancestor (itself included) of a kind."""

from __future__ import annotations

import numpy as np

from lartpc_seg.ancestry import nearest_ancestor


def _slow(parent: np.ndarray, is_target: np.ndarray) -> np.ndarray:
    out = np.full(len(parent), -1)
    for i in range(len(parent)):
        j, seen = i, 0
        while j >= 0 and seen <= len(parent):
            if is_target[j]:
                out[i] = j
                break
            j, seen = parent[j], seen + 1
    return out


def test_small_tree():
    #        0 (target)      4
    #       / \\              |
    #      1   2 (target)    5
    #      |   |
    #      3   6
    parent = np.array([-1, 0, 0, 1, -1, 4, 2])
    target = np.array([True, False, True, False, False, False, False])
    np.testing.assert_array_equal(nearest_ancestor(parent, target), [0, 0, 2, 0, -1, -1, 2])


def test_random_forests_match_a_plain_walk():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 300))
        # every particle's parent comes earlier in the table (or none), as in a real table
        parent = np.array(
            [-1 if i == 0 or rng.random() < 0.1 else rng.integers(0, i) for i in range(n)]
        )
        order = rng.permutation(n)  # tables need not be ordered parent first
        inverse = np.argsort(order)
        parent = np.where(parent[order] >= 0, inverse[np.maximum(parent[order], 0)], -1)
        target = rng.random(n) < 0.2
        np.testing.assert_array_equal(nearest_ancestor(parent, target), _slow(parent, target))


def test_a_loop_without_target_gives_minus_one():
    parent = np.array([1, 0, -1])
    target = np.array([False, False, True])
    np.testing.assert_array_equal(nearest_ancestor(parent, target), [-1, -1, 2])
