"""``python -m lartpc_seg simulate``: simulate events into an event file."""

from __future__ import annotations

import argparse
import json
import time
from types import SimpleNamespace

from lartpc_seg.errors import InputError
from lartpc_seg.io.events import write_events
from lartpc_seg.progress import Progress
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.event import file_meta, iterate_events
from lartpc_seg.simulation.stats import class_summary


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of the ``simulate`` command."""
    parser.add_argument("--events", type=int, required=True, help="number of events")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument("--grid", type=int, default=None, help="voxels per side (overrides)")
    parser.add_argument("--out", required=True, help="output event file (.root)")
    parser.add_argument("--first-event", type=int, default=0, help="number of the first event")
    parser.add_argument(
        "--params", default="{}", help="JSON object of SimulationConfig fields (see its docs)"
    )


def config_from_args(args: argparse.Namespace) -> SimulationConfig:
    """The SimulationConfig of ``--params`` with ``--grid`` applied; bad input → InputError."""
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as err:
        raise InputError(None, f"--params is not valid JSON ({err})", field="--params") from err
    if not isinstance(params, dict):
        raise InputError(None, "--params must be a JSON object", field="--params")
    if args.grid is not None:
        params["grid"] = args.grid
    try:
        return SimulationConfig.from_dict(params)
    except ValueError as err:
        raise InputError(None, str(err), field="--params") from err


def run(args: argparse.Namespace) -> int:
    """Simulate, write the file, print events/s, class fractions and the relabeled fraction."""
    if args.events < 1:
        raise InputError(None, "--events must be at least 1", field="--events")
    config = config_from_args(args)
    events = []

    def produce():
        progress = Progress("simulate", args.events)
        for event in progress.iterate(
            iterate_events(config, args.seed, args.events, args.first_event)
        ):
            events.append(SimpleNamespace(label=event.label, relabel=event.relabel))
            yield event

    start = time.perf_counter()
    write_events(args.out, produce(), file_meta(config, args.seed))
    elapsed = time.perf_counter() - start
    summary = class_summary(events)
    print(
        f"wrote {args.events} events to {args.out} in {elapsed:.1f} s "
        f"({args.events / elapsed:.1f} events/s including writing)"
    )
    print(f"voxels per event: {summary['voxels_per_event']:.0f}")
    print(
        "class fractions (original labels): "
        + ", ".join(
            f"{k.removeprefix('fraction_')} {100 * v:.2f} %"
            for k, v in summary.items()
            if k.startswith("fraction_")
        )
    )
    print(f"relabeled Michel fraction: {100 * summary['relabeled_michel_fraction']:.1f} %")
    return 0
