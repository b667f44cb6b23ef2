"""Sparse U-ResNet segmentation of LArTPC voxel events (Domine & Terao, arXiv:1903.05663)."""

__version__ = "0.1.0"
