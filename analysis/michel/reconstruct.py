"""Michel electron reconstruction on one event (docs/study.md §6, docs/physics.md §8).

Clusters the true and predicted Michel voxels, selects candidates (predicted Michel clusters
attached to the end of a predicted MIP track), matches them to true Michel clusters by majority
vote, and attaches the true Michel electron's kinetic energy found through the particle table.

All distances are in voxel units. ``ε = TOUCH_RADIUS_VOX = 2√2 + 1e-6``, so a gap of exactly
(2, 2, 0) voxels counts as touching in every comparison.

Example
-------
>>> result = michel_event(coords, pred, truth, energy)
>>> result.candidates["matched"][result.candidates["candidate"]].mean()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from analysis.michel.features import (
    continuation_cosine,
    end_groups,
    growth_components,
    leaving_directions,
    split_cosine,
    touched_tracks,
    track_extent,
)
from analysis.michel.truth import true_michel_particle
from lartpc_seg.clustering import TOUCH_RADIUS_VOX, components, dbscan, neighbour_pairs
from lartpc_seg.io.events import ParticleTable
from lartpc_seg.labels import Label


@dataclass(frozen=True)
class MichelConfig:
    """Parameters of the procedure (defaults: docs/study.md §6).

    Attributes
    ----------
    eps_vox : float
        DBSCAN radius and touching distance, voxels.
    min_samples_track : int
        DBSCAN min_samples of the predicted-MIP clustering.
    min_samples_michel : int
        DBSCAN min_samples of the true and predicted Michel clusterings and of the track-end test.
    track_end_radius_vox : float
        Track voxels closer than this to the contact voxel are removed in the track-end test.
    grow_score : float
        The added selection's growth (docs/study.md §6): a cluster takes in the voxels connected
        to it (within ε, step by step) through voxels whose Michel softmax score is at least
        this or that are predicted Michel. Gives the ``*_grown`` columns; the paper's procedure
        does not use it.
    """

    eps_vox: float = TOUCH_RADIUS_VOX
    min_samples_track: int = 10
    min_samples_michel: int = 5
    track_end_radius_vox: float = 15.0
    grow_score: float = 0.2


#: Columns of :attr:`MichelResult.candidates` (one row per predicted Michel cluster) → dtype.
CANDIDATE_COLUMNS: dict[str, type] = {
    "n_pix": np.int32,
    "e_reco_raw": np.float32,
    "attached": np.bool_,
    "at_edge": np.bool_,
    "candidate": np.bool_,
    "matched": np.bool_,
    "true_cluster": np.int32,
    "n_pix_true": np.int32,
    "n_pix_in_matched": np.int32,
    "n_pix_matched": np.int32,
    "e_pix_true": np.float32,
    "e_true_ke": np.float32,
    "e_true_dep": np.float32,
    "e_true_edep": np.float32,
    "score_mean": np.float32,
    "n_tracks": np.int32,
    "split_cos": np.float32,
    "track_extent": np.float32,
    "track_cos": np.float32,
    "track_end": np.int32,
    "n_pix_grown": np.int32,
    "n_pix_true_grown": np.int32,
    "n_pix_in_matched_grown": np.int32,
    "e_reco_raw_grown": np.float32,
}

#: Columns of :attr:`MichelResult.true_clusters` (one row per true Michel cluster) → dtype.
TRUE_COLUMNS: dict[str, type] = {
    "n_pix": np.int32,
    "e_dep": np.float32,
    "e_true_ke": np.float32,
    "e_true_edep": np.float32,
    "attached": np.bool_,
    "matched": np.bool_,
}


@dataclass
class MichelResult:
    """The Michel clusters of one event.

    Attributes
    ----------
    candidates : dict of str to (C,) array
        One row per predicted Michel cluster, columns :data:`CANDIDATE_COLUMNS`:
        ``attached`` and ``at_edge`` are the two selection tests and ``candidate`` their AND;
        matching is done for every cluster, the metrics use the candidates only.
        ``e_reco_raw`` is the candidate's voxel energy sum (MeV, uncalibrated);
        ``n_pix_true`` / ``e_pix_true`` the count / energy of its voxels whose true label is
        Michel; ``n_pix_in_matched`` of its voxels in the matched true cluster;
        ``n_pix_matched`` the matched true cluster's voxel count; ``e_true_ke`` the matched
        Michel electron's initial kinetic energy and ``e_true_dep`` the matched cluster's
        deposited energy (MeV; NaN / -1 / 0 when unmatched); ``e_true_edep`` the matched
        Michel electron's own deposited energy (``part_edep``: its ionisation, not its photons'),
        NaN when unknown. The quantities of the added selection
        (:mod:`analysis.michel.selection`): ``score_mean`` the mean Michel softmax score of its
        voxels (NaN without scores), ``n_tracks`` the predicted tracks within ε of it,
        ``split_cos`` the smallest cosine between the directions in which two of those tracks
        leave it (NaN with fewer than two), ``track_extent`` the largest distance from the
        contact voxel to a voxel of its track and ``track_cos`` the cosine between the direction
        in which that track leaves the contact and the direction from the contact to the
        cluster's centroid (−1: the cluster continues the track straight on; NaN when not
        attached), ``track_end`` the track
        end it shares with the event's other attached clusters
        (:func:`~analysis.michel.features.end_groups`, -1 when not attached);
        ``n_pix_grown``, ``n_pix_true_grown``, ``n_pix_in_matched_grown`` and
        ``e_reco_raw_grown`` the voxel count, truly-Michel voxel count, voxels in the matched
        true cluster (matched as the ungrown cluster) and energy sum of the cluster grown by
        :attr:`MichelConfig.grow_score` (equal to the ungrown ones without scores).
    true_clusters : dict of str to (T,) array
        One row per true Michel cluster, columns :data:`TRUE_COLUMNS`; ``matched`` means
        matched by a candidate; ``e_true_ke`` and ``e_true_edep`` (the electron's initial
        kinetic energy and own deposited energy) are NaN when the particle table has no Michel
        ancestor for it.
    candidate_voxels : list of (n_pix,) int64 arrays
        Voxel indices (into the event) of each predicted Michel cluster.
    true_voxels : list of (n_pix,) int64 arrays
        Voxel indices of each true Michel cluster.
    """

    candidates: dict[str, np.ndarray]
    true_clusters: dict[str, np.ndarray]
    candidate_voxels: list[np.ndarray]
    true_voxels: list[np.ndarray]


def _groups(labels: np.ndarray) -> list[np.ndarray]:
    """Indices of each cluster 0..K-1 of ``labels`` (noise -1 dropped)."""
    k = int(labels.max()) + 1 if len(labels) else 0
    if k <= 0:
        return []
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(k)]


def _nearest(tree_points: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance and index of the nearest of ``tree_points`` to each query point (inf, -1)."""
    if len(tree_points) == 0:
        return np.full(len(query), np.inf), np.full(len(query), -1, dtype=np.int64)
    dist, idx = cKDTree(tree_points).query(query, k=1)
    return dist, idx.astype(np.int64)


