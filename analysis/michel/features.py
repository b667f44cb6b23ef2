"""Per-candidate quantities of the added Michel selection (docs/study.md §6, "Added selection").

The paper's procedure keeps a predicted Michel cluster when it touches a predicted track at one
of its ends. The fakes it keeps are mostly a Michel-predicted stretch that splits a track in two
pieces (each piece then has an "end" at the stretch), a blob at the end of a short stretch of
MIP-predicted voxels, and small clusters. These functions measure, for one cluster, what tells
them apart: which predicted tracks it touches and in which directions they leave it, and how far
the track it sits on extends from the contact.

All distances are in voxel units.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from lartpc_seg.clustering import components, neighbour_pairs
from lartpc_seg.labels import Label


def touched_tracks(
    tree: cKDTree, track_label: np.ndarray, cluster_points: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """The predicted tracks a cluster touches, each with the centre of its touching voxels.

    Parameters
    ----------
    tree : cKDTree
        Tree of the track voxels (predicted MIP voxels that are not DBSCAN noise).
    track_label : (M,) int array
        Track cluster of each tree point.
    cluster_points : (K, 3) float array
        The cluster's voxels.
    eps : float
        Touching distance.

    Returns
    -------
    tracks : (T,) int64
        Distinct touched track labels, ascending.
    origins : (T, 3) float64
        For each, the mean of its voxels within ``eps`` of the cluster: where the track meets
        the cluster, on the track's axis whatever its width.
    """
    none = np.zeros(0, np.int64), np.zeros((0, 3))
    if tree.n == 0 or len(cluster_points) == 0:
        return none
    lists = tree.query_ball_point(cluster_points, eps)
    hits = np.unique(np.fromiter((i for h in lists for i in h), np.int64))
    if not len(hits):
        return none
    tracks, inverse = np.unique(track_label[hits], return_inverse=True)
    counts = np.bincount(inverse, minlength=len(tracks))
    origins = np.stack(
        [np.bincount(inverse, weights=tree.data[hits, k], minlength=len(tracks)) for k in range(3)],
        axis=1,
    )
    return tracks.astype(np.int64), origins / counts[:, None]


def leaving_directions(
    track_points: np.ndarray,
    track_label: np.ndarray,
    tracks: np.ndarray,
    origins: np.ndarray,
    radius: float,
) -> np.ndarray:
    """Unit vector from each origin to the centroid of its track's voxels within ``radius``.

    Returns
    -------
    (T, 3) float64
        Zero rows where that centroid is the origin itself.
    """
    out = np.zeros((len(tracks), 3))
    for i, (track, origin) in enumerate(zip(tracks, origins, strict=True)):
        members = track_points[track_label == track]
        near = members[np.linalg.norm(members - origin, axis=1) <= radius]
        if not len(near):
            continue
        step = near.mean(axis=0) - origin
        norm = np.linalg.norm(step)
        if norm > 1e-9:
            out[i] = step / norm
    return out


def split_cosine(directions: np.ndarray) -> float:
    """Smallest cosine between the leaving directions of two touched tracks (NaN if < 2).

    A cluster that splits one track in two has the two pieces leaving it in opposite
    directions: a cosine near −1.
    """
    if len(directions) < 2:
        return float("nan")
    cos = directions @ directions.T
    return float(cos[np.triu_indices(len(directions), k=1)].min())


def continuation_cosine(
    leaving: np.ndarray, origin: np.ndarray, cluster_points: np.ndarray
) -> float:
    """Cosine between a track's leaving direction and the direction to the cluster's centroid.

    ``leaving`` is the track's row of :func:`leaving_directions` and ``origin`` where it meets
    the cluster. A cluster that continues the track straight on (a stretch of the track
    predicted Michel) gives −1; a Michel electron leaves the muon's end in a direction
    unrelated to the muon's.

    Returns
    -------
    float
        NaN when either direction is undefined (zero length).
    """
    step = cluster_points.mean(axis=0) - origin
    norm = np.linalg.norm(step)
    if norm < 1e-9 or not leaving.any():
        return float("nan")
    return float(leaving @ step / norm)


def track_extent(track_points: np.ndarray, contact: np.ndarray) -> float:
    """Largest distance from the contact voxel to a voxel of its track, voxels."""
    return float(np.linalg.norm(track_points - contact, axis=1).max())


def end_groups(track: np.ndarray, contact: np.ndarray, radius: float) -> np.ndarray:
    """Number the track ends of an event's attached clusters.

    Two clusters share an end when they touch the same track at contact voxels at most
    ``radius`` apart (the track-end test's radius); each cluster joins the first earlier group
    of its track whose first contact is that close, or opens a new one.

    Parameters
    ----------
    track : (C,) int array
        Track touched by each cluster, -1 when not attached.
    contact : (C, 3) float array
        Its contact voxel (ignored when not attached).
    radius : float

    Returns
    -------
    (C,) int32
        Group of each cluster, -1 when not attached.
    """
    group = np.full(len(track), -1, np.int32)
    heads: list[tuple[int, np.ndarray]] = []
    for c in np.flatnonzero(track >= 0):
        for g, (t, point) in enumerate(heads):
            if t == track[c] and np.linalg.norm(contact[c] - point) <= radius:
                group[c] = g
                break
        else:
            group[c] = len(heads)
            heads.append((int(track[c]), contact[c]))
    return group


def growth_components(
    points: np.ndarray,
    pred: np.ndarray,
    score: np.ndarray | None,
    grow_score: float,
    eps: float,
) -> np.ndarray:
    """Connected component (within ``eps``) of every voxel a cluster may grow through, else -1.

    A voxel qualifies when it is predicted Michel or its Michel score is at least
    ``grow_score``; a cluster grown by the added selection is the union of the components of
    its voxels. Predicted-Michel voxels always qualify, so every cluster's voxels have a
    component; without scores only they do.
    """
    ok = np.asarray(pred) == Label.MICHEL
    if score is not None:
        ok |= np.asarray(score) >= grow_score
    idx = np.flatnonzero(ok)
    out = np.full(len(points), -1, np.int64)
    out[idx] = components(len(idx), neighbour_pairs(points[idx], eps))
    return out
