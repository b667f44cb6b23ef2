"""The MinkowskiEngine backend equals the built-in engine, per op and for the U-ResNet (float64)."""

from __future__ import annotations

import pytest
import torch

from lartpc_seg.models import UResNetConfig, build_uresnet, copy_weights
from lartpc_seg.sparse import SparseTensor
from lartpc_seg.sparse.layers import DownConv3d, SubmanifoldConv3d, UpConv3d
from lartpc_seg.sparse.synthetic import random_coords

pytestmark = pytest.mark.minkowski
TOL = {"rtol": 1e-9, "atol": 1e-9}


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


def _inputs(seed: int, c_in: int = 3):
    g = torch.Generator().manual_seed(seed)
    coords = random_coords([150, 1, 40], 12, g)
    x = torch.randn(len(coords), c_in, generator=g, dtype=torch.float64)
    return g, coords, x


def _me_tensor(minkowski, coords, features):
    backend = minkowski.MinkowskiBackend()
    return backend.wrap(coords, features)


def _by_coords(me_tensor, coords_order):
    """ME output rows rearranged to the row order of ``coords_order`` (N, 4)."""
    me_coords = me_tensor.C.to(torch.int64)
    me_coords[:, 1:] //= me_tensor.tensor_stride[0]
    index = {tuple(c): i for i, c in enumerate(me_coords.tolist())}
    return me_tensor.F[torch.tensor([index[tuple(c)] for c in coords_order.tolist()])]


@pytest.mark.parametrize("layer_cls", ["submanifold", "down"])
def test_conv_ops_match_builtin(minkowski, layer_cls):
    g, coords, x = _inputs(0)
    builtin = (SubmanifoldConv3d if layer_cls == "submanifold" else DownConv3d)(3, 4).double()
    me_layer = (
        minkowski.MinkowskiSubmanifold if layer_cls == "submanifold" else minkowski.MinkowskiDown
    )(3, 4).double()
    with torch.no_grad():
        builtin.weight.normal_(generator=g)
    me_layer.import_state(builtin.export_state())
    xb = x.clone().requires_grad_(True)
    xm = x.clone().requires_grad_(True)
    out_b = builtin(SparseTensor(xb, coords))
    st, _inverse = _me_tensor(minkowski, coords, xm)
    out_m = me_layer(st)
    got = _by_coords(out_m, out_b.coords)
    torch.testing.assert_close(got, out_b.features, **TOL)
    grad = torch.randn(out_b.features.shape, generator=g, dtype=torch.float64)
    (out_b.features * grad).sum().backward()
    (got * grad).sum().backward()
    torch.testing.assert_close(xm.grad, xb.grad, **TOL)
    torch.testing.assert_close(me_layer.export_state()["weight"], builtin.weight.detach())
    grad_me = torch.empty_like(builtin.weight)
    grad_me[minkowski.ME_TO_BUILTIN[me_layer._size]] = me_layer.kernel.grad
    torch.testing.assert_close(grad_me, builtin.weight.grad, **TOL)


def test_up_op_matches_builtin(minkowski):
    g, coords, x = _inputs(1)
    down_b, up_b = DownConv3d(3, 3).double(), UpConv3d(3, 4).double()
    down_m, up_m = minkowski.MinkowskiDown(3, 3).double(), minkowski.MinkowskiUp(3, 4).double()
    for b, m in ((down_b, down_m), (up_b, up_m)):
        with torch.no_grad():
            b.weight.normal_(generator=g)
        m.import_state(b.export_state())
    out_b = up_b(down_b(SparseTensor(x, coords)))
    st, inverse = _me_tensor(minkowski, coords, x)
    out_m = up_m(down_m(st))
    assert out_m.coordinate_map_key == st.coordinate_map_key
    torch.testing.assert_close(out_m.F[inverse], out_b.features, **TOL)


@pytest.mark.slow
def test_uresnet_matches_builtin_forward_and_gradients(minkowski):
    torch.manual_seed(0)
    config = UResNetConfig(filters=4, depth=3, leaky_slope=0.33)
    builtin = build_uresnet(config).double()
    me_net = build_uresnet(UResNetConfig(**{**config.to_dict(), "backend": "minkowski"})).double()
    copy_weights(builtin, me_net)
    _, coords, x = _inputs(2, c_in=1)
    labels = torch.randint(0, 5, (len(coords),))
    outs = []
    for net in (builtin, me_net):
        logits = net(coords, x)
        torch.nn.functional.cross_entropy(logits, labels).backward()
        outs.append(logits)
    torch.testing.assert_close(outs[1], outs[0], **TOL)
    layers_b = [m for _, m in builtin.named_modules() if hasattr(m, "export_state")]
    layers_m = [m for _, m in me_net.named_modules() if hasattr(m, "export_state")]
    for lb, lm in zip(layers_b, layers_m, strict=True):
        if hasattr(lm, "kernel"):
            grad_m = torch.empty_like(lb.weight)
            grad_m[minkowski.ME_TO_BUILTIN[lm._size]] = lm.kernel.grad
            torch.testing.assert_close(grad_m, lb.weight.grad, **TOL)
        else:
            for pb, pm in zip(lb.parameters(), lm.parameters(), strict=True):
                torch.testing.assert_close(pm.grad, pb.grad, **TOL)
