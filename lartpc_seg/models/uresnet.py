"""The U-ResNet, written once against the backend interface of :mod:`lartpc_seg.sparse.backend`.

Architecture (docs/study.md §3; the original code's SparseConvNet ``UNet`` with residual blocks):

- stem: submanifold conv 3×3×3, ``in_channels → m``;
- encoder level ``l`` (width ``w_l = (l + 1) m``): ``reps`` pre-activation residual blocks
  (BN → act → SubMConv3 → BN → act → SubMConv3, plus the identity or, when widths differ, a
  1×1 linear without bias); then, except at the last level, Down: BN → act → conv k2 s2
  ``w_l → w_{l+1}``;
- decoder level ``l``: Up: BN → act → transposed conv k2 s2 ``w_{l+1} → w_l``, concatenate
  [skip, up] (``2 w_l`` channels), ``reps`` residual blocks (the first ``2 w_l → w_l``);
- head: BN → act → linear ``m → num_classes``.

No convolution has a bias. The final linear classifier keeps its bias (as the original code's
``torch.nn.Linear(m, num_classes)``); it is the only bias in the network.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from lartpc_seg.models.config import UResNetConfig
from lartpc_seg.sparse.backend import Backend, get_backend


class ResidualBlock(nn.Module):
    """Pre-activation residual block ``a → b`` channels."""

    def __init__(self, backend: Backend, a: int, b: int, config: UResNetConfig) -> None:
        super().__init__()
        self.backend = backend
        self.shortcut = nn.Identity() if a == b else backend.linear(a, b, bias=False)
        self.body = nn.Sequential(
            _bn_act(backend, a, config),
            backend.submanifold(a, b),
            _bn_act(backend, b, config),
            backend.submanifold(b, b),
        )

    def forward(self, x):
        return self.backend.add(self.shortcut(x), self.body(x))


def _bn_act(backend: Backend, c: int, config: UResNetConfig) -> nn.Sequential:
    return backend.batch_norm_activation(c, config.bn_momentum, config.bn_eps, config.leaky_slope)


def _blocks(backend: Backend, a: int, b: int, config: UResNetConfig) -> nn.Sequential:
    return nn.Sequential(
        *(ResidualBlock(backend, a if i == 0 else b, b, config) for i in range(config.reps))
    )


class _UResNetLayers(nn.Module):
    """The layers, shared by the sparse and the dense network."""

    def __init__(self, config: UResNetConfig, backend: Backend) -> None:
        super().__init__()
        self.config = config
        self.backend = backend
        widths = [config.filters * (level + 1) for level in range(config.depth)]
        self.stem = backend.submanifold(config.in_channels, widths[0])
        self.encoder = nn.ModuleList(_blocks(backend, w, w, config) for w in widths)
        self.down = nn.ModuleList(
            nn.Sequential(_bn_act(backend, a, config), backend.down(a, b))
            for a, b in itertools.pairwise(widths)
        )
        self.up = nn.ModuleList(
            nn.Sequential(_bn_act(backend, b, config), backend.up(b, a))
            for a, b in itertools.pairwise(widths)
        )
        self.decoder = nn.ModuleList(_blocks(backend, 2 * w, w, config) for w in widths[:-1])
        self.head = nn.Sequential(
            _bn_act(backend, widths[0], config),
            backend.linear(widths[0], config.num_classes, bias=True),
        )

    def _forward_tensor(self, x):
        x = self.stem(x)
        skips = []
        for level, blocks in enumerate(self.encoder):
            x = blocks(x)
            if level < len(self.down):
                skips.append(x)
                x = self.down[level](x)
        for level in reversed(range(len(self.up))):
            x = self.backend.cat(skips[level], self.up[level](x))
            x = self.decoder[level](x)
        return self.head(x)


class UResNet(_UResNetLayers):
    """Sparse U-ResNet on the backend ``config.backend``.

    ``forward(coords, features) -> logits``:

    Parameters
    ----------
    coords : (N, 4) int64
        ``(batch, x, y, z)`` voxel indices of all events of a batch, non-negative, no
        duplicate voxels (a ``ValueError`` otherwise); any row order.
    features : (N, in_channels) float
        The voxel features (the deposited energy in MeV).

    Returns
    -------
    logits : (N, num_classes) float
        Class scores, row ``i`` for input row ``i`` (same order as the input, on every backend).
    """

    def forward(self, coords: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        x, state = self.backend.wrap(coords, features)
        return self.backend.unwrap(self._forward_tensor(x), state)


class DenseUResNet(_UResNetLayers):
    """The dense twin: the same layers as ``nn.Conv3d`` / ``nn.ConvTranspose3d`` / ``BatchNorm3d``.

    ``forward(dense)`` maps ``(B, in_channels, D, D, D)`` to ``(B, num_classes, D, D, D)``; ``D``
    must be divisible by ``2 ** (depth - 1)``. ``config.backend`` is ignored.
    """

    def __init__(self, config: UResNetConfig) -> None:
        super().__init__(config, get_backend("dense"))

    def forward(self, dense: torch.Tensor) -> torch.Tensor:
        return self._forward_tensor(dense)


def build_uresnet(config: UResNetConfig) -> UResNet:
    """The sparse U-ResNet for ``config`` on ``config.backend``; see :class:`UResNet`."""
    return UResNet(config, get_backend(config.backend))
