"""The engine benchmark runs on tiny settings and writes the expected JSON and plots."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch

from lartpc_seg.benchmark import engine
from lartpc_seg.sparse import SparseTensor
from lartpc_seg.sparse.layers import KERNEL_MAP_SCOPE, SubmanifoldConv3d
from lartpc_seg.sparse.synthetic import track_event


@pytest.mark.slow
def test_quick_engine_benchmark_writes_positive_figures(tmp_path):
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    engine.configure_parser(parser)
    out = tmp_path / "engine.json"
    args = parser.parse_args(
        [
            "--out",
            str(out),
            "--quick",
            "--grids",
            "16",
            "--sparse-grids",
            "32",
            "--voxels",
            "400",
            "--runs",
            "1",
            "--depth",
            "3",
            "--filters",
            "4",
            "--study-threads",
            "1",
            "--study-events",
            "2",
            "--study-runs",
            "1",
            "--study-config",
            str(Path(__file__).resolve().parents[2] / "config.yaml"),
        ]
    )
    assert engine.run(args) == 0
    results = json.loads(out.read_text())
    assert results["meta"]["threads"] == 1 and results["meta"]["quick"] is True
    assert results["meta"]["builtin_engine"] in ("compiled", "torch")
    study = results["study_step"]["1t_2ev"]
    assert study["threads"] == 1 and study["events"] == 2 and study["voxels"] > 100
    for name in ("builtin", "pure"):
        assert study[name]["median_s"] > 0 and study[name]["peak_mib"] >= 0
    assert study["pure_over_builtin"]["of_medians"] == pytest.approx(
        study["pure"]["median_s"] / study["builtin"]["median_s"]
    )
    assert set(results["conv"]) == {"16", "64"}
    for r in results["conv"].values():
        assert r["voxels"] > 0 and r["pairs"] >= r["voxels"]
        assert r["builtin"]["median_s"] > 0 and r["torch_mm"]["gflops"] > 0
        assert r["builtin_fraction_of_mm"] > 0 and r["pure_fraction_of_mm"] > 0
    assert set(results["train_step"]) == {"16", "32"}
    assert results["train_step"]["16"]["dense"]["median_s"] > 0
    assert results["train_step"]["32"]["dense"] == {"skipped": "sparse-only grid"}
    for r in results["train_step"].values():
        assert r["builtin"]["median_s"] > 0 and r["builtin"]["peak_mib"] >= 0
        # the sparse engines' memory is measured again in a fresh process; both are kept
        assert r["builtin"]["peak_mib_shared"] >= 0
        assert len(r["builtin"]["runs_s"]) == 1
        assert 0.0 < r["builtin"]["convolution_share"] <= 1.0
        if "runs_s" in r["minkowski"]:
            assert r["minkowski_over_builtin"]["median"] > 0
            assert 0.0 < r["minkowski"]["convolution_share"] <= 1.0
    assert (tmp_path / "engine_time.png").stat().st_size > 0
    assert (tmp_path / "engine_memory.png").stat().st_size > 0
    text = engine.engine_markdown(results)
    assert text.startswith("### Sparse engine benchmark") and "% |" in text
    assert "| 1 | 2 (" in text  # the study-step row: 1 thread, 2 events


def test_dense_memory_estimate_grows_as_the_grid_volume():
    config = engine.UResNetConfig()
    small, large = engine._dense_estimate(config, 64), engine._dense_estimate(config, 128)
    assert large == pytest.approx(8 * small)
    assert large > 1e9  # the dense twin at 128³ needs gigabytes


def test_peak_memory_rise_is_seen_again_when_a_block_reuses_freed_memory():
    size_mib = 64
    pinned = []

    def block() -> None:
        chunks = [torch.ones(2**18) for _ in range(size_mib)]  # 1 MiB each, pages touched
        pinned.append(torch.ones(16))  # outlives the block, above the freed chunks
        assert float(chunks[-1][-1]) == 1.0

    # later blocks reuse the heap the first one freed (kept by malloc without the release,
    # which made the rise read ~0): each must still show the full rise (±25 %)
    rises = [engine._measure(block)[1] for _ in range(4)]
    for rise in rises:
        assert 0.75 * size_mib < rise < 1.25 * size_mib + 8


def test_interleaved_runs_a_capped_engine_in_its_first_rounds_only():
    calls = {"sparse": 0, "dense": 0}

    def counter(name):
        def fn() -> None:
            calls[name] += 1

        return fn

    result = engine.interleaved(
        {name: counter(name) for name in calls}, runs=3, capped={"dense": 1}
    )
    assert calls == {"sparse": 1 + 3, "dense": 1 + 1}  # one warm-up each
    assert len(result["sparse"]["runs_s"]) == 3 and len(result["dense"]["runs_s"]) == 1
    assert result["sparse"]["median_s"] == sorted(result["sparse"]["runs_s"])[1]


def test_engine_ratio_is_taken_round_by_round():
    # the machine slowed down in round 2: each round's ratio is 2, 2 and 1, while the ratio
    # of the medians (3 / 3) would say the engines are equally fast
    slow = {"runs_s": [2.0, 8.0, 3.0]}
    fast = {"runs_s": [1.0, 4.0, 3.0]}
    assert engine.paired_ratio(slow, fast) == {"median": 2.0, "min": 1.0, "max": 2.0}
    assert engine.paired_ratio({"skipped": "not importable"}, fast) is None


def _conv_step(voxels: int, extra_mm: int = 0):
    """A built-in submanifold conv forward + backward, its map rebuilt each call, plus
    ``extra_mm`` products of 400 × 400 matrices that are no convolution."""
    g = torch.Generator().manual_seed(3)
    coords, _ = track_event(voxels, 64, g)
    features = torch.randn(len(coords), 16, generator=g)
    layer = SubmanifoldConv3d(16, 16)
    a = torch.randn(400, 400, generator=g)

    def step() -> None:
        x = SparseTensor(features.clone().requires_grad_(), coords)
        layer(x).features.sum().backward()
        for _ in range(extra_mm):
            a @ a

    return step


def test_convolution_share_counts_the_convolutions_and_their_maps_only():
    torch.set_num_threads(1)
    conv_only = engine.convolution_share(_conv_step(3000), steps=3)
    diluted = engine.convolution_share(_conv_step(3000, extra_mm=20), steps=3)
    assert 0.5 < conv_only <= 1.0
    assert 0.0 < diluted < conv_only / 2
    assert engine._is_convolution(KERNEL_MAP_SCOPE)
    assert engine._is_convolution("SparseConvFunctionBackward")
    assert engine._is_convolution("CompiledConvFunctionBackward")
    assert engine._is_convolution("MinkowskiConvolutionTransposeFunctionBackward")
    assert not engine._is_convolution(
        "autograd::engine::evaluate_function: SparseConvFunctionBackward"
    )
    assert not engine._is_convolution("aten::bmm")


def test_convolution_budget_is_half_minkowski_minus_the_rest_of_the_step():
    step = {
        "builtin": {"median_s": 0.2, "convolution_share": 0.75},
        "minkowski": {"median_s": 0.3, "convolution_share": 0.8},
    }
    budget = engine.convolution_budget(step)
    assert budget == pytest.approx({"now_s": 0.15, "rest_s": 0.05, "allowed_s": 0.1})
    assert engine.convolution_budget({"builtin": step["builtin"], "minkowski": {}}) is None
    results = {
        "meta": {
            "torch": "2",
            "threads": 2,
            "cpu": "cpu",
            "minkowski": "0.5.4",
            "openblas_num_threads": "1",
        },
        "conv": {},
        "train_step": {"64": {"voxels": 10, **step}},
    }
    assert "| training step, grid 64: built-in time in convolutions incl. maps" in (
        engine.engine_markdown(results)
    )
    assert "150 / 100 ms |" in engine.engine_markdown(results)
