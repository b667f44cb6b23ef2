"""DBSCAN on voxel coordinates: the one clustering of the relabeling and of the Michel analysis.

Both cluster with ε = :data:`TOUCH_RADIUS_VOX` (docs/study.md §2 and §6) and a ``min_samples``
of their own. :func:`dbscan` gives the labels of scikit-learn's ``DBSCAN`` (points at distance
≤ ε are neighbours, the point itself counts toward ``min_samples``, noise is -1, clusters are
numbered as sklearn numbers them; tests/test_clustering.py checks the equality) from a KD-tree
and a vectorised union-find. It is kept, rather than calling sklearn, because the clustering
of an event's relabeling and Michel analysis runs 5 to 6 times faster with it (``python -m
lartpc_seg benchmark clustering``; docs/architecture.md).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

#: DBSCAN radius of the relabeling and of the Michel analysis, in voxels (docs/study.md §2 and §6):
#: 2√2 plus a tolerance so that a gap of exactly (2, 2, 0) voxels counts as touching.
TOUCH_RADIUS_VOX = 2.0 * np.sqrt(2.0) + 1e-6


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component representative of each of ``n`` nodes given (E, 2) edges.

    Vectorised union-find: hook the larger root of every edge whose ends differ onto the
    smaller one, then compress paths by pointer jumping; repeat until no edge spans two roots
    (a few rounds for tracks; faster than ``scipy.sparse.csgraph`` on events this size).
    """
    root = np.arange(n)
    u, v = edges[:, 0], edges[:, 1]
    while True:
        ru, rv = root[u], root[v]
        differ = ru != rv
        if not differ.any():
            return root
        ru, rv = ru[differ], rv[differ]
        np.minimum.at(root, np.maximum(ru, rv), np.minimum(ru, rv))
        while True:
            jumped = root[root]
            if (jumped == root).all():
                break
            root = jumped


def neighbour_pairs(points: np.ndarray, eps: float) -> np.ndarray:
    """(E, 2) int64 index pairs ``i < j`` of points at distance ≤ ``eps``."""
    if len(points) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    tree = cKDTree(points, balanced_tree=False, compact_nodes=False)
    return tree.query_pairs(eps, output_type="ndarray").astype(np.int64)


def dbscan(
    points: np.ndarray, eps: float, min_samples: int, *, pairs: np.ndarray | None = None
) -> np.ndarray:
    """DBSCAN cluster labels, identical to ``sklearn.cluster.DBSCAN(eps, min_samples)``.

    Neighbours are points at distance ≤ ``eps`` (the point itself included in the count). Core
    points connected through core neighbours form a cluster; clusters are numbered in the order
    of their lowest core index, and a border point joins the lowest-numbered cluster among its
    core neighbours (sklearn's expansion order). Built on a KD-tree and a sparse
    union-find pass, several times faster than sklearn on small events.

    Parameters
    ----------
    points : (N, 3) array
        Coordinates, voxels.
    eps : float
        Neighbourhood radius.
    min_samples : int
        Neighbours (self included) that make a core point.
    pairs : (E, 2) int array, optional
        :func:`neighbour_pairs` of ``points``, when already known.

    Returns
    -------
    (N,) int64 array
        Cluster index per point, -1 for noise.
    """
    n = len(points)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    if pairs is None:
        pairs = neighbour_pairs(points, eps)
    counts = 1 + np.bincount(pairs.ravel(), minlength=n)
    core = counts >= min_samples
    if not core.any():
        return labels
    component = components(n, pairs[core[pairs[:, 0]] & core[pairs[:, 1]]])
    core_idx = np.flatnonzero(core)
    # Number the clusters by their lowest core index, as sklearn's expansion does.
    _, first = np.unique(component[core_idx], return_index=True)
    order = np.empty(component.max() + 1, dtype=np.int64)
    order[component[core_idx[np.sort(first)]]] = np.arange(len(first))
    labels[core_idx] = order[component[core_idx]]
    one = core[pairs[:, 0]] ^ core[pairs[:, 1]]
    if one.any():
        p = pairs[one]
        border = np.where(core[p[:, 0]], p[:, 1], p[:, 0])
        owner = np.where(core[p[:, 0]], p[:, 0], p[:, 1])
        best = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(best, border, labels[owner])
        hit = best < np.iinfo(np.int64).max
        labels[hit] = best[hit]
    return labels
