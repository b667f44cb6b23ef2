"""``python -m lartpc_seg benchmark engine``: built-in sparse engine vs MinkowskiEngine vs dense.

The built-in engine runs its compiled kernels (``builtin``, :mod:`lartpc_seg.sparse.compiled`)
and, as the reference, its pure-PyTorch path (``pure``). Measured in one process, interleaved
(A, B, C, A, B, C, … after one warm-up run of each), min and median over the runs
(docs/benchmarking.md); ratios are ratios of medians, and also the median [min, max] over the rounds
of each round's ratio (:func:`paired_ratio`), which the machine's drifting speed affects far
less:

- the study's training step (:func:`study_step`): the default study's U-ResNet (m 16, depth 5,
  reps 1) on batches of 8 and 32 events simulated with the default study's settings
  (``config.yaml``), new events every step so maps are rebuilt; forward, cross-entropy,
  backward, fused Adam step (the training loop's optimiser); at 1 and 2 threads; compiled vs
  MinkowskiEngine vs pure, and the peak memory of each in a fresh process;
- one 3×3×3 submanifold conv layer (16→16, 64→64) on a synthetic event of tens of thousands
  of voxels (:func:`lartpc_seg.sparse.synthetic.track_event`), forward + backward including
  the kernel map; useful GFLOP/s (2 · pairs · C_in · C_out per GEMM, three GEMMs) against
  ``torch.mm`` on the same number of rows in the same run;
- one U-ResNet training step (m 16, depth 5, reps 2 by default; new event each step) at
  several grid sizes: built-in vs pure vs ME vs the dense twin (dense only where its estimated
  memory fits), time and peak-RSS rise. Where the dense twin runs at grid ≥ 128 (tens of
  seconds per step on 2 cores) it takes part in the first 2 rounds only. The sparse engines'
  peak memory is measured again in a fresh process each (see :func:`train_step`), and the
  share of each sparse engine's step spent in its convolutions, kernel maps included, under
  :mod:`torch.profiler` (:func:`convolution_share`): what is left is the part of the step no
  convolution engine can speed up.

MinkowskiEngine runs with ``OPENBLAS_NUM_THREADS=1`` (set here unless already set; recorded).
Events of the grid section have ``VOXELS_PER_GRID`` voxels per unit of grid size (tracks are
1D, so the voxel count grows about linearly with the grid).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import itertools
import json
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from lartpc_seg.benchmark import cpu_model
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.models import DenseUResNet, UResNetConfig, build_uresnet, copy_weights
from lartpc_seg.native_stderr import drop_native_lines
from lartpc_seg.progress import Progress
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.event import simulate_event
from lartpc_seg.sparse import SparseTensor, compiled
from lartpc_seg.sparse.layers import KERNEL_MAP_SCOPE, SubmanifoldConv3d
from lartpc_seg.sparse.synthetic import track_event

#: voxels of a synthetic training event per unit of grid size
VOXELS_PER_GRID = 80
#: dense training-step memory per voxel of the grid per filter (bytes): the peak-RSS rise
#: measured at m = 16 was 684 MiB at grid 64 (171 B) and 4369 MiB at grid 128 (136 B); fixed
#: overheads weigh less as the grid grows, so 150 B overestimates grids of 128 and above
DENSE_BYTES_PER_VOXEL_PER_FILTER = 150
FULL = {
    "grids": [64, 128, 192],
    "sparse_grids": [512, 768],
    "runs": 5,
    "conv_voxels": 50_000,
    "study_threads": [1, 2],
    "study_events": [8, 32],
    "study_runs": 9,
}
QUICK = {
    "grids": [64],
    "sparse_grids": [128],
    "runs": 2,
    "conv_voxels": 20_000,
    "study_threads": [1],
    "study_events": [8],
    "study_runs": 3,
}
#: distinct batches per study cell, taken in turn, so every step builds new maps
STUDY_BATCHES = 4
#: the study's network (config.yaml's model section)
STUDY_MODEL = {"filters": 16, "depth": 5, "reps": 1}
#: profiled training steps per sparse engine and grid (:func:`convolution_share`)
PROFILED_STEPS = 4


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of the engine benchmark."""
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="fewer runs and grids (~3 min)")
    parser.add_argument("--plots", type=Path, default=None, help="PNG directory (default: --out's)")
    parser.add_argument("--grids", type=int, nargs="*", default=None, help="grids for all engines")
    parser.add_argument(
        "--sparse-grids", type=int, nargs="*", default=None, help="grids for sparse engines only"
    )
    parser.add_argument("--voxels", type=int, default=None, help="voxels of the conv-layer event")
    parser.add_argument("--runs", type=int, default=None, help="measured runs per engine")
    parser.add_argument(
        "--study-config",
        type=Path,
        default=Path("config.yaml"),
        help="the study whose simulation settings make the study-step events",
    )
    parser.add_argument(
        "--study-threads", type=int, nargs="*", default=None, help="threads of the study step"
    )
    parser.add_argument(
        "--study-events", type=int, nargs="*", default=None, help="events per study step"
    )
    parser.add_argument("--study-runs", type=int, default=None, help="rounds of the study step")
    parser.add_argument("--filters", type=int, default=16, help="U-ResNet m")
    parser.add_argument("--depth", type=int, default=5, help="U-ResNet depth")
    parser.add_argument(
        "--memory-limit-gb",
        type=float,
        default=None,
        help="skip the dense net above this estimated memory (default: 60%% of MemAvailable)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the table, write the JSON and the plots."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    settings = dict(QUICK if args.quick else FULL)
    for key, value in (
        ("grids", args.grids),
        ("sparse_grids", args.sparse_grids),
        ("runs", args.runs),
        ("conv_voxels", args.voxels),
        ("study_threads", args.study_threads),
        ("study_events", args.study_events),
        ("study_runs", args.study_runs),
    ):
        if value is not None:
            settings[key] = value
    limit = args.memory_limit_gb * 1e9 if args.memory_limit_gb else 0.6 * _mem_available()
    results = benchmark(
        settings,
        UResNetConfig(filters=args.filters, depth=args.depth),
        limit,
        args.quick,
        args.study_config,
    )
    print(format_table(results))
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    plots = args.plots if args.plots is not None else args.out.parent
    draw_plots(results, plots)
    return 0


def benchmark(
    settings: dict[str, Any],
    config: UResNetConfig,
    dense_limit_bytes: float,
    quick: bool,
    study_config: Path,
) -> dict[str, Any]:
    """All measurements as a JSON-ready dict (see the module docstring)."""
    me, me_reason = _import_minkowski()
    threads = torch.get_num_threads()
    results: dict[str, Any] = {
        "meta": {
            "threads": threads,
            "cpu": cpu_model(),
            "torch": torch.__version__,
            "builtin_engine": builtin_engine(),
            "compiled_flags": " ".join(compiled.CFLAGS),
            "minkowski": getattr(me, "__version__", None),
            "minkowski_skipped": me_reason,
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "quick": quick,
            "runs": settings["runs"],
            "config": config.to_dict(),
            "voxels_per_grid": VOXELS_PER_GRID,
        },
        "study_step": {},
        "conv": {},
        "train_step": {},
    }
    study = UResNetConfig(**STUDY_MODEL)
    pool = study_events(study_config, STUDY_BATCHES * max(settings["study_events"]))
    results["meta"]["study"] = {"config": str(study_config), "model": study.to_dict()}
    grids = sorted(set(settings["grids"]) | set(settings["sparse_grids"]))
    study_cells = len(settings["study_threads"]) * len(settings["study_events"])
    # one line per measurement: each takes from seconds to minutes
    progress = Progress("benchmark", study_cells + 2 + len(grids), "measurements", interval=0)
    for n_threads in settings["study_threads"]:
        torch.set_num_threads(n_threads)
        for n_events in settings["study_events"]:
            results["study_step"][f"{n_threads}t_{n_events}ev"] = study_step(
                study, pool, n_events, n_threads, settings["study_runs"], me is not None
            )
            progress.update()
    torch.set_num_threads(threads)
    for channels in (16, 64):
        results["conv"][str(channels)] = conv_layer(
            channels, settings["conv_voxels"], settings["runs"], me is not None
        )
        progress.update()
    for grid in grids:
        results["train_step"][str(grid)] = train_step(
            config,
            grid,
            settings["runs"],
            me is not None,
            dense=grid in settings["grids"],
            dense_limit_bytes=dense_limit_bytes,
        )
        progress.update()
    progress.close()
    return results


def builtin_engine() -> str:
    """The path the built-in engine takes on CPU here: ``"compiled"`` when its kernels build
    (as in training), else ``"torch"``."""
    return "compiled" if compiled.available() else "torch"


def _in_engine(fn: Callable[[], None], name: str) -> Callable[[], None]:
    """``fn`` run with the built-in engine's path ``name`` forced."""

    def run() -> None:
        with compiled.use_engine(name):
            fn()

    return run


Sample = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def study_events(config_path: Path, n: int) -> list[Sample]:
    """``n`` events simulated with the study's settings: ``(coords (N, 3), energy (N, 1),
    label (N,))`` each.

    Raises
    ------
    ValueError
        When the study configuration has no ``dataset`` section with ``grid``.
    """
    study = yaml.safe_load(Path(config_path).read_text())
    dataset = study.get("dataset") if isinstance(study, dict) else None
    if not isinstance(dataset, dict) or "grid" not in dataset:
        raise ValueError(f"{config_path}: no dataset.grid to simulate the study's events with")
    sim = SimulationConfig.from_dict({"grid": dataset["grid"], **dataset.get("simulation", {})})
    seed = int(study.get("seed", 0))
    events = []
    for k in range(n):
        event = simulate_event(sim, seed, k)
        events.append(
            (
                torch.from_numpy(np.asarray(event.coords, dtype=np.int64)),
                torch.from_numpy(np.asarray(event.energy, dtype=np.float32)).unsqueeze(1),
                torch.from_numpy(np.asarray(event.label, dtype=np.int64)),
            )
        )
    return events


def study_batches(pool: list[Sample], n_events: int) -> list[Sample]:
    """:data:`STUDY_BATCHES` batches of ``n_events`` distinct events of ``pool`` each, as the
    training assembles them (batch index in the first coordinate column)."""
    batches = []
    for b in range(STUDY_BATCHES):
        chosen = pool[b * n_events : (b + 1) * n_events]
        coords = torch.cat(
            [
                torch.cat([torch.full((len(c), 1), i, dtype=torch.int64), c], 1)
                for i, (c, _, _) in enumerate(chosen)
            ]
        )
        batches.append(
            (coords, torch.cat([e for _, e, _ in chosen]), torch.cat([lab for _, _, lab in chosen]))
        )
    return batches


def study_step(
    config: UResNetConfig,
    pool: list[Sample],
    n_events: int,
    threads: int,
    runs: int,
    with_me: bool,
) -> dict[str, Any]:
    """The study's training step, built-in (compiled) vs MinkowskiEngine vs pure, interleaved,
    at the current thread count; the peak-RSS rise of each in a fresh process."""
    batches = study_batches(pool, n_events)
    fns, _ = _sparse_steps(config, batches, with_me)
    out: dict[str, Any] = {
        "threads": threads,
        "events": n_events,
        "voxels": int(sum(len(c) for c, _, _ in batches) / len(batches)),
    }
    out.update(interleaved(fns, runs))
    for name in fns:
        out[name]["peak_mib_shared"] = out[name]["peak_mib"]
        out[name]["peak_mib"] = _peak_in_fresh_process(config, batches, name, min(runs, 3))
    _add_ratios(out, fns)
    out["runs"] = runs
    return out


def _add_ratios(out: dict[str, Any], fns: dict[str, Any]) -> None:
    """Ratios of medians and paired ratios of MinkowskiEngine and pure against built-in."""
    for name in ("minkowski", "pure"):
        if name in fns:
            out[f"{name}_over_builtin"] = paired_ratio(out[name], out["builtin"])
            out[f"{name}_over_builtin"]["of_medians"] = (
                out[name]["median_s"] / out["builtin"]["median_s"]
            )
    if "minkowski" not in fns:
        out["minkowski"] = {"skipped": "MinkowskiEngine not importable"}


def _import_minkowski():
    try:
        from lartpc_seg.sparse import minkowski  # aliases collections.* before importing ME

        return minkowski.ME, None
    except ImportError as err:
        return None, f"MinkowskiEngine not importable: {err}"


def _mem_available() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return float(line.split()[1]) * 1024
    return 8e9


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _release_free_heap() -> None:
    """Return freed heap pages to the OS (glibc ``malloc_trim``), so RSS is memory in use."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _measure(fn: Callable[[], None]) -> tuple[float, float]:
    """(seconds, peak-RSS rise in MiB) of one call.

    Freed heap is handed back to the OS first (otherwise a block reusing memory freed by the
    previous run shows no rise), then VmHWM is reset via ``/proc/self/clear_refs`` and the rise
    is measured above the RSS at that moment.
    """
    _release_free_heap()
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    return seconds, max(0, _status_kib("VmHWM") - before) / 1024


def interleaved(
    fns: dict[str, Callable[[], None]], runs: int, capped: dict[str, int] | None = None
) -> dict[str, dict[str, Any]]:
    """Warm up each function once, then run them A, B, A, B, … ``runs`` times.

    Parameters
    ----------
    fns : dict
        The functions to time, by name.
    runs : int
        Measured rounds.
    capped : dict, optional
        Names that take part in the first ``capped[name]`` rounds only (the dense twin, whose
        step takes tens of seconds).

    Returns
    -------
    dict
        Per name: ``min_s``, ``median_s``, ``peak_mib`` (max rise over the runs) and ``runs_s``
        (every run's seconds, round by round).
    """
    capped = capped or {}
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    peaks: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(runs):
        for name, fn in fns.items():
            if round_ >= capped.get(name, runs):
                continue
            seconds, peak = _measure(fn)
            times[name].append(seconds)
            peaks[name].append(peak)
    return {
        name: {
            "min_s": min(times[name]),
            "median_s": statistics.median(times[name]),
            "peak_mib": max(peaks[name]),
            "runs_s": times[name],
        }
        for name in fns
    }


def paired_ratio(slow: dict[str, Any], fast: dict[str, Any]) -> dict[str, float] | None:
    """``slow / fast`` time, round by round, of two engines timed by :func:`interleaved`.

    The two runs of a round follow each other, so the ratio of a round is far less sensitive
    than the ratio of medians to the machine's speed drifting between rounds (on a shared
    virtual machine it drifts by tens of per cent within minutes).

    Returns
    -------
    dict or None
        ``median``, ``min``, ``max`` over the rounds (both engines run every round); None
        when either has no runs (skipped).
    """
    a, b = slow.get("runs_s"), fast.get("runs_s")
    if not a or not b:
        return None
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def conv_layer(channels: int, voxels: int, runs: int, with_me: bool) -> dict[str, Any]:
    """One submanifold conv, forward + backward with map building, vs ``torch.mm``."""
    g = torch.Generator().manual_seed(channels)
    coords, _ = track_event(voxels, 192, g)
    n = len(coords)
    feats = torch.randn(n, channels, generator=g)
    torch.manual_seed(0)
    builtin = SubmanifoldConv3d(channels, channels)
    from lartpc_seg.sparse.kernel_map import submanifold_map

    pairs = submanifold_map(coords).num_pairs()
    flop = 3 * 2 * pairs * channels * channels

    def run_builtin() -> None:
        x = feats.clone().requires_grad_(True)
        builtin(SparseTensor(x, coords)).features.sum().backward()

    a = torch.randn(pairs, channels, generator=g)
    w = torch.randn(channels, channels, generator=g)

    def run_mm() -> None:
        for _ in range(3):
            torch.mm(a, w)

    fns: dict[str, Callable[[], None]] = {
        "builtin": _in_engine(run_builtin, builtin_engine()),
        "pure": _in_engine(run_builtin, "torch"),
        "torch_mm": run_mm,
    }
    if with_me:
        from lartpc_seg.sparse import minkowski

        me_conv = minkowski.MinkowskiSubmanifold(channels, channels)
        copy_weights_layer(builtin, me_conv)
        me_coords = coords.to(torch.int32)

        def run_me() -> None:
            x = feats.clone().requires_grad_(True)
            st = minkowski.ME.SparseTensor(x, coordinates=me_coords)
            me_conv(st).F.sum().backward()

        fns["minkowski"] = run_me
    timing = interleaved(fns, runs)
    out: dict[str, Any] = {"voxels": n, "pairs": pairs, "useful_gflop": flop / 1e9}
    for name, t in timing.items():
        t["gflops"] = flop / 1e9 / t["median_s"]
        out[name] = t
    out["builtin_fraction_of_mm"] = out["builtin"]["gflops"] / out["torch_mm"]["gflops"]
    out["pure_fraction_of_mm"] = out["pure"]["gflops"] / out["torch_mm"]["gflops"]
    _add_ratios(out, fns)
    return out


def copy_weights_layer(source: torch.nn.Module, target: torch.nn.Module) -> None:
    """Copy one layer's canonical state into its twin."""
    target.import_state(source.export_state())


def _dense_estimate(config: UResNetConfig, grid: int) -> float:
    return DENSE_BYTES_PER_VOXEL_PER_FILTER * config.filters * grid**3


def _training_events(config: UResNetConfig, grid: int) -> list[tuple[torch.Tensor, ...]]:
    """Four synthetic events of ``grid`` with random labels, the same in every process."""
    voxels = VOXELS_PER_GRID * grid
    g = torch.Generator().manual_seed(grid)
    events = [track_event(voxels, grid, g) for _ in range(4)]
    labels = [torch.randint(0, config.num_classes, (len(c),), generator=g) for c, _ in events]
    return [(c, e, lab) for (c, e), lab in zip(events, labels, strict=True)]


def _sparse_steps(
    config: UResNetConfig, events: list[Sample], with_me: bool, only: str | None = None
) -> tuple[dict[str, Callable[[], None]], torch.nn.Module]:
    """One training-step closure per sparse engine (``only``: that one alone), each taking the
    next event (batch) in turn and stepping a fused Adam, as the training loop does
    (:mod:`lartpc_seg.train.loop`): ``builtin`` (the built-in engine as training runs it), ``pure``
    (its pure-PyTorch path) and ``minkowski``, all with the same initial weights.

    Returns the closures and the built-in network (the source of every twin's weights).
    """
    torch.manual_seed(0)
    nets = {"builtin": build_uresnet(config), "pure": build_uresnet(config)}
    copy_weights(nets["builtin"], nets["pure"])
    if with_me:
        nets["minkowski"] = build_uresnet(
            UResNetConfig(**{**config.to_dict(), "backend": "minkowski"})
        )
        copy_weights(nets["builtin"], nets["minkowski"])
    paths = {"builtin": builtin_engine(), "pure": "torch", "minkowski": "auto"}
    fns: dict[str, Callable[[], None]] = {}
    for name, net in nets.items():
        if only is not None and name != only:
            continue
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
        in_turn = itertools.cycle(events)

        def step(net=net, opt=opt, in_turn=in_turn) -> None:
            coords, energy, label = next(in_turn)
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(coords, energy), label)
            loss.backward()
            opt.step()

        fns[name] = _in_engine(step, paths[name])
    return fns, nets["builtin"]


