"""The compiled CPU kernels (``csrc/engine.cpp``): built on first use, cached, chosen per call.

The C++ source is compiled with :func:`torch.utils.cpp_extension.load` (ninja, the system's
g++, ``-O3 -march=native -fopenmp``) into ``$TORCH_EXTENSIONS_DIR`` (default torch's
``~/.cache/torch_extensions/<python>_<accelerator>``), under a name made of a digest of the
source, the torch version, the compiler flags and the CPU's model and instruction-set flags:
a changed source, another torch or another CPU gets its own build, an unchanged one is loaded
from the cache in well under a second. Processes starting at once (parallel Snakemake jobs)
take an exclusive ``flock`` on ``<name>.lock`` around the build, so one compiles and the
others wait and load its result; a lock held by a process that died is released by the
kernel, and torch's own lock file, which such a process would leave behind, is then removed.

Which engine runs (:func:`use_compiled`): ``LARTPC_ENGINE=compiled`` forces the compiled
kernels (a failed build is an error), ``LARTPC_ENGINE=torch`` the pure-PyTorch path, and unset
(or ``auto``) takes the compiled kernels for CPU tensors of float32/float64 when they build,
printing one warning line when they do not. CUDA tensors always take the pure-PyTorch path.
:func:`use_engine` overrides the choice inside a ``with`` block (the benchmark compares both
in one process).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import torch

#: environment variable choosing the engine: ``auto`` (default), ``compiled`` or ``torch``
ENV = "LARTPC_ENGINE"
CHOICES = ("auto", "compiled", "torch")
SOURCE = Path(__file__).parent / "csrc" / "engine.cpp"
#: -ffp-contract=fast: fuse multiply-adds (off by default in ISO C++ mode)
CFLAGS = ("-O3", "-march=native", "-ffp-contract=fast", "-fopenmp")
LDFLAGS = ("-fopenmp",)
DTYPES = (torch.float32, torch.float64)


class CompiledEngineError(RuntimeError):
    """The compiled kernels were forced (``LARTPC_ENGINE=compiled``) but cannot be built."""


_module: ModuleType | None = None
_failure: str | None = None
_override: str | None = None


def _cpu_signature() -> str:
    """Model name and instruction-set flags of this CPU (what ``-march=native`` compiles for)."""
    fields = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "flags") and key not in fields:
                fields[key] = value.strip()
    return fields.get("model name", platform.processor()) + "|" + fields.get("flags", "")


def build_name() -> str:
    """The extension's name: a digest of everything the compiled binary depends on.

    The source's path is part of it: torch's builder writes that path into the build's ninja
    file, so two checkouts sharing one build directory would recompile on each other's turn.
    """
    digest = hashlib.sha256()
    for part in (
        str(SOURCE.resolve()).encode(),
        SOURCE.read_bytes(),
        torch.__version__.encode(),
        " ".join(CFLAGS + LDFLAGS).encode(),
        _cpu_signature().encode(),
        platform.python_version().encode(),
    ):
        digest.update(part)
        digest.update(b"\0")
    return f"lartpc_sparse_{digest.hexdigest()[:16]}"


def build_root() -> Path:
    """Where builds are cached: ``$TORCH_EXTENSIONS_DIR`` or torch's default root."""
    from torch.utils import cpp_extension

    root = os.environ.get("TORCH_EXTENSIONS_DIR")
    return Path(root) if root else Path(cpp_extension.get_default_build_root())


def _ninja_on_path() -> None:
    """Put the ``ninja`` of the ``ninja`` package on ``PATH`` (torch's builder runs ``ninja``;
    a virtualenv's ``bin`` is not on ``PATH`` unless it is activated)."""
    with contextlib.suppress(ImportError):
        import ninja

        paths = os.environ.get("PATH", "").split(os.pathsep)
        if ninja.BIN_DIR not in paths:
            os.environ["PATH"] = os.pathsep.join([ninja.BIN_DIR, *paths])


def _build() -> ModuleType:
    from torch.utils import cpp_extension

    _ninja_on_path()
    name = build_name()
    directory = build_root() / name
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            # only a build that died can have left torch's lock while this flock is held
            (directory / "lock").unlink(missing_ok=True)
            return cpp_extension.load(
                name=name,
                sources=[str(SOURCE)],
                extra_cflags=list(CFLAGS),
                extra_ldflags=list(LDFLAGS),
                build_directory=str(directory),
                verbose=False,
            )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load() -> ModuleType:
    """The compiled module, built (or loaded from the cache) on the first call.

    Raises
    ------
    CompiledEngineError
        When it cannot be built or loaded (the reason in the message); later calls raise the
        same error without trying again.
    """
    global _module, _failure
    if _module is not None:
        return _module
    if _failure is None:
        try:
            _module = _build()
            return _module
        except Exception as err:  # a compiler, ninja or loader failure of any kind
            lines = [line for line in str(err).strip().splitlines() if line.strip()]
            _failure = f"{type(err).__name__}: {lines[-1] if lines else 'no message'}"
    raise CompiledEngineError(f"the compiled sparse kernels cannot be built ({_failure})")


def available() -> bool:
    """Whether the compiled kernels load; prints one warning line the first time they do not."""
    if _module is not None:
        return True
    first = _failure is None
    try:
        load()
        return True
    except CompiledEngineError as err:
        if first:
            print(f"warning: {err}; using the pure-PyTorch engine", file=sys.stderr, flush=True)
        return False


def choice() -> str:
    """The engine asked for: :func:`use_engine`'s override, else ``$LARTPC_ENGINE``, else auto.

    Raises
    ------
    ValueError
        For a value of ``LARTPC_ENGINE`` not in :data:`CHOICES`.
    """
    if _override is not None:
        return _override
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise ValueError(f"{ENV}={value!r}: expected one of {', '.join(CHOICES)}")
    return value


def use_compiled(x: torch.Tensor) -> bool:
    """Whether a convolution on features ``x`` runs the compiled kernels.

    Raises
    ------
    CompiledEngineError
        When the compiled engine is forced and cannot be built.
    """
    wanted = choice()
    if wanted == "torch" or x.device.type != "cpu" or x.dtype not in DTYPES:
        return False
    if wanted == "compiled":
        load()
        return True
    return available()


@contextlib.contextmanager
def use_engine(name: str) -> Iterator[None]:
    """Run the block with the engine ``name`` (one of :data:`CHOICES`), whatever the
    environment says."""
    global _override
    if name not in CHOICES:
        raise ValueError(f"engine {name!r}: expected one of {', '.join(CHOICES)}")
    previous, _override = _override, name
    try:
        yield
    finally:
        _override = previous
