"""``python -m lartpc_seg benchmark clustering``: the project's DBSCAN against scikit-learn's.

Runs, on every event of an event file (or on simulated events), the DBSCAN calls of the Michel
analysis with the true labels as the prediction (Michel voxels with ``min_samples`` 5, twice;
MIP voxels with 10) and of the relabeling (δ-ray and Michel voxels with 1), once with
:func:`lartpc_seg.clustering.dbscan` and once with ``sklearn.cluster.DBSCAN``, interleaved in one
process on one thread; checks that the labels are equal and reports the CPU time of each and
their ratio. This is the measurement behind keeping the project's own DBSCAN.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import DBSCAN

from lartpc_seg.benchmark import cpu_model
from lartpc_seg.clustering import TOUCH_RADIUS_VOX, dbscan
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.io.events import EventFile
from lartpc_seg.labels import Label
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.event import simulate_event

#: (class, min_samples) of each DBSCAN call per event: the Michel analysis, then relabeling.
CALLS = (
    (Label.MICHEL, 5),
    (Label.MICHEL, 5),
    (Label.MIP, 10),
    (Label.DELTA, 1),
    (Label.MICHEL, 1),
)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of the clustering benchmark."""
    parser.add_argument("--events-file", type=Path, help="events to cluster (default: simulate)")
    parser.add_argument("--events", type=int, default=100, help="events (at most)")
    parser.add_argument("--grid", type=int, default=256, help="voxels per side when simulating")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes of each")
    parser.add_argument("--seed", type=int, default=12345, help="seed when simulating")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")


def _point_sets(args: argparse.Namespace) -> tuple[list[tuple[np.ndarray, int]], str]:
    if args.events_file is not None:
        with EventFile(args.events_file) as f:
            events = f.read(0, args.events)
        source = str(args.events_file)
    else:
        config = SimulationConfig(grid=args.grid)
        events = [simulate_event(config, args.seed, k) for k in range(args.events)]
        source = f"simulated, grid {args.grid}, seed {args.seed}"
    sets = [
        (e.coords[e.relabel == cls].astype(np.float64), min_samples)
        for e in events
        for cls, min_samples in CALLS
    ]
    return sets, source


def _sklearn(points: np.ndarray, min_samples: int) -> np.ndarray:
    if len(points) == 0:
        return np.zeros(0, np.int64)
    return DBSCAN(eps=TOUCH_RADIUS_VOX, min_samples=min_samples).fit(points).labels_


def _project(points: np.ndarray, min_samples: int) -> np.ndarray:
    return dbscan(points, TOUCH_RADIUS_VOX, min_samples)


def run(args: argparse.Namespace) -> int:
    """Time both, print the ratio, write JSON if ``--out``; 1 if the labels ever differ."""
    sets, source = _point_sets(args)
    for points, min_samples in sets:
        if not np.array_equal(_project(points, min_samples), _sklearn(points, min_samples)):
            print(f"labels differ on {len(points)} points, min_samples {min_samples}")
            return 1
    seconds: dict[str, list[float]] = {"project": [], "sklearn": []}
    for _ in range(args.repeats):
        for name, fn in (("project", _project), ("sklearn", _sklearn)):
            start = time.process_time()
            for points, min_samples in sets:
                fn(points, min_samples)
            seconds[name].append(time.process_time() - start)
    n_events = len(sets) // len(CALLS)
    project, sklearn = (statistics.median(seconds[k]) for k in ("project", "sklearn"))
    result = {
        "benchmark": "clustering",
        "source": source,
        "events": n_events,
        "points_per_event": sum(len(p) for p, _ in sets) / max(n_events, 1),
        "calls_per_event": [[cls.name, m] for cls, m in CALLS],
        "repeats": args.repeats,
        "labels_equal": True,
        "cpu_ms_per_event_project": 1000 * project / max(n_events, 1),
        "cpu_ms_per_event_sklearn": 1000 * sklearn / max(n_events, 1),
        "sklearn_over_project": sklearn / project if project else float("nan"),
        "cpu": cpu_model(),
        "threads": 1,
    }
    print(
        f"clustering on {n_events} events ({source}): project "
        f"{result['cpu_ms_per_event_project']:.2f} ms/event, sklearn "
        f"{result['cpu_ms_per_event_sklearn']:.2f} ms/event (CPU time, median of "
        f"{args.repeats}); sklearn/project {result['sklearn_over_project']:.2f}; labels equal"
    )
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
    return 0
