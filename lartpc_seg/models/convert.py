"""Copy weights between twin networks built on different backends."""

from __future__ import annotations

from torch import nn


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy every parameter and BN buffer from ``source`` into ``target``.

    Both must be built from the same :class:`~lartpc_seg.models.UResNetConfig` (any backends:
    torch, minkowski, dense). Layers are paired in module order and exchanged through their
    canonical ``export_state()`` / ``import_state()`` layout (conv weights ``(K, C_in, C_out)``
    in built-in kernel-offset order), so the MinkowskiEngine offset permutation and the dense
    ``(C_out, C_in, k, k, k)`` layouts are handled by each layer.

    Raises
    ------
    ValueError
        When the two networks do not have the same layers.
    """
    src = [(n, m) for n, m in source.named_modules() if hasattr(m, "export_state")]
    dst = [(n, m) for n, m in target.named_modules() if hasattr(m, "import_state")]
    if [n for n, _ in src] != [n for n, _ in dst]:
        raise ValueError("source and target networks do not have the same layers")
    for (name, s), (_, t) in zip(src, dst, strict=True):
        state = s.export_state()
        try:
            t.import_state(state)
        except RuntimeError as err:
            raise ValueError(f"layer {name}: {err}") from err
