"""Measuring many networks of one architecture at once: one parallel pass over their stack.

For each of K networks stacked like an ensemble's (``structs.Network`` with a leading axis of
K on ``params`` and ``running``), :func:`measure_stack` runs the forward pass over every row of
``X`` in the row blocks ``evaluate.predict`` uses (so every output is the bit pattern
``MLP.forward`` gives) and records:

* ``max_pre[k, c]``: the largest pre-activation of unit ``c`` over all rows (NaN if any was
  NaN). The dead-unit rule (``fastrelu.rules.is_dead``) reads it.
* ``out_std[k]``: the outputs' standard deviation across rows, mean over output columns
  (float64, two passes, rows in order).
* ``mean_loss[k]``: the mean loss against the targets (float64, rows in order).
* ``finite[k]``: parameters and outputs all finite.

The K networks are split into ``G`` contiguous groups, one ``prange`` iteration each with its
own workspace; a network's numbers depend on nothing but itself, so they are the same for
any G and any thread count.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from fastrelu.kernels._config import BLAS_MIN_MACS, JIT, PJIT
from fastrelu.kernels.evaluate import BLOCK_ROWS
from fastrelu.kernels.layout import C_OFF, CROSS_ENTROPY, IN, KIND, OUT, OUTPUT
from fastrelu.kernels.narrow import forward_narrow, qualifies
from fastrelu.kernels.network import block, forward
from fastrelu.kernels.intrinsics import from_ordered_key, ordered_key
from fastrelu.kernels.structs import WT, Workspace, member_network, stacked
from fastrelu.kernels.workspace import new_workspace

#: At most this many groups (parallel tasks) per call.
MAX_GROUPS = 64
#: Bytes of stacked output buffers one call may hold.
OUT_BYTES = 1 << 27


class MeasureWorkspace(NamedTuple):
    """A ``Workspace`` per group (leading axis G) and each group's room for all outputs."""

    outputs: np.ndarray
    preacts: np.ndarray
    normalized: np.ndarray
    scratch: np.ndarray
    batch_stats: np.ndarray
    out: np.ndarray             #: (G, n, n_out)
    keys: np.ndarray            #: (G, units): ``intrinsics.ordered_key`` of the largest pre-activations


def key_dtype(dtype) -> type:
    """The integer type of ``intrinsics.ordered_key`` for floats of ``dtype``."""
    return np.int32 if np.dtype(dtype) == np.float32 else np.int64


class NarrowWorkspace(NamedTuple):
    """Per group (leading axis G): ``narrow.forward_narrow``'s buffers and room for all outputs."""

    acts: np.ndarray            #: (G, 2, max width, n)
    acc: np.ndarray             #: (G, 4, n)
    out: np.ndarray             #: (G, n, n_out)


