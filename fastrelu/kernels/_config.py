"""The one place where kernel compilation flags live.

``fastmath`` deliberately leaves out ``nnan`` and ``ninf``: divergence detection relies on
``np.isfinite`` staying truthful. It also leaves out ``nsz``: together with ``reassoc`` it lets
LLVM fold ``x - x`` to 0, which is how ``np.isfinite`` is computed, so ``isfinite(inf)`` came
out True (measured; tests/test_kernels.py::test_update_reports_non_finite guards it). And it
leaves out ``contract`` (fused multiply-add): with it, a kernel compiled in this process and the
same kernel loaded from numba's cache gave different bits (RMSprop and Adam updates, measured
with numba 0.68), which breaks "same seed, same bits" between a first and a second run.

``cache=True`` keeps cold starts short. Where fastrelu's kernels cache is decided here too
(:func:`cache_folder`), for fastrelu's own functions only: a numba cache locator registered
for the files of this folder (:func:`install_cache_locator`). numba's settings
(``NUMBA_CACHE_DIR``, ``numba.config.CACHE_DIR``) are read, never written, so a user's own
``@njit(cache=True)`` functions and other numba libraries cache where numba puts them.
"""
from __future__ import annotations

import functools
import glob
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator

FASTMATH = {"arcp", "afn", "reassoc"}

#: Serial kernels: compiled once per dtype, cached on disk, release the GIL.
JIT = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy", boundscheck=False)
#: Microkernels (``micro_*.py`` around ``vector_blocks``' vector IR): without ``reassoc``, so
#: that LLVM keeps their fma chains in the order written (their bits are the scalar chains').
MICRO_JIT = dict(JIT, fastmath=FASTMATH - {"reassoc"})
#: Kernels with ``prange`` loops.
PJIT = dict(JIT, parallel=True)
#: Kernels whose floating-point operations must happen exactly as written (no fastmath): sums
#: in a stated order, the C library's ``exp``/``log1p``. Never inline them at numba-IR level
#: into a fastmath caller: they would be compiled with the caller's flags.
STRICT_JIT = dict(JIT, fastmath=False)
#: Glue kernels inlined into their callers at numba-IR level: no call level of their own.
#: Every call level makes numba re-optimize and re-emit all the code linked below it (the step
#: loop avoids that with function pointers instead: :mod:`fastrelu.kernels.pointers`). The
#: dense kernels are inlined too, each into the one call site of ``forward``/``backward``:
#: 2.7 s less of the scenario's cold start than a level of their own (24.0 -> 21.3 s).
INLINE = dict(JIT, inline="always")

#: Batches with at least this many rows compute their gradient over ``N_CHUNKS`` fixed chunks
#: in parallel (small layers only; wide layers go to BLAS). The chunking depends on the batch
#: size alone, never on the thread count, so results are bit-identical for any thread count.
PARALLEL_MIN_ROWS = 256
N_CHUNKS = 8

#: A layer goes to BLAS (``np.dot``) when rows * fan_in * fan_out reaches this many MACs.
BLAS_MIN_MACS = 1 << 21


# --- Where the kernels cache -------------------------------------------------------------

#: Environment variable naming the parent folder of the kernel cache (highest precedence).
CACHE_ENV = "FASTRELU_CACHE_DIR"
#: Seconds during which a stale cache folder that was just written to is spared by pruning:
#: a process still running older kernel sources may be saving into it.
PRUNE_GRACE_S = 600.0

_HERE = os.path.dirname(os.path.abspath(__file__))
_KEYED = re.compile(r"numba-[0-9a-f]{16}")
# What numba writes into a kernel cache folder: ``kernels_<sha1 of the kernels' path>``
# subfolders holding index (.nbi) and data (.nbc) files, and ``.tmp.<16 hex>`` files while it
# writes them.
_SUBFOLDER = re.compile(r"kernels_[0-9a-f]{40}")
_CACHE_FILE = re.compile(r".+\.(nbi|nbc)(\.tmp\.[0-9a-f]{16})?")


def cache_folder() -> str | None:
    """The folder fastrelu's kernels cache in, ``<parent>/numba-<key>``; None if none is usable.

    Numba's cache index only notices edits to the file that defines a function, not to the
    helpers it inlines from other files: after an upgrade or an edit it can load stale machine
    code (seen here as segfaults). So the folder is named after a hash of every kernel source
    file and the numba version (:func:`source_key`). The parent is the first usable of
    ``$FASTRELU_CACHE_DIR``; ``$NUMBA_CACHE_DIR/fastrelu`` (or ``numba.config.CACHE_DIR``'s)
    when the user set one; ``kernels/__pycache__``; ``~/.cache/fastrelu``; and
    ``<temp>/fastrelu-<uid>``. (Numba's own fallback fails at import when both of its
    folders are read-only.) Usable: writable, or creatable; nothing is created here. Worker
    processes compute the same folder from the same environment and sources.
    """
    name = "numba-" + source_key()
    for parent in _parents():
        if _usable(parent, name):
            return os.path.join(parent, name)
    return None


@functools.lru_cache(maxsize=None)
def active_cache_folder() -> str | None:
    """:func:`cache_folder` as resolved once in this process: where its kernels cache."""
    return cache_folder()


def source_key(folder: str = _HERE) -> str:
    """16 hex digits of a hash of the numba version and every ``.py`` file in ``folder``."""
    import numba

    h = hashlib.sha256(numba.__version__.encode())
    for fname in sorted(os.listdir(folder)):
        if fname.endswith(".py"):
            with open(os.path.join(folder, fname), "rb") as fh:
                h.update(fname.encode() + b"\0" + fh.read())
    return h.hexdigest()[:16]


