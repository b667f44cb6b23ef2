"""Predictions of a trained model on the events of an event file, batch by batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from lartpc_seg.cube import symmetry_group
from lartpc_seg.io.events import EventFile
from lartpc_seg.io.predictions import Prediction
from lartpc_seg.labels import NUM_CLASSES
from lartpc_seg.models import build_uresnet
from lartpc_seg.train.checkpoint import load_checkpoint, load_weights, model_config_of


def load_model(path: str | Path, device: torch.device) -> torch.nn.Module:
    """The trained U-ResNet of a ``model.pt`` (or a checkpoint), in eval mode on ``device``."""
    state = load_checkpoint(path, map_location=device)
    model = build_uresnet(model_config_of(path, state)).to(device)
    load_weights(path, model, state)
    return model.eval()


@torch.no_grad()
def predict(
    model: torch.nn.Module,
    events: EventFile,
    device: torch.device,
    batch_size: int,
    symmetries: int = 1,
) -> Iterator[Prediction]:
    """Yield the prediction of every event of ``events``, batch by batch, in file order.

    Parameters
    ----------
    model : torch.nn.Module
        A U-ResNet taking ``(coords, features)`` and returning one row of class scores per voxel,
        in the order of the input rows.
    events : EventFile
    device : torch.device
    batch_size : int
        Events per forward pass.
    symmetries : int
        1 for one pass per batch; 8 or 48 to average the class probabilities over that group of
        cube symmetries (:func:`lartpc_seg.cube.symmetry_group`), each applied to every event
        of the batch. A network trained with ``augment`` has seen every orientation; averaging
        over them smooths its orientation-dependent errors at ``symmetries`` times the cost.

    Yields
    ------
    Prediction
        The class of highest (averaged) probability and the probabilities of every voxel.
    """
    group = symmetry_group(symmetries)
    grid = events.meta.grid
    for start in range(0, len(events), batch_size):
        block = events.read(start, start + batch_size)
        counts = np.array([len(e) for e in block])
        coords = np.concatenate(
            [np.zeros((0, 4), np.int64)]
            + [
                np.concatenate([np.full((len(e), 1), b, np.int64), e.coords], axis=1)
                for b, e in enumerate(block)
            ]
        )
        energy = np.concatenate([np.zeros(0, np.float32)] + [e.energy for e in block])
        features = torch.from_numpy(energy[:, None].astype(np.float32)).to(device)
        scores = np.zeros((len(coords), NUM_CLASSES), np.float32)
        if len(coords):
            oriented = coords.copy()
            for symmetry in group:
                # every event of the batch shares the grid: one symmetry maps them all at once
                oriented[:, 1:] = symmetry.apply(coords[:, 1:], grid)
                logits = model(torch.from_numpy(oriented).to(device), features)
                scores += torch.softmax(logits.float(), dim=1).cpu().numpy()
            scores /= len(group)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        for i, event in enumerate(block):
            s = scores[offsets[i] : offsets[i + 1]]
            yield Prediction(event=event.event, pred=s.argmax(axis=1).astype(np.int8), scores=s)
