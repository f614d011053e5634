"""Compile some kernels in a helper process, into the shared kernel cache, while this process
compiles the others.

numba compiles one function at a time in a process (behind its compiler lock), so a first
run with an empty cache uses one core. The step kernels are independent: a helper process
(``python -m fastrelu.kernels.compile_helper <dtype> <name> ...``) compiles some of them, numba
saves them in the kernel cache, and this process then loads them from there instead of
compiling them. The code is the same either way: a kernel loaded from the cache gives the
bits of one compiled in the process (tests/test_determinism.py).

A helper is started only when it can help and cannot hurt (:func:`start`): a usable kernel
cache folder, at least two CPUs available to this process, the kernels not cached yet, a
Python interpreter to run (not a bundled app), and ``FASTRELU_COMPILE_HELPER`` not set to
``0``. It writes only cache files and prints nothing (its output goes nowhere). If it fails or
is too slow, this process compiles what is missing itself: the helper never changes a result,
only when it is ready. If this process's own compiling fails, the helper is stopped.
"""
from __future__ import annotations

import os
import subprocess
import sys

from fastrelu.kernels._config import CACHE_ENV, active_cache_folder, cache_has

__all__ = ["HELPER_ENV", "TIMEOUT_S", "finish", "start", "stop"]

#: Environment variable that turns the helper off when set to ``0``.
HELPER_ENV = "FASTRELU_COMPILE_HELPER"
#: Seconds to wait for a helper before compiling its kernels here instead.
TIMEOUT_S = 300.0
#: The folder that holds the ``fastrelu`` package this module belongs to.
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        return os.cpu_count() or 1


def start(dtype: str, names, entries) -> subprocess.Popen | None:
    """Start a helper compiling the step kernels ``names`` (fields of
    ``pointers.StepKernels``) for ``dtype``; None when it would not help (see the module).
    ``entries``: their cache entries (``module.function``); any of them cached, no helper."""
    folder = active_cache_folder()
    if (os.environ.get(HELPER_ENV) == "0" or folder is None or _cpus() < 2
            or not sys.executable or getattr(sys, "frozen", False)   # a bundled app
            or any(cache_has(e, folder) for e in entries)):
        return None
    # the helper resolves the very same folder: <parent>/numba-<key of the kernel sources>
    env = dict(os.environ, **{CACHE_ENV: os.path.dirname(folder), HELPER_ENV: "0"})
    try:
        # started in the folder holding this fastrelu package, so that ``-m`` imports this
        # package and not another one in the caller's working folder
        return subprocess.Popen([sys.executable, "-m", __name__, dtype, *names], env=env,
                                cwd=_PACKAGE_PARENT, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def finish(helper: subprocess.Popen | None) -> None:
    """Wait for ``helper`` (at most :data:`TIMEOUT_S`; then stop it). Whatever it did not
    finish, the caller compiles."""
    if helper is None:
        return
    try:
        helper.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        stop(helper)


def stop(helper: subprocess.Popen | None) -> None:
    """Stop ``helper`` now (when the work it was helping with failed)."""
    if helper is not None:
        helper.kill()
        helper.wait()


def main(argv: list[str]) -> int:
    """Compile (and so cache) the step kernels named in ``argv[1:]`` for dtype ``argv[0]``."""
    import numpy as np

    from fastrelu.kernels.signatures import step_signatures

    dtype, names = argv[0], argv[1:]
    signatures = step_signatures(np.dtype(dtype))
    for name in names:
        kernel, sig = signatures[name]
        kernel.compile(sig.args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
