"""``python -m lartpc_seg import-pilarnet FILE.h5 --out DIR/``: PILArNet-M to event files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.io.pilarnet.importer import ImportOptions, import_pilarnet, verify_sha256
from lartpc_seg.io.pilarnet.layout import PilarnetFile
from lartpc_seg.io.pilarnet.semantics import LabelOptions
from lartpc_seg.io.pilarnet.voxelize import Grid


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``import-pilarnet``."""
    parser.add_argument("input", type=Path, metavar="FILE.h5", help="PILArNet-M HDF5 file")
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help="event file (*.root) or directory receiving 0.root, 1.root, ... (see --shard-events)",
    )
    parser.add_argument(
        "--shard-events", type=int, default=1000, help="events per file in directory mode"
    )
    parser.add_argument("--first", type=int, default=0, help="first entry of the file to convert")
    parser.add_argument(
        "--events", type=int, default=None, help="entries to convert (default: to the end)"
    )
    parser.add_argument("--grid", type=int, default=768, help="voxels per side (default 768)")
    parser.add_argument("--voxel-mm", type=float, default=3.0, help="study voxel pitch, mm")
    parser.add_argument(
        "--unit-mm", type=float, default=3.0, help="length of one unit of the file's positions, mm"
    )
    parser.add_argument(
        "--origin",
        type=float,
        nargs=3,
        default=(0.0, 0.0, 0.0),
        metavar=("X", "Y", "Z"),
        help="position (file units) of the grid's corner",
    )
    parser.add_argument(
        "--low-energy",
        choices=["shower", "drop"],
        default="shower",
        help="low-energy scatters (type 4): shower (2019 labels) or drop their points",
    )
    parser.add_argument(
        "--tracks",
        choices=["pid", "MIP"],
        default="pid",
        help="tracks: HIP/MIP from the particle ID (needs cluster_extra files) or all MIP",
    )
    parser.add_argument(
        "--other-tracks",
        choices=["error", "MIP", "HIP"],
        default="error",
        help="class of a track whose particle ID is not proton, muon or pion",
    )
    parser.add_argument(
        "--labels",
        choices=["2019", "fragment"],
        default="2019",
        help="2019: rebuild the original labels through the group IDs; fragment: as stored",
    )
    parser.add_argument(
        "--voxel-label",
        choices=["priority", "dominant"],
        default="priority",
        help="class of a shared voxel: highest class (2019) or the most energetic cluster's",
    )
    parser.add_argument(
        "--energy-column",
        choices=["value", "deposit"],
        default="value",
        help="point column used as energy: value (3, as the reference loader) or deposit (4)",
    )
    parser.add_argument(
        "--energy-threshold",
        type=float,
        default=0.0,
        help="drop points with energy <= this, MeV (default 0)",
    )
    parser.add_argument("--chunk", type=int, default=64, help="entries read at a time")
    parser.add_argument(
        "--sha256", default=None, help="expected SHA-256 of the input, checked before reading"
    )
    parser.add_argument(
        "--verify-only",
        action="store_true",
        help="check the digest and the layout, write a JSON summary to --out, convert nothing",
    )


def run(args: argparse.Namespace) -> int:
    """Convert the file (or only verify it) and print a summary line."""
    if args.sha256 is not None:
        verify_sha256(args.input, args.sha256)
    if args.verify_only:
        with PilarnetFile(args.input) as h5:
            summary = {
                "file": str(args.input),
                "sha256": args.sha256,
                "events": h5.num_events,
                "cluster_extra": h5.has_extra,
            }
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(summary) + "\n")
        print(f"{args.input}: {summary['events']} events, layout checked")
        return 0
    options = ImportOptions(
        grid=Grid(
            size=args.grid, voxel_mm=args.voxel_mm, unit_mm=args.unit_mm, origin=tuple(args.origin)
        ),
        labels=LabelOptions(
            low_energy=args.low_energy,
            tracks=args.tracks,
            other_tracks=args.other_tracks,
            labels=args.labels,
        ),
        voxel_label=args.voxel_label,
        energy_column=args.energy_column,
        energy_threshold=args.energy_threshold,
        first=args.first,
        events=args.events,
        chunk=args.chunk,
    )
    files, counts = import_pilarnet(args.input, args.out, options, shard_events=args.shard_events)
    print(
        f"{args.out}: {counts.events} events in {len(files)} file(s), {counts.voxels} voxels from "
        f"{counts.points} points ({counts.below_threshold} at or below "
        f"{args.energy_threshold} MeV and {counts.low_energy_dropped} low-energy points dropped)"
    )
    return 0
