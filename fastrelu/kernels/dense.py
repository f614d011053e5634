"""Dense layer kernels: ``z = h W^T + b`` and its backward, for small and wide layers.

Small layers use loops whose innermost index is contiguous in memory (dot products along
rows of ``W`` forward; axpy updates along rows of ``W``/``h`` backward) and allocate nothing.
Layers with at least ``BLAS_MIN_MACS`` multiply-adds go to BLAS through ``np.dot``. The choice
depends on the shapes only, so a given problem always takes the same path.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from fastrelu.kernels._config import BLAS_MIN_MACS, JIT


@njit(**JIT)
def use_blas(n, n_in, n_out):
    """True when a layer of this shape is large enough for BLAS."""
    return n * n_in * n_out >= BLAS_MIN_MACS


@njit(**JIT)
def linear_forward(h, W, b, z):
    """Write ``z[r, j] = b[j] + sum_k h[r, k] * W[j, k]``.

    h: (n, in), W: (out, in), b: (out,), z: (n, out); all C-contiguous, same dtype.
    """
    n, n_in = h.shape
    n_out = W.shape[0]
    if use_blas(n, n_in, n_out):
        np.dot(h, W.T, z)
        for r in range(n):
            for j in range(n_out):
                z[r, j] += b[j]
        return
    r = 0
    # Two rows at a time: every row of W loaded once feeds two dot products.
    while r + 1 < n:
        for j in range(n_out):
            acc0 = b[j] * 0
            acc1 = b[j] * 0
            for k in range(n_in):
                w = W[j, k]
                acc0 += h[r, k] * w
                acc1 += h[r + 1, k] * w
            z[r, j] = acc0 + b[j]
            z[r + 1, j] = acc1 + b[j]
        r += 2
    if r < n:
        for j in range(n_out):
            acc0 = b[j] * 0
            for k in range(n_in):
                acc0 += h[r, k] * W[j, k]
            z[r, j] = acc0 + b[j]


@njit(**JIT)
def linear_backward_params(dz, h, dW, db):
    """Write ``dW = dz^T h`` and ``db = sum_r dz[r]`` (overwrites).

    dz: (n, out), h: (n, in), dW: (out, in), db: (out,).
    """
    n, n_in = h.shape
    n_out = dz.shape[1]
    if use_blas(n, n_in, n_out):
        np.dot(dz.T, h, dW)
    else:
        dW[:, :] = 0
        for r in range(n):
            for j in range(n_out):
                g = dz[r, j]
                if g != 0:
                    for k in range(n_in):
                        dW[j, k] += g * h[r, k]
    db[:] = 0
    for r in range(n):
        for j in range(n_out):
            db[j] += dz[r, j]


@njit(**JIT)
def linear_backward_input(dz, W, dh):
    """Write ``dh = dz W`` (overwrites). dz: (n, out), W: (out, in), dh: (n, in)."""
    n, n_out = dz.shape
    n_in = W.shape[1]
    if use_blas(n, n_in, n_out):
        np.dot(dz, W, dh)
        return
    dh[:, :] = 0
    for r in range(n):
        for j in range(n_out):
            g = dz[r, j]
            if g != 0:
                for k in range(n_in):
                    dh[r, k] += g * W[j, k]
