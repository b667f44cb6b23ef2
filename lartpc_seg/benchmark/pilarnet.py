"""``python -m lartpc_seg benchmark pilarnet``: the PILArNet-M import's peak memory and rate.

See :mod:`lartpc_seg.io.pilarnet.benchmark` for what is measured.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from lartpc_seg.benchmark import cpu_model
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.io.pilarnet.benchmark import measure, synthetic_file


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of the PILArNet-M import benchmark."""
    parser.add_argument("--events", type=int, nargs="+", default=[400, 1600])
    parser.add_argument("--points-per-event", type=int, default=10000)
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the figures")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and write its figures as JSON."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.events:
            path = synthetic_file(Path(tmp) / f"bench_{n}.h5", n, args.points_per_event)
            figures = measure(path, Path(tmp) / f"out_{n}")
            row = {
                "events": n,
                "file_mib": path.stat().st_size / 2**20,
                **figures,
                "events_per_s": n / figures["seconds"],
            }
            rows.append(row)
            print(
                f"{n} events, {row['file_mib']:.0f} MiB file: peak RSS "
                f"{row['peak_rss_mib']:.0f} MiB, {row['events_per_s']:.1f} events/s"
            )
    result = {"cpu": cpu_model(), "runs": rows}
    with atomic_path(args.out) as tmp_out:
        tmp_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0
