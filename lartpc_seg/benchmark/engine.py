"""``python -m lartpc_seg benchmark engine``: built-in sparse engine vs MinkowskiEngine vs dense.

Measured in one process, interleaved (A, B, A, B, … after one warm-up run of each), min and
median over the runs (benchmarking.md); MinkowskiEngine against the built-in engine also as the
ratio of each round's two runs (:func:`paired_ratio`), which the machine's drifting speed
affects far less than a ratio of medians:

- one 3×3×3 submanifold conv layer (16→16, 64→64) on a synthetic event of tens of thousands
  of voxels (:func:`lartpc_seg.sparse.synthetic.track_event`), forward + backward including
  the kernel map; useful GFLOP/s (2 · pairs · C_in · C_out per GEMM, three GEMMs) against
  ``torch.mm`` on the same number of rows in the same run;
- one U-ResNet training step (m 16, depth 5, reps 2; new event each step so maps are rebuilt;
  forward, cross-entropy, backward, Adam step) at several grid sizes: built-in vs ME vs the dense
  twin (dense only where its estimated memory fits), time and peak-RSS rise. Where the dense
  twin runs at grid ≥ 128 (tens of seconds per step on 2 cores) it takes part in the first 2
  rounds only. The sparse engines' peak memory is measured again in a fresh process each
  (see :func:`train_step`), and the share of each sparse engine's step spent in its
  convolutions, kernel maps included, under :mod:`torch.profiler`
  (:func:`convolution_share`): what is left is the part of the step no convolution engine can
  speed up.

MinkowskiEngine runs with ``OPENBLAS_NUM_THREADS=1`` (set here unless already set; recorded).
Events have ``VOXELS_PER_GRID`` voxels per unit of grid size (tracks are 1D, so the voxel count
grows about linearly with the grid).
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

import torch

from lartpc_seg.benchmark import cpu_model
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.models import DenseUResNet, UResNetConfig, build_uresnet, copy_weights
from lartpc_seg.native_stderr import drop_native_lines
from lartpc_seg.progress import Progress
from lartpc_seg.sparse import SparseTensor
from lartpc_seg.sparse.layers import KERNEL_MAP_SCOPE, SubmanifoldConv3d
from lartpc_seg.sparse.synthetic import track_event

#: voxels of a synthetic training event per unit of grid size
VOXELS_PER_GRID = 80
#: dense training-step memory per voxel of the grid per filter (bytes): the peak-RSS rise
#: measured at m = 16 was 684 MiB at grid 64 (171 B) and 4369 MiB at grid 128 (136 B); fixed
#: overheads weigh less as the grid grows, so 150 B overestimates grids of 128 and above
DENSE_BYTES_PER_VOXEL_PER_FILTER = 150
FULL = {"grids": [64, 128, 192], "sparse_grids": [512, 768], "runs": 5, "conv_voxels": 50_000}
QUICK = {"grids": [64], "sparse_grids": [128], "runs": 2, "conv_voxels": 20_000}
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
    ):
        if value is not None:
            settings[key] = value
    limit = args.memory_limit_gb * 1e9 if args.memory_limit_gb else 0.6 * _mem_available()
    results = benchmark(
        settings, UResNetConfig(filters=args.filters, depth=args.depth), limit, args.quick
    )
    print(format_table(results))
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    plots = args.plots if args.plots is not None else args.out.parent
    draw_plots(results, plots)
    return 0


def benchmark(
    settings: dict[str, Any], config: UResNetConfig, dense_limit_bytes: float, quick: bool
) -> dict[str, Any]:
    """All measurements as a JSON-ready dict (see the module docstring)."""
    me, me_reason = _import_minkowski()
    results: dict[str, Any] = {
        "meta": {
            "threads": torch.get_num_threads(),
            "cpu": cpu_model(),
            "torch": torch.__version__,
            "minkowski": getattr(me, "__version__", None),
            "minkowski_skipped": me_reason,
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "quick": quick,
            "runs": settings["runs"],
            "config": config.to_dict(),
            "voxels_per_grid": VOXELS_PER_GRID,
        },
        "conv": {},
        "train_step": {},
    }
    grids = sorted(set(settings["grids"]) | set(settings["sparse_grids"]))
    # one line per measurement: each takes from seconds to minutes
    progress = Progress("benchmark", 2 + len(grids), "measurements", interval=0)
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

    fns: dict[str, Callable[[], None]] = {"builtin": run_builtin, "torch_mm": run_mm}
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
    if with_me:
        out["minkowski_over_builtin"] = paired_ratio(out["minkowski"], out["builtin"])
    else:
        out["minkowski"] = {"skipped": "MinkowskiEngine not importable"}
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
    config: UResNetConfig, events: list[tuple[torch.Tensor, ...]], with_me: bool
) -> tuple[dict[str, Callable[[], None]], torch.nn.Module]:
    """One training-step closure per sparse engine, each taking the next event in turn.

    Returns the closures and the built-in network (the source of every twin's weights).
    """
    torch.manual_seed(0)
    nets = {"builtin": build_uresnet(config)}
    if with_me:
        nets["minkowski"] = build_uresnet(
            UResNetConfig(**{**config.to_dict(), "backend": "minkowski"})
        )
        copy_weights(nets["builtin"], nets["minkowski"])
    fns: dict[str, Callable[[], None]] = {}
    for name, net in nets.items():
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        in_turn = itertools.cycle(events)

        def step(net=net, opt=opt, in_turn=in_turn) -> None:
            coords, energy, label = next(in_turn)
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(coords, energy), label)
            loss.backward()
            opt.step()

        fns[name] = step
    return fns, nets["builtin"]


def _is_convolution(name: str) -> bool:
    """Whether a profiler event is a convolution (forward or backward) or a kernel-map build."""
    if name.startswith("autograd::engine"):  # wraps the backward nodes counted below
        return False
    return (
        name == KERNEL_MAP_SCOPE
        or name.startswith("SparseConvFunction")
        or (name.startswith("Minkowski") and "Function" in name)
    )


def convolution_share(fn: Callable[[], None], steps: int = PROFILED_STEPS) -> float:
    """Fraction of ``steps`` calls of ``fn`` spent in sparse convolutions and kernel maps.

    The calls run under :mod:`torch.profiler`; a convolution's time is the total (children
    included) of the built-in engine's autograd function and its backward node, of
    MinkowskiEngine's ``Minkowski*Function`` ones, and of the built-in kernel-map builds
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
    config: dict[str, Any], grid: int, engine: str, runs: int, threads: int
) -> float:
    """Peak-RSS rise (MiB, max over ``runs`` after a warm-up) of one sparse engine's training
    step, measured in the calling process: :func:`train_step` runs it in a fresh one."""
    torch.set_num_threads(threads)
    model = UResNetConfig(**config)
    fns, _ = _sparse_steps(model, _training_events(model, grid), engine == "minkowski")
    fn = fns[engine]
    fn()
    return max(_measure(fn)[1] for _ in range(runs))


