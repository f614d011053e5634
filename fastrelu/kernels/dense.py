"""Dense layer kernels: ``z = h W^T + b`` and its backward, for small and wide layers.

Small layers are computed in register blocks by the generated microkernels of
``micro_forward``, ``micro_weight_grad`` and ``micro_input_grad`` (a block of the output stays
in vector registers for the whole reduction, no stores inside it, no allocation); the edges
that do not fill a block use plain loops. Layers with at least ``BLAS_MIN_MACS`` multiply-adds go to BLAS through
``np.dot``. The path and the summation order depend on the shapes only, so a given problem
always gives the same bits, whatever the thread count.

The microkernels need LLVM's SLP vectorizer, which numba leaves off by default
(``NUMBA_SLP_VECTORIZE=0``). Their dispatchers are wrapped so that each compilation (on first
use, per argument types) runs with SLP switched on for just that compilation; the compiled
(and cached) code keeps the vectorization when it is linked into callers.
"""
from __future__ import annotations

import contextlib

import numpy as np
from numba import njit
from numba.core import config as _numba_config

from fastrelu.kernels import micro_forward, micro_input_grad, micro_weight_grad
from fastrelu.kernels._config import INLINE, BLAS_MIN_MACS, JIT
from fastrelu.kernels.intrinsics import fma


@contextlib.contextmanager
def _slp_vectorizer():
    """Switch numba's SLP vectorizer on for the compilations inside the block.

    Every compilation starts with ``numba.core.config.reload_config()``, which re-reads all
    settings (SLP included) whenever a ``NUMBA_*`` environment variable changed since the last
    read -- as ``ensure_cache_dir`` does by setting ``NUMBA_CACHE_DIR``. Reloading here first
    keeps the compilations below from resetting the flag.
    """
    _numba_config.reload_config()
    old = _numba_config.SLP_VECTORIZE
    _numba_config.SLP_VECTORIZE = 1
    try:
        yield
    finally:
        _numba_config.SLP_VECTORIZE = old


def _compile_with_slp(dispatcher) -> None:
    """Make every compilation of ``dispatcher`` (or load from cache) run with SLP on.

    Wrapping the dispatcher's ``compile`` covers all routes to it: a direct call, typing from
    a caller being compiled, and cache loads. Compiling lazily, per dtype, on first use keeps
    the cold start of float32-only work free of the float64 microkernels.
    """
    original = dispatcher.compile

    def compile(sig):
        with _slp_vectorizer():
            return original(sig)

    dispatcher.compile = compile


for _module in (micro_forward, micro_weight_grad, micro_input_grad):
    for _name in _module.KERNELS:
        _compile_with_slp(getattr(_module, _name))


