"""Drop the lines a C++ library writes straight to file descriptor 2 that are not for a reader.

torch's profiler (Kineto) prints ``USDT: ... profiler_start`` / ``profiler_stop`` (and with some
log levels ``STAGE: ...``) on every profiled block, whatever its log level, from C++: Python's
``sys.stderr`` never sees them. :func:`drop_native_lines` points descriptor 2 at a temporary file
for the duration of a block and copies back every line that does not start with one of the given
prefixes, so a benchmark's log keeps its warnings and errors but not this noise.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence

#: Line prefixes of torch profiler (Kineto) chatter.
PROFILER_NOISE = ("USDT:", "STAGE:")


@contextlib.contextmanager
def drop_native_lines(prefixes: Sequence[str] = PROFILER_NOISE) -> Iterator[None]:
    """Within the block, drop the lines on descriptor 2 that start with one of ``prefixes``.

    The other lines are written back to descriptor 2 when the block ends, in order.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [
                line
                for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                if not line.startswith(tuple(prefixes))
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
