"""``python -m lartpc_seg infer``: predictions of a trained model on an event file.

Writes the ``predictions`` tree of docs/event-format.md, aligned entry by entry and voxel by voxel
with the event file, and records the model checkpoint's path and digest, the event file's digest
and the number of cube symmetries the class probabilities were averaged over.
"""

from __future__ import annotations

import argparse
import time

import torch

from lartpc_seg.cli import positive_int
from lartpc_seg.cube import GROUP_SIZES
from lartpc_seg.device import select_device
from lartpc_seg.infer.predict import load_model, predict
from lartpc_seg.io.digest import file_sha256
from lartpc_seg.io.events import EventFile
from lartpc_seg.io.predictions import write_predictions
from lartpc_seg.io.root import FileMeta
from lartpc_seg.progress import Progress
from lartpc_seg.version import code_version


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``infer``."""
    parser.add_argument("--model", required=True, help="model.pt written by train")
    parser.add_argument("--events", required=True, help="event file to segment")
    parser.add_argument("--out", required=True, help="predictions file to write")
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument(
        "--symmetries",
        type=int,
        choices=GROUP_SIZES,
        default=1,
        help="average the class probabilities over the identity (1, default), the 8 "
        "reflections or all 48 symmetries of the cube; costs that many forward passes",
    )
    parser.add_argument("--threads", type=positive_int, default=1)
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
