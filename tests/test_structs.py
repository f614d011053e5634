"""The kernels' named structures are built as the kernels expect (fields, shapes, types)."""
from __future__ import annotations

import numba
import numpy as np
import pytest

import fastrelu as fr
from fastrelu.kernels import structs
from fastrelu.kernels._config import N_CHUNKS
from fastrelu.kernels.workspace import new_step_workspace, scratch_size, total_width, use_chunks


def _net_and_data(n=300, dtype="float32", **kw):
    net = fr.MLP([3, 8, 8, 2], seed=0, dtype=dtype, **kw)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3)).astype(dtype)
    d = structs.data(X, rng.normal(size=(n, 2)).astype(dtype), np.zeros(n, np.int64), 0)
    return net, d


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_step_workspace_has_room_for_the_largest_batch(dtype):
    net, d = _net_and_data(dtype=dtype)
    starts = np.array([0, 300, 400, 437])   # batches of 300 (chunked), 100 and 37 rows
    assert use_chunks(net._arch, 300) and not use_chunks(net._arch, 100)
    ws = new_step_workspace(net._arch, net.params, d, starts)
    T = total_width(net._arch)
    assert (ws.x.size, ws.targets.size, ws.labels.size) == (300 * 3, 300 * 2, 300)
    assert ws.grad.shape == net.params.shape
    assert ws.outputs.size == ws.preacts.size == ws.normalized.size == 300 * T
    assert ws.scratch.shape == (4, scratch_size(net._arch, 300))
    assert ws.batch_stats.shape == (3, T) and not ws.batch_stats.any()
    rows = -(-300 // N_CHUNKS)
    assert ws.chunk_grads.shape == (N_CHUNKS, net.n_params)
    assert ws.chunk_outputs.shape == ws.chunk_preacts.shape == (N_CHUNKS, rows * T)
    assert ws.chunk_scratch.shape == (N_CHUNKS, 4, scratch_size(net._arch, rows))
    assert ws.chunk_batch_stats.shape == (N_CHUNKS, 3, T) and not ws.chunk_batch_stats.any()
    assert ws.chunk_losses.shape == (N_CHUNKS,) and ws.chunk_losses.dtype == np.float64
    for name in ws._fields:
        if name != "chunk_losses" and name != "labels":
            assert getattr(ws, name).dtype == net.dtype, name
    assert ws.labels.dtype == np.int64


def test_no_chunked_batch_means_empty_chunk_buffers():
    net, d = _net_and_data(n=64)
    ws = new_step_workspace(net._arch, net.params, d, np.array([0, 32, 64]))
    assert all(getattr(ws, f).size == 0 for f in ws._fields if f.startswith("chunk_") and f != "chunk_losses")


def test_stacked_workspaces_and_members_are_rows_of_the_stack():
    net, d = _net_and_data()
    ws = new_step_workspace(net._arch, net.params, d, np.array([0, 300, 330]))
    stack = structs.stacked(ws, 3)
    assert type(stack) is structs.StepWorkspace
    for name in ws._fields:
        a, s = getattr(ws, name), getattr(stack, name)
        assert s.shape == (3,) + a.shape and s.dtype == a.dtype, name
        if name.endswith("batch_stats"):
            assert not s.any(), name
    member = structs.member_workspace.py_func(stack, 1)
    for name in ws._fields:
        v, s = getattr(member, name), getattr(stack, name)
        assert v.shape == s.shape[1:] and (v.size == 0 or np.shares_memory(v, s[1])), name
    layers, chunks = structs.step_layers.py_func(ws), structs.step_chunks.py_func(ws)
    assert layers.outputs is ws.outputs and layers.batch_stats is ws.batch_stats
    assert chunks.grads is ws.chunk_grads and chunks.losses is ws.chunk_losses
    row = structs.chunk_workspace.py_func(chunks, 2)
    assert np.shares_memory(row.scratch, ws.chunk_scratch[2]) and row.scratch.shape == ws.chunk_scratch.shape[1:]


def test_stacked_members_of_network_schedule_optimizer():
    ens = fr.Ensemble([3, 4, 1], seeds=[0, 1])
    nets = structs.network(ens.params, ens.running, ens.members[0]._arch, 0.5)
    m = structs.member_network.py_func(nets, 1)
    assert np.shares_memory(m.params, ens.params[1]) and m.arch is nets.arch and m.residual_scale == 0.5
    orders = np.arange(10).reshape(2, 5)
    s = structs.member_schedule.py_func(structs.schedule(orders, np.array([0, 5])), 1)
    assert s.order.tolist() == [5, 6, 7, 8, 9] and s.starts.tolist() == [0, 5]
    opts = structs.optimizer([0, 1], np.zeros((2, 8)), np.zeros((2, 2, ens.members[0].n_params)), 3)
    assert opts.kind.dtype == np.int64
    o = structs.member_optimizer.py_func(opts, 1)
    assert o.kind == 1 and o.step == 3 and o.hyper.shape == (8,)


def test_constructors_give_one_numba_type_per_dtype():
    """An int residual scale or loss code would be another numba type: another compilation
    of every kernel that takes the structure."""
    net, d = _net_and_data()
    a = structs.network(net.params, net.running, net._arch, 1)
    b = structs.network(net.params, net.running, net._arch, np.float32(0.5))
    assert numba.typeof(a) == numba.typeof(b)
    assert numba.typeof(structs.data(d.X, d.targets, d.labels, np.int32(1))) == numba.typeof(d)
    o1 = structs.optimizer(np.int64(0), np.zeros(8), np.zeros((2, 3)), np.int32(2))
    o2 = structs.optimizer(2, np.zeros(8), np.zeros((2, 3)), 0)
    assert numba.typeof(o1) == numba.typeof(o2)
