"""The named structures the kernels take instead of long lists of positional arrays.

A ``typing.NamedTuple`` of arrays passes into ``@njit`` code as a tuple with attribute access:
it costs what passing its arrays one by one costs (no boxing, no extra compilation). Python
builds each structure with the function of its name below (``network``, ``data``, ...), the
one place that fixes its field types (a Python float for ``residual_scale``, an int for a
code: one numba type each, so one compilation). Kernels build them only from parts of another
(a batch of the data, one member of a stack, a borrowed copy).

For K networks trained at once (``ensemble``), every array of a structure gets a leading
axis of K; ``member_network`` and its siblings take row ``k``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from fastrelu.kernels._config import INLINE
from fastrelu.kernels.intrinsics import borrow


class Network(NamedTuple):
    """A network as the kernels see it (layout: :mod:`fastrelu.kernels.layout`)."""

    params: np.ndarray          #: (n_params,) weights, biases, batch-norm scales and shifts
    running: np.ndarray         #: (2, total_width) running mean and variance per unit
    arch: np.ndarray            #: (layers, NCOLS) int64: one row per layer
    residual_scale: float       #: ``s`` of residual layers ``h + s * relu(u)``


class Data(NamedTuple):
    """Training rows and targets; the same structure holds one gathered batch."""

    X: np.ndarray               #: (n, inputs)
    targets: np.ndarray         #: (n, outputs) float targets of MSE; (n, 0) for cross-entropy
    labels: np.ndarray          #: (n,) integer class labels of cross-entropy; a dummy for MSE
    loss: int                   #: loss code (``layout.MSE``, ``layout.CROSS_ENTROPY``)


class Schedule(NamedTuple):
    """Step ``s`` trains on rows ``order[starts[s]:starts[s + 1]]``."""

    order: np.ndarray           #: int64 row indices, epoch after epoch
    starts: np.ndarray          #: int64 step boundaries into ``order`` (steps + 1 of them)


class Optimizer(NamedTuple):
    """An optimizer's code, settings and state (see :mod:`fastrelu.kernels.optim`)."""

    kind: int                   #: ``layout.SGD``, ``ADAM`` or ``RMSPROP``
    hyper: np.ndarray           #: (NHYPER,) float64 hyper-parameters (``layout.H_LR`` ...)
    buffers: np.ndarray         #: (2, n_params) momentum / moment buffers
    step: int                   #: optimizer steps already taken (Adam's bias correction)


class Workspace(NamedTuple):
    """Buffers of one forward and backward pass over a batch of up to ``n`` rows.

    The three activation buffers are flat: layer ``l``'s ``(n, out)`` block starts at
    ``n * arch[l, C_OFF]`` (``network.block``).
    """

    outputs: np.ndarray         #: layer outputs (after ReLU and residual add)
    preacts: np.ndarray         #: pre-activations (after batch norm; the output layer's logits)
    normalized: np.ndarray      #: batch norm's normalized values (x-hat)
    scratch: np.ndarray         #: (4, scratch_size): rows DH_A, DH_B, DZ, WT below
    batch_stats: np.ndarray     #: (3, total_width): batch mean, biased variance, inverse std


#: Rows of ``Workspace.scratch``: the backward pass's activation gradients (two, used in
#: turn), its pre-activation gradient (first the loss gradient ``dL/dout``), and the dense
#: kernels' transposes (at least the largest ``in * out`` values).
DH_A, DH_B, DZ, WT = 0, 1, 2, 3


class Chunks(NamedTuple):
    """The chunked gradient's buffers: a ``Workspace`` per chunk (leading axis ``N_CHUNKS``)
    and each chunk's results."""

    grads: np.ndarray           #: (N_CHUNKS, n_params) partial gradients
    outputs: np.ndarray         #: (N_CHUNKS, ...) and so on: the Workspace fields
    preacts: np.ndarray
    normalized: np.ndarray
    scratch: np.ndarray
    batch_stats: np.ndarray
    losses: np.ndarray          #: (N_CHUNKS,) float64 shares of the mean loss


# Flat (one level), like Chunks: numba's parallel loops take a tuple's fields as arguments,
# but not a tuple inside a tuple (and the ensemble's prange loop takes this one).
class StepWorkspace(NamedTuple):
    """Everything the step loop writes besides the network and the optimizer: room for a
    batch, its gradient, the serial path's ``Workspace`` (:func:`step_layers`) and the chunked
    path's ``Chunks`` (:func:`step_chunks`; empty when no batch takes it)."""

    x: np.ndarray               #: flat room for a batch's rows (viewed ``(n, inputs)``)
    targets: np.ndarray         #: flat room for its float targets (viewed ``(n, outputs)``)
    labels: np.ndarray          #: room for its integer labels
    grad: np.ndarray            #: (n_params,) the step's gradient
    outputs: np.ndarray         #: the Workspace fields
    preacts: np.ndarray
    normalized: np.ndarray
    scratch: np.ndarray
    batch_stats: np.ndarray
    chunk_grads: np.ndarray     #: the Chunks fields
    chunk_outputs: np.ndarray
    chunk_preacts: np.ndarray
    chunk_normalized: np.ndarray
    chunk_scratch: np.ndarray
    chunk_batch_stats: np.ndarray
    chunk_losses: np.ndarray


