"""What the numbers were measured on: CPU model, cores, SIMD flags, BLAS kernels, versions."""
from __future__ import annotations

import os
import platform

import numpy as np

__all__ = ["blas_cores", "machine_info"]


def blas_cores() -> dict:
    """Kernel family each bundled OpenBLAS copy (numpy's, scipy's) picked, e.g. ``"Haswell"``.

    OpenBLAS picks its kernels from the CPU model; on CPUs it does not know it can fall back
    to an AVX2 kernel on AVX-512 hardware (``OPENBLAS_CORETYPE`` overrides it at start-up).
    """
    import ctypes
    import glob
    import importlib.util

    out = {}
    for pkg in ("numpy", "scipy"):
        spec = importlib.util.find_spec(pkg)
        if spec is None or spec.origin is None:
            continue
        libdir = os.path.join(os.path.dirname(os.path.dirname(spec.origin)), f"{pkg}.libs")
        for path in glob.glob(os.path.join(libdir, "libscipy_openblas*.so*")):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                           "openblas_get_corename"):
                fn = getattr(lib, symbol, None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    out[pkg] = fn().decode()
                    break
    return out


def machine_info() -> dict:
    """Cores, CPU model, BLAS kernels and the versions that matter for the numbers."""
    info = {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "numpy": np.__version__,
            "openblas_core": blas_cores(), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    info["simd"] = sorted(f for f in flags if f.startswith(("avx", "fma", "sse4")))
                    break
    except OSError:
        pass
    return info
