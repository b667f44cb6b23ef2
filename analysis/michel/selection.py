"""The added Michel selection: cuts on the paper's candidates (docs/study.md §6, "Added selection").

The paper's candidates (``candidate``: attached at a track end) are kept when they also pass

- ``min_pix``: at least this many voxels;
- ``min_score``: a mean Michel softmax score of at least this;
- ``no_split``: they do not split a predicted track: no two tracks they touch leave them in
  nearly opposite directions (``split_cos`` above ``max_split_cos``);
- ``no_straight``: they do not continue their track straight on (``track_cos`` above
  ``max_straight_cos``): a stretch of the track predicted Michel does, a Michel electron leaves
  the muon's end in a direction of its own;
- ``min_track_extent``: the track they sit on reaches farther than this from the contact voxel;
- ``one_per_end``: of the passing clusters sharing one track end, only the largest is kept;

and each kept cluster is then grown through the voxels connected to it whose Michel score is at
least ``MichelConfig.grow_score`` (:func:`added_view`; the ``*_grown`` columns).

The thresholds were chosen on the validation split (docs/study.md §6 says how); the test split
only reports them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Selection:
    """Cuts applied on top of the paper's candidates (all off by default).

    Attributes
    ----------
    min_pix : int
        Fewest voxels of a kept cluster.
    min_score : float
        Lowest mean Michel softmax score (a NaN score, without prediction scores, passes).
    no_split : bool
        Refuse a cluster two of whose touched tracks leave it with ``split_cos`` ≤
        ``max_split_cos``.
    max_split_cos : float
        Cosine below which two touched tracks are the two pieces of one split track.
    no_straight : bool
        Refuse a cluster whose ``track_cos`` ≤ ``max_straight_cos``.
    max_straight_cos : float
        Cosine below which a cluster continues its track straight on.
    min_track_extent : float
        Shortest reach of the track beyond the contact voxel, voxels.
    one_per_end : bool
        Keep only the largest passing cluster at each track end.
    """

    min_pix: int = 0
    min_score: float = 0.0
    no_split: bool = False
    max_split_cos: float = -0.5
    no_straight: bool = False
    max_straight_cos: float = -0.9
    min_track_extent: float = 0.0
    one_per_end: bool = False

    def describe(self) -> str:
        """The cuts in words, for captions and metrics files."""
        parts = []
        if self.min_pix:
            parts.append(f"≥ {self.min_pix} voxels")
        if self.min_score:
            parts.append(f"mean Michel score ≥ {self.min_score:g}")
        if self.no_split:
            parts.append(f"does not split a track (cos ≤ {self.max_split_cos:g} refused)")
        if self.no_straight:
            parts.append(
                f"does not continue its track straight on (cos ≤ {self.max_straight_cos:g} refused)"
            )
        if self.min_track_extent:
            parts.append(f"track reaches > {self.min_track_extent:g} voxels from the contact")
        if self.one_per_end:
            parts.append("largest cluster per track end")
        return "paper's candidates" + ("; " + ", ".join(parts) if parts else "")

    def as_dict(self) -> dict[str, object]:
        """The thresholds, for metrics files."""
        return asdict(self)


#: The added selection of the study, chosen on the validation split (docs/study.md §6).
ADDED = Selection(min_pix=10, no_straight=True, max_straight_cos=-0.99, one_per_end=True)


#: Columns the added selection takes from the grown clusters (``MichelConfig.grow_score``).
GROWN = {
    "n_pix": "n_pix_grown",
    "n_pix_true": "n_pix_true_grown",
    "n_pix_in_matched": "n_pix_in_matched_grown",
    "e_reco_raw": "e_reco_raw_grown",
    "e_reco": "e_reco_grown",
}


def added_view(
    candidates: dict[str, np.ndarray],
    true_clusters: dict[str, np.ndarray],
    selection: Selection = ADDED,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The columns as the added selection sees them, for the metrics and the energy.

    ``candidate`` becomes the clusters ``selection`` keeps, their size, truly-Michel voxels and
    energies those of the grown clusters (:data:`GROWN`, where present), and the true clusters'
    ``matched`` says whether a kept cluster matches them. The cuts themselves use the clusters
    as the paper's procedure made them.
    """
    kept = select(candidates, selection)
    cands = {**candidates, "candidate": kept}
    cands.update({k: candidates[v] for k, v in GROWN.items() if v in candidates})
    trues = {**true_clusters, "matched": true_matched(candidates, true_clusters, kept)}
    return cands, trues


def select(candidates: dict[str, np.ndarray], selection: Selection) -> np.ndarray:
    """Which predicted Michel clusters pass the paper's selection and ``selection``.

    Parameters
    ----------
    candidates : dict of (C,) arrays
        Columns of :data:`analysis.michel.reconstruct.CANDIDATE_COLUMNS` plus ``entry``.
    selection : Selection

    Returns
    -------
    (C,) bool
    """
    keep = candidates["candidate"].astype(bool).copy()
    keep &= candidates["n_pix"] >= selection.min_pix
    score = candidates["score_mean"]
    keep &= ~(score < selection.min_score)
    if selection.no_split:
        keep &= ~(candidates["split_cos"] <= selection.max_split_cos)
    if selection.no_straight:
        keep &= ~(candidates["track_cos"] <= selection.max_straight_cos)
    if selection.min_track_extent:
        keep &= candidates["track_extent"] > selection.min_track_extent
    if selection.one_per_end:
        keep &= largest_per_end(candidates, keep)
    return keep


def largest_per_end(candidates: dict[str, np.ndarray], passing: np.ndarray) -> np.ndarray:
    """Whether each passing cluster is the largest passing one at its track end.

    Ties keep the first cluster in file order.
    """
    rows = np.flatnonzero(passing & (candidates["track_end"] >= 0))
    out = np.zeros(len(passing), bool)
    if not len(rows):
        return out
    # sort by end (entry, track_end), then by decreasing size, then file order; keep each first
    order = np.lexsort(
        (rows, -candidates["n_pix"][rows], candidates["track_end"][rows], candidates["entry"][rows])
    )
    rows = rows[order]
    key = np.stack([candidates["entry"][rows], candidates["track_end"][rows]], axis=1)
    first = np.ones(len(rows), bool)
    first[1:] = (key[1:] != key[:-1]).any(axis=1)
    out[rows[first]] = True
    return out


def true_matched(
    candidates: dict[str, np.ndarray], true_clusters: dict[str, np.ndarray], selected: np.ndarray
) -> np.ndarray:
    """Which true clusters a selected, matched cluster matches.

    ``true_cluster`` numbers an event's true clusters in the order of its ``true_clusters``
    rows, which are grouped by ``entry``.
    """
    entries = true_clusters["entry"]
    n_events = int(max(entries.max(initial=-1), candidates["entry"].max(initial=-1))) + 1
    first = np.zeros(n_events + 1, np.int64)
    np.cumsum(np.bincount(entries, minlength=n_events), out=first[1:])
    hit = selected & candidates["matched"]
    out = np.zeros(len(entries), bool)
    out[first[candidates["entry"][hit]] + candidates["true_cluster"][hit]] = True
    return out
