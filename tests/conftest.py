"""Fixtures shared by the test suite: tiny hand-made event files that need no simulator."""

from __future__ import annotations

import types
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from lartpc_seg.io.events import Event, FileMeta, ParticleTable, write_events
from lartpc_seg.labels import Label, relabel
from lartpc_seg.models import UResNetConfig, build_uresnet
from lartpc_seg.train.checkpoint import save_checkpoint

#: The tiny network every training and inference case uses.
TINY_MODEL = {"filters": 4, "depth": 2, "reps": 1}


@pytest.fixture(autouse=True)
def _pin_threads():
    """Every test runs with the same torch thread count, so results are repeatable."""
    torch.set_num_threads(1)


def toy_event(rng: np.random.Generator, number: int, grid: int = 32) -> Event:
    """A track (MIP) two voxels wide with a blob (Michel) at its end and a detached shower blob.

    Cheap to make and easy to learn: the classes differ in shape and energy, which is all a
    test of the training machinery needs.
    """
    length = int(rng.integers(8, grid // 2))
    start = rng.integers(2, grid // 2 - 2, size=3)
    axis = int(rng.integers(0, 3))
    steps = np.zeros((length, 3), np.int64)
    steps[:, axis] = np.arange(length)
    track = np.concatenate(
        [start + steps, start + steps + np.eye(3, dtype=np.int64)[(axis + 1) % 3]]
    )
    end = start + steps[-1]
    blob = end + rng.integers(-2, 3, size=(12, 3))
    blob[:, axis] = end[axis] + rng.integers(1, 4, size=12)
    far = rng.integers(grid - 8, grid - 2, size=3) + rng.integers(-2, 3, size=(10, 3))
    coords = np.concatenate([track, blob, far])
    labels = np.concatenate(
        [
            np.full(len(track), Label.MIP),
            np.full(len(blob), Label.MICHEL),
            np.full(len(far), Label.MICHEL),
        ]
    )
    energy = np.concatenate(
        [
            rng.uniform(0.4, 0.8, len(track)),
            rng.uniform(1.0, 3.0, len(blob)),
            rng.uniform(0.1, 0.3, len(far)),
        ]
    )
    coords = np.clip(coords, 0, grid - 1)
    coords, first = np.unique(coords, axis=0, return_index=True)
    labels, energy = labels[first].astype(np.int8), energy[first].astype(np.float32)
    particles = ParticleTable(
        pdg=np.array([13, -11], np.int32),
        parent=np.array([-1, 0], np.int32),
        process=np.array([0, 1], np.int8),
        cls=np.array([Label.MIP, Label.MICHEL], np.int8),
        ke=np.array([60.0, 30.0], np.float32),
        start=np.array([start, end], np.float32),
        end=np.array([end, end + 3], np.float32),
        edep=np.array(
            [energy[labels == Label.MIP].sum(), energy[labels == Label.MICHEL].sum()], np.float32
        ),
    )
    return Event(
        event=number,
        coords=coords.astype(np.int32),
        energy=energy,
        label=labels,
        relabel=relabel(coords, labels),
        part=(labels == Label.MICHEL).astype(np.int32),
        particles=particles,
    )


@pytest.fixture
def toy_file(tmp_path: Path):
    """Factory: ``toy_file(name, n_events, seed)`` writes a toy event file and returns its path."""

    def make(name: str, n_events: int, seed: int = 0, grid: int = 32) -> Path:
        rng = np.random.default_rng(seed)
        path = tmp_path / name
        write_events(
            path,
            (toy_event(rng, i, grid) for i in range(n_events)),
            FileMeta(grid=grid, source="toy"),
        )
        return path

    return make


def tiny_model_file(path: Path) -> Path:
    """Write a ``model.pt`` of an untrained tiny U-ResNet, as ``train`` writes it."""
    torch.manual_seed(0)
    config = UResNetConfig.from_dict(TINY_MODEL)
    model = build_uresnet(config)
    save_checkpoint(
        path,
        {
            "kind": "model",
            "iteration": 0,
            "model": model.state_dict(),
            "fingerprint": "tests",
            "model_config": asdict(config),
        },
    )
    return path


@pytest.fixture(scope="session")
def tiny_models():
    """``config`` (the tiny network's options) and ``write(path)`` (its ``model.pt``)."""
    return types.SimpleNamespace(config=TINY_MODEL, write=tiny_model_file)


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    """A ``model.pt`` of an untrained tiny U-ResNet in ``tmp_path/model``."""
    return tiny_model_file(tmp_path / "model" / "model.pt")
