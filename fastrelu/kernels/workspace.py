"""Workspace sizes and allocation (in Python, once per call), and which path a batch takes.

Workspaces are allocated with NumPy before the compiled code runs: compiled allocation code
(numba's np.empty/np.zeros and tuple building) cost about 1.5 s of a cold start for nothing.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from fastrelu.kernels._config import JIT, N_CHUNKS, PARALLEL_MIN_ROWS
from fastrelu.kernels.dense import use_blas
from fastrelu.kernels.layout import BN, C_OFF, IN, OUT
from fastrelu.kernels.structs import Chunks, StepWorkspace, Workspace


def total_width(arch) -> int:
    """Units of all layers side by side (the columns of a flat workspace row)."""
    return int(arch[-1, C_OFF] + arch[-1, OUT])


def max_width(arch) -> int:
    """The widest layer input or output."""
    return int(max(arch[0, IN], arch[:, OUT].max()))


def scratch_size(arch, n) -> int:
    """Values in each row of ``Workspace.scratch``: ``n * max_width`` for the backward pass's
    activation gradients, and room for the largest weight matrix in row ``WT`` (the dense
    kernels' transposes)."""
    return int(max(n * max_width(arch), (arch[:, IN] * arch[:, OUT]).max()))


@njit(**JIT)
def use_chunks(arch, n):
    """Whether a batch of ``n`` rows takes the chunked gradient path."""
    if n < PARALLEL_MIN_ROWS:
        return False
    for l in range(arch.shape[0]):
        if arch[l, BN] == 1 or use_blas(n, arch[l, IN], arch[l, OUT]):
            return False
    return True


def new_workspace(arch, n, dtype_like) -> Workspace:
    """A :class:`Workspace` for batches of up to ``n`` rows, in ``dtype_like``'s dtype."""
    T = total_width(arch)
    dt = dtype_like.dtype
    return Workspace(np.empty(n * T, dt), np.empty(n * T, dt), np.empty(n * T, dt),
                     np.empty((4, scratch_size(arch, n)), dt), np.zeros((3, T), dt))


def new_chunks(arch, n, params) -> Chunks:
    """:class:`Chunks` for batches of up to ``n`` rows; with ``n == 0`` (no batch takes the
    chunked path) every array is empty."""
    rows = (n + N_CHUNKS - 1) // N_CHUNKS
    T = total_width(arch) if n > 0 else 0
    g = scratch_size(arch, rows) if n > 0 else 0
    dt = params.dtype
    return Chunks(np.empty((N_CHUNKS, params.shape[0] if n > 0 else 0), dt),
                  np.empty((N_CHUNKS, rows * T), dt), np.empty((N_CHUNKS, rows * T), dt),
                  np.empty((N_CHUNKS, 0), dt),     # the chunked path has no batch norm
                  np.empty((N_CHUNKS, 4, g), dt), np.zeros((N_CHUNKS, 3, T), dt),
                  np.empty(N_CHUNKS))


def new_step_workspace(arch, params, data, starts) -> StepWorkspace:
    """Everything the step loop over the batches ``starts`` of ``data`` needs, for a network
    of architecture ``arch`` whose parameters look like ``params``."""
    sizes = set(np.diff(starts).tolist())
    nmax = max(sizes, default=0)
    nchunked = max((n for n in sizes if use_chunks(arch, n)), default=0)
    dt = params.dtype
    # (allocated in the order of the measured versions: buffer placement has changed speed)
    layers = new_workspace(arch, nmax, params)
    chunks = new_chunks(arch, nchunked, params)
    return StepWorkspace(np.empty(nmax * data.X.shape[1], dt),
                         np.empty(nmax * data.targets.shape[1], dt),
                         np.empty(nmax, data.labels.dtype), np.empty_like(params), *layers, *chunks)