def _is_convolution(name: str) -> bool:
    """Whether a profiler event is a convolution (forward or backward) or a kernel-map build."""
    if name.startswith("autograd::engine"):  # wraps the backward nodes counted below
        return False
    return (
        name == KERNEL_MAP_SCOPE
        or name.startswith(("SparseConvFunction", "CompiledConvFunction"))
        or (name.startswith("Minkowski") and "Function" in name)
    )


def convolution_share(fn: Callable[[], None], steps: int = PROFILED_STEPS) -> float:
    """Fraction of ``steps`` calls of ``fn`` spent in sparse convolutions and kernel maps.

    The calls run under :mod:`torch.profiler`; a convolution's time is the total (children
    included) of the built-in engine's autograd function and its backward node, of
    MinkowskiEngine's ``Minkowski*Function`` ones (the compiled kernels' ``CompiledConvFunction``
    likewise), and of the built-in kernel-map builds
    (:data:`~lartpc_seg.sparse.layers.KERNEL_MAP_SCOPE`; MinkowskiEngine builds its maps inside
    its functions). These do not nest in one another. The profiler slows every operation by
    a similar amount, so the share, not the profiled time, is what carries over.

    Returns
    -------
    float
        In [0, 1].
    """
    with (
        drop_native_lines(),
        torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof,
    ):
        for _ in range(steps):
            fn()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    inside = sum(e.cpu_time_total for e in events if _is_convolution(e.key))
    return min(1.0, inside / total) if total > 0 else 0.0


