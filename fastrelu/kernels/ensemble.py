"""Many networks of one architecture trained at once: ``prange`` over networks.

Each network has its own parameters, running statistics, optimizer (kind, hyper-parameters,
state) and batch order; all share the data and the batch boundaries. One thread trains one
network through all its steps with the same step loop as ``train`` (serial chunking for large
batches), so a member ends bit-identical to training it alone. Workspaces are allocated before
the parallel loop, one slice per network. A network that diverges stops there; the others go on.
"""
from __future__ import annotations

from numba import njit, prange

from fastrelu.kernels._config import PJIT
from fastrelu.kernels.pointers import linked_step_kernels
from fastrelu.kernels.structs import (member_network, member_optimizer, member_schedule,
                                      member_workspace, stacked)
from fastrelu.kernels.train import CHUNKED, NO_CHUNKS, SERIAL, parallel_worthwhile, run_steps
from fastrelu.kernels.workspace import new_step_workspace


def stack_workspaces(nets, data, starts):
    """One ``StepWorkspace`` per network of the stacked ``structs.Network`` ``nets``: every
    array with a leading axis of K (see ``structs.stacked``)."""
    params = nets.params
    return stacked(new_step_workspace(nets.arch, params[0], data, starts), params.shape[0])


def train_ensemble(nets, data, schedules, optimizers, losses, steps_run, diverged, ws):
    """Train network ``k`` on rows ``schedules.order[k, starts[s]:starts[s+1]]`` at step ``s``
    (see :func:`ensemble_steps`).

    Without a batch that takes the chunked path, the step loop is the variant ``fit``
    compiles for such runs (``train.NO_CHUNKS``), so a sweep after a fit reuses it.
    """
    chunked = CHUNKED if parallel_worthwhile(nets.arch, schedules.starts) else NO_CHUNKS
    ensemble_steps(nets, data, schedules, optimizers, losses, steps_run, diverged, ws, chunked)


@njit(**PJIT)
def ensemble_steps(nets, data, schedules, optimizers, losses, steps_run, diverged, ws, chunked):
    """Train network ``k`` on rows ``schedules.order[k, starts[s]:starts[s+1]]`` at step ``s``.

    The structures are stacked (``structs.member_network`` ...): ``nets`` params (K, P) and running
    (K, 2, T); ``schedules.order`` (K, len); ``optimizers`` kind (K,), hyper (K, NHYPER),
    buffers (K, 2, P); ``ws`` from :func:`stack_workspaces`. ``losses`` is (K, steps). Writes
    ``steps_run[k]`` and ``diverged[k]``. ``chunked``: ``train.CHUNKED`` or ``NO_CHUNKS``.
    """
    K = nets.params.shape[0]
    # Only reads through the structures' fields in here: numba 0.68 loses stores made
    # through a namedtuple's field inside a prange loop (see ``train.chunked_loss_grad``).
    for k in prange(K):
        ran, div = run_steps(member_network(nets, k), data, member_schedule(schedules, k),
                             member_optimizer(optimizers, k), losses[k], member_workspace(ws, k),
                             SERIAL, chunked, linked_step_kernels())
        steps_run[k] = ran
        diverged[k] = div