def install_cache_locator() -> None:
    """Have numba cache the functions of this folder's files in :func:`active_cache_folder`,
    and keep each kernel's copies of its callees its own
    (:func:`fastrelu.kernels._numba_internals.keep_callee_copies_private`).

    Idempotent; touches no file (the folder is created before the first save). Does nothing
    for any other function, and nothing when ``NUMBA_CACHE_LOCATOR_CLASSES`` is set (numba
    then uses only the locators it names: the user's choice, stale-kernel risk included).
    """
    from fastrelu.kernels._numba_internals import keep_callee_copies_private, register_cache_locator

    register_cache_locator(_HERE, active_cache_folder, prepare_cache_folder)
    keep_callee_copies_private()


def _parents() -> Iterator[str]:
    """The candidate parent folders, in order (lazily: the temp folder costs a probe)."""
    from fastrelu.kernels._numba_internals import config

    if os.environ.get(CACHE_ENV):
        yield os.path.abspath(os.path.expanduser(os.environ[CACHE_ENV]))
    numba_dir = os.environ.get("NUMBA_CACHE_DIR") or config.CACHE_DIR
    if numba_dir:
        yield os.path.join(os.path.abspath(numba_dir), "fastrelu")
    yield os.path.join(_HERE, "__pycache__")
    yield os.path.join(os.path.expanduser("~"), ".cache", "fastrelu")
    temp = _temp_parent()
    if _private(temp):
        yield temp


def _temp_parent() -> str:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"fastrelu-{uid}")


def _private(folder: str) -> bool:
    """In a shared temp folder, only a folder of ours will do: anyone could plant machine code."""
    if not os.path.lexists(folder):
        return True
    st = os.lstat(folder)
    return not os.path.islink(folder) and (not hasattr(os, "getuid") or st.st_uid == os.getuid())


def _usable(parent: str, name: str) -> bool:
    """Whether ``parent/name`` is a writable folder or could be created as one."""
    path = os.path.join(parent, name)
    while not os.path.lexists(path):
        up = os.path.dirname(path)
        if up == path:
            return False
        path = up
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


_prepared: set[str] = set()


def prepare_cache_folder(folder: str) -> None:
    """Create ``folder`` (before numba's first save there) and prune its stale siblings.

    Once per folder and process; numba then checks that it can write there.
    """
    if folder in _prepared:
        return
    parent = os.path.dirname(folder)
    if parent == _temp_parent():
        os.makedirs(parent, mode=0o700, exist_ok=True)
    os.makedirs(folder, exist_ok=True)
    prune_stale(parent, keep=os.path.basename(folder))
    _prepared.add(folder)


def prune_stale(parent: str, keep: str, grace_s: float = PRUNE_GRACE_S) -> list[str]:
    """Delete the ``numba-<16 hex>`` folders in ``parent`` other than ``keep``; return them.

    Only folders that hold nothing but what numba writes (:func:`_numba_only`) go, and
    none written to in the last ``grace_s`` seconds. Races with another process that
    prunes or writes at the same time are ignored (a folder that vanishes is skipped).
    """
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    cutoff = time.time() - grace_s
    for entry in entries:
        if entry.name == keep or not _KEYED.fullmatch(entry.name):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or not _numba_only(entry.path, cutoff):
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _numba_only(folder: str, cutoff: float) -> bool:
    """Whether ``folder`` holds only numba's cache subfolders and files, none after ``cutoff``."""
    if os.lstat(folder).st_mtime > cutoff:
        return False
    for sub in os.scandir(folder):
        if not (_SUBFOLDER.fullmatch(sub.name) and sub.is_dir(follow_symlinks=False)):
            return False
        if sub.stat(follow_symlinks=False).st_mtime > cutoff:
            return False
        for item in os.scandir(sub.path):
            if not (_CACHE_FILE.fullmatch(item.name) and item.is_file(follow_symlinks=False)):
                return False
    return True


#: Entry kernels whose cache indexes mark a warm start, per kind of work: "fit" (``fr.fit``,
#: the scenarios, the doctor), "ensemble" (``Ensemble.fit``, trained sweeps), "init" (sweeps at
#: initialization: the compiled generators and the narrow measurement; wider nets also use
#: the row-major one).
CACHE_ENTRIES = {"fit": ("train.run_steps", "network.forward", "network.backward",
                         "losses.loss_and_grad", "optim.apply_update"),
                 "ensemble": ("ensemble.ensemble_steps", "ensemble.member_steps"),
                 "init": ("pcg64._draw_into", "measure._measure_narrow")}


def cache_has(entry: str, folder: str | None = None) -> bool:
    """Whether the kernel cache ``folder`` (default: this process's) holds ``entry``'s index.

    ``entry`` is ``module.function`` as numba names its index files
    (``<module>.<function>-<line>.py<ver>.nbi``, in a subfolder per source folder); only
    indexes for the running Python version count.
    """
    folder = active_cache_folder() if folder is None else folder
    if folder is None:
        return False
    tag = "py%d%d%s" % (sys.version_info[0], sys.version_info[1], getattr(sys, "abiflags", ""))
    pattern = os.path.join(glob.escape(folder), "**", f"{glob.escape(entry)}-*.{tag}.nbi")
    return bool(glob.glob(pattern, recursive=True))
