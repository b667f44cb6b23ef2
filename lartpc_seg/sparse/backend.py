"""The backend interface: one object that builds every layer the U-ResNet needs.

A backend provides the layers (submanifold conv, down conv, up conv, batch norm, activation,
linear), how to wrap ``(coords, features)`` into its tensor type and unwrap the result in the
input's row order, and the skip-connection operations. Every parametrised layer has
``export_state()`` / ``import_state(state)`` in a canonical layout (conv weights
``(K, C_in, C_out)`` in :mod:`lartpc_seg.sparse.kernel_map` offset order), so weights can be
copied between backends (:func:`lartpc_seg.models.convert.copy_weights`).

Backends: ``"torch"`` (the built-in engine: compiled kernels on CPU, pure PyTorch otherwise,
:mod:`lartpc_seg.sparse.compiled`), ``"minkowski"``
(:mod:`lartpc_seg.sparse.minkowski`, needs MinkowskiEngine) and ``"dense"`` (``nn.Conv3d``
twins on ``(B, C, D, D, D)`` tensors, for the sparse-vs-dense benchmark).
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn

from lartpc_seg.sparse import layers
from lartpc_seg.sparse.kernel_map import check_coords
from lartpc_seg.sparse.norm import BatchNormActivation
from lartpc_seg.sparse.tensor import SparseTensor, cat_features


class Backend(Protocol):
    """What a backend provides (all channel counts are ints, ``slope`` 0 means ReLU)."""

    name: str

    def submanifold(self, c_in: int, c_out: int) -> nn.Module: ...
    def down(self, c_in: int, c_out: int) -> nn.Module: ...
    def up(self, c_in: int, c_out: int) -> nn.Module: ...
    def batch_norm(self, c: int, momentum: float, eps: float) -> nn.Module: ...
    def activation(self, slope: float) -> nn.Module: ...
    def batch_norm_activation(
        self, c: int, momentum: float, eps: float, slope: float
    ) -> nn.Sequential:
        """``nn.Sequential(batch_norm(c, momentum, eps), activation(slope))`` or a module with
        that state that computes the same."""

    def linear(self, c_in: int, c_out: int, bias: bool) -> nn.Module: ...

    def wrap(self, coords: torch.Tensor, features: torch.Tensor) -> tuple[Any, Any]:
        """``(N, 4)`` int64 coords and ``(N, C)`` features → (backend tensor, unwrap state)."""

    def unwrap(self, x: Any, state: Any) -> torch.Tensor:
        """Backend tensor → ``(N, C)`` features in the row order given to :meth:`wrap`."""

    def cat(self, a: Any, b: Any) -> Any:
        """Concatenate channels of two tensors on the same sites (``a`` first)."""

    def add(self, a: Any, b: Any) -> Any:
        """Element-wise sum of two tensors on the same sites."""


class TorchBackend:
    """The built-in engine (:mod:`lartpc_seg.sparse`)."""

    name = "torch"

    def submanifold(self, c_in: int, c_out: int) -> nn.Module:
        return layers.SubmanifoldConv3d(c_in, c_out)

    def down(self, c_in: int, c_out: int) -> nn.Module:
        return layers.DownConv3d(c_in, c_out)

    def up(self, c_in: int, c_out: int) -> nn.Module:
        return layers.UpConv3d(c_in, c_out)

    def batch_norm(self, c: int, momentum: float, eps: float) -> nn.Module:
        return layers.BatchNorm(c, eps=eps, momentum=momentum)

    def activation(self, slope: float) -> nn.Module:
        # the U-ResNet puts every activation right after a batch norm: in place is safe
        return layers.Activation(slope, inplace=True)

    def batch_norm_activation(
        self, c: int, momentum: float, eps: float, slope: float
    ) -> nn.Sequential:
        """Fused into one compiled pass where it can be (:mod:`lartpc_seg.sparse.norm`)."""
        return BatchNormActivation(self.batch_norm(c, momentum, eps), self.activation(slope))

    def linear(self, c_in: int, c_out: int, bias: bool) -> nn.Module:
        return layers.Linear(c_in, c_out, bias=bias)

    def wrap(
        self, coords: torch.Tensor, features: torch.Tensor
    ) -> tuple[SparseTensor, torch.Tensor | None]:
        """Rows sorted by packed key (the kernel maps are built faster on sorted sites)."""
        order = check_coords(coords)
        if order is None:
            return SparseTensor(features, coords), None
        return SparseTensor(features.index_select(0, order), coords[order]), order

    def unwrap(self, x: SparseTensor, order: torch.Tensor | None) -> torch.Tensor:
        if order is None:
            return x.features
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(order.shape[0], device=order.device)
        return x.features.index_select(0, inverse)

    def cat(self, a: SparseTensor, b: SparseTensor) -> SparseTensor:
        return cat_features(a, b)

    def add(self, a: SparseTensor, b: SparseTensor) -> SparseTensor:
        return a.replace(a.features + b.features)


def _dense_layout(weight: torch.Tensor, transposed: bool) -> torch.Tensor:
    """Dense ``Conv3d`` ``(C_out, C_in, n, n, n)`` or ``ConvTranspose3d`` ``(C_in, C_out, …)``
    weight → canonical ``(K, C_in, C_out)``."""
    w = weight.flatten(2)  # (A, B, K)
    return w.permute(2, 0, 1) if transposed else w.permute(2, 1, 0)


class _DenseConv(nn.Conv3d):
    def export_state(self) -> dict[str, torch.Tensor]:
        return {"weight": _dense_layout(self.weight.detach(), transposed=False)}

    def import_state(self, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            self.weight.copy_(state["weight"].permute(2, 1, 0).reshape(self.weight.shape))


class _DenseConvTranspose(nn.ConvTranspose3d):
    def export_state(self) -> dict[str, torch.Tensor]:
        return {"weight": _dense_layout(self.weight.detach(), transposed=True)}

    def import_state(self, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            self.weight.copy_(state["weight"].permute(1, 2, 0).reshape(self.weight.shape))


class _DenseBatchNorm(layers.TensorState, nn.BatchNorm3d):
    pass


class _DenseLinear(nn.Conv3d):
    """1×1×1 convolution whose state matches ``nn.Linear`` (weight ``(C_out, C_in)``)."""

    def export_state(self) -> dict[str, torch.Tensor]:
        state = {"weight": self.weight.detach().flatten(1)}
        if self.bias is not None:
            state["bias"] = self.bias.detach()
        return state

    def import_state(self, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            self.weight.copy_(state["weight"].reshape(self.weight.shape))
            if self.bias is not None:
                self.bias.copy_(state["bias"])


class _DenseActivation(nn.Module):
    def __init__(self, slope: float) -> None:
        super().__init__()
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) if self.slope == 0.0 else nn.functional.leaky_relu(x, self.slope)


class DenseBackend:
    """Dense ``nn.Conv3d`` twins of every layer, on ``(B, C, D, D, D)`` tensors."""

    name = "dense"

    def submanifold(self, c_in: int, c_out: int) -> nn.Module:
        return _DenseConv(c_in, c_out, 3, padding=1, bias=False)

    def down(self, c_in: int, c_out: int) -> nn.Module:
        return _DenseConv(c_in, c_out, 2, stride=2, bias=False)

    def up(self, c_in: int, c_out: int) -> nn.Module:
        return _DenseConvTranspose(c_in, c_out, 2, stride=2, bias=False)

    def batch_norm(self, c: int, momentum: float, eps: float) -> nn.Module:
        return _DenseBatchNorm(c, eps=eps, momentum=momentum)

    def activation(self, slope: float) -> nn.Module:
        return _DenseActivation(slope)

    def batch_norm_activation(
        self, c: int, momentum: float, eps: float, slope: float
    ) -> nn.Sequential:
        return nn.Sequential(self.batch_norm(c, momentum, eps), self.activation(slope))

    def linear(self, c_in: int, c_out: int, bias: bool) -> nn.Module:
        return _DenseLinear(c_in, c_out, 1, bias=bias)

    def cat(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.cat([a, b], dim=1)

    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


BACKENDS = ("torch", "minkowski", "dense")


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (one of :data:`BACKENDS`).

    Raises
    ------
    ValueError
        For an unknown name.
    ImportError
        For ``"minkowski"`` when MinkowskiEngine cannot be imported.
    """
    if name == "torch":
        return TorchBackend()
    if name == "dense":
        return DenseBackend()
    if name == "minkowski":
        from lartpc_seg.sparse.minkowski import MinkowskiBackend

        return MinkowskiBackend()
    raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
