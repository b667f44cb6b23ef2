"""The built-in sparse convolution engine: compiled CPU kernels and a pure-PyTorch path.

A :class:`SparseTensor` holds the features of the active voxels, their integer coordinates and
a cache of coordinate and kernel maps shared by every tensor derived from the same input, so the
decoder reuses the maps the encoder built. Convolutions sum, for every output row, its
neighbours' input rows times each kernel offset's ``(C_in, C_out)`` weight
(:mod:`lartpc_seg.sparse.functional`); the layers in :mod:`lartpc_seg.sparse.layers` wrap them.
On CPU the compiled kernels run (:mod:`lartpc_seg.sparse.compiled`, built on first use); the
pure-PyTorch path is the reference and serves CUDA tensors (``LARTPC_ENGINE`` chooses).
"""

from lartpc_seg.sparse.kernel_map import KernelMap
from lartpc_seg.sparse.tensor import MapCache, SparseTensor, cat_features

__all__ = ["KernelMap", "MapCache", "SparseTensor", "cat_features"]
