"""The compiled kernels equal the pure-PyTorch path and the dense convolution, are
deterministic, and are chosen (or refused) as ``LARTPC_ENGINE`` says."""

from __future__ import annotations

import threading
import time

import pytest
import torch
import torch.nn.functional as F

from lartpc_seg.models import UResNetConfig, build_uresnet, copy_weights
from lartpc_seg.sparse import SparseTensor, compiled
from lartpc_seg.sparse.kernel_map import (
    MAX_BATCH,
    MAX_COORD,
    KernelMap,
    down_map,
    pack_keys,
    parent_sites,
    submanifold_map,
)
from lartpc_seg.sparse.layers import DownConv3d, SubmanifoldConv3d, UpConv3d
from lartpc_seg.sparse.neighbours import NeighbourMap, down_neighbours, submanifold_neighbours
from lartpc_seg.sparse.synthetic import random_coords

GRID = 10
TOLERANCE = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-10},
    torch.float32: {"rtol": 1e-4, "atol": 1e-4},
}
BATCHES = {"mixed": [200, 0, 1, 37], "empty": [0, 0], "one_big": [500]}
#: (C_in, C_out): the U-ResNet's widths and odd ones (a vector remainder, a single channel)
CHANNELS = [(16, 16), (3, 5), (1, 16), (17, 33), (80, 48)]


