"""Inference: predictions aligned with their events, and averaging over cube symmetries."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lartpc_seg.cli import main as lartpc_main
from lartpc_seg.cube import symmetry_group
from lartpc_seg.infer.predict import load_model, predict
from lartpc_seg.io.events import EventFile
from lartpc_seg.io.predictions import PredictionFile

CPU = torch.device("cpu")


class EnergyOnly(torch.nn.Module):
    """Class scores from the voxel energy alone: blind to the orientation of the event."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(1, 5)

    def forward(self, coords: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)


class SeesX(torch.nn.Module):
    """Logits (x / 4, 0, 0, 0, 0): the score of class 0 grows with the voxel's x index."""

    def forward(self, coords: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(len(coords), 5)
        logits[:, 0] = coords[:, 1].float() / 4
        return logits


def _class0_probability(v: np.ndarray) -> np.ndarray:
    """Softmax of (v / 4, 0, 0, 0, 0), class 0."""
    e = np.exp(v / 4)
    return e / (e + 4)


def _all(model, path, batch_size, symmetries=1):
    with EventFile(path) as events:
        return list(predict(model, events, CPU, batch_size, symmetries))


@pytest.mark.parametrize("symmetries", [1, 8, 48])
def test_orientation_blind_model_gives_the_same_scores_every_way(toy_file, symmetries):
    path = toy_file("events.root", 5)
    model = EnergyOnly()
    reference = _all(model, path, batch_size=2)
    averaged = _all(model, path, batch_size=2, symmetries=symmetries)
    for one, many in zip(reference, averaged, strict=True):
        assert one.event == many.event
        np.testing.assert_allclose(many.scores, one.scores, rtol=1e-6)
        np.testing.assert_array_equal(many.pred, one.pred)


@pytest.mark.parametrize("symmetries", [8, 48])
def test_averaged_scores_by_hand(toy_file, symmetries):
    """Over the 8 reflections a voxel at x is seen at x and at 31 - x, each half of the time;
    over all 48 its x, y and z each become the new x, each in a third of them."""
    path = toy_file("events.root", 3)
    predictions = _all(SeesX(), path, batch_size=2, symmetries=symmetries)
    with EventFile(path) as events:
        block = events.read(0, len(events))
    for event, prediction in zip(block, predictions, strict=True):
        axes = [0] if symmetries == 8 else [0, 1, 2]
        expected = np.mean(
            [
                (_class0_probability(v) + _class0_probability(31 - v)) / 2
                for v in event.coords[:, axes].T
            ],
            axis=0,
        )
        np.testing.assert_allclose(prediction.scores[:, 0], expected, rtol=1e-5)
        np.testing.assert_allclose(prediction.scores.sum(axis=1), 1.0, rtol=1e-5)
        np.testing.assert_array_equal(prediction.pred, prediction.scores.argmax(axis=1))


def test_u_resnet_average_equals_the_mean_of_its_orientations(toy_file, tiny_model):
    """Events of different sizes batched together get, voxel by voxel, the mean of the
    probabilities the network gives each orientation of that event alone."""
    path = toy_file("events.root", 4)
    model = load_model(tiny_model, CPU)
    group = symmetry_group(8)
    averaged = _all(model, path, batch_size=3, symmetries=8)
    with EventFile(path) as events, torch.no_grad():
        block = events.read(0, len(events))
        assert len({len(e) for e in block}) > 1
        for event, prediction in zip(block, averaged, strict=True):
            energy = torch.from_numpy(event.energy[:, None].astype(np.float32))
            probabilities = []
            for symmetry in group:
                coords = symmetry.apply(event.coords, events.meta.grid)
                coords = np.concatenate([np.zeros((len(coords), 1), np.int64), coords], axis=1)
                logits = model(torch.from_numpy(coords), energy)
                probabilities.append(torch.softmax(logits, dim=1).numpy())
            np.testing.assert_allclose(prediction.scores, np.mean(probabilities, 0), atol=1e-5)
    single = _all(model, path, batch_size=3)
    # The network is not invariant: averaging changes its scores.
    assert not np.allclose(
        np.concatenate([p.scores for p in single]), np.concatenate([p.scores for p in averaged])
    )


def test_command_records_the_symmetries(toy_file, tiny_model, tmp_path, capsys):
    events = toy_file("events.root", 3)
    out = tmp_path / "predictions.root"
    argv = ["infer", "--model", str(tiny_model), "--events", str(events), "--out", str(out)]
    assert lartpc_main([*argv, "--symmetries", "8"]) == 0
    assert "(8 orientations per event)" in capsys.readouterr().out
    expected = _all(load_model(tiny_model, CPU), events, batch_size=8, symmetries=8)
    with EventFile(events) as event_file, PredictionFile(out, event_file) as predictions:
        assert predictions.meta.extra["symmetries"] == "8"
        written = predictions.read()
    for got, want in zip(written, expected, strict=True):
        np.testing.assert_allclose(got.scores, want.scores, rtol=1e-6)
        np.testing.assert_array_equal(got.pred, want.pred)


def test_command_refuses_another_group_size(toy_file, tiny_model, tmp_path, capsys):
    events = toy_file("events.root", 1)
    out = tmp_path / "predictions.root"
    argv = ["infer", "--model", str(tiny_model), "--events", str(events), "--out", str(out)]
    with pytest.raises(SystemExit) as stop:
        lartpc_main([*argv, "--symmetries", "4"])
    assert stop.value.code == 2
    assert "--symmetries: invalid choice: 4 (choose from 1, 8, 48)" in capsys.readouterr().err
    assert not out.exists()
