"""The forward pass of narrow networks, rows along the vector lanes.

A network whose layers have at most :data:`MAX_UNITS` units and no batch norm (the born-dead
nets of Lu et al. 2019 are 2-10 units wide) keeps its activations transposed, ``(units, rows)``:
each unit's sum over its inputs is one contiguous sweep over the rows, which vectorizes, where
the row-major path does one short dot product per row and unit.

The bits are those of ``network.forward``, operation for operation. Layers of fewer than 8 units
(and at most 16 inputs): ``dense.linear_forward`` sums the products in the order
``dense.dot_rows_lanes`` states, then adds the bias. Layers of 8 units or more: its ``nn``
microkernels run an ``fma`` chain from the bias over the inputs in order. Compiled without
fastmath, so LLVM keeps both orders; ``tests/test_narrow.py`` compares both paths on random
shapes. :func:`qualifies` says which architectures take this path.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from fastrelu.kernels._config import BLAS_MIN_MACS, STRICT_JIT
from fastrelu.kernels.dense import LANES_MAX_IN
from fastrelu.kernels.evaluate import BLOCK_ROWS
from fastrelu.kernels.intrinsics import borrow, fma, from_ordered_key, ordered_key
from fastrelu.kernels.layout import B_OFF, BN, C_OFF, IN, KIND, OUT, OUTPUT, RESIDUAL, W_OFF
from fastrelu.kernels.vector_blocks import rows_fma_chain

#: Layers narrower than this use the dot-product path of ``dense.linear_forward``; wider ones
#: its ``nn`` microkernels, whose sums are ``fma`` chains from the bias over the inputs in order.
MAX_OUT = 8
#: Inputs per unit at most in layers narrower than :data:`MAX_OUT`: the fan-ins whose sums
#: ``dense.dot_rows_lanes`` writes out in a stated order (longer ones are left to LLVM's
#: vectorizer, whose order is its own).
MAX_IN = LANES_MAX_IN
#: Units per layer at most on this path: wider layers are faster in the register-blocked
#: microkernels than in one pass over the rows per (unit, input) pair.
MAX_UNITS = 16

_ROWS_FMA = rows_fma_chain()


def qualifies(arch: np.ndarray) -> bool:
    """True when every layer of ``arch`` is computed by :func:`forward_narrow` with the bits of
    ``network.forward``: no batch norm, at most :data:`MAX_UNITS` units, at most :data:`MAX_IN`
    inputs if it has fewer than :data:`MAX_OUT` units, and not BLAS-sized (at least
    ``BLAS_MIN_MACS`` multiply-adds per block of ``evaluate.BLOCK_ROWS`` rows)."""
    return all(int(r[BN]) == 0 and int(r[OUT]) <= MAX_UNITS
               and (int(r[OUT]) >= MAX_OUT or int(r[IN]) <= MAX_IN)
               and BLOCK_ROWS * int(r[IN]) * int(r[OUT]) < BLAS_MIN_MACS for r in arch)


@njit(**STRICT_JIT)
def forward_narrow(theta, arch, res_scale, xt, acts, acc, out, max_pre):
    """Outputs of the network on the rows of ``xt`` (inputs, n), transposed, into ``out``
    (n, outputs); per hidden unit the largest pre-activation over the rows into ``max_pre``
    (NaN if any was NaN).

    ``acts`` (2, max width, n) holds the hidden layers in turn, ``acc`` (4, n) one unit's
    partial sums (the four of ``dense.dot_rows_lanes``); both are clobbered.

    Once a plain hidden layer is zero on every row (all its units dead: the born-dead nets of
    Lu et al. 2019), every later layer computes the same bits on every row (see
    :func:`_rows_equal_after`), so the rest of the net runs on one row and its output row is
    copied: exact, and most deep narrow nets at initialization end this way.
    """
    # borrowed views: each row view below would otherwise cost an atomic reference count
    theta, xt, acts, acc, out, max_pre = (borrow(theta), borrow(xt), borrow(acts), borrow(acc),
                                          borrow(out), borrow(max_pre))
    n = xt.shape[1]
    live = n                     # rows computed: n, or 1 once every row is the same
    src = xt
    cur = 0
    for l in range(arch.shape[0]):
        m, k_in, w0, b0, kind = arch[l, OUT], arch[l, IN], arch[l, W_OFF], arch[l, B_OFF], arch[l, KIND]
        dst = acts[cur]
        for j in range(m):
            u = acc[0]
            bj = theta[b0 + j]
            if m >= MAX_OUT:
                _unit_fma(theta, w0 + j * k_in, k_in, src, live, u, bj)
            elif k_in < 8:
                _unit_small(theta, w0 + j * k_in, k_in, src, live, u, bj)
            else:
                _unit_sums(theta, w0 + j * k_in, k_in, src, live, acc)
                for r in range(live):
                    u[r] = u[r] + bj
            if kind == OUTPUT:
                for r in range(n):
                    out[r, j] = u[r] if live == n else u[0]
                continue
            prev = src[j] if kind == RESIDUAL else u
            max_pre[arch[l, C_OFF] + j] = _activate(u, live, kind == RESIDUAL, prev, res_scale, dst[j])
        src = dst
        cur = 1 - cur
        if live > 1 and kind != OUTPUT and _rows_equal_after(theta, arch, l, dst, live, max_pre):
            live = 1


@njit(**STRICT_JIT)
def _rows_equal_after(theta, arch, l, h, n, max_pre):
    """True when layer ``l + 1`` and every later one give the same bits on every row: layer
    ``l`` is plain and all its units are dead (largest pre-activation ``<= 0``: the cheap test,
    first), every value of ``h[:, :n]`` is a zero (not so for a pre-activation of -inf, whose
    ReLU is NaN), and layer ``l + 1`` is not residual (its skip would add the zeros' signs)
    and, if it takes the ``fma`` path, has no bias of -0 (``fma(+-0, w, -0)`` keeps the sign
    of the product).

    With zeros in, the sums of ``_unit_sums`` start from +0 and stay +0 whatever the signs of
    the products; an ``fma`` chain from a bias ``b`` stays ``b`` (from +0: +0). So layer
    ``l + 1``'s pre-activations are its biases on every row, and from there on every row's
    input is the same.
    """
    nxt = l + 1
    if arch[l, KIND] == RESIDUAL or arch[nxt, KIND] == RESIDUAL:
        return False
    c0 = arch[l, C_OFF]
    for j in range(arch[l, OUT]):
        if not max_pre[c0 + j] <= 0:
            return False
    if arch[nxt, OUT] >= MAX_OUT:
        b0 = arch[nxt, B_OFF]
        for j in range(arch[nxt, OUT]):
            if theta[b0 + j] == 0 and np.signbit(theta[b0 + j]):
                return False
    for j in range(arch[l, OUT]):
        row = h[j]
        for r in range(n):
            if row[r] != 0:
                return False
    return True


@njit(**STRICT_JIT)
def _unit_fma(theta, w0, k_in, src, n, u, bias):
    """``u[r] = fma(src[k_in - 1, r], w, ... fma(src[0, r], w0, bias))``: the chain of the
    ``nn`` microkernels of ``dense.linear_forward`` (layers of 8 units or more), rows ``< n``,
    with blocks of rows kept in vector registers over the chain (``vector_blocks``)."""
    _ROWS_FMA(theta, w0, k_in, src, n, u, bias)


@njit(**STRICT_JIT)
def _unit_small(theta, w0, k_in, src, n, u, bias):
    """``u[r] = sum_k src[k, r] * theta[w0 + k] + bias`` for rows ``r < n`` and ``k_in < 8``, in
    the order of ``dense.dot_rows_lanes``, in one pass (a pass per input cost more in loop
    overhead than in arithmetic at 128 rows).

    With at most one product per partial sum, sum ``i > 0`` is its product (-0 is the identity
    of addition) and sum 0 is ``0 + p0``: below 4 inputs the products add up in order, from 4 on
    as ``((0 + p0) + p2) + (p1 + p3)`` and then the rest in order. Each branch is one loop.
    """
    z = theta.dtype.type(0)
    a0, w_0 = src[0], theta[w0]
    if k_in == 1:
        for r in range(n):
            u[r] = (z + a0[r] * w_0) + bias
        return
    a1, w_1 = src[1], theta[w0 + 1]
    if k_in == 2:
        for r in range(n):
            u[r] = ((z + a0[r] * w_0) + a1[r] * w_1) + bias
        return
    a2, w_2 = src[2], theta[w0 + 2]
    if k_in == 3:
        for r in range(n):
            u[r] = (((z + a0[r] * w_0) + a1[r] * w_1) + a2[r] * w_2) + bias
        return
    a3, w_3 = src[3], theta[w0 + 3]
    if k_in == 4:
        for r in range(n):
            u[r] = (((z + a0[r] * w_0) + a2[r] * w_2) + (a1[r] * w_1 + a3[r] * w_3)) + bias
        return
    a4, w_4 = src[4], theta[w0 + 4]
    if k_in == 5:
        for r in range(n):
            u[r] = ((((z + a0[r] * w_0) + a2[r] * w_2) + (a1[r] * w_1 + a3[r] * w_3))
                    + a4[r] * w_4) + bias
        return
    a5, w_5 = src[5], theta[w0 + 5]
    if k_in == 6:
        for r in range(n):
            u[r] = (((((z + a0[r] * w_0) + a2[r] * w_2) + (a1[r] * w_1 + a3[r] * w_3))
                     + a4[r] * w_4) + a5[r] * w_5) + bias
        return
    a6, w_6 = src[6], theta[w0 + 6]
    for r in range(n):
        u[r] = ((((((z + a0[r] * w_0) + a2[r] * w_2) + (a1[r] * w_1 + a3[r] * w_3))
                  + a4[r] * w_4) + a5[r] * w_5) + a6[r] * w_6) + bias


@njit(**STRICT_JIT)
def _unit_sums(theta, w0, k_in, src, n, acc):
    """``acc[0, r] = sum_k src[k, r] * theta[w0 + k]`` for rows ``r < n`` and 8 to 16 inputs,
    in the order of ``dense.dot_rows_lanes``: four partial sums (the first from +0, the others
    from -0), ``(s0 + s2) + (s1 + s3)``, then the remainder in order."""
    zero = theta.dtype.type(0)
    s0 = acc[0]
    for i in range(4):
        lane = acc[i]
        start = zero if i == 0 else -zero
        for r in range(n):
            lane[r] = start
    full = k_in - k_in % 4
    for k in range(full):
        w, row, lane = theta[w0 + k], src[k], acc[k % 4]
        for r in range(n):
            lane[r] += row[r] * w
    s1, s2, s3 = acc[1], acc[2], acc[3]
    for r in range(n):
        s0[r] = (s0[r] + s2[r]) + (s1[r] + s3[r])
    for k in range(full, k_in):
        w, row = theta[w0 + k], src[k]
        for r in range(n):
            s0[r] += row[r] * w


@njit(**STRICT_JIT)
def _activate(u, n, residual, prev, res_scale, h):
    """``h[r]``: the ReLU of ``u[r]`` (``prev[r] + res_scale * ReLU`` in a residual layer) for
    rows ``r < n``; returns the largest ``u[r]``, NaN if any is NaN. One pass, the maximum by
    ``ordered_key``: an integer maximum vectorizes, a float one with its NaN test stayed scalar
    and took two thirds of the pass (5x19 nets 18.4 against 6.1 us without it)."""
    best = ordered_key(u[0])
    if residual:
        for r in range(n):
            v = u[r]
            k = ordered_key(v)
            best = k if k > best else best
            h[r] = prev[r] + res_scale * (v if v > 0 else v * 0)
    else:
        for r in range(n):
            v = u[r]
            k = ordered_key(v)
            best = k if k > best else best
            h[r] = v if v > 0 else v * 0
    return from_ordered_key(best, u[0])