def _case(sizes, c_in, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    coords = random_coords(sizes, GRID, g)
    x = torch.randn(len(coords), c_in, generator=g, dtype=dtype)
    return g, coords, x


def _dense(features, coords, batch, grid):
    return SparseTensor(features, coords).to_dense((batch, grid, grid, grid))


def _read(dense, coords):
    b, x, y, z = coords.unbind(1)
    return dense.permute(0, 2, 3, 4, 1)[b, x, y, z]


#: layer kind → kernel size and conv3d arguments of the dense convolution the layer equals
DENSE_CONV = {"submanifold": (3, {"padding": 1}), "down": (2, {"stride": 2})}


def _layer_and_reference(kind, c_in, c_out, coords, batch, g, dtype):
    """The layer, a function running it on features, and the dense reference function."""
    cls = {"submanifold": SubmanifoldConv3d, "down": DownConv3d, "up": UpConv3d}[kind]
    layer = cls(c_in, c_out).to(dtype)
    with torch.no_grad():
        layer.weight.normal_(generator=g)
    w = layer.weight
    coarse = down_map(coords)[0]
    if kind in DENSE_CONV:
        size, conv = DENSE_CONV[kind]
        sites = coarse if kind == "down" else coords
        return (
            layer,
            lambda f: layer(SparseTensor(f, coords)).features,
            lambda f: _read(
                F.conv3d(
                    _dense(f, coords, batch, GRID),
                    w.permute(2, 1, 0).reshape(c_out, c_in, size, size, size),
                    **conv,
                ),
                sites,
            ),
        )

    def run_up(f):
        # the up convolution reads the fine sites and its map from the down convolution's cache
        fine = SparseTensor(torch.zeros(len(coords), 1, dtype=dtype), coords)
        DownConv3d(1, 1).to(dtype)(fine)
        return layer(SparseTensor(f, coarse, 2, fine.cache)).features

    return (
        layer,
        run_up,
        lambda f: _read(
            F.conv_transpose3d(
                _dense(f, coarse, batch, GRID // 2),
                w.permute(1, 2, 0).reshape(c_in, c_out, 2, 2, 2),
                stride=2,
            ),
            coords,
        ),
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("channels", CHANNELS, ids=[f"{a}to{b}" for a, b in CHANNELS])
@pytest.mark.parametrize("batch", list(BATCHES))
@pytest.mark.parametrize("kind", ["submanifold", "down", "up"])
def test_every_layer_equals_pure_path_and_dense_conv(
    compiled_kernels, kind, batch, channels, dtype
):
    """Forward, input gradient and weight gradient of the compiled kernels, the pure-PyTorch
    path and the dense convolution agree within the dtype's tolerance."""
    torch.set_num_threads(2)
    c_in, c_out = channels
    sizes = BATCHES[batch]
    g, coords, x = _case(sizes, c_in, dtype)
    if kind == "up":
        x = torch.randn(len(down_map(coords)[0]), c_in, generator=g, dtype=dtype)
    layer, run, reference = _layer_and_reference(kind, c_in, c_out, coords, len(sizes), g, dtype)
    results = {}
    for name in ("torch", "compiled", "dense"):
        f = x.clone().requires_grad_(True)
        if name == "dense":
            out = reference(f)
        else:
            with compiled.use_engine(name):
                out = run(f)
        grad_out = torch.linspace(-1, 1, out.numel(), dtype=dtype).reshape(out.shape)
        grads = torch.autograd.grad(out, (f, layer.weight), grad_out, allow_unused=True)
        results[name] = (out, *grads)
    n_out = len(down_map(coords)[0]) if kind == "down" else len(coords)
    assert results["compiled"][0].shape == (n_out, c_out)
    for name in ("torch", "dense"):
        for got, want in zip(results["compiled"], results[name], strict=True):
            if want is None:  # the dense reference of an empty input reads no features
                assert got is None or not got.abs().any()
                continue
            torch.testing.assert_close(got, want, **TOLERANCE[dtype])


def test_features_with_any_strides_equal_the_pure_path(compiled_kernels):
    """A single channel or a single row may carry any stride in its size-1 dimension (torch
    calls such tensors contiguous); a column slice has rows wider than its columns."""
    g = torch.Generator().manual_seed(8)
    coords = random_coords([120], GRID, g)
    n = len(coords)
    one_channel = torch.randn(n, generator=g).as_strided((n, 1), (1, 7))
    sliced = torch.randn(n, 9, generator=g)[:, 4:]
    single = random_coords([1], GRID, g)
    one_row = torch.randn(3, generator=g).as_strided((1, 3), (1, 1))
    for c, x in ((coords, one_channel), (coords, sliced), (single, one_row)):
        conv = SubmanifoldConv3d(x.shape[1], 4)
        outs = []
        for name in ("torch", "compiled"):
            with compiled.use_engine(name):
                outs.append(conv(SparseTensor(x, c)).features)
        torch.testing.assert_close(outs[1], outs[0], **TOLERANCE[torch.float32])


def test_empty_input_gives_empty_output_and_zero_weight_gradient(compiled_kernels):
    coords = torch.zeros(0, 4, dtype=torch.int64)
    x = torch.zeros(0, 16, requires_grad=True)
    with compiled.use_engine("compiled"):
        conv = SubmanifoldConv3d(16, 16)
        out = conv(SparseTensor(x, coords))
        assert isinstance(out.cache.maps[(1, "submanifold3", "compiled")], NeighbourMap)
        out.features.sum().backward()
    assert out.features.shape == (0, 16)
    assert conv.weight.grad is not None and not conv.weight.grad.any()


def _brute_force_table(coords: torch.Tensor) -> torch.Tensor:
    """table[i, k] of the submanifold map by comparing all rows (input minus output = offset)."""
    d = coords[None, :, 1:] - coords[:, None, 1:]  # (out, in, 3)
    near = (coords[:, None, 0] == coords[None, :, 0]) & (d.abs() <= 1).all(-1)
    k = ((d[..., 0] + 1) * 3 + (d[..., 1] + 1)) * 3 + (d[..., 2] + 1)
    table = torch.full((len(coords), 27), -1, dtype=torch.int32)
    out_rows, in_rows = near.nonzero().unbind(1)
    table[out_rows, k[out_rows, in_rows]] = in_rows.to(torch.int32)
    return table


@pytest.mark.parametrize("presorted", [True, False])
def test_submanifold_table_equals_brute_force(compiled_kernels, presorted):
    g = torch.Generator().manual_seed(4)
    coords = random_coords([300, 2, 80], GRID, g)
    order = torch.argsort(pack_keys(coords))
    coords = coords[order] if presorted else coords
    nmap = submanifold_neighbours(coords)
    assert torch.equal(nmap.table, _brute_force_table(coords))
    assert torch.equal(nmap.table_t, _brute_force_table(coords).flip(1))
    assert nmap.num_pairs() == submanifold_map(coords).num_pairs()


def test_submanifold_table_at_the_key_limits_equals_brute_force(compiled_kernels):
    """Neighbours at both ends of every key field, in the largest batch index: the merge runs
    past the last key and meets its sentinels."""
    top = MAX_COORD
    xyz = [(0, 0, 0), (0, 0, 1), (1, 1, 1), (top, top, top), (top, top, top - 1),
           (top - 1, top - 1, top), (top, top - 1, top - 2), (5, 5, 5), (6, 4, 4)]  # fmt: skip
    coords = torch.tensor([(b, *p) for b in (0, MAX_BATCH) for p in xyz], dtype=torch.int64)
    coords = coords[torch.argsort(pack_keys(coords))]
    assert torch.equal(submanifold_neighbours(coords).table, _brute_force_table(coords))


@pytest.mark.parametrize("flip", [False, True])
def test_block_pairs_list_every_pair_by_block_offset_and_row(compiled_kernels, flip):
    """At 2 threads on a map of many row blocks (threads fill neighbouring blocks at once),
    several times: the lists equal the table's entries ordered by (block, offset, row)."""
    torch.set_num_threads(2)
    coords = random_coords([6000, 3000], 40, torch.Generator().manual_seed(6))
    table = submanifold_neighbours(coords[torch.argsort(pack_keys(coords))]).table
    if flip:
        table = table.flip(1).contiguous()
    rows, k = (table >= 0).nonzero().unbind(1)
    order = torch.argsort((rows // 128) * 27 * len(table) + k * len(table) + rows)
    want = torch.stack([table[rows, k], rows.to(torch.int32)], 1)[order]
    counts = torch.bincount((rows // 128) * 27 + k, minlength=27 * (-(-len(table) // 128)))
    for _ in range(5):
        starts, pairs = compiled_kernels.block_pairs(table)
        assert torch.equal(pairs, want)
        assert torch.equal(starts[1:] - starts[:-1], counts)


@pytest.mark.parametrize("threads", [1, 2])
def test_mirrored_pairs_are_the_pairs_of_the_flipped_table(compiled_kernels, threads):
    """The input gradient of a submanifold map reads the forward's pair list offset by offset
    backwards: the same bits as the pair list of the mirrored table, built apart."""
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(9)
    coords = random_coords([3000, 500], 30, g)
    nmap = submanifold_neighbours(coords)
    starts, pairs, mirror = nmap.pairs_t()
    assert mirror and starts is nmap.pairs()[0] and pairs is nmap.pairs()[1]
    flipped = compiled_kernels.block_pairs(nmap.table.flip(1).contiguous())
    for c_in, c_out in ((16, 16), (17, 33), (3, 5)):
        x = torch.randn(len(coords), c_in, generator=g)
        w = torch.randn(27, c_in, c_out, generator=g)
        got = compiled_kernels.gather_conv(x, starts, pairs, w, len(coords), mirror=True)
        want = compiled_kernels.gather_conv(x, *flipped, w, len(coords))
        assert torch.equal(got, want)


def _reference_down_tables(coords):
    """The down map's tables built with PyTorch ops from :func:`parent_sites`."""
    coarse, parent, k = parent_sites(coords)
    n = len(coords)
    rows = torch.arange(n, dtype=torch.int32)
    table = torch.full((len(coarse), 8), -1, dtype=torch.int32)
    table[parent, k] = rows
    table_t = torch.full((n, 8), -1, dtype=torch.int32)
    table_t[rows.long(), k] = parent.to(torch.int32)
    return coarse, table, table_t


def _edge_coords():
    """Sites at both ends of every key field, odd and even, in the first and the largest batch
    index (parents at the field limits, batches sharing spatial parents)."""
    top = MAX_COORD
    xyz = [(0, 0, 0), (1, 1, 1), (0, 1, 0), (top, top, top), (top - 1, top, top - 1),
           (top, 0, top), (2, 3, 4), (3, 3, 4)]  # fmt: skip
    return torch.tensor([(b, *p) for b in (0, 1, MAX_BATCH) for p in xyz], dtype=torch.int64)


@pytest.mark.parametrize("case", ["batches", "shuffled", "sorted", "edges", "one", "empty"])
def test_down_tables_equal_the_pytorch_construction(compiled_kernels, case):
    g = torch.Generator().manual_seed(10)
    coords = {
        "batches": lambda: random_coords([400, 0, 3, 250], GRID, g, shuffle=False),
        "shuffled": lambda: random_coords([400, 0, 3, 250], GRID, g),
        "sorted": lambda: (c := random_coords([900, 700], 24, g))[torch.argsort(pack_keys(c))],
        "edges": _edge_coords,
        "one": lambda: torch.tensor([[2, 5, 0, 7]]),
        "empty": lambda: torch.zeros((0, 4), dtype=torch.int64),
    }[case]()
    coarse, nmap = down_neighbours(coords)
    want_coarse, want_table, want_table_t = _reference_down_tables(coords)
    assert torch.equal(coarse, want_coarse)
    assert torch.equal(nmap.table, want_table)
    assert torch.equal(nmap.transpose, want_table_t)
    assert coarse.shape == (len(want_coarse), 4) and nmap.table.shape == (len(coarse), 8)


def test_down_table_and_its_transpose_list_each_fine_row_once(compiled_kernels):
    g = torch.Generator().manual_seed(5)
    coords = random_coords([300, 40], GRID, g)
    coarse, nmap = down_neighbours(coords)
    assert torch.equal(coarse, down_map(coords)[0])
    filled = nmap.table[nmap.table >= 0].sort().values
    assert torch.equal(filled, torch.arange(len(coords), dtype=torch.int32))
    assert torch.equal((nmap.table_t >= 0).sum(1), torch.ones(len(coords), dtype=torch.int64))
    parents = coarse[nmap.table_t.max(1).values.long()]
    assert torch.equal(parents[:, 1:], coords[:, 1:] // 2)
    starts, pairs = nmap.pairs()
    assert starts.tolist()[-1] == len(coords) == len(pairs)


def _uresnet_pair(dtype):
    config = UResNetConfig(filters=8, depth=3, reps=1)
    torch.manual_seed(0)
    nets = {name: build_uresnet(config).to(dtype) for name in ("torch", "compiled")}
    copy_weights(nets["torch"], nets["compiled"])
    g = torch.Generator().manual_seed(7)
    coords = random_coords([400, 150, 1], 24, g)
    feats = torch.rand(len(coords), 1, generator=g, dtype=dtype)
    labels = torch.randint(0, config.num_classes, (len(coords),), generator=g)
    return nets, coords, feats, labels


def _loss_and_grads(net, engine, coords, feats, labels):
    with compiled.use_engine(engine):
        logits = net(coords, feats)
        loss = F.cross_entropy(logits, labels)
        grads = torch.autograd.grad(loss, list(net.parameters()))
    return logits, grads


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_whole_uresnet_equals_pure_path(compiled_kernels, dtype):
    torch.set_num_threads(2)
    nets, coords, feats, labels = _uresnet_pair(dtype)
    ref_logits, ref_grads = _loss_and_grads(nets["torch"], "torch", coords, feats, labels)
    logits, grads = _loss_and_grads(nets["compiled"], "compiled", coords, feats, labels)
    tol = {"rtol": 1e-9, "atol": 1e-9} if dtype == torch.float64 else {"rtol": 2e-3, "atol": 2e-4}
    torch.testing.assert_close(logits, ref_logits, **tol)
    for got, want in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(got, want, **tol)


@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_uresnet_is_bitwise_deterministic_at_fixed_threads(compiled_kernels, threads):
    """Every output element of the compiled kernels is summed in one fixed order, so a training
    step's logits and gradients repeat bit for bit (torch's own ops, batch norm and the linear
    head, repeat at a fixed thread count)."""
    torch.set_num_threads(threads)
    nets, coords, feats, labels = _uresnet_pair(torch.float32)
    first, second = (
        _loss_and_grads(nets["compiled"], "compiled", coords, feats, labels) for _ in range(2)
    )
    assert torch.equal(first[0], second[0])
    assert all(torch.equal(a, b) for a, b in zip(first[1], second[1], strict=True))


@pytest.mark.parametrize("kind", ["submanifold", "down", "up"])
def test_compiled_kernels_give_the_same_bits_at_any_thread_count(compiled_kernels, kind):
    """Rows are owned by one thread and the weight gradient is summed in blocks of pairs that
    do not depend on the thread count, added in block order."""
    g, coords, x = _case([2000, 300], 48, torch.float32, seed=3)
    if kind == "up":
        x = torch.randn(len(down_map(coords)[0]), 48, generator=g)
    layer, run, _ = _layer_and_reference(kind, 48, 32, coords, 2, g, torch.float32)
    results = []
    for threads in (1, 2, 1):
        torch.set_num_threads(threads)
        f = x.clone().requires_grad_(True)
        with compiled.use_engine("compiled"):
            out = run(f)
        grad_out = torch.linspace(-1, 1, out.numel()).reshape(out.shape)
        results.append((out, *torch.autograd.grad(out, (f, layer.weight), grad_out)))
    for other in results[1:]:
        assert all(torch.equal(a, b) for a, b in zip(results[0], other, strict=True))


def test_layers_build_the_map_type_of_the_engine(engine):
    g = torch.Generator().manual_seed(1)
    coords = random_coords([60], GRID, g)
    x = SparseTensor(torch.randn(len(coords), 2, generator=g), coords)
    y = UpConv3d(3, 2)(DownConv3d(2, 3)(SubmanifoldConv3d(2, 2)(x)))
    assert y.coords is coords
    expected = NeighbourMap if engine == "compiled" else KernelMap
    kinds = {(1, "submanifold3"), (1, "down2"), (1, "up2")}
    assert {key[:2] for key in x.cache.maps} == kinds
    assert all(key[2] == engine and isinstance(m, expected) for key, m in x.cache.maps.items())


def test_engine_variable_is_validated(monkeypatch):
    monkeypatch.setenv(compiled.ENV, "fast")
    with pytest.raises(ValueError, match="LARTPC_ENGINE='fast'"):
        compiled.choice()
    monkeypatch.setenv(compiled.ENV, "torch")
    assert not compiled.use_compiled(torch.zeros(1, 1))
    assert not compiled.use_compiled(torch.zeros(1, 1, dtype=torch.float16))


@pytest.fixture
def broken_build(tmp_path, monkeypatch):
    """A source that does not compile, built into an empty cache, with the module state reset."""
    source = tmp_path / "engine.cpp"
    source.write_text('#error "deliberately broken"\n')
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(compiled, "SOURCE", source)
    monkeypatch.setattr(compiled, "_module", None)
    monkeypatch.setattr(compiled, "_failure", None)


def test_forced_compiled_engine_that_cannot_build_is_an_error(broken_build, monkeypatch):
    monkeypatch.setenv(compiled.ENV, "compiled")
    with pytest.raises(compiled.CompiledEngineError, match="cannot be built"):
        compiled.use_compiled(torch.zeros(1, 1))


def test_failed_build_falls_back_with_one_warning_line(broken_build, monkeypatch, capsys):
    monkeypatch.delenv(compiled.ENV, raising=False)
    g = torch.Generator().manual_seed(2)
    coords = random_coords([30], GRID, g)
    x = SparseTensor(torch.randn(len(coords), 2, generator=g), coords)
    conv = SubmanifoldConv3d(2, 2)
    conv(conv(x))
    assert isinstance(x.cache.maps[(1, "submanifold3", "torch")], KernelMap)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("warning: the compiled sparse kernels cannot be built")
    assert err[0].endswith("using the pure-PyTorch engine")


def test_build_name_depends_on_source_path_and_cpu(tmp_path, monkeypatch):
    name = compiled.build_name()
    source = tmp_path / "engine.cpp"
    source.write_text(compiled.SOURCE.read_text())
    monkeypatch.setattr(compiled, "SOURCE", source)
    # another checkout of the same source builds apart (no recompiling on each other's turn)
    copy = compiled.build_name()
    assert copy != name
    source.write_text(compiled.SOURCE.read_text() + "\n// changed\n")
    assert compiled.build_name() not in (name, copy)
    monkeypatch.undo()
    assert compiled.build_name() == name
    monkeypatch.setattr(compiled, "_cpu_signature", lambda: "another cpu|avx512f")
    assert compiled.build_name() != name


def test_concurrent_builds_run_one_at_a_time_and_clear_a_dead_builders_lock(tmp_path, monkeypatch):
    """The flock around the build serialises builders (two Snakemake jobs starting at once);
    torch's own lock file, left by a builder that died, does not block the next one."""
    from torch.utils import cpp_extension

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    stale = tmp_path / compiled.build_name() / "lock"
    stale.parent.mkdir(parents=True)
    stale.touch()
    active, overlap, seen = [0], [False], []
    guard = threading.Lock()

    def fake_load(name, build_directory, **_):
        with guard:
            active[0] += 1
            overlap[0] |= active[0] > 1
        seen.append((tmp_path / name / "lock").exists())
        time.sleep(0.2)
        with guard:
            active[0] -= 1
        return name

    monkeypatch.setattr(cpp_extension, "load", fake_load)
    threads = [threading.Thread(target=compiled._build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlap[0]
    assert seen == [False, False, False]
