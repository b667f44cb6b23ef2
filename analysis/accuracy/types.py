"""What the accuracy table scores: columns (a variant against a set of true labels) and results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Which true labels a column scores against: name on the command line → ``Event`` attribute.
TRUTHS = {"label": "label", "relabel": "relabel"}


_TRUTH_TITLES = {"label": "Regular", "relabel": "Relabeled"}


_VARIANT_TITLES = {
    "regular": "Regular",
    "relabeled": "Relabeled",
    "weighted": "Relabeled + weighting",
}


#: The four columns of docs/study.md §5: key → (variant, truth).
STUDY_COLUMNS: dict[str, tuple[str, str]] = {
    "regular_regular": ("regular", "label"),
    "regular_relabeled": ("regular", "relabel"),
    "relabeled_relabeled": ("relabeled", "relabel"),
    "weighted_relabeled": ("weighted", "relabel"),
}


@dataclass(frozen=True)
class AccuracyColumn:
    """One column of the table: a variant's predictions against a set of true labels.

    Attributes
    ----------
    key : str
        Column name in the CSV and JSON (``regular_relabeled``).
    variant : str
        Name of the prediction set (``regular``).
    truth : str
        ``"label"`` (``vox_label``) or ``"relabel"`` (``vox_relabel``).
    """

    key: str
    variant: str
    truth: str

    @property
    def title(self) -> str:
        """Header as the paper prints it, e.g. "Relabeled + weighting → Relabeled"."""
        variant = _VARIANT_TITLES.get(self.variant, self.variant)
        return f"{variant} → {_TRUTH_TITLES[self.truth]}"


@dataclass
class ColumnResult:
    """The scores of one column.

    Attributes
    ----------
    column : AccuracyColumn
    counts : (5, 5) int64
        Confusion counts over the whole test set, rows true class, columns predicted class.
    accuracy : (5,) float64
        Non-zero accuracy per class as a fraction; NaN for a class with no true voxel.
    lo, hi : (5,) float64
        Bootstrap interval of ``accuracy`` (NaN when no bootstrap was run).
    n_events : int
        Events scored.
    """

    column: AccuracyColumn
    counts: np.ndarray
    accuracy: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n_events: int
