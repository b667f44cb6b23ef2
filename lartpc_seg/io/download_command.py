"""``python -m lartpc_seg download URL --sha256 HEX --out FILE``: resumable, checksummed."""

from __future__ import annotations

import argparse
from pathlib import Path

from lartpc_seg.io.download import download


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``download``."""
    parser.add_argument("url", help="address of the file")
    parser.add_argument("--sha256", required=True, metavar="HEX", help="expected SHA-256")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE", help="where to put it")
    parser.add_argument("--chunk", type=int, default=1 << 20, help="bytes per read (default 1 MiB)")


def run(args: argparse.Namespace) -> int:
    """Download and print the verified file's size."""
    path = download(args.url, args.out, args.sha256, chunk=args.chunk)
    print(f"{path}: sha256 OK ({path.stat().st_size} bytes)")
    return 0