def new_measure_workspace(arch, params, n_rows: int, n_out: int) -> "MeasureWorkspace | NarrowWorkspace":
    """Workspaces for measuring the stack ``params`` (K, n_params) on ``n_rows`` rows: a
    :class:`NarrowWorkspace` when every layer is narrow (:func:`narrow.qualifies`) and one
    group's whole columns fit in ``OUT_BYTES``; the groups' buffers stay within ``OUT_BYTES``."""
    k = params.shape[0]
    per_group = max(1, n_rows * n_out * params.itemsize)
    groups = int(max(1, min(k, MAX_GROUPS, OUT_BYTES // per_group)))
    width = int(max(arch[:, OUT].max(), arch[:, IN].max()))
    narrow_bytes = (2 * width + 4 + n_out) * n_rows * params.itemsize   # whole columns per group
    if qualifies(arch) and narrow_bytes <= OUT_BYTES:
        groups = int(max(1, min(k, MAX_GROUPS, OUT_BYTES // narrow_bytes)))
        return NarrowWorkspace(np.empty((groups, 2, width, n_rows), params.dtype),
                               np.empty((groups, 4, n_rows), params.dtype),
                               np.empty((groups, n_rows, n_out), params.dtype))
    rows = min(n_rows, BLOCK_ROWS)
    if any(rows * int(r[IN]) * int(r[OUT]) >= BLAS_MIN_MACS for r in arch):
        # BLAS-sized layers: numba's np.dot from several prange threads at once made OpenBLAS's
        # own threads contend (64 nets 20-64-64-1 on 10,000 rows: 3.3-5.3 s, against 0.4 s with
        # OpenBLAS on one thread); one group leaves both cores to OpenBLAS. Same bits for any G.
        groups = 1
    one = new_workspace(arch, rows, params)
    ws = stacked(one, groups)
    return MeasureWorkspace(*ws, np.empty((groups, n_rows, n_out), params.dtype),
                            np.empty((groups, int(arch[-1, C_OFF] + arch[-1, OUT])), key_dtype(params.dtype)))


def measure_stack(nets, data, ws, max_pre, out_std, mean_loss, finite):
    """Fill ``max_pre`` (K, total_width), ``out_std``, ``mean_loss`` (K,) float64 and
    ``finite`` (K,) bool for the stacked networks ``nets`` on ``data`` (``structs.Data``),
    in evaluation mode (batch norm uses the running statistics)."""
    if isinstance(ws, NarrowWorkspace):
        xt = np.ascontiguousarray(data.X.T)
        _measure_narrow(nets, data, xt, ws, max_pre, out_std, mean_loss, finite)
        return
    # evaluation mode as a runtime bool: a literal False would compile forward a second time
    # per dtype (tests/test_determinism.py counts its specializations)
    _measure_stack(nets, data, ws, max_pre, out_std, mean_loss, finite, np.bool_(False))


@njit(**PJIT)
def _measure_stack(nets, data, ws, max_pre, out_std, mean_loss, finite, train):
    k_total = nets.params.shape[0]
    groups = ws.out.shape[0]
    for g in prange(groups):
        w = Workspace(ws.outputs[g], ws.preacts[g], ws.normalized[g], ws.scratch[g], ws.batch_stats[g])
        for k in range(g * k_total // groups, (g + 1) * k_total // groups):
            net = member_network(nets, k)
            _forward_all(net, data.X, w, ws.out[g], max_pre[k], ws.keys[g], train)
            out = ws.out[g]
            finite[k] = _all_finite(net.params) and _all_finite(out)
            out_std[k] = _output_std(out)
            mean_loss[k] = _mean_loss(out, data)


@njit(**PJIT)
def _measure_narrow(nets, data, xt, ws, max_pre, out_std, mean_loss, finite):
    k_total = nets.params.shape[0]
    groups = ws.out.shape[0]
    for g in prange(groups):
        for k in range(g * k_total // groups, (g + 1) * k_total // groups):
            net = member_network(nets, k)
            out = ws.out[g]
            for c in range(max_pre.shape[1]):
                max_pre[k, c] = -np.inf
            forward_narrow(net.params, net.arch, net.residual_scale, xt, ws.acts[g], ws.acc[g], out, max_pre[k])
            finite[k] = _all_finite(net.params) and _all_finite(out)
            out_std[k] = _output_std(out)
            mean_loss[k] = _mean_loss(out, data)


@njit(**JIT)
def _forward_all(net, X, w, out, max_pre, keys, train):
    """Outputs of every row into ``out``; per unit the largest pre-activation into ``max_pre``
    (NaN if any was NaN), kept meanwhile as ``ordered_key`` integers in ``keys``: an integer
    maximum vectorizes across the units of a row, the float one with its NaN test did not
    (512 nets 10-32-32-32-1 on 2048 rows, the whole measurement: 0.186 -> 0.171 s)."""
    arch = net.arch
    n = X.shape[0]
    rows = min(n, BLOCK_ROWS)
    lowest = ordered_key(max_pre.dtype.type(-np.inf))
    for c in range(keys.shape[0]):
        keys[c] = lowest
    for r0 in range(0, n, max(rows, 1)):
        r1 = min(n, r0 + rows)
        m = r1 - r0
        o = forward(net.params, arch, net.residual_scale, X[r0:r1], w.outputs, w.preacts, w.normalized,
                    w.batch_stats, net.running, train, w.scratch[WT])
        for l in range(arch.shape[0]):
            if arch[l, KIND] == OUTPUT:
                continue
            u = block(w.preacts, m, arch, l)
            kl = keys[arch[l, C_OFF]:arch[l, C_OFF] + arch[l, OUT]]
            for r in range(m):
                for j in range(kl.shape[0]):
                    key = ordered_key(u[r, j])
                    kl[j] = key if key > kl[j] else kl[j]
        for r in range(m):
            for j in range(o.shape[1]):
                out[r0 + r, j] = o[r, j]
    like = max_pre.dtype.type(0)
    for c in range(max_pre.shape[0]):
        max_pre[c] = from_ordered_key(keys[c], like)


@njit(**JIT)
def _all_finite(a):
    flat = a.ravel()
    for i in range(flat.shape[0]):
        if not np.isfinite(flat[i]):
            return False
    return True


@njit(**JIT)
def _output_std(out):
    n, c = out.shape
    total = 0.0
    for j in range(c):
        s = 0.0
        for r in range(n):
            s += np.float64(out[r, j])
        mean = s / n
        q = 0.0
        for r in range(n):
            d = np.float64(out[r, j]) - mean
            q += d * d
        total += np.sqrt(q / n)
    return total / c


@njit(**JIT)
def _mean_loss(out, data):
    n, c = out.shape
    s = 0.0
    if data.loss == CROSS_ENTROPY:
        for r in range(n):
            top = np.float64(out[r, 0])
            for j in range(1, c):
                top = max(top, np.float64(out[r, j]))
            z = 0.0
            for j in range(c):
                z += np.exp(np.float64(out[r, j]) - top)
            s += top + np.log(z) - np.float64(out[r, data.labels[r]])
        return s / n
    for r in range(n):
        for j in range(c):
            d = np.float64(out[r, j]) - np.float64(data.targets[r, j])
            s += d * d
    return s / (n * c)
