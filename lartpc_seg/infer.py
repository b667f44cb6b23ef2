"""``python -m lartpc_seg infer``: predictions of a trained model on an event file.

Writes the ``predictions`` tree of event-format.md, aligned entry by entry and voxel by voxel with
the event file, and records the model checkpoint's path and digest, the event file's digest and the
number of cube symmetries the class probabilities were averaged over.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from lartpc_seg.cube import GROUP_SIZES, symmetry_group
from lartpc_seg.io.digest import file_sha256
from lartpc_seg.io.events import EventFile, FileMeta
from lartpc_seg.io.predictions import Prediction, write_predictions
from lartpc_seg.labels import NUM_CLASSES
from lartpc_seg.models import UResNetConfig, build_uresnet
from lartpc_seg.progress import Progress
from lartpc_seg.train.checkpoint import load_checkpoint
from lartpc_seg.train.loop import select_device
from lartpc_seg.version import code_version


def load_model(path: str | Path, device: torch.device) -> torch.nn.Module:
    """The trained U-ResNet of a ``model.pt`` (or a checkpoint), in eval mode on ``device``."""
    state = load_checkpoint(path, map_location=device)
    model = build_uresnet(UResNetConfig(**state["model_config"])).to(device)
    model.load_state_dict(state["model"])
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


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``infer``."""
    parser.add_argument("--model", required=True, help="model.pt written by train")
    parser.add_argument("--events", required=True, help="event file to segment")
    parser.add_argument("--out", required=True, help="predictions file to write")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--symmetries",
        type=int,
        choices=GROUP_SIZES,
        default=1,
        help="average the class probabilities over the identity (1, default), the 8 "
        "reflections or all 48 symmetries of the cube; costs that many forward passes",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: auto)")


def run(args: argparse.Namespace) -> int:
    """Segment every event and write the predictions file."""
    torch.set_num_threads(args.threads)
    device = select_device(args.device)
    model = load_model(args.model, device)
    start = time.perf_counter()
    with EventFile(args.events) as events:
        meta = FileMeta(
            grid=events.meta.grid,
            voxel_mm=events.meta.voxel_mm,
            source=f"lartpc_seg.infer {code_version()}",
            seed=events.meta.seed,
            config=events.meta.config,
            extra={
                "checkpoint": str(args.model),
                "checkpoint_sha256": file_sha256(args.model),
                "events_file": str(args.events),
                "events_sha256": file_sha256(args.events),
                "symmetries": str(args.symmetries),
            },
        )
        predictions = predict(model, events, device, args.batch_size, args.symmetries)
        progress = Progress("infer", len(events))
        n = write_predictions(args.out, progress.iterate(predictions), meta)
    elapsed = time.perf_counter() - start
    print(
        f"wrote {n} events to {args.out}: {n / max(elapsed, 1e-9):.1f} events/s on {device}"
        f" ({args.symmetries} orientation{'s' if args.symmetries > 1 else ''} per event)"
    )
    return 0
