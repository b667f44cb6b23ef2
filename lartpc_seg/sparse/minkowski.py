"""MinkowskiEngine behind the backend interface of :mod:`lartpc_seg.sparse.backend`.

Optional: importing this module needs MinkowskiEngine 0.5.4 (``make minkowski``). ME uses
``collections.Sequence`` etc., removed in Python 3.10; they are aliased to ``collections.abc``
before ME is imported.

Weights. ME stores a convolution kernel as ``(K, C_in, C_out)`` like the built-in engine, but
enumerates kernel offsets in another order. :data:`ME_TO_BUILTIN` maps ME's offset index to the
built-in one: ``builtin_weight[ME_TO_BUILTIN[k_me]] == me_kernel[k_me]``. ME enumerates offsets
with the first spatial axis (x) varying fastest, ``k_me = kx + n ky + n² kz``, where the built-in
order has z fastest, ``k = n² kx + n ky + kz`` (``n`` = kernel size; 3 for the submanifold, 2
for the down/up convolutions; ``(kx, ky, kz)`` index the dense kernel as in
:mod:`lartpc_seg.sparse.kernel_map`). ``export_state`` / ``import_state`` apply the permutation,
so :func:`lartpc_seg.models.convert.copy_weights` works across backends.
"""

from __future__ import annotations

import collections
import collections.abc

for _name in ("Sequence", "Iterable", "Mapping"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

import MinkowskiEngine as ME  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from lartpc_seg.sparse.kernel_map import check_coords  # noqa: E402
from lartpc_seg.sparse.layers import BatchNorm, batch_norm_rows  # noqa: E402

DIMENSION = 3


def me_to_builtin(size: int) -> torch.Tensor:
    """``(size**3,)`` int64: the built-in offset index of each ME offset index."""
    r = torch.arange(size)
    kz, ky, kx = torch.meshgrid(r, r, r, indexing="ij")  # ME order: x fastest
    return ((kx * size + ky) * size + kz).reshape(-1)


#: ME offset index → built-in offset index, per kernel size
ME_TO_BUILTIN = {3: me_to_builtin(3), 2: me_to_builtin(2)}


class _KernelState:
    kernel: nn.Parameter
    _size: int

    def export_state(self) -> dict[str, torch.Tensor]:
        """Kernel in the canonical layout ``{"weight": (K, C_in, C_out)}``, built-in order."""
        perm = ME_TO_BUILTIN[self._size]
        w = torch.empty_like(self.kernel.detach())
        w[perm] = self.kernel.detach()
        return {"weight": w}

    def import_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load a canonical (built-in order) weight."""
        with torch.no_grad():
            self.kernel.copy_(state["weight"][ME_TO_BUILTIN[self._size]])


class MinkowskiSubmanifold(_KernelState, ME.MinkowskiConvolution):
    """3×3×3 stride-1 convolution (ME's default is submanifold: output sites = input sites)."""

    _size = 3

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, kernel_size=3, stride=1, bias=False, dimension=DIMENSION)


class MinkowskiDown(_KernelState, ME.MinkowskiConvolution):
    """k=2 s=2 convolution."""

    _size = 2

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, kernel_size=2, stride=2, bias=False, dimension=DIMENSION)


class MinkowskiUp(_KernelState, ME.MinkowskiConvolutionTranspose):
    """k=2 s=2 transposed convolution onto the finer sites the encoder created."""

    _size = 2

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, kernel_size=2, stride=2, bias=False, dimension=DIMENSION)


def _like(x: ME.SparseTensor, features: torch.Tensor) -> ME.SparseTensor:
    return ME.SparseTensor(
        features, coordinate_map_key=x.coordinate_map_key, coordinate_manager=x.coordinate_manager
    )


class MinkowskiBatchNorm(BatchNorm):
    """Batch norm of ``x.F`` (the built-in layer's child ``bn`` and single-row rule)."""

    def forward(self, x: ME.SparseTensor) -> ME.SparseTensor:
        return _like(x, batch_norm_rows(self.bn, x.F))


class MinkowskiActivation(nn.Module):
    """ReLU or leaky ReLU on ``x.F``."""

    def __init__(self, slope: float) -> None:
        super().__init__()
        self.slope = slope

    def forward(self, x: ME.SparseTensor) -> ME.SparseTensor:
        f = x.F
        return _like(
            x, torch.relu(f) if self.slope == 0.0 else nn.functional.leaky_relu(f, self.slope)
        )


class MinkowskiLinear(nn.Linear):
    """``nn.Linear`` on ``x.F``; weight ``(C_out, C_in)``."""

    def forward(self, x: ME.SparseTensor) -> ME.SparseTensor:
        return _like(x, super().forward(x.F))

    def export_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.state_dict().items()}

    def import_state(self, state: dict[str, torch.Tensor]) -> None:
        self.load_state_dict(state)


class MinkowskiBackend:
    """The MinkowskiEngine backend (CPU or CUDA, as ME was built)."""

    name = "minkowski"

    def submanifold(self, c_in: int, c_out: int) -> nn.Module:
        return MinkowskiSubmanifold(c_in, c_out)

    def down(self, c_in: int, c_out: int) -> nn.Module:
        return MinkowskiDown(c_in, c_out)

    def up(self, c_in: int, c_out: int) -> nn.Module:
        return MinkowskiUp(c_in, c_out)

    def batch_norm(self, c: int, momentum: float, eps: float) -> nn.Module:
        return MinkowskiBatchNorm(c, eps=eps, momentum=momentum)

    def activation(self, slope: float) -> nn.Module:
        return MinkowskiActivation(slope)

    def batch_norm_activation(
        self, c: int, momentum: float, eps: float, slope: float
    ) -> nn.Sequential:
        return nn.Sequential(self.batch_norm(c, momentum, eps), self.activation(slope))

    def linear(self, c_in: int, c_out: int, bias: bool) -> nn.Module:
        return MinkowskiLinear(c_in, c_out, bias=bias)

    def wrap(
        self, coords: torch.Tensor, features: torch.Tensor
    ) -> tuple[ME.SparseTensor, torch.Tensor]:
        """ME tensor of the input; the state is ME's inverse mapping (its row order → ours)."""
        check_coords(coords)
        x = ME.SparseTensor(features, coordinates=coords.to(torch.int32).contiguous())
        return x, x.inverse_mapping

    def unwrap(self, x: ME.SparseTensor, inverse: torch.Tensor) -> torch.Tensor:
        return x.F[inverse]

    def cat(self, a: ME.SparseTensor, b: ME.SparseTensor) -> ME.SparseTensor:
        return ME.cat(a, b)

    def add(self, a: ME.SparseTensor, b: ME.SparseTensor) -> ME.SparseTensor:
        return a + b
