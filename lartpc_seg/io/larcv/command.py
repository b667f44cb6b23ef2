"""``python -m lartpc_seg import-larcv IN.root... --out FILE.root``: LArCV2 to an event file."""

from __future__ import annotations

import argparse
from pathlib import Path

from lartpc_seg.io.larcv.importer import ImportOptions, import_larcv
from lartpc_seg.io.larcv.leaves import Producers


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``import-larcv``."""
    parser.add_argument("inputs", nargs="+", type=Path, metavar="IN.root", help="LArCV2 files")
    parser.add_argument("--out", required=True, type=Path, help="event file to write")
    parser.add_argument(
        "--grid", type=int, default=None, help="voxels per side (default: the tensors' xnum)"
    )
    parser.add_argument(
        "--labels",
        choices=["fivetypes", "pilarnet"],
        default="fivetypes",
        help="label scheme of the label tensor (default: fivetypes, the 2019 order)",
    )
    parser.add_argument("--energy-producer", default="data", help="sparse3d energy producer")
    parser.add_argument("--label-producer", default="fivetypes", help="sparse3d label producer")
    parser.add_argument("--particle-producer", default="mcst", help="particle producer")
    parser.add_argument("--cluster-producer", default="mcst", help="cluster3d producer")
    parser.add_argument(
        "--energy-unit",
        choices=["auto", "MeV", "GeV"],
        default="auto",
        help="unit of the particles' energy_init (auto: checked against the momenta)",
    )


def run(args: argparse.Namespace) -> int:
    """Convert the inputs and print the number of events written."""
    options = ImportOptions(
        grid=args.grid,
        labels=args.labels,
        producers=Producers(
            energy=args.energy_producer,
            labels=args.label_producer,
            particles=args.particle_producer,
            clusters=args.cluster_producer,
        ),
        energy_unit=args.energy_unit,
    )
    n = import_larcv(args.inputs, args.out, options)
    print(f"{args.out}: {n} events from {len(args.inputs)} LArCV2 file(s)")
    return 0
