"""Forward and backward passes of a whole network described by ``arch`` (see ``layout``).

The passes take the fields of a ``structs.Network`` and a ``structs.Workspace`` (see the
comment above :func:`forward`). The workspace's activation buffers are flat: for a batch of
``n`` rows, layer ``l``'s block starts at ``n * arch[l, C_OFF]`` and holds ``n * arch[l, OUT]``
values, viewed as ``(n, out)`` (:func:`block`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from fastrelu.kernels._config import INLINE, JIT
from fastrelu.kernels.batchnorm import (
    batchnorm_backward,
    batchnorm_eval,
    batchnorm_train,
)
from fastrelu.kernels.dense import (
    linear_backward_input,
    linear_backward_params,
    linear_forward,
)
from fastrelu.kernels.intrinsics import as_matrix
from fastrelu.kernels.layout import (
    B_OFF,
    BE_OFF,
    BN,
    C_OFF,
    G_OFF,
    IN,
    KIND,
    OUT,
    OUTPUT,
    RESIDUAL,
    W_OFF,
)


@njit(**JIT)   # not inlined: its raise would keep the prange loop of chunked_loss_grad serial
def view2d(buf, start, n, m):
    """``buf[start:start + n * m]`` as an ``(n, m)`` C array (a view; ValueError if too short)."""
    v = buf[start:start + n * m]
    if v.shape[0] != n * m:
        raise ValueError("view2d: buffer too short")
    return as_matrix(v, n, m)


@njit(**INLINE)
def block(buf, n, arch, l):
    """Layer ``l``'s ``(n, out)`` block of a flat workspace."""
    return view2d(buf, arch[l, C_OFF] * n, n, arch[l, OUT])


@njit(**INLINE)
def weight(theta, arch, l):
    """Layer ``l``'s weight matrix, a ``(out, in)`` view into ``theta``."""
    return view2d(theta, arch[l, W_OFF], arch[l, OUT], arch[l, IN])


@njit(**INLINE)
def vec(theta, arch, l, col):
    """Layer ``l``'s per-unit parameter vector starting at ``arch[l, col]``."""
    o = arch[l, col]
    return theta[o:o + arch[l, OUT]]


@njit(**INLINE)
def copy_into(src, dst):
    """``dst[:, :] = src`` for same-shape 2-D arrays, as a loop.

    A slice assignment would compile numba's broadcast-error formatting (string code, about
    2 s of cold start) into every kernel that uses it.
    """
    for r in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[r, j] = src[r, j]


# forward and backward take the workspace field by field, not as structures: with a
# ``structs.Network`` and ``Workspace`` as arguments W2 (512 networks, 2 threads) ran about
# 1.4x slower, reproducibly (one thread: the same speed); measured, cause not found.

@njit(**JIT)
def forward(theta, arch, res_scale, x, outputs, preacts, normalized, stats, running, train, wt):
    """Run the network on ``x`` (n, in), filling the ``structs.Workspace`` buffers passed
    field by field (``outputs``, ``preacts``, ``normalized``, ``stats`` = ``batch_stats``).

    ``train`` selects batch statistics for batch norm (and stores them in ``stats``);
    otherwise the ``running`` statistics are used. ``wt`` is the dense kernels' transpose
    scratch (row ``WT`` of ``Workspace.scratch``; clobbered). Returns the ``(n, out)`` output
    block.
    """
    n = x.shape[0]
    L = arch.shape[0]
    hin = x
    for l in range(L):
        m = arch[l, OUT]
        c = arch[l, C_OFF]
        u = block(preacts, n, arch, l)
        linear_forward(hin, weight(theta, arch, l), vec(theta, arch, l, B_OFF), u, wt)
        if arch[l, BN] == 1:
            xh = block(normalized, n, arch, l)
            gamma = vec(theta, arch, l, G_OFF)
            beta = vec(theta, arch, l, BE_OFF)
            if train:
                batchnorm_train(u, gamma, beta, xh, u, stats[0, c:c + m], stats[1, c:c + m],
                                stats[2, c:c + m])
            else:
                batchnorm_eval(u, gamma, beta, running[0, c:c + m], running[1, c:c + m], u)
        h = block(outputs, n, arch, l)
        kind = arch[l, KIND]
        if kind == OUTPUT:
            copy_into(u, h)
        elif kind == RESIDUAL:
            for r in range(n):
                for j in range(m):
                    v = u[r, j]
                    h[r, j] = hin[r, j] + res_scale * (v if v > 0 else v * 0)
        else:
            for r in range(n):
                for j in range(m):
                    v = u[r, j]
                    h[r, j] = v if v > 0 else v * 0
        hin = h
    return hin


@njit(**JIT)
def backward(theta, arch, res_scale, x, outputs, preacts, normalized, stats, dout, grad, dh_a, dh_b,
             dz_buf, wt):
    """Backpropagate ``dout`` (n, out) through the last ``forward(train=True)``.

    Writes the full parameter gradient into ``grad`` (same layout as ``theta``). The scratch
    rows are those of ``Workspace.scratch`` (``structs.DH_A`` ...): ``dh_a``, ``dh_b`` the
    activation gradients (used in turn) and ``dz_buf`` the pre-activation gradient, at least
    ``n * max_width`` values each (``dout`` may be ``dz_buf``: it is read first); ``wt`` the
    dense kernels' transposes.
    The ReLU derivative at 0 is 0 (mask ``u > 0``), as in PyTorch.
    """
    n = x.shape[0]
    L = arch.shape[0]
    o = np.int64(0)   # not a literal 0: that would compile a second view2d (Literal[int](0))
    dh = view2d(dh_a, o, n, arch[L - 1, OUT])
    copy_into(dout, dh)
    cur_is_a = True
    for l in range(L - 1, -1, -1):
        m = arch[l, OUT]
        k_in = arch[l, IN]
        c = arch[l, C_OFF]
        dz = view2d(dz_buf, o, n, m)
        kind = arch[l, KIND]
        if kind == OUTPUT:
            copy_into(dh, dz)
        else:
            u = block(preacts, n, arch, l)
            if kind == RESIDUAL:
                s = res_scale
                for r in range(n):
                    for j in range(m):
                        dz[r, j] = dh[r, j] * s if u[r, j] > 0 else dh[r, j] * 0
            else:
                # no float64 multiply by 1.0 and a typed zero: stays in the array's dtype (1.8x)
                zero = theta.dtype.type(0)
                for r in range(n):
                    for j in range(m):
                        dz[r, j] = dh[r, j] if u[r, j] > 0 else dh[r, j] * zero
        if arch[l, BN] == 1:
            batchnorm_backward(dz, block(normalized, n, arch, l), vec(theta, arch, l, G_OFF),
                               stats[2, c:c + m], vec(grad, arch, l, G_OFF), vec(grad, arch, l, BE_OFF))
        hin = x if l == 0 else block(outputs, n, arch, l - 1)
        linear_backward_params(dz, hin, weight(grad, arch, l), vec(grad, arch, l, B_OFF), wt)
        if l > 0:
            nxt = view2d(dh_b if cur_is_a else dh_a, o, n, k_in)
            linear_backward_input(dz, weight(theta, arch, l), nxt)
            if kind == RESIDUAL:
                for r in range(n):
                    for j in range(m):
                        nxt[r, j] += dh[r, j]
            dh = nxt
            cur_is_a = not cur_is_a
