"""Layers of the built-in engine: each takes and returns a :class:`SparseTensor`."""

from __future__ import annotations

import math

import torch
from torch import nn

from lartpc_seg.sparse import compiled
from lartpc_seg.sparse.functional import sparse_conv
from lartpc_seg.sparse.kernel_map import KernelMap, down_map, submanifold_map
from lartpc_seg.sparse.neighbours import NeighbourMap, down_neighbours, submanifold_neighbours
from lartpc_seg.sparse.tensor import SparseTensor

#: name under which :mod:`torch.profiler` records the building of a kernel map
KERNEL_MAP_SCOPE = "lartpc_seg.kernel_map"


def _init_weight(volume: int, c_in: int, c_out: int) -> nn.Parameter:
    # He initialisation over the fan-in of one output (volume × C_in inputs)
    w = torch.empty(volume, c_in, c_out)
    nn.init.normal_(w, std=math.sqrt(2.0 / (volume * c_in)))
    return nn.Parameter(w)


def _engine(x: SparseTensor) -> str:
    """``"compiled"`` or ``"torch"``: which kernels convolve ``x`` (:mod:`.compiled`)."""
    return "compiled" if compiled.use_compiled(x.features) else "torch"


def _submanifold_kmap(x: SparseTensor) -> KernelMap | NeighbourMap:
    engine = _engine(x)
    key = (x.stride, "submanifold3", engine)
    kmap = x.cache.maps.get(key)
    if kmap is None:
        build = submanifold_neighbours if engine == "compiled" else submanifold_map
        with torch.profiler.record_function(KERNEL_MAP_SCOPE):
            kmap = x.cache.maps[key] = build(x.coords)
    return kmap


def _down_kmap(x: SparseTensor) -> KernelMap | NeighbourMap:
    """The map from stride s to 2 s, building (and caching) the coarse coordinates."""
    engine = _engine(x)
    key = (x.stride, "down2", engine)
    kmap = x.cache.maps.get(key)
    if kmap is None:
        build = down_neighbours if engine == "compiled" else down_map
        with torch.profiler.record_function(KERNEL_MAP_SCOPE):
            coarse, kmap = build(x.coords)
        x.cache.maps[key] = kmap
        x.cache.coords.setdefault(2 * x.stride, coarse)
    return kmap


def _up_kmap(x: SparseTensor) -> KernelMap | NeighbourMap:
    """The transposed map of the down convolution that made ``x``'s stride."""
    engine = _engine(x)
    fine = x.stride // 2
    down = x.cache.maps.get((fine, "down2", engine)) if x.stride >= 2 else None
    if down is None:
        raise ValueError(f"no finer coordinates cached below stride {x.stride}")
    key = (fine, "up2", engine)
    kmap = x.cache.maps.get(key)
    if kmap is None:
        if isinstance(down, NeighbourMap):
            kmap = down.transposed()
        else:
            kmap = down.transposed(x.cache.coords[fine].shape[0])
        x.cache.maps[key] = kmap
    return kmap


class _ConvState:
    weight: nn.Parameter

    def export_state(self) -> dict[str, torch.Tensor]:
        """Weights in the canonical layout: ``{"weight": (K, C_in, C_out)}``."""
        return {"weight": self.weight.detach()}

    def import_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load weights from :meth:`export_state` of any backend's twin layer."""
        with torch.no_grad():
            self.weight.copy_(state["weight"])


class SubmanifoldConv3d(_ConvState, nn.Module):
    """3×3×3 submanifold convolution, no bias: output sites = input sites.

    ``weight`` is ``(27, C_in, C_out)``, offsets in :mod:`lartpc_seg.sparse.kernel_map` order.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.weight = _init_weight(27, in_channels, out_channels)

    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace(
            sparse_conv(x.features, self.weight, _submanifold_kmap(x), x.cache.workspace)
        )


class DownConv3d(_ConvState, nn.Module):
    """Convolution k=2 s=2, no bias: stride s → 2 s, output sites ``floor(coords / 2)``.

    ``weight`` is ``(8, C_in, C_out)``; ``weight[k] == conv3d_weight[:, :, kx, ky, kz].T``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.weight = _init_weight(8, in_channels, out_channels)

    def forward(self, x: SparseTensor) -> SparseTensor:
        kmap = _down_kmap(x)
        out = sparse_conv(x.features, self.weight, kmap, x.cache.workspace)
        return SparseTensor(out, x.cache.coords[2 * x.stride], 2 * x.stride, x.cache)


