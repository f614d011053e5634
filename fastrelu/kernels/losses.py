"""Losses with mean reduction, as ``torch.nn.MSELoss()`` and ``CrossEntropyLoss()``.

Each returns the loss summed over the given rows divided by ``denom`` rows (so chunks of one
batch can be evaluated separately and added up) and writes the gradient with respect to the
network output into ``dout``. Loss values accumulate in float64.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from fastrelu.kernels._config import INLINE, JIT
from fastrelu.kernels.layout import MSE


@njit(**INLINE)
def mse(out, y, denom, dout):
    """Mean squared error over ``denom`` rows of ``out.shape[1]`` outputs."""
    n, m = out.shape
    scale = 2.0 / (denom * m)
    total = 0.0
    for r in range(n):
        for j in range(m):
            d = out[r, j] - y[r, j]
            total += float(d) * float(d)
            dout[r, j] = d * scale
    return total / (denom * m)


@njit(**INLINE)
def cross_entropy(logits, labels, denom, dout):
    """Softmax cross-entropy with integer labels, mean over ``denom`` rows."""
    n, m = logits.shape
    total = 0.0
    for r in range(n):
        mx = logits[r, 0]
        for j in range(1, m):
            if logits[r, j] > mx:
                mx = logits[r, j]
        s = 0.0
        for j in range(m):
            e = np.exp(logits[r, j] - mx)
            dout[r, j] = e
            s += e
        lab = labels[r]
        total += np.log(s) + mx - logits[r, lab]
        inv = 1.0 / (s * denom)
        for j in range(m):
            dout[r, j] = dout[r, j] * inv
        dout[r, lab] -= 1.0 / denom
    return total / denom


@njit(**JIT)
def loss_and_grad(loss_kind, out, yf, yi, denom, dout):
    """Dispatch on ``loss_kind`` (``MSE`` uses ``yf``, ``CROSS_ENTROPY`` uses ``yi``)."""
    if loss_kind == MSE:
        return mse(out, yf, denom, dout)
    return cross_entropy(out, yi, denom, dout)
