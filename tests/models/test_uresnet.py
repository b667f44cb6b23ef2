"""The U-ResNet: interface, row order, dense twin, config, determinism."""

from __future__ import annotations

import itertools

import pytest
import torch

from lartpc_seg.models import DenseUResNet, UResNetConfig, build_uresnet, copy_weights
from lartpc_seg.sparse.synthetic import random_coords


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


def _batch(seed: int = 0, sizes=(300, 1, 0, 120), grid: int = 24):
    g = torch.Generator().manual_seed(seed)
    coords = random_coords(list(sizes), grid, g)
    return coords, torch.rand(len(coords), 1, generator=g)


def test_forward_gives_one_row_of_logits_per_input_row_in_input_order():
    torch.manual_seed(0)
    net = build_uresnet(UResNetConfig(filters=4, depth=3)).double().eval()
    coords, energy = _batch()
    logits = net(coords, energy.double())
    assert logits.shape == (len(coords), 5)
    perm = torch.randperm(len(coords))
    torch.testing.assert_close(net(coords[perm], energy[perm].double()), logits[perm])


def test_parameter_count_follows_the_architecture():
    m, depth, reps = 4, 3, 2
    net = build_uresnet(UResNetConfig(filters=m, depth=depth, reps=reps))
    widths = [m * (i + 1) for i in range(depth)]
    conv = 27 * m  # stem
    for w in widths:  # encoder blocks: two SubMConv3 w→w, two BN(w)
        conv += reps * (2 * 27 * w * w + 4 * w)
    for a, b in itertools.pairwise(widths):  # down + up, BN before each
        conv += 8 * a * b + 2 * a + 8 * b * a + 2 * b
    for w in widths[:-1]:  # decoder: first block 2w→w with a linear shortcut
        conv += 2 * w * w + 2 * 2 * w + 27 * 2 * w * w + 2 * w + 27 * w * w
        conv += (reps - 1) * (2 * 27 * w * w + 4 * w)
    conv += 2 * m + m * 5 + 5  # head: BN, linear with bias
    assert sum(p.numel() for p in net.parameters()) == conv


@pytest.mark.parametrize("training", [True, False])
def test_sparse_equals_dense_twin_on_a_fully_active_grid(training):
    torch.manual_seed(1)
    config = UResNetConfig(filters=3, depth=3, leaky_slope=0.1)
    sparse = build_uresnet(config).double().train(training)
    dense = DenseUResNet(config).double().train(training)
    copy_weights(sparse, dense)
    grid, batch = 8, 2
    b, x, y, z = torch.meshgrid(
        *(torch.arange(n) for n in (batch, grid, grid, grid)), indexing="ij"
    )
    coords = torch.stack([b, x, y, z], -1).reshape(-1, 4)
    volume = torch.randn(batch, 1, grid, grid, grid, dtype=torch.float64)
    features = volume.permute(0, 2, 3, 4, 1).reshape(-1, 1).clone().requires_grad_(True)
    volume_leaf = volume.clone().requires_grad_(True)
    out_sparse = sparse(coords, features)
    out_dense = dense(volume_leaf).permute(0, 2, 3, 4, 1).reshape(-1, 5)
    torch.testing.assert_close(out_sparse, out_dense, rtol=1e-9, atol=1e-9)
    out_sparse.square().sum().backward()
    out_dense.square().sum().backward()
    torch.testing.assert_close(
        features.grad, volume_leaf.grad.permute(0, 2, 3, 4, 1).reshape(-1, 1), rtol=1e-8, atol=1e-9
    )
    pairs = zip(_leaf_layers(sparse), _leaf_layers(dense), strict=True)
    for (name, s_layer), (_, d_layer) in pairs:
        for key, grad in _canonical_grads(s_layer).items():
            want = _canonical_grads(d_layer)[key]
            torch.testing.assert_close(grad, want, rtol=1e-8, atol=1e-9, msg=f"{name}.{key}")


def _leaf_layers(net):
    return [(n, m) for n, m in net.named_modules() if hasattr(m, "export_state")]


def _canonical_grads(layer) -> dict[str, torch.Tensor]:
    """The layer's parameter gradients in the canonical layout of ``export_state``."""
    saved = {n: p.detach().clone() for n, p in layer.named_parameters()}
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(p.grad)
        state = {k: v.clone() for k, v in layer.export_state().items() if k in saved}
        for n, p in layer.named_parameters():
            p.copy_(saved[n])
    return state


def test_copy_weights_round_trip_is_exact():
    config = UResNetConfig(filters=3, depth=2)
    a, b = build_uresnet(config), build_uresnet(config)
    dense = DenseUResNet(config)
    copy_weights(a, dense)
    copy_weights(dense, b)
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)
    with pytest.raises(ValueError, match="same layers"):
        copy_weights(a, build_uresnet(UResNetConfig(filters=3, depth=3)))


def test_config_from_dict_rejects_unknown_keys_and_bad_values():
    cfg = UResNetConfig.from_dict({"filters": 32, "leaky_slope": 0.33, "bn_momentum": 0.01})
    assert (cfg.filters, cfg.depth, cfg.reps, cfg.num_classes) == (32, 5, 2, 5)
    with pytest.raises(ValueError, match="unknown"):
        UResNetConfig.from_dict({"filter": 16})
    with pytest.raises(ValueError, match="backend"):
        UResNetConfig.from_dict({"backend": "spconv"})
    with pytest.raises(ValueError, match="depth"):
        UResNetConfig(depth=0)


def _train_step(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    net = build_uresnet(UResNetConfig(filters=4, depth=3))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    coords, energy = _batch(seed=5)
    labels = torch.randint(0, 5, (len(coords),), generator=torch.Generator().manual_seed(2))
    logits = net(coords, energy)
    torch.nn.functional.cross_entropy(logits, labels).backward()
    opt.step()
    return logits.detach(), torch.cat([p.detach().flatten() for p in net.parameters()])


def test_same_seed_and_threads_give_identical_forward_and_training_step():
    a = _train_step(3)
    b = _train_step(3)
    assert torch.equal(a[0], b[0])
    assert torch.equal(a[1], b[1])


def test_rejects_duplicate_voxels():
    net = build_uresnet(UResNetConfig(filters=2, depth=2))
    coords = torch.tensor([[0, 1, 1, 1], [0, 1, 1, 1]])
    with pytest.raises(ValueError, match="duplicate"):
        net(coords, torch.ones(2, 1))
