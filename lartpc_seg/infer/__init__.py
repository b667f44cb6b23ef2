"""Inference: a trained model's class scores for every voxel of an event file."""
