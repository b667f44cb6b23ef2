"""Confusion matrices of the five classes: counting (vectorised) and the annotated plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lartpc_seg.labels import NUM_CLASSES, Label


def confusion_counts(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Count voxels by (true class, predicted class).

    Parameters
    ----------
    true, pred : (N,) integer arrays
        True and predicted class of each voxel, in 0..4.

    Returns
    -------
    (5, 5) int64 array
        ``counts[t, p]`` = voxels of true class ``t`` predicted ``p``.
    """
    true = np.asarray(true).astype(np.int64)
    pred = np.asarray(pred).astype(np.int64)
    if true.shape != pred.shape:
        raise ValueError(f"true and pred differ in shape: {true.shape} vs {pred.shape}")
    flat = np.bincount(true * NUM_CLASSES + pred, minlength=NUM_CLASSES * NUM_CLASSES)
    return flat.reshape(NUM_CLASSES, NUM_CLASSES).astype(np.int64)


def per_event_confusion(true: np.ndarray, pred: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Confusion counts of each event of a block, from the block's concatenated voxels.

    Parameters
    ----------
    true, pred : (N,) integer arrays
        True and predicted classes of all voxels of the block, event after event.
    counts : (E,) integer array
        Voxels per event; sums to N.

    Returns
    -------
    (E, 5, 5) int64 array
        The confusion counts of each event.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_events = len(counts)
    event_index = np.repeat(np.arange(n_events), counts)
    key = (event_index * NUM_CLASSES + np.asarray(true, np.int64)) * NUM_CLASSES
    key += np.asarray(pred, np.int64)
    flat = np.bincount(key, minlength=n_events * NUM_CLASSES * NUM_CLASSES)
    return flat.reshape(n_events, NUM_CLASSES, NUM_CLASSES).astype(np.int64)


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """Each row of a confusion matrix divided by its sum (the true class's voxels).

    Parameters
    ----------
    counts : (..., 5, 5) array
        Confusion counts.

    Returns
    -------
    (..., 5, 5) float64 array
        Fractions; a row with no voxels is NaN.
    """
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), np.nan)


def plot_confusion(
    counts: np.ndarray, title: str, path: str | Path, *, data: str = "Simulation"
) -> Path:
    """Draw a row-normalised confusion matrix annotated with percentages and save it.

    Parameters
    ----------
    counts : (5, 5) integer array
        Confusion counts, rows true classes, columns predicted classes.
    title : str
        What the matrix scores (e.g. "Regular → Relabeled"), shown above the figure.
    path : str or Path
        Output image; written atomically.
    data : {"Simulation", "Open data"}
        The experiment label's data kind.

    Returns
    -------
    Path
        ``path``.
    """
    from analysis.plotting import label, plt, save_figure, style

    fractions = row_normalised(counts)
    titles = [cls.title for cls in Label]
    with style():
        fig, ax = plt.subplots(figsize=(9.5, 8))
        image = ax.imshow(
            np.nan_to_num(100.0 * fractions, nan=0.0), cmap="Blues", vmin=0.0, vmax=100.0
        )
        for t in range(NUM_CLASSES):
            for p in range(NUM_CLASSES):
                value = fractions[t, p]
                text = "—" if np.isnan(value) else f"{100.0 * value:.1f}%"
                dark = not np.isnan(value) and value > 0.6
                ax.text(
                    p,
                    t,
                    text,
                    ha="center",
                    va="center",
                    fontsize=15,
                    color="white" if dark else "black",
                )
        ax.set_xticks(range(NUM_CLASSES), titles, rotation=30, ha="right")
        ax.set_yticks(range(NUM_CLASSES), titles)
        ax.minorticks_off()
        ax.tick_params(which="both", top=False, right=False)
        ax.set_xlabel("Predicted class")
        ax.set_ylabel("True class")
        fig.colorbar(image, ax=ax, label="Fraction of the true class [%]")
        label(ax, data=data)
        fig.suptitle(title, y=1.0, fontsize="medium")
        return save_figure(fig, path)
