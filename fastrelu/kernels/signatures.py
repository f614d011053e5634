"""The argument types the step loop calls its kernels with, one specialization per dtype.

Shared by :mod:`fastrelu.kernels.pointers` (which compiles pointers for them) and
:mod:`fastrelu.kernels.compile_helper` (whose helper process compiles some of them first).
"""
from __future__ import annotations

import numpy as np
from numba import from_dtype

from fastrelu.kernels._numba_internals import types
from fastrelu.kernels.losses import loss_and_grad
from fastrelu.kernels.network import backward, forward
from fastrelu.kernels.optim import apply_update

__all__ = ["cache_entry", "step_signatures"]


def step_signatures(dtype) -> dict:
    """``{field of StepKernels: (kernel, numba signature)}`` for parameters of ``dtype``: the
    types the step loop calls them with (one specialization per dtype) and what each returns
    (``pointers.Pointer`` refuses a kernel that compiles to another signature)."""
    f = types.float64
    i = types.int64
    v = types.Array(from_dtype(np.dtype(dtype)), 1, "C")
    m = types.Array(v.dtype, 2, "C")
    arch = types.Array(i, 2, "C")
    return {"forward": (forward, m(v, arch, f, m, v, v, v, m, m, types.boolean, v)),
            "loss": (loss_and_grad, f(i, m, m, types.Array(i, 1, "C"), i, m)),
            "backward": (backward, types.none(v, arch, f, m, v, v, v, m, m, v, v, v, v, v)),
            "update": (apply_update, types.boolean(i, v, v, m, types.Array(f, 1, "C"), i))}


def cache_entry(kernel) -> str:
    """``kernel``'s cache entry name, ``module.function`` (as ``_config.cache_has`` takes it)."""
    return f"{kernel.py_func.__module__.rpartition('.')[2]}.{kernel.py_func.__name__}"
