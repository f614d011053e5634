"""The one place where kernel compilation flags live.

``fastmath`` deliberately leaves out ``nnan`` and ``ninf``: divergence detection relies on
``np.isfinite`` staying truthful. It also leaves out ``nsz``: together with ``reassoc`` it lets
LLVM fold ``x - x`` to 0, which is how ``np.isfinite`` is computed, so ``isfinite(inf)`` came
out True (measured; tests/test_kernels.py::test_update_reports_non_finite guards it). ``cache=True`` keeps cold starts short; numba falls back to
``$HOME/.cache/numba`` (or ``NUMBA_CACHE_DIR``) when the package folder is read-only, and
:func:`ensure_cache_dir` picks a writable folder before that fallback can fail.
"""
from __future__ import annotations

import os
import tempfile

FASTMATH = {"arcp", "contract", "afn", "reassoc"}

#: Serial kernels: compiled once per dtype, cached on disk, release the GIL.
JIT = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy", boundscheck=False)
#: Kernels with ``prange`` loops.
PJIT = dict(JIT, parallel=True)

#: Batches with at least this many rows compute their gradient over ``N_CHUNKS`` fixed chunks
#: in parallel (small layers only; wide layers go to BLAS). The chunking depends on the batch
#: size alone, never on the thread count, so results are bit-identical for any thread count.
PARALLEL_MIN_ROWS = 256
N_CHUNKS = 8

#: A layer goes to BLAS (``np.dot``) when rows * fan_in * fan_out reaches this many MACs.
BLAS_MIN_MACS = 1 << 21


def ensure_cache_dir() -> None:
    """Point numba's cache at a writable folder when the package folder is read-only.

    Numba writes its cache beside the sources; when that folder is read-only it tries
    ``$HOME/.cache/numba`` and, if that is unwritable too, import fails. Called before the
    kernels are imported; an explicit ``NUMBA_CACHE_DIR`` always wins.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    pycache = os.path.join(here, "__pycache__")
    if _writable(pycache) or (not os.path.exists(pycache) and _writable(here)):
        return
    for candidate in (
        os.path.join(os.path.expanduser("~"), ".cache", "fastrelu", "numba"),
        os.path.join(tempfile.gettempdir(), f"fastrelu-numba-{os.getuid() if hasattr(os, 'getuid') else 0}"),
    ):
        try:
            os.makedirs(candidate, exist_ok=True)
        except OSError:
            continue
        if _writable(candidate):
            os.environ["NUMBA_CACHE_DIR"] = candidate
            from numba.core import config

            config.CACHE_DIR = candidate
            return


def _writable(path: str) -> bool:
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)
