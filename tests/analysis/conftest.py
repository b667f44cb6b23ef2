"""Fixtures of the analysis tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from lartpc_seg.io.events import Event, ParticleTable
from lartpc_seg.labels import Label


def _line_event(number: int, label: Sequence[int], relabel: Sequence[int]) -> Event:
    """An event whose voxels lie on the x axis, one muon in its particle table."""
    n = len(label)
    particles = ParticleTable(
        pdg=np.array([13], np.int32),
        parent=np.array([-1], np.int32),
        process=np.array([0], np.int8),
        cls=np.array([Label.MIP], np.int8),
        ke=np.array([100.0], np.float32),
        start=np.zeros((1, 3), np.float32),
        end=np.ones((1, 3), np.float32),
        edep=np.array([1.0], np.float32),
    )
    return Event(
        event=number,
        coords=np.stack([np.arange(n), np.zeros(n), np.zeros(n)], axis=1).astype(np.int32),
        energy=np.full(n, 0.5, np.float32),
        label=np.asarray(label, np.int8),
        relabel=np.asarray(relabel, np.int8),
        part=np.zeros(n, np.int32),
        particles=particles,
    )


@pytest.fixture
def line_event() -> Callable[[int, Sequence[int], Sequence[int]], Event]:
    """Factory: ``line_event(number, label, relabel)`` builds an event with the given labels."""
    return _line_event


def _event_of_pieces(*pieces: tuple[np.ndarray, int, int]) -> tuple[np.ndarray, ...]:
    """Concatenate (coords, true label, predicted label) pieces into one event."""
    coords = np.concatenate([p[0] for p in pieces])
    truth = np.concatenate([np.full(len(p[0]), p[1], np.int8) for p in pieces])
    pred = np.concatenate([np.full(len(p[0]), p[2], np.int8) for p in pieces])
    assert len(np.unique(coords, axis=0)) == len(coords), "pieces overlap"
    return coords, pred, truth, np.ones(len(coords), np.float32)


@pytest.fixture
def event_of_pieces() -> Callable[..., tuple[np.ndarray, ...]]:
    """Factory: ``event_of_pieces(*(coords, true label, predicted label))`` returns the
    ``(coords, pred, truth, energy)`` of one event (energy 1 per voxel) for the Michel tests."""
    return _event_of_pieces