def fresh_process_peak(
    config: dict[str, Any], events: list[Sample], engine: str, runs: int, threads: int
) -> float:
    """Peak-RSS rise (MiB, max over ``runs`` after a warm-up) of one sparse engine's training
    step on ``events`` in turn, measured in the calling process: :func:`train_step` and
    :func:`study_step` run it in a fresh one."""
    torch.set_num_threads(threads)
    fns, _ = _sparse_steps(UResNetConfig(**config), events, engine == "minkowski", only=engine)
    fn = fns[engine]
    fn()
    return max(_measure(fn)[1] for _ in range(runs))


def _peak_in_fresh_process(
    config: UResNetConfig, events: list[Sample], engine: str, runs: int
) -> float:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        job = pool.submit(
            fresh_process_peak, config.to_dict(), events, engine, runs, torch.get_num_threads()
        )
        return job.result()


def train_step(
    config: UResNetConfig,
    grid: int,
    runs: int,
    with_me: bool,
    dense: bool,
    dense_limit_bytes: float,
) -> dict[str, Any]:
    """One training step per engine at ``grid``; a new event for every step.

    Times are interleaved in this process. A sparse engine's ``peak_mib`` is measured again in
    a fresh process of its own (``peak_mib_shared`` keeps this process's figure): the C heap
    remembers the other engines' buffers (the dense twin's gigabytes raise glibc's mmap
    threshold to its 32 MiB cap, so later buffers stay on the heap), which a training process,
    running one engine, never sees. The dense twin's gigabyte figure is insensitive to that and
    stays measured here.
    """
    events = _training_events(config, grid)
    fns, builtin = _sparse_steps(config, events, with_me)
    out: dict[str, Any] = {"voxels": int(sum(len(c) for c, _, _ in events) / len(events))}
    estimate = _dense_estimate(config, grid)
    if not dense:
        out["dense"] = {"skipped": "sparse-only grid"}
    elif estimate > dense_limit_bytes:
        out["dense"] = {
            "skipped": f"estimated {estimate / 1e9:.1f} GB > limit {dense_limit_bytes / 1e9:.1f} GB"
        }
    else:
        dense_net = DenseUResNet(config)
        copy_weights(builtin, dense_net)
        dense_opt = torch.optim.Adam(dense_net.parameters(), lr=1e-3, fused=True)
        in_turn = itertools.cycle(events)

        def dense_step() -> None:
            coords, energy, label = next(in_turn)
            volume = torch.zeros(1, 1, grid, grid, grid)
            target = torch.zeros(1, grid, grid, grid, dtype=torch.int64)
            volume[0, 0, coords[:, 1], coords[:, 2], coords[:, 3]] = energy[:, 0]
            target[0, coords[:, 1], coords[:, 2], coords[:, 3]] = label
            dense_opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(dense_net(volume), target)
            loss.backward()
            dense_opt.step()

        fns["dense"] = dense_step
        out["dense_estimate_gb"] = estimate / 1e9
    dense_runs = max(1, min(runs, 2)) if "dense" in fns and grid >= 128 else runs
    out.update(interleaved(fns, runs, {"dense": dense_runs}))
    for name in ("builtin", "pure", "minkowski"):
        if name in out:
            out[name]["convolution_share"] = convolution_share(fns[name])
            out[name]["peak_mib_shared"] = out[name]["peak_mib"]
            out[name]["peak_mib"] = _peak_in_fresh_process(config, events, name, runs)
    _add_ratios(out, fns)
    out["runs"] = runs
    out["dense_runs"] = dense_runs if "dense" in fns else 0
    return out


