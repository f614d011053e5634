"""Machine ceiling (sgemm through NumPy) and cold-start time of fastrelu in a fresh process."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Sequence

import numpy as np

__all__ = ["Sgemm", "cold_start", "DEFAULT_COLD_COMMAND", "COLD_COMMAND_ENV"]

#: Default cold-start command: ``fastrelu scenario lr-explosion`` (issue 3's cold-start target),
#: run as a module so it does not depend on PATH (a subprocess: the benchmarks do not import the CLI).
DEFAULT_COLD_COMMAND: tuple[str, ...] = (sys.executable, "-m", "fastrelu_cli.app", "scenario", "lr-explosion")

#: Environment variable overriding the cold-start command (a shell-like string).
COLD_COMMAND_ENV = "FASTRELU_BENCH_COLD_COMMAND"


class Sgemm:
    """A float32 ``n x n @ n x n`` product through NumPy's BLAS, ready to time.

    The runner times one product per repeat round of every workload, interleaved with the
    implementations, so each workload's share of the ceiling is measured under the same load.
    """

    def __init__(self, n: int = 4096):
        self.n = int(n)
        if self.n < 1:
            raise ValueError(f"n: must be positive, got {n!r}")
        rng = np.random.default_rng(0)
        self.a = rng.random((self.n, self.n), dtype=np.float32)
        self.b = rng.random((self.n, self.n), dtype=np.float32)
        self.c = np.empty((self.n, self.n), dtype=np.float32)
        self.flops = 2.0 * self.n ** 3
        self.run()  # warm-up: BLAS thread start, page faults

    def run(self) -> float:
        """Time one product, in seconds."""
        t0 = time.perf_counter()
        np.matmul(self.a, self.b, out=self.c)
        return time.perf_counter() - t0

    def summary(self, times: list[float]) -> dict:
        """``n``, median ``gflops``, ``best_gflops`` and the raw ``times_s``."""
        return {"n": self.n, "gflops": self.flops / statistics.median(times) / 1e9,
                "best_gflops": self.flops / min(times) / 1e9, "times_s": list(times)}


def _default_command() -> list[str]:
    import shlex

    env = os.environ.get(COLD_COMMAND_ENV)
    return shlex.split(env) if env else list(DEFAULT_COLD_COMMAND)


def cold_start(command: Sequence[str] | None = None, *, timeout: float = 300.0,
               on_phase: Callable[[str], None] | None = None) -> dict:
    """Wall time of ``command`` in a fresh process with an empty, then a warm numba cache.

    Both runs get ``FASTRELU_CACHE_DIR`` and ``NUMBA_CACHE_DIR`` pointing at one new temporary
    directory (fastrelu's kernels cache under the first, anything else numba compiles under
    the second): the first run compiles and fills it ("cold"), the second loads from it ("warm").

    Parameters
    ----------
    command : sequence of str, optional
        Default: ``$FASTRELU_BENCH_COLD_COMMAND`` if set, else
        ``fastrelu scenario lr-explosion`` (:data:`DEFAULT_COLD_COMMAND`).
    timeout : float
        Seconds allowed per run.

    Returns
    -------
    dict
        ``command``, ``cold_s``, ``warm_s`` and ``ok`` (both runs exited 0); on failure
        ``error`` holds the end of stderr.
    """
    cmd = list(command) if command else _default_command()
    out: dict = {"command": cmd, "cold_s": None, "warm_s": None, "ok": True}
    with tempfile.TemporaryDirectory(prefix="fastrelu-numba-cache-") as cache:
        env = dict(os.environ, FASTRELU_CACHE_DIR=cache, NUMBA_CACHE_DIR=cache)
        for phase in ("cold", "warm"):
            if on_phase is not None:
                on_phase(phase)
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
            elapsed = time.perf_counter() - t0
            if proc.returncode != 0:
                out["ok"] = False
                out["error"] = f"{phase} run exited {proc.returncode}: {proc.stderr.strip()[-500:]}"
                break
            out[f"{phase}_s"] = elapsed
    return out
