"""Optimizer updates over one flat parameter buffer, with PyTorch's exact formulas.

``hyper`` is a float64 vector laid out as in ``layout`` (``H_LR`` ...). ``state`` is a
``(2, n_params)`` array: SGD keeps its momentum buffer in row 0; Adam its first and second
moments in rows 0 and 1; RMSprop its square average in row 0 and momentum buffer in row 1.
``t`` is the 1-based step number. Each update returns False when any updated parameter is
non-finite (the caller records divergence).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from fastrelu.kernels._config import INLINE, JIT
from fastrelu.kernels.layout import (ADAM, H_ALPHA, H_BETA1, H_BETA2, H_CLIP, H_EPS, H_LR,
                                     H_MOMENTUM, H_WEIGHT_DECAY, SGD)


@njit(**INLINE)
def clip_grad_norm(grad, max_norm):
    """As ``torch.nn.utils.clip_grad_norm_``: scale by ``max_norm / (norm + 1e-6)`` if < 1.

    Returns the total norm before clipping (accumulated in float64, in index order).
    """
    total = 0.0
    for i in range(grad.shape[0]):
        g = float(grad[i])
        total += g * g
    total = np.sqrt(total)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for i in range(grad.shape[0]):
            grad[i] = grad[i] * coef
    return total


@njit(**INLINE)
def sgd(theta, grad, state, hyper, t):
    """``torch.optim.SGD`` (dampening 0, no Nesterov)."""
    T = theta.dtype.type
    lr = T(hyper[H_LR])
    mom = T(hyper[H_MOMENTUM])
    wd = T(hyper[H_WEIGHT_DECAY])
    buf = state[0]
    ok = True
    # One loop per case, no loop-invariant branch inside a loop: LLVM vectorized branches
    # on the momentum buffer with masked loads and stores, which ran about 5x slower for
    # some buffer placements (W2 runs took 0.5 s or 2.7 s with the same data, measured).
    if wd == 0 and mom == 0:
        for i in range(theta.shape[0]):
            p = theta[i] - lr * grad[i]
            theta[i] = p
            ok &= np.isfinite(p)
        return ok
    if mom == 0:
        for i in range(theta.shape[0]):
            p = theta[i] - lr * (grad[i] + wd * theta[i])
            theta[i] = p
            ok &= np.isfinite(p)
        return ok
    for i in range(theta.shape[0]):
        d = grad[i]
        if wd != 0:
            d = d + wd * theta[i]
        if t != 1:   # the first step starts the buffer from the gradient
            d = buf[i] * mom + d
        buf[i] = d
        p = theta[i] - lr * d
        theta[i] = p
        ok &= np.isfinite(p)
    return ok


@njit(**INLINE)
def adam(theta, grad, state, hyper, t):
    """``torch.optim.Adam`` (L2 weight decay added to the gradient, no AMSGrad)."""
    T = theta.dtype.type
    b2 = T(hyper[H_BETA2])
    eps = T(hyper[H_EPS])
    wd = T(hyper[H_WEIGHT_DECAY])
    m = state[0]
    v = state[1]
    step_size = T(hyper[H_LR] / (1.0 - hyper[H_BETA1] ** t))   # in float64, as torch does
    bc2_sqrt = T(np.sqrt(1.0 - hyper[H_BETA2] ** t))
    w = T(1.0 - hyper[H_BETA1])
    one_b2 = T(1.0 - hyper[H_BETA2])
    ok = True
    for i in range(theta.shape[0]):
        g = grad[i]
        if wd != 0:
            g = g + wd * theta[i]
        m[i] = m[i] + w * (g - m[i])          # torch: exp_avg.lerp_(grad, 1 - beta1)
        v[i] = v[i] * b2 + one_b2 * g * g
        denom = np.sqrt(v[i]) / bc2_sqrt + eps
        p = theta[i] - step_size * (m[i] / denom)
        theta[i] = p
        ok &= np.isfinite(p)
    return ok


@njit(**INLINE)
def rmsprop(theta, grad, state, hyper, t):
    """``torch.optim.RMSprop`` (not centered)."""
    T = theta.dtype.type
    lr = T(hyper[H_LR])
    alpha = T(hyper[H_ALPHA])
    eps = T(hyper[H_EPS])
    mom = T(hyper[H_MOMENTUM])
    wd = T(hyper[H_WEIGHT_DECAY])
    one_alpha = T(1.0 - hyper[H_ALPHA])
    sq = state[0]
    buf = state[1]
    ok = True
    # Two loops rather than a branch on ``mom`` inside one (see ``sgd``: masked vector
    # loads and stores of ``buf``).
    if mom > 0:
        for i in range(theta.shape[0]):
            g = grad[i]
            if wd != 0:
                g = g + wd * theta[i]
            sq[i] = sq[i] * alpha + one_alpha * g * g
            buf[i] = buf[i] * mom + g / (np.sqrt(sq[i]) + eps)
            p = theta[i] - lr * buf[i]
            theta[i] = p
            ok &= np.isfinite(p)
        return ok
    for i in range(theta.shape[0]):
        g = grad[i]
        if wd != 0:
            g = g + wd * theta[i]
        sq[i] = sq[i] * alpha + one_alpha * g * g
        p = theta[i] - lr * (g / (np.sqrt(sq[i]) + eps))
        theta[i] = p
        ok &= np.isfinite(p)
    return ok


@njit(**JIT)
def apply_update(kind, theta, grad, state, hyper, t):
    """Clip (if ``hyper[H_CLIP] > 0``) and apply optimizer ``kind``; False if non-finite."""
    if hyper[H_CLIP] > 0:
        clip_grad_norm(grad, hyper[H_CLIP])
    if kind == SGD:
        return sgd(theta, grad, state, hyper, t)
    if kind == ADAM:
        return adam(theta, grad, state, hyper, t)
    return rmsprop(theta, grad, state, hyper, t)
