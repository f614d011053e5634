"""The one place where kernel compilation flags live.

``fastmath`` deliberately leaves out ``nnan`` and ``ninf``: divergence detection relies on
``np.isfinite`` staying truthful. It also leaves out ``nsz``: together with ``reassoc`` it lets
LLVM fold ``x - x`` to 0, which is how ``np.isfinite`` is computed, so ``isfinite(inf)`` came
out True (measured; tests/test_kernels.py::test_update_reports_non_finite guards it). And it
leaves out ``contract`` (fused multiply-add): with it, a kernel compiled in this process and the
same kernel loaded from numba's cache gave different bits (RMSprop and Adam updates, measured
with numba 0.68), which breaks "same seed, same bits" between a first and a second run. ``cache=True`` keeps cold starts short; numba falls back to
``$HOME/.cache/numba`` (or ``NUMBA_CACHE_DIR``) when the package folder is read-only, and
:func:`ensure_cache_dir` picks a writable folder before that fallback can fail.
"""
from __future__ import annotations

import os
import tempfile

FASTMATH = {"arcp", "afn", "reassoc"}

#: Serial kernels: compiled once per dtype, cached on disk, release the GIL.
JIT = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy", boundscheck=False)
#: Generated microkernels (bench/gen_microkernels.py): without ``reassoc``, which would let the
#: loop vectorizer turn their reduction loops into gathers instead of leaving the blocks to SLP.
MICRO_JIT = dict(JIT, fastmath=FASTMATH - {"reassoc"})
#: Kernels with ``prange`` loops.
PJIT = dict(JIT, parallel=True)
#: Small glue kernels inlined into their callers at numba-IR level: no call level of their
#: own. Every call level makes numba re-optimize and re-emit all the code linked below it,
#: which is most of a cold start; inlining big kernels this way is slower still.
INLINE = dict(JIT, inline="always")

#: Batches with at least this many rows compute their gradient over ``N_CHUNKS`` fixed chunks
#: in parallel (small layers only; wide layers go to BLAS). The chunking depends on the batch
#: size alone, never on the thread count, so results are bit-identical for any thread count.
PARALLEL_MIN_ROWS = 256
N_CHUNKS = 8

#: A layer goes to BLAS (``np.dot``) when rows * fan_in * fan_out reaches this many MACs.
BLAS_MIN_MACS = 1 << 21


def ensure_cache_dir() -> str | None:
    """Give numba a cache folder keyed on the kernel sources; return it (None if the user chose).

    Numba's cache index only notices edits to the file that defines a function, not to the
    helpers it inlines from other files: after an upgrade or an edit it can load stale machine
    code (seen here as segfaults). So the cache lives in a folder named after a hash of every
    kernel source file and the numba version: ``kernels/__pycache__/numba-<key>`` when the
    package folder is writable, else ``~/.cache/fastrelu/numba-<key>``, else a temporary
    folder. (Numba's own fallback fails at import when both are read-only.) An explicit
    ``NUMBA_CACHE_DIR`` always wins. Called once, before the kernels are imported; it sets
    ``NUMBA_CACHE_DIR`` so worker processes started from here use the same folder.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    name = "numba-" + _source_key(here)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    for parent in (os.path.join(here, "__pycache__"),
                   os.path.join(os.path.expanduser("~"), ".cache", "fastrelu"),
                   os.path.join(tempfile.gettempdir(), f"fastrelu-{uid}")):
        candidate = os.path.join(parent, name)
        try:
            os.makedirs(candidate, exist_ok=True)
        except OSError:
            continue
        if _writable(candidate):
            os.environ["NUMBA_CACHE_DIR"] = candidate
            from numba.core import config

            config.CACHE_DIR = candidate
            return candidate
    return None


def _source_key(folder: str) -> str:
    import hashlib

    import numba

    h = hashlib.sha256(numba.__version__.encode())
    for fname in sorted(os.listdir(folder)):
        if fname.endswith(".py"):
            with open(os.path.join(folder, fname), "rb") as fh:
                h.update(fname.encode() + b"\0" + fh.read())
    return h.hexdigest()[:16]


def _writable(path: str) -> bool:
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


#: Entry kernels whose cache index marks a warm start, per kind of work.
CACHE_ENTRIES = {"fit": "train.run_steps", "ensemble": "ensemble.train_ensemble"}


def cache_has(entry: str, folder: str | None = None) -> bool:
    """Whether numba's cache ``folder`` (default: the one in use) holds ``entry``'s index.

    ``entry`` is ``module.function`` as numba names its index files
    (``<module>.<function>-<line>.py<ver>.nbi``, in a subfolder per source folder).
    """
    import glob

    if folder is None:
        from numba.core import config

        folder = os.environ.get("NUMBA_CACHE_DIR") or config.CACHE_DIR
        if not folder:   # numba's default: __pycache__ next to the sources
            folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    return bool(glob.glob(os.path.join(glob.escape(folder), "**", f"{entry}-*.nbi"), recursive=True))