class UpConv3d(_ConvState, nn.Module):
    """Transposed convolution k=2 s=2, no bias, back onto the finer sites cached by the encoder.

    ``weight`` is ``(8, C_in, C_out)``; ``weight[k] == conv_transpose3d_weight[:, :, kx, ky, kz]``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.weight = _init_weight(8, in_channels, out_channels)

    def forward(self, x: SparseTensor) -> SparseTensor:
        kmap = _up_kmap(x)
        out = sparse_conv(x.features, self.weight, kmap, x.cache.workspace)
        fine = x.stride // 2
        return SparseTensor(out, x.cache.coords[fine], fine, x.cache)


class TensorState:
    """Mixin: ``export_state``/``import_state`` of a layer whose state dict is canonical."""

    def export_state(self) -> dict[str, torch.Tensor]:
        """Parameters and buffers by name (the layout is the same on every backend)."""
        return {k: v.detach() for k, v in self.state_dict().items()}

    def import_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load what :meth:`export_state` of a twin layer returned."""
        self.load_state_dict(state)


def batch_norm_rows(bn: nn.Module, f: torch.Tensor) -> torch.Tensor:
    """``bn`` (a ``BatchNorm1d`` or ``SyncBatchNorm``) on an ``(N, C)`` matrix, also for N ≤ 1.

    With one row in training mode (a single coarse voxel deep in the U-Net) the batch variance
    is zero: the output is the BN bias and the running statistics are left alone, where
    ``BatchNorm1d`` would raise. Shared with the MinkowskiEngine adapter so both agree. A
    normalisation whose statistics span several workers (``spans_workers``) is always called:
    it handles any row count, and skipping its collective would stall the other workers.
    """
    if bn.training and f.shape[0] <= 1 and not getattr(bn, "spans_workers", False):
        centred = f - f.mean(dim=0, keepdim=True) if f.shape[0] else f
        y = centred / torch.sqrt(bn.running_var.new_full((), bn.eps))
        return y * bn.weight + bn.bias
    return bn(f)


class BatchNorm(nn.Module):
    """Batch normalisation of the ``(N, C)`` feature matrix of a sparse tensor.

    The statistics live in the child ``bn`` (an ``nn.BatchNorm1d``), so
    ``nn.SyncBatchNorm.convert_sync_batchnorm`` replaces it for distributed training; a single
    row in training mode is handled by :func:`batch_norm_rows`.
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(channels, eps=eps, momentum=momentum)

    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace(batch_norm_rows(self.bn, x.features))

    def export_state(self) -> dict[str, torch.Tensor]:
        """Parameters and buffers of ``bn`` by name (same layout on every backend)."""
        return {k: v.detach() for k, v in self.bn.state_dict().items()}

    def import_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load what :meth:`export_state` of a twin layer returned."""
        self.bn.load_state_dict(state)


class Activation(nn.Module):
    """ReLU (``slope == 0``) or leaky ReLU on the features.

    With ``inplace`` the features are overwritten (no second ``(N, C)`` matrix kept for the
    backward); the U-ResNet applies it only to fresh batch-norm outputs, and autograd's
    version check raises if the input were needed elsewhere.
    """

    def __init__(self, slope: float = 0.0, inplace: bool = False) -> None:
        super().__init__()
        self.slope = slope
        self.inplace = inplace

    def forward(self, x: SparseTensor) -> SparseTensor:
        f = x.features
        if self.slope == 0.0:
            return x.replace(torch.relu_(f) if self.inplace else torch.relu(f))
        return x.replace(nn.functional.leaky_relu(f, self.slope, inplace=self.inplace))

    def extra_repr(self) -> str:
        return f"slope={self.slope}, inplace={self.inplace}"


class Linear(TensorState, nn.Linear):
    """A 1×1 convolution (``nn.Linear`` on the features); ``weight`` is ``(C_out, C_in)``."""

    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace(super().forward(x.features))
