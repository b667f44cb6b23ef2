"""``python -m lartpc_seg benchmark distributed``: training throughput with 1 and 2 CPU workers.

Each configuration is a real launch: one worker is ``python -m lartpc_seg benchmark distributed
--worker``, several are the same under ``python -m torch.distributed.run --standalone`` (gloo).
A worker trains a small U-ResNet for ``--warmup`` + ``--steps`` steps of ``--global-batch``
synthetic events, new events each step (kernel maps rebuilt), the events of a step being the same
whatever the number of workers; rank 0 times every step. Launches are interleaved
(1, 2, 1×2 threads, 1, 2, …) because the machine is shared and noisy.
Scaling efficiency = (events/s on 2 workers) / (2 × events/s on 1 worker of 1 thread).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from lartpc_seg.benchmark import cpu_model
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.labels import NUM_CLASSES
from lartpc_seg.models import UResNetConfig
from lartpc_seg.sparse.synthetic import random_coords
from lartpc_seg.train.data import Batch
from lartpc_seg.train.loop import Trainer
from lartpc_seg.train.setup import TrainOptions, TrainSetup

#: (workers, threads per worker) of each measured configuration.
CONFIGURATIONS = ((1, 1), (2, 1), (1, 2))


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of the distributed-training benchmark."""
    parser.add_argument("--steps", type=int, default=20, help="timed steps per launch")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=3, help="launches per configuration")
    parser.add_argument("--global-batch", type=int, default=4, help="events per step, all workers")
    parser.add_argument("--voxels", type=int, default=2000, help="voxels per event")
    parser.add_argument("--grid", type=int, default=128, help="voxels per side")
    parser.add_argument("--filters", type=int, default=8)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the figures as JSON")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)


def _batch(step: int, args: argparse.Namespace, rank: int, world: int) -> Batch:
    """This worker's share of the synthetic global batch of ``step``."""
    per_worker = args.global_batch // world
    slots = range(rank * per_worker, (rank + 1) * per_worker)
    coords, labels = [], []
    for b, slot in enumerate(slots):
        gen = torch.Generator().manual_seed(step * 100_003 + slot)
        c = random_coords([args.voxels], args.grid, gen)
        c[:, 0] = b
        coords.append(c)
        labels.append(torch.randint(0, NUM_CLASSES, (len(c),), generator=gen))
    coords_t = torch.cat(coords)
    energy = torch.rand(len(coords_t), 1, generator=torch.Generator().manual_seed(step))
    return Batch(coords_t, energy, torch.cat(labels), per_worker)


def _work(args: argparse.Namespace) -> int:
    """One worker of one launch: train and (rank 0) write the step times to ``--worker``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        torch.distributed.init_process_group("gloo")
    try:
        options = TrainOptions(batch_size=args.global_batch // world, lr=1e-3, augment=False)
        model = UResNetConfig(filters=args.filters, depth=args.depth, reps=args.reps)
        setup = TrainSetup([], [], "label", False, model, options, seed=0)
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(setup, tmp, torch.device("cpu"), rank=rank, world=world)
            times = []
            for step in range(args.warmup + args.steps):
                batch = _batch(step, args, rank, world)
                start = time.perf_counter()
                trainer.step(batch)
                times.append(time.perf_counter() - start)
        if rank == 0:
            Path(args.worker).write_text(json.dumps(times[args.warmup :]))
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()
    return 0


def _launch(args: argparse.Namespace, workers: int, threads: int) -> list[float]:
    """Step times (s) of rank 0 in one launch of ``workers`` processes of ``threads`` each."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "times.json"
        own = [
            "-m", "lartpc_seg", "benchmark", "distributed", "--worker", str(out),
            "--steps", str(args.steps), "--warmup", str(args.warmup),
            "--global-batch", str(args.global_batch), "--voxels", str(args.voxels),
            "--grid", str(args.grid), "--filters", str(args.filters),
            "--depth", str(args.depth), "--reps", str(args.reps),
        ]  # fmt: skip
        launcher = [sys.executable]
        if workers > 1:
            launcher += ["-m", "torch.distributed.run", "--standalone"]
            launcher += [f"--nproc-per-node={workers}"]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run([*launcher, *own], env=env, check=True, capture_output=True)
        return json.loads(out.read_text())


def measure(args: argparse.Namespace) -> dict[str, object]:
    """Interleaved launches of every configuration; events/s from the median step time."""
    step_times: dict[tuple[int, int], list[float]] = {c: [] for c in CONFIGURATIONS}
    for _ in range(args.repeats):
        for workers, threads in CONFIGURATIONS:
            step_times[(workers, threads)] += _launch(args, workers, threads)
    rows = []
    for (workers, threads), times in step_times.items():
        rows.append(
            {
                "workers": workers,
                "threads_per_worker": threads,
                "step_s_median": statistics.median(times),
                "step_s_min": min(times),
                "events_per_s": args.global_batch / statistics.median(times),
                "steps_timed": len(times),
            }
        )
    rate = {(r["workers"], r["threads_per_worker"]): r["events_per_s"] for r in rows}
    return {
        "benchmark": "distributed",
        "configurations": rows,
        "scaling_efficiency_2_workers": rate[(2, 1)] / (2 * rate[(1, 1)]),
        "speedup_2_workers_vs_1_worker_2_threads": rate[(2, 1)] / rate[(1, 2)],
        "global_batch": args.global_batch,
        "voxels_per_event": args.voxels,
        "grid": args.grid,
        "model": {"filters": args.filters, "depth": args.depth, "reps": args.reps},
        "backend": "gloo",
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch": str(torch.__version__),
    }


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the figures, write JSON if ``--out``."""
    if args.worker:
        return _work(args)
    if args.global_batch % 2:
        raise SystemExit("--global-batch must be even (it is split between 2 workers)")
    result = measure(args)
    for row in result["configurations"]:
        print(
            f"{row['workers']} worker(s) x {row['threads_per_worker']} thread(s): "
            f"{row['events_per_s']:.2f} events/s (median step {row['step_s_median']:.3f} s)"
        )
    print(f"scaling efficiency of 2 workers: {result['scaling_efficiency_2_workers']:.2f}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
    return 0
