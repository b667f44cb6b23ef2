"""The one place that decides whether MinkowskiEngine tests skip or fail."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def minkowski():
    """The :mod:`lartpc_seg.sparse.minkowski` adapter module.

    Skips the test, with the import error as the reason, when MinkowskiEngine cannot be
    imported, unless ``LARTPC_REQUIRE_MINKOWSKI=1`` (set in CI), in which case it fails.
    """
    try:
        from lartpc_seg.sparse import minkowski as adapter
    except ImportError as err:
        reason = f"MinkowskiEngine is not importable ({err}); install it with `make minkowski`"
        if os.environ.get("LARTPC_REQUIRE_MINKOWSKI") == "1":
            pytest.fail(f"LARTPC_REQUIRE_MINKOWSKI=1 but {reason}")
        pytest.skip(reason)
    return adapter