def _track_subset(
    labels: np.ndarray, pairs: np.ndarray, track: int
) -> tuple[np.ndarray, np.ndarray]:
    """Members of cluster ``track`` and its neighbour pairs renumbered to those members."""
    members = np.flatnonzero(labels == track)
    local = np.full(len(labels), -1, dtype=np.int64)
    local[members] = np.arange(len(members))
    inside = (labels[pairs[:, 0]] == track) & (labels[pairs[:, 1]] == track)
    return members, local[pairs[inside]]


def _at_track_end(
    points: np.ndarray,
    contact: np.ndarray,
    config: MichelConfig,
    pairs: np.ndarray | None = None,
) -> bool:
    """Track-end test: at most one cluster remains once the track near the contact is removed.

    The track's voxels at distance ≤ ``track_end_radius_vox`` of the contact voxel are removed
    (the original code keeps those farther than 15 voxels) and
    DBSCAN(ε, min_samples_michel) is run on the rest. The original code required exactly one
    remaining cluster or no voxel at all, which rejects a Michel at the end of a short track
    whose remainder is only DBSCAN noise; here noise does not count (docs/study.md §6).

    Parameters
    ----------
    points : (M, 3) float array
        The track's voxels.
    contact : (3,) float array
        The track voxel closest to the Michel cluster.
    config : MichelConfig
    pairs : (E, 2) int array, optional
        :func:`neighbour_pairs` of ``points``, when already known.
    """
    if pairs is None:
        pairs = neighbour_pairs(points, config.eps_vox)
    keep = np.linalg.norm(points - contact, axis=1) > config.track_end_radius_vox
    rest = pairs[keep[pairs[:, 0]] & keep[pairs[:, 1]]]
    counts = 1 + np.bincount(rest.ravel(), minlength=len(points))
    core = keep & (counts >= config.min_samples_michel)
    if core.sum() <= 1:
        return True
    root = components(len(points), rest[core[rest[:, 0]] & core[rest[:, 1]]])
    return len(np.unique(root[core])) <= 1


