"""kernels.measure: one parallel pass measures stacked nets; NumPy twin and hypothesis."""
from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fastrelu as fr
from fastrelu import rules
from fastrelu.kernels import structs
from fastrelu.kernels.layout import C_OFF, CROSS_ENTROPY, MSE
from fastrelu.kernels.measure import measure_stack, new_measure_workspace


def run(ens, X, targets, labels, loss):
    t = ens._template
    nets = structs.network(ens.params, ens.running, t._arch, t.residual_scale)
    data = structs.data(X, targets, labels, loss)
    k = len(ens)
    ws = new_measure_workspace(t._arch, ens.params, X.shape[0], t.sizes[-1])
    max_pre = np.empty((k, ens.running.shape[-1]), ens.params.dtype)
    out_std, mean_loss, finite = np.empty(k), np.empty(k), np.empty(k, np.bool_)
    measure_stack(nets, data, ws, max_pre, out_std, mean_loss, finite)
    return max_pre, out_std, mean_loss, finite


def twin_std(out):
    out = out.astype(np.float64)
    return float(np.mean(np.sqrt(np.mean((out - out.mean(axis=0)) ** 2, axis=0))))


@settings(max_examples=25, deadline=None)
@example(sizes=[1, 1, 2, 1], n=3, k=2, dtype="float64", residual=False, batchnorm=True, ce=False, seed=1)
@given(sizes=st.lists(st.integers(1, 7), min_size=2, max_size=5), n=st.integers(2, 40),
       k=st.integers(1, 5), dtype=st.sampled_from(["float32", "float64"]), residual=st.booleans(),
       batchnorm=st.booleans(), ce=st.booleans(), seed=st.integers(0, 1000))
def test_measure_stack_equals_the_numpy_twin(sizes, n, k, dtype, residual, batchnorm, ce, seed):
    rng = np.random.default_rng(seed)
    ens = fr.Ensemble(sizes, seeds=range(seed, seed + k), dtype=dtype, residual=residual, batchnorm=batchnorm)
    if batchnorm:   # non-trivial running statistics
        ens.running[:, 0] = rng.normal(size=ens.running[:, 0].shape)
        ens.running[:, 1] = rng.uniform(0.5, 2.0, size=ens.running[:, 1].shape)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], n)
    targets = np.empty((n, 0), dtype) if ce else rng.normal(size=(n, sizes[-1])).astype(dtype)
    max_pre, out_std, mean_loss, finite = run(ens, X, targets, labels if ce else np.zeros(n, np.int64),
                                              CROSS_ENTROPY if ce else MSE)
    for j, net in enumerate(ens.members):
        out = net.forward(X)
        for layer, pre in enumerate(net.preactivations(X)):
            c = net._arch[layer, C_OFF]
            assert max_pre[j, c:c + pre.shape[1]].tobytes() == pre.max(axis=0).tobytes()
        assert finite[j]
        # the std of (nearly) equal outputs is rounding noise on the scale of the outputs: a
        # constant column gave 1.1e-16 here and 0.0 in the twin (sizes [1, 1, 2, 1], batch norm)
        scale = float(np.abs(out.astype(np.float64)).max())
        np.testing.assert_allclose(out_std[j], twin_std(out), rtol=1e-12, atol=8 * np.finfo(np.float64).eps * scale + 1e-300)
        want = rules.mean_loss(out, labels if ce else targets, "cross_entropy" if ce else "mse")
        np.testing.assert_allclose(mean_loss[j], want, rtol=1e-10)


def test_non_finite_members_are_flagged_and_do_not_touch_the_others():
    ens = fr.Ensemble([3, 4, 1], seeds=[0, 1, 2])
    ens.params[1, 0] = np.nan
    ens.params[2, 0] = np.inf
    X = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    _, out_std, _, finite = run(ens, X, np.zeros((16, 1), np.float32), np.zeros(16, np.int64), MSE)
    assert finite.tolist() == [True, False, False]
    assert out_std[0] == run(fr.Ensemble([3, 4, 1], seeds=[0]), X, np.zeros((16, 1), np.float32),
                             np.zeros(16, np.int64), MSE)[1][0]


def test_a_sweep_row_and_diagnose_agree():
    X, y = fr.data.teacher(128, 4, seed=3)
    res = fr.sweep({"width": [3, 16], "depth": [2, 6], "init": ["he", "small", "zeros"], "seed": range(3)},
                   data=(X, y), steps=0)
    for row in res.rows:
        net = fr.MLP([4] + [row["width"]] * row["depth"] + [1], init=row["init"], seed=row["seed"])
        rep = fr.diagnose(net, X, y)
        assert row["collapsed"] == rep.collapsed
        assert row["dead_fraction"] == rep.dead_fraction
        np.testing.assert_allclose(row["output_std_ratio"], rep.output_std_ratio, rtol=1e-9, atol=1e-300)


def test_blas_sized_nets_measure_in_one_group_with_the_bits_of_any_grouping():
    """Layers big enough for BLAS are measured in one group (np.dot from several prange threads made
    OpenBLAS's own threads contend); the group count never changes a bit, and max_pre is the
    bit pattern of MLP.preactivations."""
    from fastrelu.kernels.structs import stacked
    from fastrelu.kernels.workspace import new_workspace
    from fastrelu.kernels.evaluate import BLOCK_ROWS
    from fastrelu.kernels.measure import MeasureWorkspace, measure_stack as stack

    ens = fr.Ensemble([20, 128, 128, 1], seeds=[0, 1, 2])   # 256 rows x 128 x 128: BLAS-sized
    X = np.random.default_rng(0).normal(size=(1500, 20)).astype(np.float32)
    targets, labels = np.ones((1500, 1), np.float32), np.zeros(1500, np.int64)
    t = ens._template
    assert new_measure_workspace(t._arch, ens.params, 1500, 1).out.shape[0] == 1
    one_group = run(ens, X, targets, labels, MSE)
    ws = MeasureWorkspace(*stacked(new_workspace(t._arch, BLOCK_ROWS, ens.params), 3), np.empty((3, 1500, 1), np.float32),
                          np.empty((3, ens.running.shape[-1]), np.int32))
    nets = structs.network(ens.params, ens.running, t._arch, t.residual_scale)
    three = np.empty((3, ens.running.shape[-1]), np.float32), np.empty(3), np.empty(3), np.empty(3, np.bool_)
    stack(nets, structs.data(X, targets, labels, MSE), ws, *three)
    for a, b in zip(one_group, three):
        assert a.tobytes() == b.tobytes()
    for j, net in enumerate(ens.members):
        pre = np.concatenate(net.preactivations(X), axis=1)
        assert one_group[0][j, :pre.shape[1]].tobytes() == pre.max(axis=0).tobytes()
