"""The sparse tensor: features of active voxels, their coordinates and a shared map cache."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from lartpc_seg.sparse.kernel_map import KernelMap
from lartpc_seg.sparse.neighbours import NeighbourMap
from lartpc_seg.sparse.workspace import Workspace


@dataclass
class MapCache:
    """Coordinate maps and kernel maps of one input, shared by every tensor derived from it.

    Attributes
    ----------
    coords : dict[int, LongTensor (N_s, 4)]
        Active coordinates ``(batch, x, y, z)`` at each tensor stride ``s``, in units of the
        stride (a voxel at stride ``s`` covers ``s**3`` input voxels).
    maps : dict[tuple[int, str, str], KernelMap | NeighbourMap]
        Kernel maps keyed by ``(stride, kind, engine)``; ``kind`` is ``"submanifold3"``,
        ``"down2"`` (the map from stride ``s`` to ``2 s``) or ``"up2"`` (its transpose);
        ``engine`` is ``"torch"`` (a :class:`KernelMap`) or ``"compiled"`` (a
        :class:`NeighbourMap`, :mod:`lartpc_seg.sparse.neighbours`).
    workspace : Workspace or None
        Scratch buffers of the convolutions on this input, forward and backward; None: each
        convolution allocates its own.
    """

    coords: dict[int, torch.Tensor] = field(default_factory=dict)
    maps: dict[tuple[int, str, str], KernelMap | NeighbourMap] = field(default_factory=dict)
    workspace: Workspace | None = field(default_factory=Workspace)


class SparseTensor:
    """Features on a sparse set of voxels.

    Parameters
    ----------
    features : (N, C) float tensor
        One row per active voxel.
    coords : (N, 4) int64 tensor
        ``(batch, x, y, z)`` of each row, non-negative, in units of ``stride``, no duplicates.
    stride : int
        Tensor stride: 1 for the input, 2, 4, … after each down convolution.
    cache : MapCache or None
        The shared map cache; a new one is made for an input tensor.
    """

    __slots__ = ("cache", "coords", "features", "stride")

    def __init__(
        self,
        features: torch.Tensor,
        coords: torch.Tensor,
        stride: int = 1,
        cache: MapCache | None = None,
    ) -> None:
        if features.ndim != 2 or coords.shape != (features.shape[0], 4):
            raise ValueError(
                f"features must be (N, C) and coords (N, 4); got {tuple(features.shape)} and "
                f"{tuple(coords.shape)}"
            )
        self.features = features
        self.coords = coords
        self.stride = stride
        self.cache = MapCache() if cache is None else cache
        self.cache.coords.setdefault(stride, coords)

    @property
    def F(self) -> torch.Tensor:
        """The ``(N, C)`` feature matrix."""
        return self.features

    def __len__(self) -> int:
        return self.features.shape[0]

    def replace(self, features: torch.Tensor) -> SparseTensor:
        """A tensor with new ``(N, C')`` features on the same coordinates, stride and cache."""
        return SparseTensor(features, self.coords, self.stride, self.cache)

    def to_dense(self, shape: tuple[int, int, int, int]) -> torch.Tensor:
        """Scatter into a dense ``(B, C, D1, D2, D3)`` tensor for tests and displays.

        Parameters
        ----------
        shape : (B, D1, D2, D3)
            Batch size and spatial extent, in units of the tensor stride.
        """
        batch, d1, d2, d3 = shape
        dense = self.features.new_zeros((batch, d1, d2, d3, self.features.shape[1]))
        b, x, y, z = self.coords.unbind(1)
        dense[b, x, y, z] = self.features
        return dense.permute(0, 4, 1, 2, 3).contiguous()


def cat_features(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """Concatenate the features of two tensors on the same coordinates (a skip connection).

    Returns a tensor with ``(N, C_a + C_b)`` features, ``a``'s columns first.
    """
    if a.coords is not b.coords and not torch.equal(a.coords, b.coords):
        raise ValueError("cat_features needs two tensors on the same coordinates")
    return a.replace(torch.cat([a.features, b.features], dim=1))
