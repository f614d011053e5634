"""Many networks of one architecture trained at once: ``prange`` over networks.

Each network has its own parameters, running statistics, optimizer (kind, hyper-parameters,
state) and batch order; all share the data and the batch boundaries. One thread trains one
network through all its steps with the same step loop as ``train`` (serial chunking for large
batches), so a member ends bit-identical to training it alone. Workspaces are allocated before
the parallel loop, one slice per network. A network that diverges stops there; the others go on.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from fastrelu.kernels._config import PJIT
from fastrelu.kernels.train import new_train_workspace, run_steps


def stack_workspaces(arch, starts, n_in, n_y, thetas, ydtype):
    """One workspace per network: each array of ``new_train_workspace`` with a leading K axis
    (zero-filled where that one is: the batch-norm statistics)."""
    K = thetas.shape[0]
    w = new_train_workspace(arch, starts, n_in, n_y, thetas[0], ydtype)
    return tuple((np.zeros if i in (8, 14) else np.empty)((K,) + a.shape, a.dtype) for i, a in enumerate(w))


@njit(**PJIT)
def train_ensemble(thetas, runnings, arch, res_scale, X, yf, yi, loss_kind, orders, starts,
                   opt_kinds, hypers, opt_states, t0, losses, steps_run, diverged, ws):
    """Train network ``k`` on rows ``orders[k, starts[s]:starts[s+1]]`` at step ``s``.

    thetas (K, P), runnings (K, 2, T), orders (K, len), opt_kinds (K,), hypers (K, NHYPER),
    opt_states (K, 2, P), losses (K, steps), ``ws`` from :func:`stack_workspaces`. Writes
    ``steps_run[k]`` and ``diverged[k]``.
    """
    K = thetas.shape[0]
    for k in prange(K):
        wk = (ws[0][k], ws[1][k], ws[2][k], ws[3][k], ws[4][k], ws[5][k], ws[6][k], ws[7][k],
              ws[8][k], ws[9][k], ws[10][k], ws[11][k], ws[12][k], ws[13][k], ws[14][k], ws[15][k])
        ran, div = run_steps(thetas[k], runnings[k], arch, res_scale, X, yf, yi, loss_kind,
                             orders[k], starts, opt_kinds[k], hypers[k], opt_states[k], t0,
                             losses[k], wk, None)
        steps_run[k] = ran
        diverged[k] = div