def michel_event(
    coords: np.ndarray,
    pred: np.ndarray,
    truth: np.ndarray,
    energy: np.ndarray,
    part: np.ndarray | None = None,
    particles: ParticleTable | None = None,
    config: MichelConfig = MichelConfig(),
    score: np.ndarray | None = None,
) -> MichelResult:
    """Run the Michel procedure of docs/study.md §6 on one event.

    Parameters
    ----------
    coords : (N, 3) int array
        Voxel indices.
    pred : (N,) int array
        Predicted classes (:class:`~lartpc_seg.labels.Label`).
    truth : (N,) int array
        True classes (relabeled by default).
    energy : (N,) float array
        Deposited energy per voxel, MeV.
    part : (N,) int array, optional
        Per-voxel particle index; with ``particles``, gives the true kinetic energies.
    particles : ParticleTable, optional
    config : MichelConfig
    score : (N,) float array, optional
        Michel softmax score per voxel (gives ``score_mean``).

    Returns
    -------
    MichelResult
    """
    points = np.asarray(coords, dtype=np.float64)
    pred = np.asarray(pred)
    truth = np.asarray(truth)
    energy = np.asarray(energy, dtype=np.float64)
    eps = config.eps_vox

    # True Michel clusters, and whether each touches a true MIP voxel.
    true_idx = np.flatnonzero(truth == Label.MICHEL)
    true_lab = dbscan(points[true_idx], eps, config.min_samples_michel)
    true_voxels = [true_idx[g] for g in _groups(true_lab)]
    true_mip = points[truth == Label.MIP]
    n_true = len(true_voxels)
    true_attached = np.zeros(n_true, dtype=bool)
    if n_true and len(true_mip):
        d, _ = _nearest(true_mip, points[true_idx])
        np.logical_or.at(true_attached, true_lab[true_lab >= 0], d[true_lab >= 0] < eps)
    true_dep = np.array([energy[v].sum() for v in true_voxels], dtype=np.float32)
    true_ke = np.full(n_true, np.nan, dtype=np.float32)
    true_edep = np.full(n_true, np.nan, dtype=np.float32)
    if part is not None and particles is not None and len(particles):
        electron = true_michel_particle(np.asarray(part), particles, true_voxels)
        known = electron >= 0
        true_ke[known] = particles.ke[electron[known]]
        true_edep[known] = particles.edep[electron[known]]
    true_size = np.array([len(v) for v in true_voxels], dtype=np.int32)

    # Predicted tracks (MIP) and predicted Michel clusters.
    mip_idx = np.flatnonzero(pred == Label.MIP)
    mip_pairs = neighbour_pairs(points[mip_idx], eps)
    mip_lab = dbscan(points[mip_idx], eps, config.min_samples_track, pairs=mip_pairs)
    in_cluster_mip = np.flatnonzero(mip_lab >= 0)
    track_idx = mip_idx[in_cluster_mip]
    mic_idx = np.flatnonzero(pred == Label.MICHEL)
    mic_lab = dbscan(points[mic_idx], eps, config.min_samples_michel)
    cand_voxels = [mic_idx[g] for g in _groups(mic_lab)]
    n_cand = len(cand_voxels)
    cols = {k: np.zeros(n_cand, dtype=t) for k, t in CANDIDATE_COLUMNS.items()}
    cols["true_cluster"][:] = -1
    for name in (
        "e_true_ke",
        "e_true_edep",
        "score_mean",
        "split_cos",
        "track_extent",
        "track_cos",
    ):
        cols[name][:] = np.nan
    cols["track_end"][:] = -1
    track_of = np.full(n_cand, -1, np.int64)
    contact_point = np.zeros((n_cand, 3))
    track_label = mip_lab[in_cluster_mip]
    track_tree = cKDTree(points[track_idx].reshape(-1, 3))
    grow = growth_components(points, pred, score, config.grow_score, eps)

    # Nearest non-noise track voxel and nearest true Michel voxel of every clustered voxel.
    in_cluster = mic_lab >= 0
    voxel = mic_idx[in_cluster]
    owner = mic_lab[in_cluster]
    d_track, i_track = _nearest(points[track_idx], points[voxel])
    d_true, i_true = _nearest(points[true_idx], points[voxel])
    true_cluster_of_voxel = np.where(
        d_true < eps, true_lab[np.maximum(i_true, 0)] if len(true_idx) else -1, -1
    )
    is_true_michel = truth[voxel] == Label.MICHEL
    true_cluster_of = np.full(len(points), -1, dtype=np.int64)
    true_cluster_of[true_idx] = true_lab

    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(n_cand + 1))
    edge_cache: dict[int, bool] = {}
    tracks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for c in range(n_cand):
        rows = order[bounds[c] : bounds[c + 1]]
        cols["n_pix"][c] = len(rows)
        cols["e_reco_raw"][c] = energy[voxel[rows]].sum()
        cols["n_pix_true"][c] = is_true_michel[rows].sum()
        cols["e_pix_true"][c] = energy[voxel[rows]][is_true_michel[rows]].sum()
        grown = np.flatnonzero(np.isin(grow, grow[voxel[rows]]))
        cols["n_pix_grown"][c] = len(grown)
        cols["n_pix_true_grown"][c] = (truth[grown] == Label.MICHEL).sum()
        cols["e_reco_raw_grown"][c] = energy[grown].sum()
        if score is not None:
            cols["score_mean"][c] = score[voxel[rows]].mean()
        touched, origins = touched_tracks(track_tree, track_label, points[voxel[rows]], eps)
        cols["n_tracks"][c] = len(touched)
        directions = leaving_directions(
            points[track_idx], track_label, touched, origins, config.track_end_radius_vox
        )
        cols["split_cos"][c] = split_cosine(directions)
        best = rows[np.argmin(d_track[rows])]
        if d_track[best] < eps:
            cols["attached"][c] = True
            contact = int(in_cluster_mip[i_track[best]])  # index into mip_idx
            track = int(mip_lab[contact])
            if track not in tracks:
                tracks[track] = _track_subset(mip_lab, mip_pairs, track)
            members, pairs = tracks[track]
            if contact not in edge_cache:
                edge_cache[contact] = _at_track_end(
                    points[mip_idx[members]],
                    points[mip_idx[contact]],
                    config,
                    pairs,
                )
            cols["at_edge"][c] = edge_cache[contact]
            track_of[c] = track
            contact_point[c] = points[mip_idx[contact]]
            cols["track_extent"][c] = track_extent(points[mip_idx[members]], contact_point[c])
            at = int(np.searchsorted(touched, track))
            cols["track_cos"][c] = continuation_cosine(
                directions[at], origins[at], points[voxel[rows]]
            )
        votes = true_cluster_of_voxel[rows]
        votes = votes[votes >= 0]
        if votes.size:
            t = int(np.bincount(votes).argmax())
            cols["matched"][c] = True
            cols["true_cluster"][c] = t
            cols["n_pix_in_matched"][c] = int((true_cluster_of[voxel[rows]] == t).sum())
            cols["n_pix_in_matched_grown"][c] = int((true_cluster_of[grown] == t).sum())
            cols["n_pix_matched"][c] = true_size[t]
            cols["e_true_ke"][c] = true_ke[t]
            cols["e_true_dep"][c] = true_dep[t]
            cols["e_true_edep"][c] = true_edep[t]
    cols["candidate"] = cols["attached"] & cols["at_edge"]
    cols["track_end"] = end_groups(track_of, contact_point, config.track_end_radius_vox)

    true_matched = np.zeros(n_true, dtype=bool)
    hit = cols["candidate"] & cols["matched"]
    true_matched[cols["true_cluster"][hit]] = True
    true_cols = {
        "n_pix": true_size,
        "e_dep": true_dep,
        "e_true_ke": true_ke,
        "e_true_edep": true_edep,
        "attached": true_attached,
        "matched": true_matched,
    }
    return MichelResult(cols, true_cols, cand_voxels, true_voxels)
