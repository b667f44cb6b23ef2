"""The engine benchmark runs on tiny settings and writes the expected JSON and plots."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from lartpc_seg.benchmark import engine


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
        ]
    )
    assert engine.run(args) == 0
    results = json.loads(out.read_text())
    assert results["meta"]["threads"] == 1 and results["meta"]["quick"] is True
    assert set(results["conv"]) == {"16", "64"}
    for r in results["conv"].values():
        assert r["voxels"] > 0 and r["pairs"] >= r["voxels"]
        assert r["builtin"]["median_s"] > 0 and r["torch_mm"]["gflops"] > 0
        assert r["builtin_fraction_of_mm"] > 0
    assert set(results["train_step"]) == {"16", "32"}
    assert results["train_step"]["16"]["dense"]["median_s"] > 0
    assert results["train_step"]["32"]["dense"] == {"skipped": "sparse-only grid"}
    for r in results["train_step"].values():
        assert r["builtin"]["median_s"] > 0 and r["builtin"]["peak_mib"] >= 0
        # the sparse engines' memory is measured again in a fresh process; both are kept
        assert r["builtin"]["peak_mib_shared"] >= 0
    assert (tmp_path / "engine_time.png").stat().st_size > 0
    assert (tmp_path / "engine_memory.png").stat().st_size > 0
    text = engine.engine_markdown(results)
    assert text.startswith("### Sparse engine benchmark") and "% |" in text


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