ENGINES = ("builtin", "pure", "minkowski", "dense")
STUDY_ENGINES = ("builtin", "minkowski", "pure")


def convolution_budget(step: dict[str, Any]) -> dict[str, float] | None:
    """The built-in engine's convolution time against what a 2× lead on MinkowskiEngine allows.

    Parameters
    ----------
    step : dict
        One grid's entry of ``train_step`` (:func:`train_step`).

    Returns
    -------
    dict or None
        ``now_s``: median step time × convolution share of the built-in engine; ``rest_s``: the
        rest of its step (normalisation, activations, loss, optimiser); ``allowed_s``: half
        MinkowskiEngine's median step minus ``rest_s`` (negative when the rest alone exceeds
        it). None without both engines' shares.
    """
    builtin, me = step.get("builtin", {}), step.get("minkowski", {})
    if "convolution_share" not in builtin or "convolution_share" not in me:
        return None
    now = builtin["median_s"] * builtin["convolution_share"]
    rest = builtin["median_s"] - now
    return {"now_s": now, "rest_s": rest, "allowed_s": me["median_s"] / 2 - rest}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _ratio_cell(ratio: dict[str, float]) -> str:
    return f"{ratio['median']:.2f}× [{ratio['min']:.2f}, {ratio['max']:.2f}]"


