"""Summary figures of simulated events: class fractions and the relabeled Michel fraction."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from lartpc_seg.io.events import Event
from lartpc_seg.labels import NUM_CLASSES, Label, relabeled_fraction


def class_summary(events: Iterable[Event]) -> dict[str, float]:
    """Voxel counts and fractions per class, and the fraction of Michel voxels relabeled shower.

    Parameters
    ----------
    events : iterable of Event
        Only ``label`` and ``relabel`` are read (an object with these attributes will do).

    Returns
    -------
    dict
        ``events``, ``voxels_per_event``, ``fraction_<CLASS>`` (original labels) and
        ``relabeled_michel_fraction`` (original-Michel voxels that relabeling turned into shower).
    """
    labels, relabels, n_events = [], [], 0
    for event in events:
        labels.append(event.label)
        relabels.append(event.relabel)
        n_events += 1
    label = np.concatenate(labels) if labels else np.zeros(0, np.int8)
    relabel = np.concatenate(relabels) if relabels else np.zeros(0, np.int8)
    counts = np.bincount(label.astype(np.int64), minlength=NUM_CLASSES)
    total = max(int(counts.sum()), 1)
    out: dict[str, float] = {
        "events": float(n_events),
        "voxels_per_event": float(counts.sum() / max(n_events, 1)),
    }
    for cls in Label:
        out[f"fraction_{cls.name}"] = float(counts[cls] / total)
    out["relabeled_michel_fraction"] = relabeled_fraction(label, relabel, Label.MICHEL)
    return out
