"""Evaluation-mode passes over many rows, in fixed row blocks (bounded workspace)."""
from __future__ import annotations

import numpy as np

from fastrelu.kernels.layout import C_OFF, KIND, OUT, OUTPUT
from fastrelu.kernels.network import block, forward
from fastrelu.kernels.train import new_workspace, total_width

BLOCK_ROWS = 1024


def predict(theta, running, arch, res_scale, X, out, hidden, train, pre):
    """Write the network output for every row of ``X`` into ``out`` (n, n_out).

    When ``hidden`` has ``total_width`` columns, also write every hidden layer's output
    (after ReLU and residual add; with ``pre``, its ReLU input instead), side by side at their
    ``C_OFF`` columns. ``train`` uses batch statistics for batch norm over all of ``X`` as one
    batch (no blocking then).

    Plain Python around the compiled ``forward``: one call per block of rows costs
    microseconds, and a compiled wrapper would make numba re-optimize and re-emit the whole
    forward pass once more on a cold start (about a second).
    """
    n = X.shape[0]
    rows = n if train else min(n, BLOCK_ROWS)
    H, U, XH, G, stats = new_workspace(arch, rows, theta)
    want_hidden = hidden.shape[1] == total_width(arch)
    train = np.bool_(train)
    for r0 in range(0, n, max(rows, 1)):
        r1 = min(n, r0 + rows)
        m = r1 - r0
        out[r0:r1] = forward(theta, arch, res_scale, X[r0:r1], H, U, XH, stats, running, train,
                               G[3])
        if want_hidden:
            for l in range(arch.shape[0]):
                if arch[l, KIND] != OUTPUT:
                    c = arch[l, C_OFF]
                    hidden[r0:r1, c:c + arch[l, OUT]] = block(U if pre else H, m, arch, l)
