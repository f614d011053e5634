"""Gradients of minibatches and the fused training loop (no Python per step).

A batch's gradient is computed serially, or, when the batch has at least
``PARALLEL_MIN_ROWS`` rows, no batch norm and no BLAS-sized layer, over ``N_CHUNKS`` fixed
row chunks in parallel whose partial gradients are then added serially in chunk order. The
chunking depends on the batch size only, so results are bit-identical for any thread count.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from fastrelu.kernels._config import INLINE, JIT, N_CHUNKS, PARALLEL_MIN_ROWS, PJIT
from fastrelu.kernels.batchnorm import update_running_stats
from fastrelu.kernels.dense import use_blas
from fastrelu.kernels.layout import BN, C_OFF, IN, OUT
from fastrelu.kernels.intrinsics import borrow
from fastrelu.kernels.losses import loss_and_grad
from fastrelu.kernels.network import backward, forward, view2d
from fastrelu.kernels.optim import apply_update


def total_width(arch) -> int:
    """Units of all layers side by side (the columns of a flat workspace row)."""
    return int(arch[-1, C_OFF] + arch[-1, OUT])


def max_width(arch) -> int:
    """The widest layer input or output."""
    return int(max(arch[0, IN], arch[:, OUT].max()))


def scratch_size(arch, n) -> int:
    """Values in each row of ``G``: ``n * max_width`` for the backward pass's activation
    gradients, and room for the largest weight matrix in ``G[3]`` (the dense kernels'
    transposes)."""
    return int(max(n * max_width(arch), (arch[:, IN] * arch[:, OUT]).max()))


@njit(**JIT)
def use_chunks(arch, n):
    """Whether a batch of ``n`` rows takes the parallel chunked path."""
    if n < PARALLEL_MIN_ROWS:
        return False
    for l in range(arch.shape[0]):
        if arch[l, BN] == 1 or use_blas(n, arch[l, IN], arch[l, OUT]):
            return False
    return True


# Workspaces are allocated in Python, once per call: compiled allocation code (numba's
# np.empty/np.zeros and tuple building) cost about 1.5 s of a cold start for nothing.

def new_workspace(arch, n, dtype_like):
    """Workspaces ``(H, U, XH, G, stats)`` for batches of up to ``n`` rows."""
    T = total_width(arch)
    mw = max_width(arch)
    dt = dtype_like.dtype
    return (np.empty(n * T, dt), np.empty(n * T, dt), np.empty(n * T, dt),
            np.empty((4, scratch_size(arch, n)), dt), np.zeros((3, T), dt))


def new_chunk_workspace(arch, n, theta):
    """Per-chunk workspaces (leading axis ``N_CHUNKS``) for batches of up to ``n`` rows.

    Returns ``(parts, H, U, XH, G, stats, losses)``; with ``n == 0`` (no chunked path) the
    arrays are empty.
    """
    rows = (n + N_CHUNKS - 1) // N_CHUNKS
    T = total_width(arch) if n > 0 else 0
    g = scratch_size(arch, rows) if n > 0 else 0
    dt = theta.dtype
    return (np.empty((N_CHUNKS, theta.shape[0] if n > 0 else 0), dt),
            np.empty((N_CHUNKS, rows * T), dt), np.empty((N_CHUNKS, rows * T), dt),
            np.empty((N_CHUNKS, 0), dt),     # the chunked path has no batch norm
            np.empty((N_CHUNKS, 4, g), dt), np.zeros((N_CHUNKS, 3, T), dt),
            np.empty(N_CHUNKS))


def new_train_workspace(arch, starts, n_in, n_y, theta, ydtype):
    """Everything the step loop over batches ``starts`` needs, as one tuple."""
    sizes = set(np.diff(starts).tolist())
    nmax = max(sizes, default=0)
    nchunked = max((n for n in sizes if use_chunks(arch, n)), default=0)
    H, U, XH, G, stats = new_workspace(arch, nmax, theta)
    chunk = new_chunk_workspace(arch, nchunked, theta)
    return (np.empty(nmax * n_in, theta.dtype), np.empty(nmax * n_y, theta.dtype),
            np.empty(nmax, ydtype), np.empty_like(theta), H, U, XH, G, stats) + chunk


def batch_loss_grad(theta, arch, res_scale, x, yf, yi, loss_kind, running, grad, threads):
    """Loss and gradient of the mean loss over all rows of ``x`` (one batch).

    Batch norm uses the batch statistics; ``running`` is not changed. ``threads``: None
    computes large batches' chunks one after another (and never compiles the parallel
    kernel); True computes them in parallel. Same bits either way.

    Plain Python around compiled kernels (at most ``N_CHUNKS`` calls): a compiled wrapper
    would make numba re-optimize and re-emit the whole gradient once more on a cold start.
    It runs :func:`serial_loss_grad`'s Python source (``_loss_grad``), whose calls go to the
    ``forward``, ``loss_and_grad`` and ``backward`` the training loop compiled; compiling
    ``serial_loss_grad`` itself (inlined into its compiled callers) would cost seconds more.
    """
    n = x.shape[0]
    if use_chunks(arch, n):
        parts, cH, cU, cXH, cG, cstats, closs = new_chunk_workspace(arch, n, theta)
        if threads is None:
            for c in range(N_CHUNKS):
                r0, r1 = chunk_rows.py_func(c, n)
                closs[c] = _loss_grad(theta, arch, res_scale, x[r0:r1], yf[r0:r1], yi[r0:r1],
                                      loss_kind, n, running, parts[c], cH[c], cU[c], cXH[c],
                                      cG[c], cstats[c])
            return reduce_chunks(parts, closs, grad)
        return chunked_loss_grad(theta, arch, res_scale, x, yf, yi, loss_kind, running, grad,
                                 parts, cH, cU, cXH, cG, cstats, closs)
    H, U, XH, G, stats = new_workspace(arch, n, theta)
    return _loss_grad(theta, arch, res_scale, x, yf, yi, loss_kind, n, running, grad,
                      H, U, XH, G, stats)


@njit(**INLINE)
def serial_loss_grad(theta, arch, res_scale, xb, yf, yi, loss_kind, denom, running, grad,
                     H, U, XH, G, stats):
    """Loss (mean over ``denom`` rows) and gradient of one batch, serially.

    Leaves the batch statistics of batch-norm layers in ``stats``; see :func:`update_running`.
    """
    n = xb.shape[0]
    # np.bool_: a plain True would be typed Literal[bool] and compile a second forward
    out = forward(theta, arch, res_scale, xb, H, U, XH, stats, running, np.bool_(True), G[3])
    m = out.shape[1]
    dout = view2d(G[2], 0, n, m)
    loss = loss_and_grad(loss_kind, out, yf, yi, denom, dout)
    # backward copies dout into G[0] before it first writes G[2]
    backward(theta, arch, res_scale, xb, H, U, XH, stats, dout, grad, G[0], G[1], G[2], G[3])
    return loss


#: ``serial_loss_grad`` run as Python (see :func:`batch_loss_grad`).
_loss_grad = serial_loss_grad.py_func


@njit(**INLINE)
def update_running(arch, running, stats, n):
    """Fold the batch statistics of the last training forward pass into the running ones."""
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
def reduce_chunks(parts, closs, grad):
    """Add the chunk partials in chunk order (the fixed order makes the bits thread-independent)."""
    P = grad.shape[0]
    for i in range(P):
        grad[i] = parts[0, i]
    loss = closs[0]
    for c in range(1, N_CHUNKS):
        for i in range(P):
            grad[i] += parts[c, i]
        loss += closs[c]
    return loss


@njit(**PJIT)
def chunked_loss_grad(theta, arch, res_scale, xb, yf, yi, loss_kind, running, grad,
                      parts, H, U, XH, G, stats, closs):
    """Loss and gradient over ``N_CHUNKS`` fixed row chunks in parallel, reduced in order.

    Chunk ``c``'s share of the mean loss goes to ``closs[c]``, its partial gradient to
    ``parts[c]``. The serial callers run the very same loop with ``range``: the kernels stay
    one call deep above ``serial_loss_grad`` (every level of calls makes numba re-optimize
    and re-emit all the code below it, which is what cold starts pay for).
    """
    n = xb.shape[0]
    for c in prange(N_CHUNKS):
        r0, r1 = chunk_rows(c, n)
        closs[c] = serial_loss_grad(theta, arch, res_scale, xb[r0:r1], yf[r0:r1], yi[r0:r1], loss_kind,
                                    n, running, parts[c], H[c], U[c], XH[c], G[c], stats[c])
    return reduce_chunks(parts, closs, grad)


def needs_threads(arch, starts) -> bool | None:
    """True when some batch of ``starts`` takes the chunked path (worth threads), else None."""
    sizes = starts[1:] - starts[:-1]
    return True if any(use_chunks(arch, int(n)) for n in set(sizes.tolist())) else None


@njit(**INLINE)
def gather(X, yf, yi, idx, xb, ybf, ybi):
    """Copy rows ``idx`` of X (and targets) into contiguous batch buffers."""
    n_x = X.shape[1]
    n_y = ybf.shape[1]
    for i in range(idx.shape[0]):
        s = idx[i]
        for c in range(n_x):   # explicit loops: slice assignment cost ~25 ns a row here
            xb[i, c] = X[s, c]
        for c in range(n_y):
            ybf[i, c] = yf[s, c]
        ybi[i] = yi[s]


@njit(**JIT)
def run_steps(theta, running, arch, res_scale, X, yf, yi, loss_kind, order, starts,
              opt_kind, hyper, opt_state, t0, losses, ws, threads):
    """The step loop over preallocated workspaces ``ws`` (see :func:`new_train_workspace`).

    ``threads=True`` lets large batches use the parallel chunked gradient; with ``None`` the
    same chunks are computed one after another (same bits), and numba prunes the parallel
    branch at compile time, so small-batch runs never pay for compiling it.
    Returns ``(steps_run, diverged)``.
    """
    # Borrowed views of everything the loop touches (see ``borrow``): none of them leaves
    # this function, and the caller holds the arrays.
    theta = borrow(theta)
    running = borrow(running)
    arch = borrow(arch)
    X = borrow(X)
    yf = borrow(yf)
    yi = borrow(yi)
    order = borrow(order)
    starts = borrow(starts)
    hyper = borrow(hyper)
    opt_state = borrow(opt_state)
    losses = borrow(losses)
    xbuf, ybuf, ibuf, grad, H, U, XH, G, stats, parts, cH, cU, cXH, cG, cstats, closs = ws
    xbuf = borrow(xbuf)
    ybuf = borrow(ybuf)
    ibuf = borrow(ibuf)
    grad = borrow(grad)
    H = borrow(H)
    U = borrow(U)
    XH = borrow(XH)
    G = borrow(G)
    stats = borrow(stats)
    parts = borrow(parts)
    cH = borrow(cH)
    cU = borrow(cU)
    cXH = borrow(cXH)
    cG = borrow(cG)
    cstats = borrow(cstats)
    closs = borrow(closs)
    n_in = X.shape[1]
    n_y = yf.shape[1]
    nsteps = starts.shape[0] - 1
    for s in range(nsteps):
        a = starts[s]
        n = starts[s + 1] - a
        xb = view2d(xbuf, 0, n, n_in)
        ybf = view2d(ybuf, 0, n, n_y)
        ybi = ibuf[:n]
        gather(X, yf, yi, order[a:a + n], xb, ybf, ybi)
        if use_chunks(arch, n):
            if threads is None:
                for c in range(N_CHUNKS):
                    r0, r1 = chunk_rows(c, n)
                    closs[c] = serial_loss_grad(theta, arch, res_scale, xb[r0:r1], ybf[r0:r1], ybi[r0:r1],
                                                loss_kind, n, running, parts[c], cH[c], cU[c], cXH[c],
                                                cG[c], cstats[c])
                loss = reduce_chunks(parts, closs, grad)
            else:
                loss = chunked_loss_grad(theta, arch, res_scale, xb, ybf, ybi, loss_kind, running,
                                         grad, parts, cH, cU, cXH, cG, cstats, closs)
        else:
            loss = serial_loss_grad(theta, arch, res_scale, xb, ybf, ybi, loss_kind, n, running,
                                    grad, H, U, XH, G, stats)
            update_running(arch, running, stats, n)
        losses[s] = loss
        if not np.isfinite(loss):
            return s + 1, True
        if not apply_update(opt_kind, theta, grad, opt_state, hyper, t0 + s + 1):
            return s + 1, True
    return nsteps, False


def train(theta, running, arch, res_scale, X, yf, yi, loss_kind, order, starts,
          opt_kind, hyper, opt_state, t0, losses, threads):
    """Run ``len(starts) - 1`` minibatch steps; step ``s`` uses rows ``order[starts[s]:starts[s+1]]``.

    ``yf`` (n, out) holds float targets (MSE) and ``yi`` (n,) integer labels (cross-entropy);
    the unused one may have zero columns / be a dummy of length n. ``t0`` is the number of
    optimizer steps already taken (for Adam's bias correction). Writes each step's batch loss
    into ``losses``. Returns ``(steps_run, diverged)``; a diverged run's last step is the one
    that diverged: a non-finite loss (its update is not applied) or a non-finite parameter
    after its update. ``threads``: see :func:`run_steps`.
    """
    ws = new_train_workspace(arch, starts, X.shape[1], yf.shape[1], theta, yi.dtype)
    # Called from Python, not compiled: one call level less for numba to re-optimize.
    return run_steps(theta, running, arch, res_scale, X, yf, yi, loss_kind, order, starts,
                     opt_kind, hyper, opt_state, t0, losses, ws, threads)
