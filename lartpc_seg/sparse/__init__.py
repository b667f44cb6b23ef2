"""A pure-PyTorch sparse convolution engine (CPU and CUDA alike).

A :class:`SparseTensor` holds the features of the active voxels, their integer coordinates and
a cache of coordinate and kernel maps shared by every tensor derived from the same input, so the
decoder reuses the maps the encoder built. Convolutions gather input rows per kernel offset,
multiply by the offset's ``(C_in, C_out)`` weight and scatter into the output rows
(:mod:`lartpc_seg.sparse.functional`); the layers in :mod:`lartpc_seg.sparse.layers` wrap them.
"""

from lartpc_seg.sparse.kernel_map import KernelMap
from lartpc_seg.sparse.tensor import MapCache, SparseTensor, cat_features

__all__ = ["KernelMap", "MapCache", "SparseTensor", "cat_features"]
