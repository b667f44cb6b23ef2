"""``python -m lartpc_seg simulate``: simulate events into an event file."""

from __future__ import annotations

import argparse
import json
import time
from types import SimpleNamespace

from lartpc_seg.cli import non_negative_int, positive_int
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import write_events
from lartpc_seg.progress import Progress
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.event import file_meta, remake_recipe, simulate_event
from lartpc_seg.simulation.stats import class_summary


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of the ``simulate`` command."""
    parser.add_argument("--events", type=positive_int, default=None, help="number of events")
    parser.add_argument("--seed", type=non_negative_int, default=None, help="random seed")
    parser.add_argument("--grid", type=int, default=None, help="voxels per side (overrides)")
    parser.add_argument("--out", required=True, help="output event file (.root)")
    parser.add_argument(
        "--first-event", type=non_negative_int, default=None, help="number of the first event"
    )
    parser.add_argument(
        "--params", default=None, help="JSON object of SimulationConfig fields (see its docs)"
    )
    parser.add_argument(
        "--like",
        default=None,
        metavar="FILE",
        help="remake the events of the simulated FILE from its own meta tree (configuration, "
        "seed, event numbers); excludes the other options but --out",
    )


def config_from_args(args: argparse.Namespace) -> SimulationConfig:
    """The SimulationConfig of ``--params`` with ``--grid`` applied; bad input → InputError."""
    try:
        params = json.loads("{}" if args.params is None else args.params)
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


def _plan(args: argparse.Namespace) -> tuple[SimulationConfig, int, list[int]]:
    """Configuration, seed and event numbers to simulate, from the options or from ``--like``."""
    options = {"--events": args.events, "--seed": args.seed, "--grid": args.grid}
    options.update({"--first-event": args.first_event, "--params": args.params})
    if args.like is not None:
        given = [name for name, value in options.items() if value is not None]
        if given:
            raise InputError(
                None,
                f"--like takes everything from the file; drop {', '.join(given)}",
                field="--like",
            )
        return remake_recipe(args.like)
    for name in ("--events", "--seed"):
        if options[name] is None:
            raise InputError(None, f"{name} is required (or --like FILE)", field=name)
    if args.events < 1:
        raise InputError(None, "--events must be at least 1", field="--events")
    first = 0 if args.first_event is None else args.first_event
    return config_from_args(args), args.seed, list(range(first, first + args.events))


def run(args: argparse.Namespace) -> int:
    """Simulate, write the file, print events/s, class fractions and the relabeled fraction."""
    config, seed, numbers = _plan(args)
    events = []

    def produce():
        progress = Progress("simulate", len(numbers))
        for event in progress.iterate(simulate_event(config, seed, k) for k in numbers):
            events.append(SimpleNamespace(label=event.label, relabel=event.relabel))
            yield event

    start = time.perf_counter()
    write_events(args.out, produce(), file_meta(config, seed))
    elapsed = time.perf_counter() - start
    summary = class_summary(events)
    print(
        f"wrote {len(numbers)} events to {args.out} in {elapsed:.1f} s "
        f"({len(numbers) / elapsed:.1f} events/s including writing)"
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
