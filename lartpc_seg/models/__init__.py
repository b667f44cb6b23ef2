"""The U-ResNet of Domine & Terao (docs/study.md §3): sparse (any backend) and its dense twin.

The training code calls ``build_uresnet(config)(coords, features) -> logits`` (see
:class:`~lartpc_seg.models.uresnet.UResNet`).
"""

from lartpc_seg.models.config import UResNetConfig
from lartpc_seg.models.convert import copy_weights
from lartpc_seg.models.uresnet import DenseUResNet, UResNet, build_uresnet

__all__ = ["DenseUResNet", "UResNet", "UResNetConfig", "build_uresnet", "copy_weights"]
