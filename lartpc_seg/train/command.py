"""``python -m lartpc_seg train``: train one U-ResNet variant, resuming from its checkpoint.

Runs unchanged under ``torchrun --nproc-per-node N`` (and multi-node torchrun rendezvous): the
world size and ranks come from the environment that torchrun sets; the process group uses NCCL on
GPUs and gloo on CPUs; only rank 0 writes logs and checkpoints (docs/distributed.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

import torch

from lartpc_seg.cli import non_negative_int, positive_float, positive_int
from lartpc_seg.device import select_device
from lartpc_seg.errors import InputError
from lartpc_seg.models import UResNetConfig
from lartpc_seg.train.data import EventStore
from lartpc_seg.train.interrupts import TrainingInterrupted, WorkerLost
from lartpc_seg.train.loop import Trainer
from lartpc_seg.train.setup import TrainOptions, TrainSetup, digest_files


def _json_object(text: str, what: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(None, f"--{what} is not valid JSON ({err})", field=what) from err
    if not isinstance(value, dict):
        raise InputError(None, f"--{what} must be a JSON object", field=what)
    return value


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``train``."""
    parser.add_argument("--train", nargs="+", required=True, help="training event files")
    parser.add_argument("--val", nargs="+", required=True, help="validation event files")
    parser.add_argument(
        "--labels",
        choices=["label", "relabel"],
        required=True,
        help="target: original (vox_label) or relabeled (vox_relabel) classes",
    )
    parser.add_argument(
        "--class-weights",
        action="store_true",
        help="per-event class weights w_c = N / (K N_c) (docs/study.md §4)",
    )
    parser.add_argument(
        "--class-weight-power",
        type=positive_float,
        default=1.0,
        metavar="P",
        help="with --class-weights, weights (N / (K N_c))^P: 1 the paper's, below 1 softer",
    )
    parser.add_argument("--model", default="{}", help="JSON object: the config's model section")
    parser.add_argument(
        "--options", default="{}", help="JSON object: the config's train section without variants"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads per worker")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: auto)")
    parser.add_argument(
        "--workdir", required=True, help="gets model.pt, log.csv and checkpoints/ (resumed from)"
    )


def _weighting(args: argparse.Namespace) -> str:
    """How the loss weights classes, for the training log's first line."""
    if not args.class_weights:
        return ""
    if args.class_weight_power == 1.0:
        return ", class-weighted"
    return f", class-weighted to the power {args.class_weight_power:g}"


def _distributed() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return rank, world, local


def run(args: argparse.Namespace) -> int:
    """Train, then write ``model.pt`` and ``log.csv`` into the work directory."""
    try:
        model_cfg = UResNetConfig.from_dict(_json_object(args.model, "model"))
        options = TrainOptions.from_dict(_json_object(args.options, "options"))
    except ValueError as err:
        raise InputError(None, str(err), field="model/options") from err
    if args.threads:
        # the checkpoint records the options: they must hold the thread count actually used
        options = dataclasses.replace(options, threads=args.threads)
    threads = options.threads
    torch.set_num_threads(threads)
    rank, world, local = _distributed()
    device = select_device(args.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if world > 1:
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        setup = TrainSetup(
            train_files=args.train,
            val_files=args.val,
            labels=args.labels,
            class_weights=args.class_weights,
            class_weight_power=args.class_weight_power,
            model=model_cfg,
            options=options,
            seed=args.seed,
            train_digests=digest_files(args.train),
        )
        trainer = Trainer(setup, args.workdir, device, rank=rank, world=world)
        trainer.resume()
        train = EventStore(args.train, args.labels)
        val = EventStore(args.val, args.labels, limit=options.val_events)
        if rank == 0:
            print(
                f"training on {len(train)} events ({args.labels}"
                f"{_weighting(args)}), validating on {len(val)}, "
                f"device {device}, {threads} threads x {world} workers, "
                f"global batch {trainer.global_batch}",
                flush=True,
            )
        start = time.perf_counter()
        try:
            trainer.fit(train, val)
        except TrainingInterrupted as stop:
            print(f"error: {stop}", flush=True)
            return 128 + stop.signum
        except WorkerLost:
            return 1  # the trainer said what happened
        path = trainer.finish()
        if rank == 0:
            print(f"wrote {path} after {time.perf_counter() - start:.1f} s", flush=True)
    finally:
        if world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return 0