# --------------------------------------------------------------------------- Python side
def network(params, running, arch, residual_scale) -> Network:
    """The kernels' view of a network (arrays as given; they are not copied)."""
    return Network(params, running, arch, float(residual_scale))


def data(X, targets, labels, loss) -> Data:
    """Rows ``X`` with float ``targets`` and integer ``labels`` (the unused one a dummy)."""
    return Data(X, targets, labels, int(loss))


def schedule(order, starts) -> Schedule:
    """Row order and step boundaries (see :class:`Schedule`)."""
    return Schedule(order, starts)


def optimizer(kind, hyper, buffers, step) -> Optimizer:
    """Optimizer ``kind`` with settings ``hyper`` and state ``buffers``, ``step`` steps in
    (for a stack: ``kind`` one code per network)."""
    kind = np.asarray(kind, dtype=np.int64) if np.ndim(kind) else int(kind)
    return Optimizer(kind, hyper, buffers, int(step))


def stacked(struct, k: int):
    """A workspace structure with a leading axis of ``k`` on every array (one row per
    network), allocated as the single ones are (batch statistics zero-filled, the rest
    uninitialized)."""
    return type(struct)(*[(np.zeros if name.endswith("batch_stats") else np.empty)(
        (k,) + a.shape, a.dtype) for name, a in zip(struct._fields, struct)])


# --------------------------------------------------------------------------- kernel side
@njit(**INLINE)
def step_layers(ws):
    """The serial path's :class:`Workspace` of a :class:`StepWorkspace`."""
    return Workspace(ws.outputs, ws.preacts, ws.normalized, ws.scratch, ws.batch_stats)


@njit(**INLINE)
def step_chunks(ws):
    """The chunked path's :class:`Chunks` of a :class:`StepWorkspace`."""
    return Chunks(ws.chunk_grads, ws.chunk_outputs, ws.chunk_preacts, ws.chunk_normalized,
                  ws.chunk_scratch, ws.chunk_batch_stats, ws.chunk_losses)


@njit(**INLINE)
def chunk_workspace(ch, c):
    """Chunk ``c``'s :class:`Workspace` (views) of :class:`Chunks` ``ch``."""
    return Workspace(ch.outputs[c], ch.preacts[c], ch.normalized[c], ch.scratch[c],
                     ch.batch_stats[c])


# Row ``k`` of stacked structures, one function each (views; what all networks share is
# shared). One function returning all four, unpacked in the ensemble's prange loop, tripped
# an assertion in numba's array analysis.

@njit(**INLINE)
def member_network(nets, k):
    """Network ``k`` of stacked :class:`Network` ``nets`` (the architecture is shared)."""
    return Network(nets.params[k], nets.running[k], nets.arch, nets.residual_scale)


@njit(**INLINE)
def member_schedule(schedules, k):
    """Network ``k``'s :class:`Schedule` (the batch boundaries are shared)."""
    return Schedule(schedules.order[k], schedules.starts)


@njit(**INLINE)
def member_optimizer(optimizers, k):
    """Network ``k``'s :class:`Optimizer` (the step count is shared)."""
    return Optimizer(optimizers.kind[k], optimizers.hyper[k], optimizers.buffers[k],
                     optimizers.step)


@njit(**INLINE)
def member_workspace(ws, k):
    """Network ``k``'s :class:`StepWorkspace`."""
    return StepWorkspace(ws.x[k], ws.targets[k], ws.labels[k], ws.grad[k], ws.outputs[k],
                         ws.preacts[k], ws.normalized[k], ws.scratch[k], ws.batch_stats[k],
                         ws.chunk_grads[k], ws.chunk_outputs[k], ws.chunk_preacts[k],
                         ws.chunk_normalized[k], ws.chunk_scratch[k], ws.chunk_batch_stats[k],
                         ws.chunk_losses[k])


# Borrowed copies (see ``intrinsics.borrow``): the step loop's arrays without reference
# counting. Only for structures whose arrays the caller keeps alive and that never leave
# the kernel.

@njit(**INLINE)
def borrow_all(net, data, sched, opt, ws):
    """Borrowed copies of the step loop's structures (same order)."""
    b = borrow
    return (Network(b(net.params), b(net.running), b(net.arch), net.residual_scale),
            Data(b(data.X), b(data.targets), b(data.labels), data.loss),
            Schedule(b(sched.order), b(sched.starts)),
            Optimizer(opt.kind, b(opt.hyper), b(opt.buffers), opt.step),
            StepWorkspace(b(ws.x), b(ws.targets), b(ws.labels), b(ws.grad), b(ws.outputs),
                          b(ws.preacts), b(ws.normalized), b(ws.scratch), b(ws.batch_stats),
                          b(ws.chunk_grads), b(ws.chunk_outputs), b(ws.chunk_preacts),
                          b(ws.chunk_normalized), b(ws.chunk_scratch),
                          b(ws.chunk_batch_stats), b(ws.chunk_losses)))
