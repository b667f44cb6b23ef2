"""``python -m analysis michel-benchmark``: Michel reconstruction speed, events/s per core.

Times :func:`~analysis.michel.reconstruct.michel_event` on the synthetic events of
:mod:`analysis.michel.benchmark` (random-walk muon tracks ending in Michel blobs, plus noise). The
prediction is the true label, so every stage of the procedure runs (candidates, track-end test,
matching). ``--events-file`` times the events of an event file instead (relabeled labels as the
prediction). Runs in one process, one thread, after a warm-up; reports min and median of
``--repeats`` timed passes over the same events. Events per second per core is computed from
the process's CPU time (the machines are shared: wall time under load is also reported, with
the load average).

Example
-------
    python -m analysis michel-benchmark --events 200 --out results/benchmark/michel.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from analysis.michel.benchmark import synthetic_event
from analysis.michel.reconstruct import michel_event
from lartpc_seg.benchmark import cpu_model
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.io.events import EventFile


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of the Michel benchmark."""
    parser.add_argument("--events", type=int, default=200, help="synthetic events per pass")
    parser.add_argument("--tracks", type=int, default=4, help="muon tracks per event")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument(
        "--events-file",
        type=Path,
        help="time on the first --events events of this event file (relabeled labels as the "
        "prediction) instead of synthetic ones",
    )


def run(args: argparse.Namespace) -> int:
    """Time the Michel procedure; print (and optionally write) events per second per core."""
    if args.events_file is not None:
        with EventFile(args.events_file) as events_file:
            events = [(e.coords, e.relabel, e.energy) for e in events_file.read(0, args.events)]
        source = str(args.events_file)
    else:
        rng = np.random.default_rng(args.seed)
        events = [synthetic_event(rng, n_tracks=args.tracks) for _ in range(args.events)]
        source = f"synthetic, {args.tracks} tracks per event, seed {args.seed}"
    for coords, labels, energy in events[:10]:
        michel_event(coords, labels, labels, energy)
    times, cpu_times = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for coords, labels, energy in events:
            michel_event(coords, labels, labels, energy)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    voxels = np.array([len(e[0]) for e in events])
    result = {
        "benchmark": "michel",
        "source": source,
        "events": len(events),
        "voxels_mean": float(voxels.mean()),
        "voxels_median": float(np.median(voxels)),
        "repeats": args.repeats,
        "seconds_min": float(np.min(times)),
        "seconds_median": float(np.median(times)),
        "cpu_seconds_median": float(np.median(cpu_times)),
        "events_per_second_wall": float(len(events) / np.median(times)),
        "events_per_second_per_core": float(len(events) / np.median(cpu_times)),
        "events_per_second_per_core_best": float(len(events) / np.min(cpu_times)),
        "load_average_1min": os.getloadavg()[0],
        "processes": 1,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(text + "\n")
    return 0
