"""``python -m lartpc_seg download URL --sha256 HEX|--no-verify --out FILE``: resumable,
checksummed (the all-zero placeholder digest is refused; ``--no-verify`` is the explicit opt-out).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lartpc_seg.io.download import download, write_record


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``download``."""
    parser.add_argument("url", help="address of the file")
    check = parser.add_mutually_exclusive_group(required=True)
    check.add_argument("--sha256", metavar="HEX", help="expected SHA-256")
    check.add_argument(
        "--no-verify", action="store_true", help="download without checking a digest"
    )
    parser.add_argument("--out", required=True, type=Path, metavar="FILE", help="where to put it")
    parser.add_argument(
        "--record", type=Path, metavar="FILE.json", help="write the URL and digests checked here"
    )
    parser.add_argument("--chunk", type=int, default=1 << 20, help="bytes per read (default 1 MiB)")


def run(args: argparse.Namespace) -> int:
    """Download and print the file's size and whether its digest was checked."""
    sha256 = None if args.no_verify else args.sha256
    path = download(args.url, args.out, sha256, chunk=args.chunk)
    if args.record is not None:
        write_record(args.record, args.url, sha256, path)
    check = "NOT VERIFIED (--no-verify)" if sha256 is None else "sha256 OK"
    print(f"{path}: {check} ({path.stat().st_size} bytes)")
    return 0
