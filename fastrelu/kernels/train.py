"""Gradients of minibatches and the fused training loop (no Python per step).

A batch's gradient is computed serially, or, when the batch has at least
``PARALLEL_MIN_ROWS`` rows, no batch norm and no BLAS-sized layer, over ``N_CHUNKS`` fixed
row chunks in parallel whose partial gradients are then added serially in chunk order. The
chunking depends on the batch size only, so results are bit-identical for any thread count.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from fastrelu.kernels import structs
from fastrelu.kernels._config import INLINE, JIT, N_CHUNKS, PJIT
from fastrelu.kernels.batchnorm import update_running_stats
from fastrelu.kernels.intrinsics import borrow
from fastrelu.kernels.layout import BN, C_OFF, OUT
from fastrelu.kernels.network import view2d
from fastrelu.kernels.pointers import linked_step_kernels, step_kernels, step_table
from fastrelu.kernels.structs import (DH_A, DH_B, DZ, WT, Data, Network, Workspace, borrow_all,
                                      chunk_workspace, step_chunks, step_layers)
from fastrelu.kernels.workspace import (new_chunks, new_step_workspace, new_workspace,
                                        use_chunks)

__all__ = ["CHUNKED", "NO_CHUNKS", "PARALLEL", "SERIAL", "batch_loss_grad", "chunked_loss_grad", "new_workspace",
           "parallel_worthwhile", "run_steps", "serial_gradient", "serial_loss_grad", "train",
           "use_chunks"]

#: How the step loop computes the chunks of a large batch (same bits either way): on all
#: threads (``PARALLEL``) or one after another (``SERIAL``). The two have different numba
#: types (boolean, none), so numba prunes the unused branch before compiling: a serial run
#: never compiles the parallel kernel. Python callers pass a bool to :func:`train`.
PARALLEL = True
SERIAL = None
#: Whether some batch of a run may take the chunked path (``CHUNKED``) or none does
#: (``NO_CHUNKS``, numba type none): with ``NO_CHUNKS`` numba prunes the whole chunked path
#: from the step loop before compiling it (the scenarios' batches of 32 rows never take it;
#: compiling it cost about 1 s of their cold start).
CHUNKED = True
NO_CHUNKS = None
#: ``kern`` for :func:`run_steps` that links the step kernels (see ``pointers.step_table``).
LINKED = None


# Positional, unlike the kernels: tests/test_network_kernels.py and test_determinism.py call
# it with this argument list.
def batch_loss_grad(params, arch, residual_scale, X, targets, labels, loss, running, grad,
                    parallel):
    """Loss and gradient of the mean loss over all rows of ``X`` (one batch).

    Batch norm uses the batch statistics; ``running`` is not changed. A large batch's chunks
    are computed in parallel when ``parallel`` is true, else one after another (and the
    parallel kernel is never compiled). Same bits either way.

    Plain Python around compiled kernels (at most ``N_CHUNKS`` calls): a compiled wrapper
    would make numba re-optimize and re-emit the whole gradient once more on a cold start.
    It runs :func:`serial_gradient`'s Python source (``_serial_gradient``), whose calls go to
    the ``forward``, ``loss_and_grad`` and ``backward`` the training loop compiled; compiling
    ``serial_gradient`` itself (inlined into its compiled callers) would cost seconds more.
    """
    net = structs.network(params, running, arch, residual_scale)
    batch = structs.data(X, targets, labels, loss)
    n = X.shape[0]
    if not use_chunks(arch, n):
        return _serial_gradient(net, batch, n, grad, new_workspace(arch, n, params), _PY_KERNELS)
    chunks = new_chunks(arch, n, params)
    if parallel:
        return chunked_loss_grad(net, batch, grad, chunks)
    for c in range(N_CHUNKS):
        r0, r1 = chunk_rows.py_func(c, n)
        rows = structs.data(X[r0:r1], targets[r0:r1], labels[r0:r1], loss)
        chunks.losses[c] = _serial_gradient(net, rows, n, chunks.grads[c],
                                            chunk_workspace.py_func(chunks, c), _PY_KERNELS)
    return reduce_chunks_numpy(chunks, grad)


@njit(**INLINE)
def serial_gradient(net, batch, denom, grad, ws, kern):
    """Loss (mean over ``denom`` rows) of the ``structs.Data`` ``batch`` and its gradient
    into ``grad``, serially, in the ``structs.Workspace`` ``ws``, with the kernels of ``kern``
    (a ``pointers.StepKernels``: pointers, or the kernels themselves).

    Leaves the batch statistics of batch-norm layers in ``ws.batch_stats``; see
    :func:`update_running`.
    """
    n = batch.X.shape[0]
    theta = net.params
    arch = net.arch
    scale = net.residual_scale
    x = batch.X
    G = ws.scratch
    # np.bool_: a plain True would be typed Literal[bool] and compile a second forward
    out = kern.forward(theta, arch, scale, x, ws.outputs, ws.preacts, ws.normalized,
                       ws.batch_stats, net.running, np.bool_(True), G[WT])
    dout = view2d(G[DZ], np.int64(0), n, out.shape[1])   # int64, as view2d's other calls
    loss = kern.loss(batch.loss, out, batch.targets, batch.labels, denom, dout)
    # (backward reads dout, in row DZ, before it first writes that row)
    kern.backward(theta, arch, scale, x, ws.outputs, ws.preacts, ws.normalized, ws.batch_stats,
                  dout, grad, G[DH_A], G[DH_B], G[DZ], G[WT])
    return loss


#: ``serial_gradient`` run as Python (see :func:`batch_loss_grad`), and the kernels it calls.
_serial_gradient = serial_gradient.py_func
_PY_KERNELS = linked_step_kernels.py_func()   # the same table, of the dispatchers, in Python


# Positional: the form tests/test_network_kernels.py compiles on its own (the kernels call
# serial_gradient).
@njit(**INLINE)
def serial_loss_grad(params, arch, residual_scale, X, targets, labels, loss, denom, running,
                     grad, outputs, preacts, normalized, scratch, batch_stats):
    """:func:`serial_gradient` with the fields of its structures passed one by one."""
    return serial_gradient(Network(params, running, arch, residual_scale),
                           Data(X, targets, labels, loss), denom, grad,
                           Workspace(outputs, preacts, normalized, scratch, batch_stats),
                           linked_step_kernels())


@njit(**INLINE)
def update_running(net, stats, n):
    """Fold the batch statistics ``stats`` of the last training forward pass (over ``n``
    rows) into the running ones of ``net``."""
    arch = net.arch
    running = net.running
    for l in range(arch.shape[0]):
        if arch[l, BN] == 1:
            c = arch[l, C_OFF]
            m_l = arch[l, OUT]
            update_running_stats(running[0, c:c + m_l], running[1, c:c + m_l],
                                 stats[0, c:c + m_l], stats[1, c:c + m_l], n)


@njit(**INLINE)
def chunk_rows(c, n):
    """Rows ``r0:r1`` of chunk ``c`` of a batch of ``n`` rows."""
    c = np.int64(c)
    return c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS


@njit(**INLINE)
def chunk(batch, c):
    """Chunk ``c``'s rows of ``batch`` (views)."""
    r0, r1 = chunk_rows(c, batch.X.shape[0])
    return Data(batch.X[r0:r1], batch.targets[r0:r1], batch.labels[r0:r1], batch.loss)


