"""``python -m lartpc_seg benchmark michel``: Michel reconstruction speed, events/s per core.

Builds synthetic events in this module (no dependence on the simulator): a few random-walk muon
tracks two voxels wide, each ending in a Michel blob, plus scattered noise voxels. The
prediction is the true label, so every stage of the procedure runs (candidates, track-end test,
matching). Runs in one process, one thread, after a warm-up; reports min and median of
``--repeats`` timed passes over the same events.
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
from lartpc_seg.labels import Label

#: Transverse offsets that make a track two voxels wide.
_WIDTH = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])


def synthetic_event(
    rng: np.random.Generator,
    n_tracks: int = 4,
    track_length: int = 200,
    michel_voxels: int = 40,
    noise_voxels: int = 200,
    grid: int = 192,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic event: random-walk muon tracks ending in Michel blobs, plus noise.

    Parameters
    ----------
    rng : numpy Generator
    n_tracks : int
        Muon tracks, each ``track_length`` steps long (about 4 voxels per step).
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
        steps = np.cumsum(direction + 0.3 * rng.normal(size=(track_length, 3)), axis=0)
        track = np.rint(start + steps).astype(np.int64)
        end = track[-1]
        walk = np.cumsum(rng.normal(size=(michel_voxels, 3)), axis=0)
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


def run(args: argparse.Namespace) -> int:
    """Time the Michel procedure; print (and optionally write) events per second per core."""
    rng = np.random.default_rng(args.seed)
    events = [synthetic_event(rng, n_tracks=args.tracks) for _ in range(args.events)]
    for coords, labels, energy in events[:10]:
        michel_event(coords, labels, labels, energy)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for coords, labels, energy in events:
            michel_event(coords, labels, labels, energy)
        times.append(time.perf_counter() - t0)
    voxels = np.array([len(e[0]) for e in events])
    result = {
        "benchmark": "michel",
        "events": args.events,
        "voxels_mean": float(voxels.mean()),
        "voxels_median": float(np.median(voxels)),
        "repeats": args.repeats,
        "seconds_min": float(np.min(times)),
        "seconds_median": float(np.median(times)),
        "events_per_second_per_core": float(args.events / np.median(times)),
        "events_per_second_per_core_best": float(args.events / np.min(times)),
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
