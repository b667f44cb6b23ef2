"""The loss of docs/study.md §4, checked against hand-computed class weights."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lartpc_seg.labels import Label
from lartpc_seg.train.loss import class_weights, segmentation_loss


def test_class_weights_by_hand():
    # Event 0: 6 voxels, classes MIP ×4, MICHEL ×2 → K = 2: w_MIP = 6/(2·4), w_MICHEL = 6/(2·2).
    # Event 1: 3 voxels, HIP, SHOWER, SHOWER → K = 2: w_HIP = 3/(2·1), w_SHOWER = 3/(2·2).
    # Classes are absent in both events, which is where the original code went wrong.
    labels = torch.tensor([1, 1, 1, 1, 4, 4, 0, 2, 2])
    event = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1])
    w = class_weights(labels, event, 2)
    expected = [0.75] * 4 + [1.5] * 2 + [1.5, 0.75, 0.75]
    np.testing.assert_allclose(w.numpy(), expected)
    # The weights of an event sum to its voxel count.
    assert float(w[:6].sum()) == pytest.approx(6.0)
    assert float(w[6:].sum()) == pytest.approx(3.0)


def test_class_weights_single_class_event_is_unweighted():
    labels = torch.full((5,), int(Label.SHOWER))
    w = class_weights(labels, torch.zeros(5, dtype=torch.long), 1)
    np.testing.assert_allclose(w.numpy(), np.ones(5))


def test_class_weight_power_by_hand():
    # The event of test_class_weights_by_hand: w_MIP = 0.75, w_MICHEL = 1.5, raised to 0.5.
    labels = torch.tensor([1, 1, 1, 1, 4, 4])
    event = torch.zeros(6, dtype=torch.long)
    w = class_weights(labels, event, 1, torch.float64, power=0.5)
    np.testing.assert_allclose(w.numpy(), [0.75**0.5] * 4 + [1.5**0.5] * 2, rtol=1e-15)
    np.testing.assert_array_equal(class_weights(labels, event, 1, power=0.0).numpy(), np.ones(6))
    with pytest.raises(ValueError, match="power must be >= 0, got -1"):
        class_weights(labels, event, 1, power=-1.0)


def test_weight_power_zero_is_the_unweighted_loss():
    torch.manual_seed(2)
    logits = torch.randn(9, 5, dtype=torch.float64)
    labels = torch.tensor([1, 1, 1, 1, 4, 4, 0, 2, 2])
    event = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1])
    plain = segmentation_loss(logits, labels, event, 2)
    zero = segmentation_loss(logits, labels, event, 2, weighted=True, weight_power=0.0)
    full = segmentation_loss(logits, labels, event, 2, weighted=True)
    half = segmentation_loss(logits, labels, event, 2, weighted=True, weight_power=0.5)
    assert float(zero) == float(plain)
    # The rare class's voxels gain weight: the softened loss lies between the two.
    assert min(float(plain), float(full)) < float(half) < max(float(plain), float(full))


def test_unweighted_loss_is_mean_of_event_means():
    torch.manual_seed(0)
    logits = torch.randn(7, 5, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 3, 4, 4, 1])
    event = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    ce = F.cross_entropy(logits, labels, reduction="none")
    expected = (ce[:3].mean() + ce[3:].mean()) / 2
    got = segmentation_loss(logits, labels, event, 2)
    assert float(got) == pytest.approx(float(expected), rel=1e-12)


def test_weighted_loss_by_hand():
    torch.manual_seed(1)
    logits = torch.randn(4, 5, dtype=torch.float64)
    labels = torch.tensor([1, 1, 1, 4])  # N = 4, K = 2: w_MIP = 4/6, w_MICHEL = 2
    event = torch.zeros(4, dtype=torch.long)
    ce = F.cross_entropy(logits, labels, reduction="none")
    expected = (ce[:3].sum() * 4 / 6 + ce[3] * 2) / 4
    got = segmentation_loss(logits, labels, event, 1, weighted=True)
    assert float(got) == pytest.approx(float(expected), rel=1e-12)


def test_empty_event_contributes_zero():
    logits = torch.zeros(2, 5, dtype=torch.float64)
    labels = torch.tensor([1, 2])
    event = torch.tensor([0, 0])
    # Two events in the batch, the second empty: the mean is over both.
    got = segmentation_loss(logits, labels, event, 2)
    assert float(got) == pytest.approx(np.log(5) / 2)


def test_focal_loss_by_hand():
    # Two voxels of one event: softmax probabilities of the true class p = 0.5 and 0.9 with
    # logits [log p, log(1-p)/4 × 4]; focal terms (1 - p)^2 · (−log p).
    p = torch.tensor([0.5, 0.9], dtype=torch.float64)
    rest = ((1 - p) / 4).log()
    logits = torch.stack([p.log(), *[rest] * 4], dim=1)
    labels = torch.zeros(2, dtype=torch.long)
    event = torch.zeros(2, dtype=torch.long)
    expected = ((1 - p) ** 2 * -p.log()).mean()
    got = segmentation_loss(logits, labels, event, 1, focal_gamma=2.0)
    assert float(got) == pytest.approx(float(expected), rel=1e-12)
    # γ = 0 is the cross-entropy itself; a voxel already certain contributes nothing.
    assert float(segmentation_loss(logits, labels, event, 1, focal_gamma=0.0)) == pytest.approx(
        float(-p.log().mean()), rel=1e-12
    )


def test_focal_loss_gradient_matches_autograd_of_the_formula():
    torch.manual_seed(2)
    logits = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 4, 1])
    event = torch.tensor([0, 0, 0, 1, 1, 1])
    segmentation_loss(logits, labels, event, 2, focal_gamma=1.5).backward()
    got = logits.grad.clone()
    logits.grad = None
    logp = F.log_softmax(logits, dim=1).gather(1, labels[:, None])[:, 0]
    terms = -((1 - logp.exp()) ** 1.5) * logp
    ((terms[:3].mean() + terms[3:].mean()) / 2).backward()
    np.testing.assert_allclose(got.numpy(), logits.grad.numpy(), rtol=1e-10)