def format_table(results: dict[str, Any]) -> str:
    """A readable plain-text table of the results."""
    meta = results["meta"]
    lines = [
        f"torch {meta['torch']}, {meta['threads']} threads, {meta['cpu']}, "
        f"MinkowskiEngine {meta['minkowski'] or 'absent'} "
        f"(OPENBLAS_NUM_THREADS={meta['openblas_num_threads']}); built-in engine: "
        f"{meta.get('builtin_engine', 'torch')}",
        "",
    ]
    if results.get("study_step"):
        lines += [
            "the study's training step (m 16, depth 5, reps 1; median ms / fresh-process "
            "peak-RSS rise MiB; ratios: of medians, then per round median [min, max]):"
        ]
        for r in results["study_step"].values():
            cells = [f"  {r['threads']} thread(s), {r['events']} events ({r['voxels']} voxels):"]
            for name in STUDY_ENGINES:
                e = r.get(name, {})
                cells.append(
                    f"{name} {e['median_s'] * 1e3:.0f} ms {e['peak_mib']:.0f} MiB"
                    if "median_s" in e
                    else f"{name} skipped"
                )
            for name in ("minkowski", "pure"):
                ratio = r.get(f"{name}_over_builtin")
                if ratio:
                    cells.append(
                        f"{name} / builtin {ratio['of_medians']:.2f}× ({_ratio_cell(ratio)})"
                    )
            lines.append(" | ".join(cells))
        lines.append("")
    lines.append("submanifold conv layer, forward+backward incl. map (median s, useful GFLOP/s):")
    for channels, r in results["conv"].items():
        cells = [f"  {channels:>3}->{channels:<3} {r['voxels']} voxels {r['pairs']} pairs:"]
        for name in ("builtin", "pure", "minkowski", "torch_mm"):
            e = r.get(name, {})
            if "median_s" in e:
                cells.append(f"{name} {e['median_s'] * 1e3:.1f} ms {e['gflops']:.1f} GF/s")
            else:
                cells.append(f"{name} skipped")
        cells.append(f"builtin = {100 * r['builtin_fraction_of_mm']:.0f}% of mm")
        if "pure_fraction_of_mm" in r:
            cells.append(f"pure = {100 * r['pure_fraction_of_mm']:.0f}% of mm")
        if r.get("minkowski_over_builtin"):
            cells.append(f"ME / builtin {_ratio_cell(r['minkowski_over_builtin'])}")
        lines.append(" | ".join(cells))
    lines += ["", "U-ResNet training step (median s / peak-RSS rise MiB):"]
    lines.append(
        f"  {'grid':>5} {'voxels':>7} "
        + " ".join(f"{e:>22}" for e in ENGINES)
        + "   ME / builtin per round"
    )
    for grid, r in results["train_step"].items():
        cells = []
        for name in ENGINES:
            e = r.get(name, {})
            cells.append(
                f"{e['median_s']:9.3f} s {e['peak_mib']:8.0f} MiB"
                if "median_s" in e
                else f"{'skipped':>22}"
            )
        if r.get("minkowski_over_builtin"):
            cells.append(f"  {_ratio_cell(r['minkowski_over_builtin'])}")
        lines.append(f"  {grid:>5} {r['voxels']:>7} " + " ".join(cells))
    lines += ["", "share of the sparse training step in convolutions incl. kernel maps:"]
    for grid, r in results["train_step"].items():
        cells = [
            f"{name} {100 * r[name]['convolution_share']:.0f} %"
            for name in ("builtin", "pure", "minkowski")
            if "convolution_share" in r.get(name, {})
        ]
        budget = convolution_budget(r)
        if budget is not None:
            cells.append(
                f"built-in convolutions {budget['now_s'] * 1e3:.0f} ms, at most "
                f"{budget['allowed_s'] * 1e3:.0f} ms for 2x ME"
            )
        lines.append(f"  {grid:>5} " + " | ".join(cells))
    return "\n".join(lines)