def _peak_in_fresh_process(config: UResNetConfig, grid: int, engine: str, runs: int) -> float:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        job = pool.submit(
            fresh_process_peak, config.to_dict(), grid, engine, runs, torch.get_num_threads()
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
        dense_opt = torch.optim.Adam(dense_net.parameters(), lr=1e-3)
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
    for name in ("builtin", "minkowski"):
        if name in out:
            out[name]["convolution_share"] = convolution_share(fns[name])
            out[name]["peak_mib_shared"] = out[name]["peak_mib"]
            out[name]["peak_mib"] = _peak_in_fresh_process(config, grid, name, runs)
    if with_me:
        out["minkowski_over_builtin"] = paired_ratio(out["minkowski"], out["builtin"])
    else:
        out["minkowski"] = {"skipped": "MinkowskiEngine not importable"}
    out["runs"] = runs
    out["dense_runs"] = dense_runs if "dense" in fns else 0
    return out


ENGINES = ("builtin", "minkowski", "dense")


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
        f"(OPENBLAS_NUM_THREADS={meta['openblas_num_threads']})",
        "",
        "submanifold conv layer, forward+backward incl. map (median s, useful GFLOP/s):",
    ]
    for channels, r in results["conv"].items():
        cells = [f"  {channels:>3}->{channels:<3} {r['voxels']} voxels {r['pairs']} pairs:"]
        for name in ("builtin", "minkowski", "torch_mm"):
            e = r.get(name, {})
            if "median_s" in e:
                cells.append(f"{name} {e['median_s'] * 1e3:.1f} ms {e['gflops']:.1f} GF/s")
            else:
                cells.append(f"{name} skipped")
        cells.append(f"builtin = {100 * r['builtin_fraction_of_mm']:.0f}% of mm")
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
            for name in ("builtin", "minkowski")
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
    """Time and memory vs grid size (log-log), one PNG each, like the paper's plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    grids = sorted(int(g) for g in results["train_step"])
    written = []
    for key, ylabel, stem in (
        ("median_s", "training step time [s]", "engine_time"),
        ("peak_mib", "peak memory rise [MiB]", "engine_memory"),
    ):
        fig, ax = plt.subplots(figsize=(5, 4))
        for name, marker in zip(ENGINES, "osD", strict=True):
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
        "| comparison | ratio |",
        "|---|---|",
    ]
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
    return "\n".join(lines) + "\n"
