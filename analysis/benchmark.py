"""``python -m lartpc_seg benchmark michel``: Michel reconstruction speed, events/s per core.

Builds synthetic events in this module (no dependence on the simulator): a few random-walk muon
tracks two voxels wide, each ending in a Michel blob, plus scattered noise voxels. The
prediction is the true label, so every stage of the procedure runs (candidates, track-end test,
matching). ``--events-file`` times the events of an event file instead (relabeled labels as the
prediction). Runs in one process, one thread, after a warm-up; reports min and median of
``--repeats`` timed passes over the same events. Events per second per core is computed from
the process's CPU time (the machines are shared: wall time under load is also reported, with
the load average).

Example
-------
    python -m lartpc_seg benchmark michel --events 200 --out results/benchmark/michel.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from analysis.michel import michel_event
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.io.events import EventFile
from lartpc_seg.labels import Label

#: Offsets that make a path two voxels wide in every direction (a 2×2×2 cube per point).
_WIDTH = np.stack(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij"), axis=-1).reshape(-1, 3)


def synthetic_event(
    rng: np.random.Generator,
    n_tracks: int = 4,
    track_length: int = 300,
    michel_voxels: int = 40,
    noise_voxels: int = 200,
    grid: int = 192,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic event: random-walk muon tracks ending in Michel blobs, plus noise.

    Parameters
    ----------
    rng : numpy Generator
    n_tracks : int
        Muon tracks, each ``track_length`` steps of about 0.5 voxel.
    michel_voxels : int
        Steps of the Michel random walk at each track end.
    noise_voxels : int
        Isolated voxels labelled shower, uniform in the cube.
    grid : int
        Voxels per side.

    Returns
    -------
    coords : (N, 3) int32
    labels : (N,) int8
    energy : (N,) float32, MeV
    """
    parts, labels = [], []
    for _ in range(n_tracks):
        start = rng.integers(grid // 4, 3 * grid // 4, size=3)
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        steps = np.cumsum(0.5 * direction + 0.15 * rng.normal(size=(track_length, 3)), axis=0)
        track = np.rint(start + steps).astype(np.int64)
        end = track[-1]
        walk = np.cumsum(0.6 * rng.normal(size=(michel_voxels, 3)), axis=0)
        michel = np.rint(end + walk).astype(np.int64)
        for points, label in ((track, Label.MIP), (michel, Label.MICHEL)):
            wide = (points[:, None, :] + _WIDTH[None]).reshape(-1, 3)
            parts.append(wide)
            labels.append(np.full(len(wide), label, np.int8))
    parts.append(rng.integers(0, grid, size=(noise_voxels, 3)))
    labels.append(np.full(noise_voxels, Label.SHOWER, np.int8))
    coords = np.clip(np.concatenate(parts), 0, grid - 1)
    label = np.concatenate(labels)
    # Unique voxels; a voxel claimed by several deposits keeps its first label.
    coords, first = np.unique(coords, axis=0, return_index=True)
    energy = rng.gamma(2.0, 0.3, size=len(coords)).astype(np.float32)
    return coords.astype(np.int32), label[first], energy


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
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(text + "\n")
    return 0
