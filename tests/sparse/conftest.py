"""The one place that decides whether MinkowskiEngine and compiled-kernel tests skip or fail."""

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


def _compiled_or_skip() -> None:
    """Build (or load from the cache) the compiled kernels; skip with the reason when they
    cannot be built, unless ``CI=true``, where that fails the test."""
    from lartpc_seg.sparse import compiled

    try:
        compiled.load()
    except compiled.CompiledEngineError as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {err}")
        pytest.skip(f"{err}; the pure-PyTorch engine is tested alone")


@pytest.fixture(params=["torch", "compiled"])
def engine(request):
    """Each of the built-in engine's two paths in turn, forced for the whole test."""
    from lartpc_seg.sparse import compiled

    if request.param == "compiled":
        _compiled_or_skip()
    with compiled.use_engine(request.param):
        yield request.param


@pytest.fixture
def compiled_kernels():
    """The compiled module (:mod:`lartpc_seg.sparse.compiled`), built on first use."""
    from lartpc_seg.sparse import compiled

    _compiled_or_skip()
    return compiled.load()
