"""Segmentation loss of docs/study.md §4: per-event cross-entropy, optionally class-weighted."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lartpc_seg.labels import NUM_CLASSES


def class_weights(
    labels: torch.Tensor,
    event: torch.Tensor,
    n_events: int,
    dtype: torch.dtype = torch.float32,
    power: float = 1.0,
) -> torch.Tensor:
    """Per-voxel class weights w_c = (N / (K · N_c))^power, computed event by event.

    N is the event's number of voxels, K the number of classes present in the event and N_c the
    voxels of class c. With ``power`` 1 (the paper's weighting) the weights of an event sum to N,
    so the weighted mean stays a mean; a power between 0 and 1 softens the weighting (0 gives
    every voxel weight 1). (The original code indexed classes by their position in the list of
    present classes, which is wrong whenever a class is absent; here the class index is the
    label itself.)

    Parameters
    ----------
    labels : (N,) int64
        True class of every voxel.
    event : (N,) int64
        Batch index of every voxel's event, 0 ≤ event < n_events.
    n_events : int
    dtype : torch.dtype
        Floating type of the result.
    power : float
        Exponent of the inverse-frequency weight, ≥ 0.

    Returns
    -------
    (N,) tensor of ``dtype``
    """
    if not power >= 0:
        raise ValueError(f"class weight power must be >= 0, got {power}")
    counts = torch.bincount(event * NUM_CLASSES + labels, minlength=n_events * NUM_CLASSES)
    counts = counts.view(n_events, NUM_CLASSES).to(dtype)
    n_voxels = counts.sum(dim=1, keepdim=True)
    n_present = (counts > 0).sum(dim=1, keepdim=True).clamp(min=1)
    table = n_voxels / (n_present * counts.clamp(min=1))
    if power != 1.0:
        table = table**power
    return table[event, labels]


def segmentation_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    event: torch.Tensor,
    n_events: int,
    *,
    weighted: bool = False,
    weight_power: float = 1.0,
    focal_gamma: float = 0.0,
) -> torch.Tensor:
    """Mean over events of each event's (weighted) mean voxel cross-entropy.

    Parameters
    ----------
    logits : (N, 5) float
    labels : (N,) int64
    event : (N,) int64
        Batch index of each voxel.
    n_events : int
        Events in the batch (an event with no voxels contributes zero).
    weighted : bool
        Apply :func:`class_weights`.
    weight_power : float
        Their exponent (1: the paper's inverse-frequency weights).
    focal_gamma : float
        Focal-loss exponent γ: each voxel's cross-entropy is scaled by (1 − p)^γ, p the softmax
        probability of its true class, so voxels already right count less (Lin et al.,
        arXiv:1708.02002). 0 is plain cross-entropy.

    Returns
    -------
    scalar tensor
    """
    ce = F.cross_entropy(logits, labels, reduction="none")
    if focal_gamma:
        p_true = torch.exp(-ce)
        ce = ce * (1 - p_true).clamp(min=0) ** focal_gamma
    if weighted:
        ce = ce * class_weights(labels, event, n_events, ce.dtype, weight_power)
    per_event_sum = torch.zeros(n_events, dtype=ce.dtype, device=ce.device).index_add_(0, event, ce)
    per_event_n = torch.bincount(event, minlength=n_events).to(ce.dtype).clamp(min=1)
    return (per_event_sum / per_event_n).mean()