@njit(**INLINE)
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
    if n == 0:
        return
    if n_in == 0:
        for r in range(n):
            for j in range(n_out):
                z[r, j] = b[j]
        return
    # Columns in blocks of 32 then 8: a tile of W^T in registers, all rows stream past it;
    # k in chunks of 8 then single columns (the k == 0 chunk starts from the bias).
    j32 = n_out - n_out % 32
    j8 = n_out - n_out % 8
    k8 = n_in - n_in % 8
    o = np.int64(0)   # not a literal: the calls must match the compiled int64 signatures
    # Every call is guarded: passing the arrays costs more than an empty kernel.
    if j32 > 0:
        if k8 > 0:
            micro_forward.nt_32_8(h, W, b, z, o, j32, o, k8)
        if k8 < n_in:
            micro_forward.nt_32_1(h, W, b, z, o, j32, k8, n_in)
    if j32 < j8:
        if k8 > 0:
            micro_forward.nt_8_8(h, W, b, z, j32, j8, o, k8)
        if k8 < n_in:
            micro_forward.nt_8_1(h, W, b, z, j32, j8, k8, n_in)
    if j8 == n_out:
        return
    if n_out >= 8:
        # The last < 8 columns: redo the last full block of 8 (the chunk at k == 0 starts
        # from the bias, so recomputed columns are overwritten with the same values).
        if k8 > 0:
            micro_forward.nt_8_8(h, W, b, z, n_out - 8, n_out, o, k8)
        if k8 < n_in:
            micro_forward.nt_8_1(h, W, b, z, n_out - 8, n_out, k8, n_in)
        return
    # Fewer than 8 columns (out = 1, say): dot products along contiguous rows.
    zero = z.dtype.type(0)
    for j in range(j8, n_out):
        for r in range(n):
            acc = zero
            for k in range(n_in):
                acc += h[r, k] * W[j, k]
            z[r, j] = acc + b[j]


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
        # Rows of dW in blocks of 4, columns in blocks of 32 then 8; the last < 8 columns
        # one at a time, 16 rows of dW (contiguous in dz) at once.
        i4 = n_out - n_out % 4
        i16 = n_out - n_out % 16
        k32 = n_in - n_in % 32
        k8 = n_in - n_in % 8
        o = np.int64(0)   # not a literal: the calls must match the compiled int64 signatures
        for k0 in range(0, k32, 32):
            if i4 > 0:
                micro_weight_grad.tn_4_32(dz, h, dW, o, i4, k0, n)
            if i4 < n_out:
                micro_weight_grad.tn_1_32(dz, h, dW, i4, n_out, k0, n)
        for k0 in range(k32, k8, 8):
            if i4 > 0:
                micro_weight_grad.tn_4_8(dz, h, dW, o, i4, k0, n)
            if i4 < n_out:
                micro_weight_grad.tn_1_8(dz, h, dW, i4, n_out, k0, n)
        zero = dW.dtype.type(0)
        for k in range(k8, n_in):
            if i16 > 0:
                micro_weight_grad.tncol_16(dz, h, dW, o, i16, k, n)
            for j in range(i16, n_out):
                acc = zero
                for r in range(n):
                    acc += dz[r, j] * h[r, k]
                dW[j, k] = acc
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
    # Rows of dh in blocks of 4, columns in blocks of 32 then 8; the last n % 4 rows (rare:
    # batch sizes are mostly multiples of 4) by plain loops with the same fma chain (same bits).
    r4 = n - n % 4
    k32 = n_in - n_in % 32
    k8 = n_in - n_in % 8
    o = np.int64(0)   # not a literal: the calls must match the compiled int64 signatures
    if r4 > 0:
        for k0 in range(0, k32, 32):
            micro_input_grad.nn_4_32(dz, W, dh, o, r4, k0, n_out)
        for k0 in range(k32, k8, 8):
            micro_input_grad.nn_4_8(dz, W, dh, o, r4, k0, n_out)
    if r4 < n:
        input_grad_rows(dz, W, dh, r4, n, 0, k8)
    if k8 == n_in:
        return
    if n_in >= 8:
        # The last < 8 columns: redo the last full block of 8 (overwrites, same values).
        if r4 > 0:
            micro_input_grad.nn_4_8(dz, W, dh, o, r4, n_in - 8, n_out)
        if r4 < n:
            input_grad_rows(dz, W, dh, r4, n, n_in - 8, n_in)
        return
    zero = dh.dtype.type(0)
    for r in range(n):
        for k in range(k8, n_in):
            acc = zero
            for j in range(n_out):
                acc += dz[r, j] * W[j, k]
            dh[r, k] = acc


@njit(**JIT)
def input_grad_rows(dz, W, dh, r_start, r_end, k_start, k_end):
    """``dh[r, k] = sum_t dz[r, t] W[t, k]`` for a few rows, as ``fma`` chains over ``t`` in
    order: the arithmetic of the ``nn`` microkernels, without compiling one per block width."""
    zero = dh.dtype.type(0)
    for r in range(r_start, r_end):
        for k in range(k_start, k_end):
            acc = zero
            for t in range(dz.shape[1]):
                acc = fma(dz[r, t], W[t, k], acc)
            dh[r, k] = acc
