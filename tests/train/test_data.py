"""Training data: batch ordering across workers, augmentation, the event store."""

import numpy as np
import pytest

from lartpc_seg.train.data import batch_indices, epoch_order


def test_global_batch_is_split_between_workers_without_overlap():
    for it in range(30):
        one = batch_indices(it, 50, 8, seed=3)
        parts = [batch_indices(it, 50, 8, seed=3, rank=r, world=4) for r in range(4)]
        np.testing.assert_array_equal(np.concatenate(parts), one)
        assert len(set(np.concatenate(parts))) == 8


def test_every_event_once_per_epoch_and_reshuffled():
    n, bs = 40, 8
    first = np.concatenate([batch_indices(i, n, bs, seed=1) for i in range(n // bs)])
    second = np.concatenate([batch_indices(i, n, bs, seed=1) for i in range(n // bs, 2 * n // bs)])
    assert sorted(first) == list(range(n))
    assert sorted(second) == list(range(n))
    assert not np.array_equal(first, second)


def test_batch_crossing_an_epoch_boundary():
    got = batch_indices(1, 12, 8, seed=0)  # positions 8..15: 4 of epoch 0, 4 of epoch 1
    np.testing.assert_array_equal(got[:4], epoch_order(12, 0, 0)[8:12])
    np.testing.assert_array_equal(got[4:], epoch_order(12, 1, 0)[:4])


def test_global_batch_must_divide_between_workers():
    with pytest.raises(ValueError, match="multiple"):
        batch_indices(0, 10, 5, seed=0, world=2)
