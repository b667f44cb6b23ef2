"""Benchmarks: figures printed and written to JSON, never timed tests (benchmarking.md)."""