def draw_plots(results: dict[str, Any], directory: Path) -> list[Path]:
    """Time and memory vs grid size (log-log), one PNG each, like the paper's plots; none
    without grids."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grids = sorted(int(g) for g in results["train_step"])
    written: list[Path] = []
    if not grids:  # a run without the grid sweep (--grids and --sparse-grids empty)
        return written
    directory.mkdir(parents=True, exist_ok=True)
    for key, ylabel, stem in (
        ("median_s", "training step time [s]", "engine_time"),
        ("peak_mib", "peak memory rise [MiB]", "engine_memory"),
    ):
        fig, ax = plt.subplots(figsize=(5, 4))
        for name, marker in zip(ENGINES, "o^sD", strict=True):
            pts = [
                (g, results["train_step"][str(g)][name][key])
                for g in grids
                if key in results["train_step"][str(g)].get(name, {})
                and results["train_step"][str(g)][name][key] > 0
            ]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker=marker, label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("grid size [voxels per side]")
        ax.set_ylabel(ylabel)
        ax.set_title(
            f"U-ResNet m={results['meta']['config']['filters']}, "
            f"{results['meta']['threads']} threads"
        )
        ax.legend()
        fig.tight_layout()
        path = directory / f"{stem}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def engine_markdown(results: dict[str, Any]) -> str:
    """The key ratios as a short Markdown section (for the README generator)."""
    meta = results["meta"]
    lines = [
        "### Sparse engine benchmark",
        "",
        f"torch {meta['torch']}, {meta['threads']} threads, {meta['cpu']}; MinkowskiEngine "
        f"{meta['minkowski'] or 'not installed'} with OPENBLAS_NUM_THREADS="
        f"{meta['openblas_num_threads']}. Built-in vs MinkowskiEngine: the median [min, max] over "
        "the rounds of the two runs' ratio (run back to back, A, B, A, B, …); dense vs sparse: "
        "ratios of medians.",
        "",
    ]
    if results.get("study_step"):
        lines += _study_markdown(results, meta)
    lines += ["| comparison | ratio |", "|---|---|"]
    steps = results["train_step"]
    for channels, r in results["conv"].items():
        if r.get("minkowski_over_builtin"):
            lines.append(
                f"| {channels}-channel submanifold conv layer incl. its map ({r['voxels']} "
                f"voxels): MinkowskiEngine time / built-in time | "
                f"{_ratio_cell(r['minkowski_over_builtin'])} |"
            )
    for grid, r in steps.items():
        if r.get("minkowski_over_builtin"):
            lines.append(
                f"| training step, grid {grid} ({r['voxels']} voxels): MinkowskiEngine time / "
                f"built-in time | {_ratio_cell(r['minkowski_over_builtin'])} |"
            )
    for grid, r in steps.items():
        budget = convolution_budget(r)
        if budget is not None:
            lines.append(
                f"| training step, grid {grid}: built-in time in convolutions incl. maps, now "
                f"/ at most for 2× MinkowskiEngine (the rest of the step unchanged) | "
                f"{budget['now_s'] * 1e3:.0f} / {max(budget['allowed_s'], 0.0) * 1e3:.0f} ms |"
            )
    for grid, r in steps.items():
        if "median_s" not in r.get("dense", {}):
            continue
        t = _ratio(r["dense"]["median_s"], r["builtin"]["median_s"])
        m = _ratio(r["dense"]["peak_mib"], max(r["builtin"]["peak_mib"], 1.0))
        lines.append(f"| grid {grid}: dense time / sparse (built-in) time | {t:.0f}× |")
        lines.append(f"| grid {grid}: dense memory / sparse memory (peak-RSS rise) | {m:.0f}× |")
    for channels, r in results["conv"].items():
        lines.append(
            f"| {channels}-channel submanifold conv, built-in useful FLOP/s / torch.mm FLOP/s | "
            f"{100 * r['builtin_fraction_of_mm']:.0f} % |"
        )
        if "pure_fraction_of_mm" in r:
            lines.append(
                f"| {channels}-channel submanifold conv, pure-PyTorch path useful FLOP/s / "
                f"torch.mm FLOP/s | {100 * r['pure_fraction_of_mm']:.0f} % |"
            )
    return "\n".join(lines) + "\n"


def _study_markdown(results: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    """The study-step table of :func:`engine_markdown`."""
    lines = [
        f"The study's training step (U-ResNet m 16, depth 5, reps 1; forward, cross-entropy, "
        f"backward, fused Adam; new simulated events every step), built-in engine "
        f"({meta.get('builtin_engine', 'torch')} kernels) against MinkowskiEngine and against "
        "its pure-PyTorch path: ratios of medians, then the per-round ratio's median "
        "[min, max]; peak-RSS rise of a step in a fresh process.",
        "",
        "| threads | events / step (voxels) | MinkowskiEngine time / built-in | "
        "pure-PyTorch time / built-in | peak MiB built-in / pure / MinkowskiEngine |",
        "|---|---|---|---|---|",
    ]
    for r in results["study_step"].values():
        cells = [str(r["threads"]), f"{r['events']} ({r['voxels']})"]
        for name in ("minkowski", "pure"):
            ratio = r.get(f"{name}_over_builtin")
            cells.append(f"**{ratio['of_medians']:.2f}×** ({_ratio_cell(ratio)})" if ratio else "—")
        peaks = [
            f"{r[name]['peak_mib']:.0f}" if "peak_mib" in r.get(name, {}) else "—"
            for name in ("builtin", "pure", "minkowski")
        ]
        cells.append(" / ".join(peaks))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]