@njit(**INLINE)
def reduce_chunks(chunks, grad):
    """Add the chunk partials in chunk order (the fixed order makes the bits thread-independent)."""
    parts = chunks.grads
    closs = chunks.losses
    P = grad.shape[0]
    for i in range(P):
        grad[i] = parts[0, i]
    loss = closs[0]
    for c in range(1, N_CHUNKS):
        for i in range(P):
            grad[i] += parts[c, i]
        loss += closs[c]
    return loss


def reduce_chunks_numpy(chunks, grad):
    """:func:`reduce_chunks` in NumPy, for Python callers: the same additions in the same
    order (same bits), without compiling ``reduce_chunks`` on its own (about 0.3 s of a cold
    start, and one more cache entry to load on every warm start)."""
    parts = chunks.grads
    grad[:] = parts[0]
    loss = chunks.losses[0]
    for c in range(1, N_CHUNKS):
        grad += parts[c]
        loss += chunks.losses[c]
    return loss


@njit(**PJIT)
def chunked_loss_grad(net, batch, grad, chunks):
    """Loss and gradient over ``N_CHUNKS`` fixed row chunks in parallel, reduced in order.

    Chunk ``c``'s share of the mean loss goes to ``chunks.losses[c]``, its partial gradient to
    ``chunks.grads[c]``. The serial callers run the very same loop with ``range``: the
    kernels stay one call deep above ``serial_gradient`` (every level of calls makes numba
    re-optimize and re-emit all the code below it, which is what cold starts pay for).
    """
    n = batch.X.shape[0]
    # Taken out of the structure before the loop: numba 0.68 loses stores made through a
    # namedtuple's field inside a prange loop (``chunks.losses[c] = ...`` wrote nothing).
    losses = chunks.losses
    kern = linked_step_kernels()
    for c in prange(N_CHUNKS):
        losses[c] = serial_gradient(net, chunk(batch, c), n, chunks.grads[c],
                                    chunk_workspace(chunks, c), kern)
    return reduce_chunks(chunks, grad)


