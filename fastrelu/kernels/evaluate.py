"""Evaluation-mode passes over many rows, in fixed row blocks (bounded workspace)."""
from __future__ import annotations

import numpy as np

from fastrelu.kernels.layout import C_OFF, HIDDEN_PREACTIVATIONS, KIND, NO_HIDDEN, OUT, OUTPUT
from fastrelu.kernels.network import block, forward
from fastrelu.kernels.structs import WT
from fastrelu.kernels.workspace import new_workspace

BLOCK_ROWS = 256

#: ``network.block`` as Python (its call goes to the compiled ``view2d``): calling the inlined
#: kernel from Python would compile it on its own, one more compilation and cache entry.
_block = block.py_func


def predict(net, X, out, hidden, record, train=False):
    """Write the output of ``net`` (a ``structs.Network``) for every row of ``X`` into ``out``
    (n, n_out).

    ``record`` says what goes into ``hidden`` (n, total_width) besides: ``layout.NO_HIDDEN``
    nothing (``hidden`` is not touched), ``HIDDEN_OUTPUTS`` every hidden layer's output (after
    ReLU and residual add), ``HIDDEN_PREACTIVATIONS`` its ReLU input; side by side at their
    ``C_OFF`` columns. ``train`` uses batch statistics for batch norm over all of ``X`` as one
    batch (no blocking then).

    Plain Python around the compiled ``forward``: one call per block of rows costs
    microseconds, and a compiled wrapper would make numba re-optimize and re-emit the whole
    forward pass once more on a cold start (about a second).
    """
    arch = net.arch
    n = X.shape[0]
    rows = n if train else min(n, BLOCK_ROWS)
    ws = new_workspace(arch, rows, net.params)
    train = np.bool_(train)
    for r0 in range(0, n, max(rows, 1)):
        r1 = min(n, r0 + rows)
        m = r1 - r0
        out[r0:r1] = forward(net.params, arch, net.residual_scale, X[r0:r1], ws.outputs, ws.preacts,
                             ws.normalized, ws.batch_stats, net.running, train, ws.scratch[WT])
        if record != NO_HIDDEN:
            source = ws.preacts if record == HIDDEN_PREACTIVATIONS else ws.outputs
            for l in range(arch.shape[0]):
                if arch[l, KIND] != OUTPUT:
                    c = arch[l, C_OFF]
                    hidden[r0:r1, c:c + arch[l, OUT]] = _block(source, m, arch, l)
