"""``python -m lartpc_seg benchmark simulate``: simulated events per second on one core."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from lartpc_seg.benchmark import cpu_model
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.event import simulate_event
from lartpc_seg.simulation.stats import class_summary


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of the simulation benchmark."""
    parser.add_argument("--events", type=int, default=50, help="events per repetition")
    parser.add_argument("--grid", type=int, default=192, help="voxels per side")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--out", default=None, help="write the figures as JSON")


def measure(grid: int, n_events: int, repeats: int, seed: int) -> dict[str, object]:
    """Time ``repeats`` blocks of ``n_events`` events (same events each block) after a warm-up.

    Single thread: the simulator is numpy code with no threaded kernels on its hot path, and the
    process is pinned to one CPU during the measurement when the platform allows it.
    """
    pinned = hasattr(os, "sched_setaffinity")
    if pinned:
        cpus = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(cpus)})
    try:
        return _measure(grid, n_events, repeats, seed)
    finally:
        if pinned:
            os.sched_setaffinity(0, cpus)


def _measure(grid: int, n_events: int, repeats: int, seed: int) -> dict[str, object]:
    config = SimulationConfig(grid=grid)
    simulate_event(config, seed, 0)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        events = [simulate_event(config, seed, k) for k in range(n_events)]
        rates.append(n_events / (time.perf_counter() - start))
    summary = class_summary(events)
    return {
        "benchmark": "simulate",
        "grid": grid,
        "events_per_repeat": n_events,
        "repeats": repeats,
        "events_per_s_median": statistics.median(rates),
        "events_per_s_max": max(rates),
        "events_per_s_all": rates,
        "voxels_per_event": summary["voxels_per_event"],
        "cpu": cpu_model(),
        "threads": 1,
    }


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print events/s per core, write JSON if ``--out``."""
    result = measure(args.grid, args.events, args.repeats, args.seed)
    print(
        f"simulate grid {args.grid}: {result['events_per_s_median']:.1f} events/s per core "
        f"(median of {args.repeats}, best {result['events_per_s_max']:.1f}), "
        f"{result['voxels_per_event']:.0f} voxels/event"
    )
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
    return 0
