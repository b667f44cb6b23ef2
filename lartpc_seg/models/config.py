"""Configuration of the U-ResNet."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from lartpc_seg.sparse.backend import BACKENDS


@dataclass(frozen=True)
class UResNetConfig:
    """Hyper-parameters of the U-ResNet (docs/study.md §3).

    Attributes
    ----------
    filters : int
        ``m``, the width of the first level; level ``l`` (0-based) has ``(l + 1) m`` channels.
    depth : int
        Number of levels (``depth - 1`` down/up samplings).
    reps : int
        Residual blocks per level, in the encoder and again in the decoder.
    in_channels : int
        Input features per voxel (1: the energy in MeV).
    num_classes : int
        Output scores per voxel (5: HIP, MIP, shower, delta, Michel).
    leaky_slope : float
        Negative slope of the activation; 0 is ReLU (paper), 0.33 the later SLAC setting.
    bn_momentum, bn_eps : float
        ``BatchNorm`` momentum (PyTorch convention) and epsilon.
    backend : str
        ``"torch"`` (built-in engine) or ``"minkowski"`` (MinkowskiEngine).
    """

    filters: int = 16
    depth: int = 5
    reps: int = 2
    in_channels: int = 1
    num_classes: int = 5
    leaky_slope: float = 0.0
    bn_momentum: float = 0.1
    bn_eps: float = 1e-5
    backend: str = "torch"

    def __post_init__(self) -> None:
        for name in ("filters", "depth", "reps", "in_channels", "num_classes"):
            if getattr(self, name) < 1:
                raise ValueError(f"UResNetConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.backend not in BACKENDS or self.backend == "dense":
            raise ValueError(
                f"UResNetConfig.backend must be 'torch' or 'minkowski', got {self.backend!r}"
            )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UResNetConfig:
        """Build from a mapping (e.g. the ``model`` section of ``config.yaml``).

        Raises
        ------
        ValueError
            On a key that is not a field, or an invalid value.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown U-ResNet config keys {unknown}; known: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for checkpoints)."""
        return asdict(self)
