"""Dense layer kernels: ``z = h W^T + b`` and its backward, for small and wide layers.

Small layers are computed in register blocks by ``microkernels`` (a block of the output
stays in vector registers for the whole reduction, no stores inside it, no allocation); the forward pass
transposes ``W`` into scratch and uses the input-gradient kernels. The edges that do not fill
a block use plain loops. Layers with at least ``BLAS_MIN_MACS`` multiply-adds go to BLAS through
``intrinsics.matmul_into`` (numba's lowering of ``np.dot``). The path and the summation order
depend on the shapes only, so a given problem always gives the same bits, whatever the thread
count.

The microkernels are loop nests emitted as LLVM vector IR (``vector_blocks``): fma chains on
``<K x float>`` vectors, the same bits as the scalar chains ``fma(a, b, acc)`` in order.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from fastrelu.kernels import microkernels
from fastrelu.kernels._config import INLINE, BLAS_MIN_MACS, JIT, STRICT_JIT
from fastrelu.kernels.intrinsics import as_matrix, fma, matmul_into, transpose8, transpose16


@njit(**INLINE)
def use_blas(n, n_in, n_out):
    """True when a layer of this shape is large enough for BLAS."""
    return n * n_in * n_out >= BLAS_MIN_MACS


@njit(**INLINE)
def linear_forward(h, W, b, z, wt):
    """Write ``z[r, j] = b[j] + sum_k h[r, k] * W[j, k]``.

    h: (n, in), W: (out, in), b: (out,), z: (n, out); all C-contiguous, same dtype. ``wt`` is
    scratch of at least ``in * out`` values (clobbered): small layers with ``out >= 8`` copy
    ``W^T`` into it (in-register block transposes) and run the ``nn`` microkernels of the
    input gradient, ``z = b + h (W^T)`` (each sum starts from the bias). Reading ``W^T``
    tiles straight from ``W`` needs strided loads, which cost more than the whole transpose
    (measured on W1's 64x64 layer: 1.76 us against 0.10 us for the transpose and 1.2 us for
    the product).
    """
    n, n_in = h.shape
    n_out = W.shape[0]
    if use_blas(n, n_in, n_out):
        matmul_into(h, W.T, z)
        for r in range(n):
            for j in range(n_out):
                z[r, j] += b[j]
        return
    if n == 0:
        return
    if n_out >= 8:
        wT = scratch_matrix(wt, n_in, n_out)
        transpose_into(W, wT)
        nn_product(h, wT, z, b, np.bool_(True))
        return
    # Fewer than 8 columns (out = 1, say): dot products along contiguous rows.
    if n_in <= LANES_MAX_IN:
        dot_rows_lanes(h, W, b, z)
        return
    zero = z.dtype.type(0)
    for j in range(n_out):
        for r in range(n):
            acc = zero
            for k in range(n_in):
                acc += h[r, k] * W[j, k]
            z[r, j] = acc + b[j]


#: Fan-in up to which :func:`dot_rows_lanes` computes the dot products of narrow layers.
LANES_MAX_IN = 16


@njit(**STRICT_JIT)
def dot_rows_lanes(h, W, b, z):
    """``z[r, j] = b[j] + sum_k h[r, k] * W[j, k]`` in a stated order, for fan-ins up to
    :data:`LANES_MAX_IN`: fewer than 4 inputs are summed in order from 0; otherwise the products
    of inputs ``k = 4q + i`` go to partial sum ``i`` (the first starting from 0, the others from
    -0), which are combined as ``(s0 + s2) + (s1 + s3)``, and the last ``n_in % 4`` products are
    added in order. It is the order LLVM's vectorizer gave the plain loop on these fan-ins here
    (so the bits did not change), now written out: compiled without fastmath, it holds on every
    CPU, and ``narrow.forward_narrow`` reproduces it lane by lane.
    """
    n, n_in = h.shape
    zero = z.dtype.type(0)
    neg_zero = -zero
    full = n_in - n_in % 4
    for j in range(W.shape[0]):
        for r in range(n):
            if n_in < 4:
                acc = zero
                for k in range(n_in):
                    acc += h[r, k] * W[j, k]
            else:
                s0, s1, s2, s3 = zero, neg_zero, neg_zero, neg_zero
                for k in range(0, full, 4):
                    s0 += h[r, k] * W[j, k]
                    s1 += h[r, k + 1] * W[j, k + 1]
                    s2 += h[r, k + 2] * W[j, k + 2]
                    s3 += h[r, k + 3] * W[j, k + 3]
                acc = (s0 + s2) + (s1 + s3)
                for k in range(full, n_in):
                    acc += h[r, k] * W[j, k]
            z[r, j] = acc + b[j]


@njit(**INLINE)
def scratch_matrix(wt, rows, cols):
    """The first ``rows * cols`` values of scratch ``wt`` as a ``(rows, cols)`` matrix
    (ValueError if ``wt`` is shorter)."""
    if wt.shape[0] < rows * cols:
        raise ValueError("dense kernels: scratch wt holds fewer than in * out values")
    return as_matrix(wt[:rows * cols], rows, cols)


@njit(**INLINE)
def transpose_into(A, AT):
    """``AT[:, :] = A.T`` for C-contiguous ``A`` (m, k) and ``AT`` (k, m).

    Blocks of 16x16 (or 8x8 when a side is shorter than 16) transposed in vector registers;
    the last partial block row and column are covered by a block shifted back to the edge
    (it rewrites some values, the same ones). Sides shorter than 8: plain loops.
    """
    m, k = A.shape
    if m >= 16 and k >= 16:
        for r0 in range(0, m, 16):
            r = min(r0, m - 16)
            for c0 in range(0, k, 16):
                transpose16(A, AT, r, min(c0, k - 16))
    elif m >= 8 and k >= 8:
        for r0 in range(0, m, 8):
            r = min(r0, m - 8)
            for c0 in range(0, k, 8):
                transpose8(A, AT, r, min(c0, k - 8))
    else:
        for i in range(m):
            for j in range(k):
                AT[j, i] = A[i, j]


@njit(**INLINE)
def linear_backward_params(dz, h, dW, db, wt):
    """Write ``dW = dz^T h`` and ``db = sum_r dz[r]`` (overwrites).

    dz: (n, out), h: (n, in), dW: (out, in), db: (out,). ``wt`` is scratch of at least
    ``in * out`` values (clobbered): with fewer than 32 inputs and at least 32 outputs the
    microkernels' vector blocks fit ``dW^T = h^T dz`` (the same products and sums, so the same
    bits), which is computed there and transposed into ``dW``.
    """
    n, n_in = h.shape
    n_out = dz.shape[1]
    if use_blas(n, n_in, n_out):
        matmul_into(dz.T, h, dW)
    elif n_in < 32 and n_out >= 32:
        dWT = scratch_matrix(wt, n_in, n_out)
        tn_product(h, dz, dWT)
        transpose_into(dWT, dW)
    else:
        tn_product(dz, h, dW)
    # Column sums with the accumulators in registers (a loop adding rows into db waits on
    # the store of the previous row): 64 then 16 columns at a time, the rest one by one, all
    # in row order (kernels compiled without reassociation).
    j64 = n_out - n_out % 64
    j16 = n_out - n_out % 16
    o = np.int64(0)
    if j64 > 0:
        microkernels.colsum_64(dz, db, o, j64)
    if j64 < j16:
        microkernels.colsum_16(dz, db, j64, j16)
    if j16 < n_out:
        microkernels.colsum_1(dz, db, j16, n_out)


@njit(**INLINE)
def tn_product(A, B, C):
    """``C = A^T B`` (A: (n, m), B: (n, k), C: (m, k)) by the ``tn`` microkernels: fma chains
    over the rows ``r`` in order."""
    n, n_in = B.shape
    n_out = A.shape[1]
    # Rows of C in blocks of 4, columns in blocks of 32 then 8; the last < 8 columns
    # one at a time, 16 rows of C (contiguous in A) at once.
    i4 = n_out - n_out % 4
    i16 = n_out - n_out % 16
    k32 = n_in - n_in % 32
    k8 = n_in - n_in % 8
    o = np.int64(0)   # not a literal: the calls must match the compiled int64 signatures
    for k0 in range(0, k32, 32):
        if i4 > 0:
            microkernels.tn_4_32(A, B, C, o, i4, k0, n)
        if i4 < n_out:
            microkernels.tn_1_32(A, B, C, i4, n_out, k0, n)
    for k0 in range(k32, k8, 8):
        if i4 > 0:
            microkernels.tn_4_8(A, B, C, o, i4, k0, n)
        if i4 < n_out:
            microkernels.tn_1_8(A, B, C, i4, n_out, k0, n)
    zero = C.dtype.type(0)
    for k in range(k8, n_in):
        if i16 > 0:
            microkernels.tncol_16(A, B, C, o, i16, k, n)
        for j in range(i16, n_out):
            acc = zero
            for r in range(n):
                acc = fma(A[r, j], B[r, k], acc)   # the microkernels' arithmetic: same bits
            C[j, k] = acc


@njit(**INLINE)
def linear_backward_input(dz, W, dh):
    """Write ``dh = dz W`` (overwrites). dz: (n, out), W: (out, in), dh: (n, in)."""
    n, n_out = dz.shape
    n_in = W.shape[1]
    if use_blas(n, n_in, n_out):
        matmul_into(dz, W, dh)
        return
    if n == 0:
        return
    nn_product(dz, W, dh, dh[0], np.bool_(False))   # (no bias: dh[0] is never read)


@njit(**INLINE)
def nn_product(dz, W, dh, bias, use_bias):
    """``dh = dz W`` (plus ``bias`` per column when ``use_bias``: each sum starts from it) by
    the ``nn`` microkernels (small layers; inlined into both users)."""
    n, n_out = dz.shape
    n_in = W.shape[1]
    # Rows of dh in blocks of 4, columns in blocks of 32 then 8; the last n % 4 rows (rare:
    # batch sizes are mostly multiples of 4) by plain loops with the same fma chain (same bits).
    r4 = n - n % 4
    k32 = n_in - n_in % 32
    k8 = n_in - n_in % 8
    o = np.int64(0)   # not a literal: the calls must match the compiled int64 signatures
    if r4 > 0:
        for k0 in range(0, k32, 32):
            microkernels.nn_4_32(dz, W, dh, o, r4, k0, n_out, bias, use_bias)
        for k0 in range(k32, k8, 8):
            microkernels.nn_4_8(dz, W, dh, o, r4, k0, n_out, bias, use_bias)
    if r4 < n:
        input_grad_rows(dz, W, dh, r4, n, o, k8, bias, use_bias)   # o: one int64 specialization
    if k8 == n_in:
        return
    if n_in >= 8:
        # The last < 8 columns: redo the last full block of 8 (overwrites, same values).
        if r4 > 0:
            microkernels.nn_4_8(dz, W, dh, o, r4, n_in - 8, n_out, bias, use_bias)
        if r4 < n:
            input_grad_rows(dz, W, dh, r4, n, n_in - 8, n_in, bias, use_bias)
        return
    # Fewer than 8 columns (the forward pass never comes here: it needs at least 8)
    zero = dh.dtype.type(0)
    for r in range(n):
        for k in range(k8, n_in):
            acc = bias[k] if use_bias else zero
            for j in range(n_out):
                acc += dz[r, j] * W[j, k]
            dh[r, k] = acc


@njit(**JIT)
def input_grad_rows(dz, W, dh, r_start, r_end, k_start, k_end, bias, use_bias):
    """``dh[r, k] = sum_t dz[r, t] W[t, k]`` (from ``bias[k]`` when ``use_bias``) for a few
    rows, as ``fma`` chains over ``t`` in order: the arithmetic of the ``nn`` microkernels,
    without compiling one per block width."""
    zero = dh.dtype.type(0)
    for r in range(r_start, r_end):
        for k in range(k_start, k_end):
            acc = bias[k] if use_bias else zero
            for t in range(dz.shape[1]):
                acc = fma(dz[r, t], W[t, k], acc)
            dh[r, k] = acc
