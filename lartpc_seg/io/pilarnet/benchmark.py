"""Streaming benchmark of ``import-pilarnet``: peak memory and rate against the file's size.

``python -m lartpc_seg benchmark pilarnet --events 400 1600 --out FILE.json`` writes synthetic
files in the published layout (``points_per_event`` points in clusters of every semantic type),
converts each in a child process and records the child's peak resident memory and its rate. A
conversion that streams has the same peak memory for a file four times larger.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

#: Share of the points in low-energy scatters, and the mix of the other clusters' semantic types
#: (shower, track, Michel, δ), roughly as the point counts PoLAr-MAE quotes for PILArNet-M's
#: training set (1.93e9 shower, 2.04e9 track, 3.4e7 Michel, 9.2e7 δ, 1.15e9 low-energy points).
LOW_ENERGY_FRACTION = 0.22
SEMANTIC_MIX = (0.45, 0.45, 0.04, 0.06)


def synthetic_file(path: Path, events: int, points_per_event: int, seed: int = 0) -> Path:
    """Write ``events`` random events in the published layout (with ``cluster_extra``).

    Each event has a low-energy cluster followed by clusters of 50-600 points (showers, tracks)
    and 10-60 points (Michel electrons, δ rays): random walks of unit steps in the 768³ volume.
    """
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        point = f.create_dataset("point", (events,), dtype=h5py.vlen_dtype(np.float32))
        cluster = f.create_dataset("cluster", (events,), dtype=h5py.vlen_dtype(np.int64))
        extra = f.create_dataset("cluster_extra", (events,), dtype=h5py.vlen_dtype(np.float32))
        for i in range(events):
            semantic = [4]
            sizes = [max(int(LOW_ENERGY_FRACTION * points_per_event), 1)]
            while sum(sizes) < points_per_event:
                semantic.append(int(rng.choice(4, p=SEMANTIC_MIX)))
                small = semantic[-1] in (2, 3)
                sizes.append(int(rng.integers(10, 60) if small else rng.integers(50, 600)))
            semantic = np.array(semantic)
            walks = []
            for size in sizes:
                start = rng.integers(100, 668, size=3)
                steps = rng.integers(-1, 2, size=(size, 3))
                walks.append(np.clip(start + np.cumsum(steps, axis=0), 0, 767))
            xyz = np.concatenate(walks).astype(np.float32)
            n = len(xyz)
            e = rng.uniform(0.01, 2.0, n).astype(np.float32)
            cols = [xyz, e[:, None], e[:, None], rng.uniform(0, 5, (n, 1)), 100 * e[:, None]]
            rows = np.concatenate([*cols, np.full((n, 1), 0.3)], axis=1).astype(np.float32)
            m = len(sizes)
            pid = np.where(semantic == 1, rng.choice([2, 3, 4], size=m), 1)
            pid[0] = -1
            frag = np.arange(-1, m - 1)
            cl = np.stack([sizes, frag, frag, np.zeros(m, int), semantic, pid], axis=1)
            ex = np.tile(np.array([105.7, 0.3, 0.0, 0.0, 0.0], np.float32), (m, 1))
            point[i] = rows.ravel()
            cluster[i] = cl.astype(np.int64).ravel()
            extra[i] = ex.ravel()
    return path


#: Run in the child: convert, then print the child's own peak resident memory (KiB on Linux).
_CHILD = (
    "import resource, sys\n"
    "from lartpc_seg.cli import main\n"
    "rc = main(['import-pilarnet', sys.argv[1], '--out', sys.argv[2]])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    "sys.exit(rc)\n"
)


def measure(path: Path, out_dir: Path) -> dict[str, float]:
    """Convert ``path`` in a fresh child process; its peak RSS (MiB) and wall time (s)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), f"{out_dir}/"],
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    seconds = time.perf_counter() - start
    peak_kib = int(proc.stdout.strip().splitlines()[-1])
    return {"peak_rss_mib": peak_kib / 1024.0, "seconds": seconds}
