"""Many networks of one architecture trained at once: ``prange`` over networks.

Each network has its own parameters, running statistics, optimizer (kind, hyper-parameters,
state) and batch order; all share the data and the batch boundaries. One thread trains one
network through all its steps with the same step loop as ``train`` (serial chunking for large
batches), so a member ends bit-identical to training it alone. Workspaces are allocated before
the parallel loop, one slice per network. A network that diverges stops there; the others go on.

The parallel loop calls the step loop of one network (:func:`member_steps`, the kernels linked
in) through a pointer, once per network: it compiles once, on its own, and the loop holds no
copy of it.
"""
from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange, typeof

from fastrelu.kernels._config import JIT, PJIT
from fastrelu.kernels._numba_internals import types
from fastrelu.kernels.pointers import Pointer
from fastrelu.kernels.structs import (member_network, member_optimizer, member_schedule,
                                      member_workspace, stacked)
from fastrelu.kernels.train import (CHUNKED, LINKED, NO_CHUNKS, SERIAL, parallel_worthwhile,
                                    run_steps)
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
    args = (nets, data, schedules, optimizers, losses, steps_run, diverged, ws, chunked)
    ensemble_steps(*args, _member_pointer(tuple(typeof(a) for a in args)))


@functools.lru_cache(maxsize=None)
def _member_pointer(argtypes) -> Pointer:
    """:func:`member_steps` for these argument types (and the member index) as a pointer,
    compiled (or loaded) before the parallel loop is."""
    return Pointer(member_steps, types.none(*argtypes, types.int64)).resolve()


@njit(**JIT)
def member_steps(nets, data, schedules, optimizers, losses, steps_run, diverged, ws, chunked, k):
    """Train network ``k`` of the stacked structures through all its steps (``train.run_steps``
    with the kernels linked in); writes ``steps_run[k]`` and ``diverged[k]``.

    (A pointer to ``run_steps`` itself, called with the member's views, compiled about 8 s
    faster but ran W2 about 4% slower: 8 alternating pairs, 72.0k against 75.2k net-steps/s.)
    """
    ran, div = run_steps(member_network(nets, k), data, member_schedule(schedules, k),
                         member_optimizer(optimizers, k), losses[k], member_workspace(ws, k),
                         SERIAL, chunked, LINKED)
    steps_run[k] = ran
    diverged[k] = div


@njit(**PJIT)
def ensemble_steps(nets, data, schedules, optimizers, losses, steps_run, diverged, ws, chunked,
                   member):
    """Train network ``k`` on rows ``schedules.order[k, starts[s]:starts[s+1]]`` at step ``s``.

    The structures are stacked (``structs.member_network`` ...): ``nets`` params (K, P) and running
    (K, 2, T); ``schedules.order`` (K, len); ``optimizers`` kind (K,), hyper (K, NHYPER),
    buffers (K, 2, P); ``ws`` from :func:`stack_workspaces`. ``losses`` is (K, steps). Writes
    ``steps_run[k]`` and ``diverged[k]``. ``chunked``: ``train.CHUNKED`` or ``NO_CHUNKS``.
    ``member``: :func:`member_steps` as a pointer (one call per network; this loop holds no
    copy of the step loop).
    """
    K = nets.params.shape[0]
    for k in prange(K):
        member(nets, data, schedules, optimizers, losses, steps_run, diverged, ws, chunked,
               np.int64(k))
