"""Each sparse op of the pure-PyTorch path equals the dense convolution restricted to the active
sites (float64); the compiled kernels are compared with both in test_compiled.py."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from lartpc_seg.sparse import SparseTensor, compiled, functional
from lartpc_seg.sparse.functional import sparse_conv
from lartpc_seg.sparse.kernel_map import (
    MAX_COORD,
    check_coords,
    down_map,
    pack_keys,
    submanifold_map,
)
from lartpc_seg.sparse.layers import BatchNorm, DownConv3d, SubmanifoldConv3d, UpConv3d
from lartpc_seg.sparse.synthetic import random_coords
from lartpc_seg.sparse.tensor import MapCache

GRID = 10
TOL = {"rtol": 1e-10, "atol": 1e-10}

BATCHES = {
    "mixed": [200, 0, 1, 37],
    "single": [1],
    "empty": [0, 0],
    "one_big": [600],
}


@pytest.fixture(autouse=True, params=["default slots", "narrow slots", "small chunks"])
def _one_thread_each_slot_layout(request, monkeypatch):
    """Run every test on the pure-PyTorch path with the chosen slot width, with the narrowest
    one (many slots per kernel offset, so the weight gradient sums over slots) and with chunks
    of a few slots (each layer computed in several passes that add up)."""
    torch.set_num_threads(1)
    monkeypatch.setattr(compiled, "_override", "torch")
    if request.param in ("narrow slots", "small chunks"):
        monkeypatch.setattr(functional, "SLOT_COST_ROWS", 0)
    if request.param == "small chunks":
        monkeypatch.setattr(functional, "CHUNK_ELEMENTS", 200)


def _dense(features: torch.Tensor, coords: torch.Tensor, batch: int, grid: int) -> torch.Tensor:
    return SparseTensor(features, coords).to_dense((batch, grid, grid, grid))


def _read(dense: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    b, x, y, z = coords.unbind(1)
    return dense.permute(0, 2, 3, 4, 1)[b, x, y, z]


def _grads(out, inputs, grad_out):
    return torch.autograd.grad(out, inputs, grad_out, allow_unused=True)


def _case(name: str, c_in: int = 3, c_out: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    sizes = BATCHES[name]
    coords = random_coords(sizes, GRID, g)
    x = torch.randn(len(coords), c_in, generator=g, dtype=torch.float64, requires_grad=True)
    return g, len(sizes), coords, x


@pytest.mark.parametrize("name", list(BATCHES))
def test_submanifold_equals_dense_conv_at_active_sites(name):
    g, batch, coords, x = _case(name)
    w = torch.randn(27, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    out = sparse_conv(x, w, submanifold_map(coords))
    w_dense = w.permute(2, 1, 0).reshape(4, 3, 3, 3, 3)
    ref = _read(F.conv3d(_dense(x, coords, batch, GRID), w_dense, padding=1), coords)
    torch.testing.assert_close(out, ref, **TOL)
    grad_out = torch.randn(out.shape, generator=g, dtype=torch.float64)
    for a, b in zip(_grads(out, (x, w), grad_out), _grads(ref, (x, w), grad_out), strict=True):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("name", list(BATCHES))
def test_down_conv_equals_strided_dense_conv_at_output_sites(name):
    g, batch, coords, x = _case(name)
    layer = DownConv3d(3, 4).double()
    with torch.no_grad():
        layer.weight.normal_(generator=g)
    out = layer(SparseTensor(x, coords))
    expected_sites = torch.unique(torch.cat([coords[:, :1], coords[:, 1:] // 2], 1), dim=0)
    assert out.stride == 2
    assert torch.equal(torch.unique(out.coords, dim=0), expected_sites)
    w_dense = layer.weight.permute(2, 1, 0).reshape(4, 3, 2, 2, 2)
    ref = _read(F.conv3d(_dense(x, coords, batch, GRID), w_dense, stride=2), out.coords)
    torch.testing.assert_close(out.features, ref, **TOL)
    grad_out = torch.randn(out.features.shape, generator=g, dtype=torch.float64)
    got = _grads(out.features, (x, layer.weight), grad_out)
    want = _grads(ref, (x, layer.weight), grad_out)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("name", list(BATCHES))
def test_up_conv_equals_transposed_dense_conv_at_target_sites(name):
    g, batch, coords, _ = _case(name)
    fine = SparseTensor(torch.zeros(len(coords), 1, dtype=torch.float64), coords)
    coarse_coords, kmap = down_map(coords)
    fine.cache.maps[(1, "down2", "torch")] = kmap
    fine.cache.coords[2] = coarse_coords
    xc = torch.randn(len(coarse_coords), 3, generator=g, dtype=torch.float64, requires_grad=True)
    layer = UpConv3d(3, 4).double()
    with torch.no_grad():
        layer.weight.normal_(generator=g)
    out = layer(SparseTensor(xc, coarse_coords, 2, fine.cache))
    assert out.stride == 1 and out.coords is coords
    w_dense = layer.weight.permute(1, 2, 0).reshape(3, 4, 2, 2, 2)
    dense_in = _dense(xc, coarse_coords, batch, GRID // 2)
    ref = _read(F.conv_transpose3d(dense_in, w_dense, stride=2), coords)
    torch.testing.assert_close(out.features, ref, **TOL)
    grad_out = torch.randn(out.features.shape, generator=g, dtype=torch.float64)
    got = _grads(out.features, (xc, layer.weight), grad_out)
    want = _grads(ref, (xc, layer.weight), grad_out)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_submanifold_layer_builds_the_map_once_and_counts_neighbour_pairs():
    _, _, coords, x = _case("mixed")
    t = SparseTensor(x, coords)
    conv = SubmanifoldConv3d(3, 3).double()
    first = conv(t)
    kmap = t.cache.maps[(1, "submanifold3", "torch")]
    conv(first)
    assert t.cache.maps[(1, "submanifold3", "torch")] is kmap
    same_event = coords[:, None, 0] == coords[None, :, 0]
    chebyshev = (coords[:, None, 1:] - coords[None, :, 1:]).abs().amax(dim=2)
    assert kmap.num_pairs() == int((same_event & (chebyshev <= 1)).sum())


def test_check_coords_rejects_duplicates_and_negatives():
    good = torch.tensor([[0, 1, 2, 3], [1, 1, 2, 3]])
    check_coords(good)
    with pytest.raises(ValueError, match="duplicate"):
        check_coords(torch.tensor([[0, 1, 2, 3], [0, 1, 2, 3]]))
    with pytest.raises(ValueError, match="out of range"):
        check_coords(torch.tensor([[0, -1, 2, 3]]))
    with pytest.raises(ValueError, match="int64"):
        check_coords(good.int())


def test_batch_norm_single_row_in_training_gives_bias_and_keeps_running_stats():
    bn = BatchNorm(3).double()
    with torch.no_grad():
        bn.bn.bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    x = SparseTensor(
        torch.tensor([[3.0, 4.0, 5.0]], dtype=torch.float64), torch.zeros(1, 4, dtype=torch.int64)
    )
    y = bn(x).features
    torch.testing.assert_close(y, bn.bn.bias.detach().unsqueeze(0))
    torch.testing.assert_close(bn.bn.running_mean, torch.zeros(3, dtype=torch.float64))
    empty = SparseTensor(
        torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, 4, dtype=torch.int64)
    )
    assert bn(empty).features.shape == (0, 3)


def test_sync_batch_norm_conversion_keeps_the_sparse_wrapper():
    bn = torch.nn.SyncBatchNorm.convert_sync_batchnorm(torch.nn.Sequential(BatchNorm(3)))
    assert isinstance(bn[0], BatchNorm) and isinstance(bn[0].bn, torch.nn.SyncBatchNorm)


def _sorted_by_key(coords: torch.Tensor) -> torch.Tensor:
    return coords[torch.argsort(pack_keys(coords))]


@pytest.mark.parametrize("presorted", [False, True])
def test_submanifold_groupings_list_each_rows_pairs_in_order(presorted):
    _, _, coords, _ = _case("one_big")
    if presorted:
        coords = _sorted_by_key(coords)
    kmap = submanifold_map(coords)
    n = len(coords)
    for side, rows in (("out", kmap.out_rows), ("in", kmap.in_rows)):
        crow, col = kmap.grouping(side, n)
        assert torch.equal(crow[1:] - crow[:-1], torch.bincount(rows, minlength=n))
        assert torch.equal(col, torch.argsort(rows, stable=True))
    # the mirror offset 26 - k holds the pairs of offset k swapped
    bounds = torch.tensor((0, *kmap.counts)).cumsum(0)
    for k in range(13):
        a = kmap.in_rows[bounds[k] : bounds[k + 1]], kmap.out_rows[bounds[k] : bounds[k + 1]]
        m = 26 - k
        b = kmap.out_rows[bounds[m] : bounds[m + 1]], kmap.in_rows[bounds[m] : bounds[m + 1]]
        key_a = a[0] * n + a[1]
        key_b = b[0] * n + b[1]
        assert torch.equal(torch.sort(key_a).values, torch.sort(key_b).values)


def _brute_force_pairs(coords: torch.Tensor) -> set[tuple[int, int, int]]:
    """(offset k, input row, output row) of every neighbour pair, by comparing all rows."""
    d = coords[:, None, 1:] - coords[None, :, 1:]  # (in, out, 3): input minus output
    same_batch = coords[:, None, 0] == coords[None, :, 0]
    near = same_batch & (d.abs() <= 1).all(-1)
    k = ((d[..., 0] + 1) * 3 + (d[..., 1] + 1)) * 3 + (d[..., 2] + 1)
    return {(int(k[i, o]), i, o) for i, o in near.nonzero().tolist() if i != o}


def _map_pairs(kmap) -> set[tuple[int, int, int]]:
    offsets = torch.repeat_interleave(torch.arange(27), torch.tensor(kmap.counts))
    return set(zip(offsets.tolist(), kmap.in_rows.tolist(), kmap.out_rows.tolist(), strict=True))


@pytest.mark.parametrize("presorted", [False, True])
def test_submanifold_pairs_at_the_coordinate_limits_equal_brute_force(presorted):
    """Neighbours along z at both ends of the key range, the last key (the search runs past
    the end) and columns that hold one, two or three of the dz neighbours."""
    top = MAX_COORD
    xyz = [
        (0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 2), (1, 1, 1), (1, 1, 0),
        (top, top, top), (top, top, top - 1), (top - 1, top, top), (top, top - 1, top - 2),
        (5, 5, 5), (6, 4, 4), (6, 4, 5), (6, 4, 6), (5, 6, 6),
    ]  # fmt: skip
    rows = [(b, *p) for b in (0, 1) for p in xyz] + [(2, 7, 7, 7)]
    coords = torch.tensor(rows, dtype=torch.int64)
    if presorted:
        coords = _sorted_by_key(coords)
    else:
        coords = coords[torch.randperm(len(coords), generator=torch.Generator().manual_seed(1))]
    kmap = submanifold_map(coords)
    pairs = _map_pairs(kmap)
    assert len(pairs) == sum(kmap.counts)
    assert pairs == _brute_force_pairs(coords)


def test_submanifold_on_sorted_and_shuffled_rows_agree_row_by_row():
    g, _, coords, x = _case("mixed", c_in=5, c_out=6)
    w = torch.randn(27, 5, 6, generator=g, dtype=torch.float64)
    order = torch.argsort(pack_keys(coords))
    out = sparse_conv(x, w, submanifold_map(coords))
    out_sorted = sparse_conv(x[order], w, submanifold_map(coords[order]))
    torch.testing.assert_close(out_sorted, out[order], **TOL)


def test_transposed_map_swaps_the_cached_groupings():
    _, _, coords, _ = _case("mixed")
    coarse, kmap = down_map(coords)
    out_grouping = kmap.grouping("out", len(coarse))
    up = kmap.transposed(len(coords))
    assert up.grouping("in", len(coarse)) is out_grouping
    crow, col = up.grouping("out", len(coords))
    assert torch.equal(crow, torch.arange(len(coords) + 1))  # each fine site read once
    assert torch.equal(up.out_rows[col], torch.arange(len(coords)))


def test_check_coords_returns_the_key_order_or_none_when_sorted():
    _, _, coords, _ = _case("mixed")
    order = check_coords(coords)
    assert torch.equal(coords[order], _sorted_by_key(coords))
    assert check_coords(coords[order]) is None


def test_slot_width_splits_offsets_to_limit_padding():
    counts = [1000, 1000, 3000, 3000]
    # one slot per offset (width 3000) pads 4000 rows; width 1000 pads none for 4 more slots
    assert functional._slot_width(counts) == 1000
    assert functional._slot_width([7]) == 7


@pytest.mark.parametrize("name", list(BATCHES))
def test_convolutions_sharing_the_workspace_equal_fresh_buffers(name):
    """The convolutions of one input share scratch slots, forward and backward, and regrow them
    as the width changes: outputs and gradients equal those with buffers of their own."""
    g, _, coords, x = _case(name)
    layers = [SubmanifoldConv3d(3, 4), SubmanifoldConv3d(4, 9), DownConv3d(9, 5), UpConv3d(5, 2)]
    for layer in layers:
        layer.double()
        with torch.no_grad():
            layer.weight.normal_(generator=g)
    params = [x] + [layer.weight for layer in layers]

    def run(cache: MapCache):
        t = SparseTensor(x, coords, cache=cache)
        for layer in layers:
            t = layer(t)
        return t.features

    shared = MapCache()
    out = run(shared)
    ref = run(MapCache(workspace=None))
    torch.testing.assert_close(out, ref, **TOL)
    grad_out = torch.randn(out.shape, generator=g, dtype=torch.float64)
    for a, b in zip(_grads(out, params, grad_out), _grads(ref, params, grad_out), strict=True):
        torch.testing.assert_close(a, b, **TOL)
    assert (shared.workspace.nbytes > 0) == (len(coords) > 0)


def test_chunks_cover_every_slot_once_within_the_buffer_budget(monkeypatch):
    monkeypatch.setattr(functional, "CHUNK_ELEMENTS", 1000)
    coords = random_coords([600], GRID, torch.Generator().manual_seed(3))
    layout = functional._padded(submanifold_map(coords))
    chunks = functional._chunks(layout, 4)
    assert len(chunks) > 1
    assert chunks[0][0] == 0 and chunks[-1][1] == len(layout.slots)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(chunks))
    # a chunk holds at least one slot, even one wider than the budget
    assert all((b - a) * layout.width * 4 <= 1000 or b - a == 1 for a, b in chunks)
