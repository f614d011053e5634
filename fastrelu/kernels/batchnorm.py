"""Batch normalization over the rows of ``(n, units)`` arrays, as ``torch.nn.BatchNorm1d``.

Training mode normalizes with the batch mean and biased variance; evaluation mode with the
running statistics. Statistics are accumulated serially in a fixed order (deterministic).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from fastrelu.kernels._config import INLINE

EPS = 1e-5
MOMENTUM = 0.1


@njit(**INLINE)
def batchnorm_train(z, gamma, beta, xhat, y, mean, var, invstd):
    """Normalize ``z`` with batch statistics: ``y = gamma * xhat + beta``.

    Writes ``xhat``, ``y`` (n, units) and per-unit ``mean``, biased ``var``, ``invstd``.
    """
    n, m = z.shape
    for j in range(m):
        mean[j] = 0
        var[j] = 0
    for r in range(n):
        for j in range(m):
            mean[j] += z[r, j]
    for j in range(m):
        mean[j] /= n
    for r in range(n):
        for j in range(m):
            d = z[r, j] - mean[j]
            var[j] += d * d
    for j in range(m):
        var[j] /= n
        invstd[j] = 1 / np.sqrt(var[j] + EPS)
    for r in range(n):
        for j in range(m):
            xh = (z[r, j] - mean[j]) * invstd[j]
            xhat[r, j] = xh
            y[r, j] = gamma[j] * xh + beta[j]


@njit(**INLINE)
def batchnorm_eval(z, gamma, beta, running_mean, running_var, y):
    """Normalize ``z`` with running statistics (evaluation mode)."""
    n, m = z.shape
    for r in range(n):
        for j in range(m):
            y[r, j] = gamma[j] * (z[r, j] - running_mean[j]) / np.sqrt(running_var[j] + EPS) + beta[j]


@njit(**INLINE)
def update_running_stats(running_mean, running_var, mean, var, n):
    """torch's update: momentum 0.1, the running variance uses the unbiased batch variance."""
    unbias = n / (n - 1) if n > 1 else 1.0
    for j in range(running_mean.shape[0]):
        running_mean[j] = (1 - MOMENTUM) * running_mean[j] + MOMENTUM * mean[j]
        running_var[j] = (1 - MOMENTUM) * running_var[j] + MOMENTUM * (var[j] * unbias)


@njit(**INLINE)
def batchnorm_backward(dy, xhat, gamma, invstd, dgamma, dbeta):
    """Backward through training-mode batch norm, in place: ``dy`` becomes ``dL/dz``.

    Writes ``dgamma = sum_r dy * xhat`` and ``dbeta = sum_r dy``.
    """
    n, m = dy.shape
    for j in range(m):
        dgamma[j] = 0
        dbeta[j] = 0
    for r in range(n):
        for j in range(m):
            dgamma[j] += dy[r, j] * xhat[r, j]
            dbeta[j] += dy[r, j]
    # With dxhat = dy * gamma: sum_r dxhat = gamma * dbeta, sum_r dxhat * xhat = gamma * dgamma.
    for r in range(n):
        for j in range(m):
            dy[r, j] = gamma[j] * invstd[j] / n * (n * dy[r, j] - dbeta[j] - xhat[r, j] * dgamma[j])