def parallel_worthwhile(arch, starts) -> bool:
    """Whether some batch of ``starts`` takes the chunked path (worth threads)."""
    sizes = starts[1:] - starts[:-1]
    return any(use_chunks(arch, int(n)) for n in set(sizes.tolist()))


@njit(**INLINE)
def gather(data, idx, batch):
    """Copy rows ``idx`` of ``data`` into the contiguous ``batch`` (both ``structs.Data``)."""
    X, targets, labels = data.X, data.targets, data.labels
    xb, tb, lb = batch.X, batch.targets, batch.labels
    n_x = X.shape[1]
    n_y = tb.shape[1]
    for i in range(idx.shape[0]):
        s = idx[i]
        for c in range(n_x):   # explicit loops: slice assignment cost ~25 ns a row here
            xb[i, c] = X[s, c]
        for c in range(n_y):
            tb[i, c] = targets[s, c]
        lb[i] = labels[s]


@njit(**JIT)
def run_steps(net, data, sched, opt, losses, ws, parallel, chunked, kern):
    """The step loop: ``structs.Network``, ``Data``, ``Schedule``, ``Optimizer``, the losses
    per step and a ``StepWorkspace`` (:func:`workspace.new_step_workspace`).

    ``parallel`` is ``PARALLEL`` or ``SERIAL``, ``chunked`` is ``CHUNKED`` or ``NO_CHUNKS``
    (``NO_CHUNKS`` only if no batch takes the chunked path; see there). ``kern``: the step
    kernels, a ``pointers.StepKernels`` (:func:`train` passes pointers, so that this
    kernel's compilation does not optimize and emit them once more; the ensemble's parallel
    loop links them). Returns ``(steps_run, diverged)``.
    """
    kern = step_table(kern)   # the pointers, or (LINKED) the kernels linked in
    # Borrowed views of everything the loop touches (see ``borrow``): none of them leaves
    # this function, and the caller holds the arrays.
    net, data, sched, opt, ws = borrow_all(net, data, sched, opt, ws)
    losses = borrow(losses)
    layers = step_layers(ws)
    chunks = step_chunks(ws)
    n_in = data.X.shape[1]
    n_y = data.targets.shape[1]
    starts = sched.starts
    nsteps = starts.shape[0] - 1
    o = np.int64(0)   # not a literal 0: one view2d specialization (int64) for every caller
    for s in range(nsteps):
        a = starts[s]
        n = starts[s + 1] - a
        batch = Data(view2d(ws.x, o, n, n_in), view2d(ws.targets, o, n, n_y), ws.labels[:n],
                     data.loss)
        gather(data, sched.order[a:a + n], batch)
        if chunked is not NO_CHUNKS and use_chunks(net.arch, n):
            if parallel is SERIAL:
                # through a local, not ``chunks.losses[c] = ...``: with the step loop linked
                # into ``ensemble.member_steps``, numba 0.68 lost those stores (every chunked
                # step's loss read 0; see ``chunked_loss_grad``)
                closs = chunks.losses
                for c in range(N_CHUNKS):
                    closs[c] = serial_gradient(net, chunk(batch, c), n, chunks.grads[c],
                                               chunk_workspace(chunks, c), kern)
                loss = reduce_chunks(chunks, ws.grad)
            else:
                loss = chunked_loss_grad(net, batch, ws.grad, chunks)
        else:
            loss = serial_gradient(net, batch, n, ws.grad, layers, kern)
            update_running(net, layers.batch_stats, n)
        losses[s] = loss
        if not np.isfinite(loss):
            return s + 1, True
        if not kern.update(opt.kind, net.params, ws.grad, opt.buffers, opt.hyper,
                           opt.step + s + 1):
            return s + 1, True
    return nsteps, False


def train(net, data, sched, opt, losses, parallel):
    """Run ``len(sched.starts) - 1`` minibatch steps of ``net`` (``structs.Network``) on
    ``data`` (``structs.Data``) with ``opt`` (``structs.Optimizer``).

    Writes each step's batch loss into ``losses``. Returns ``(steps_run, diverged)``; a
    diverged run's last step is the one that diverged: a non-finite loss (its update is not
    applied) or a non-finite parameter after its update. ``parallel``: whether large batches'
    chunks use all threads (same bits either way).
    """
    ws = new_step_workspace(net.arch, net.params, data, sched.starts)
    # ``fit`` passes ``parallel`` true exactly when some batch of the whole run is chunked,
    # so all its calls compile one variant of the step loop.
    chunked = CHUNKED if parallel or parallel_worthwhile(net.arch, sched.starts) else NO_CHUNKS
    # Called from Python, not compiled: one call level less for numba to re-optimize. The
    # step kernels go in as pointers (compiled, or loaded from the cache, on their own).
    return run_steps(net, data, sched, opt, losses, ws, PARALLEL if parallel else SERIAL, chunked,
                     step_kernels(net.params.dtype))
