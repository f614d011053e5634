"""Whole-network kernels (forward, backward, fused training loop) against the NumPy twin."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastrelu as fr
import twins

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from(["float32", "float64"])


@st.composite
def architectures(draw):
    depth = draw(st.integers(1, 4))
    width = draw(st.integers(1, 12))
    sizes = [draw(st.integers(1, 8))] + [draw(st.sampled_from([width, width + 1])) for _ in range(depth)]
    sizes.append(draw(st.integers(1, 4)))
    return sizes, draw(st.booleans()), draw(st.booleans())


def tol(dtype):
    return dict(rtol=1e-3, atol=1e-4) if dtype == "float32" else dict(rtol=1e-9, atol=1e-11)


@SETTINGS
@given(arch=architectures(), n=st.integers(2, 40), dtype=DTYPES, seed=st.integers(0, 10**6),
       loss=st.sampled_from(["mse", "cross_entropy"]))
def test_forward_and_gradient_match_twin(arch, n, dtype, seed, loss):
    sizes, residual, batchnorm = arch
    rng = np.random.default_rng(seed)
    net = fr.MLP(sizes, seed=seed, dtype=dtype, residual=residual, batchnorm=batchnorm, init="he")
    net.params[...] += rng.normal(0, 0.1, net.n_params)  # also exercise non-trivial BN scale/shift
    X = rng.normal(size=(n, sizes[0]))
    y = rng.normal(size=(n, sizes[-1])) if loss == "mse" else rng.integers(0, sizes[-1], n)
    twin = twins.Net(net)
    out, hidden, pre = twin.forward(X.astype(net.dtype))
    t = tol(dtype)
    np.testing.assert_allclose(net.forward(X), out, **t)
    for got, want in zip(net.activations(X), hidden):
        np.testing.assert_allclose(got, want, **t)
    for got, want in zip(net.preactivations(X), pre):
        np.testing.assert_allclose(got, want, **t)
    value, grad = net.loss_and_gradient(X, y, loss)
    ev, dW, db, dg, dbe = twin.loss_grad(X.astype(net.dtype), y, loss)
    assert np.isclose(value, ev, **t)
    gW, gb = net.gradients(X, y, loss)
    scale = max(1.0, max(np.abs(d).max() for d in dW))
    loose = dict(rtol=5e-3, atol=5e-3 * scale) if dtype == "float32" else dict(rtol=1e-7, atol=1e-9 * scale)
    for got, want in zip(gW + gb, dW + db):
        np.testing.assert_allclose(got, want, **loose)


def twin_fit(net, X, y, lr, batches):
    """Plain SGD by the twin's backprop, on fit's exact batches."""
    twin = twins.Net(net)
    losses = []
    for idx in batches:
        value, dW, db, _, _ = twin.loss_grad(X[idx], y[idx])
        losses.append(value)
        twin.W = [w - lr * d for w, d in zip(twin.W, dW)]
        twin.b = [b - lr * d for b, d in zip(twin.b, db)]
    return twin, np.array(losses)


@SETTINGS
@given(arch=architectures(), n=st.integers(3, 60), batch=st.integers(1, 16), seed=st.integers(0, 10**6),
       dtype=DTYPES)
def test_fused_training_loop_matches_twin(arch, n, batch, seed, dtype):
    sizes, residual, _ = arch
    rng = np.random.default_rng(seed)
    net = fr.MLP(sizes, seed=seed, dtype=dtype, residual=residual)
    X = rng.normal(size=(n, sizes[0])).astype(net.dtype)
    y = rng.normal(size=(n, sizes[-1])).astype(net.dtype)
    # lr 0.01 keeps training stable: at 0.05 hypothesis found runs whose loss blew up to 1e5,
    # where float32 rounding differences (twin in float64) grow chaotically, whatever the kernel.
    twin, losses = twin_fit(net, X, y, 0.01, list(fr.minibatches(n, batch, epochs=2, seed=seed)))
    hist = fr.fit(net, X, y, optimizer=fr.SGD(0.01), batch_size=batch, epochs=2, seed=seed)
    t = tol(dtype)
    np.testing.assert_allclose(hist.loss, losses, **t)
    for got, want in zip(net.weights + net.biases, twin.W + twin.b):
        np.testing.assert_allclose(got, want, **t)


def test_parallel_chunked_gradient_matches_twin():
    """Batches of >= PARALLEL_MIN_ROWS rows are computed over fixed row chunks: in parallel
    (the prange kernel, ``threads=True``) or one after another (``None``; what
    ``loss_and_gradient`` uses below 16384 rows). Both give the twin's numbers and the same bits."""
    from fastrelu.kernels._config import PARALLEL_MIN_ROWS
    from fastrelu.kernels.train import batch_loss_grad, use_chunks

    rng = np.random.default_rng(1)
    net = fr.MLP([5, 16, 16, 3], seed=1, dtype="float64", residual=True)
    n = PARALLEL_MIN_ROWS + 37
    assert use_chunks(net._arch, n)
    X, y = rng.normal(size=(n, 5)), rng.normal(size=(n, 3))
    value, grad = net.loss_and_gradient(X, y)
    ev, dW, db, _, _ = twins.Net(net).loss_grad(X, y)
    assert np.isclose(value, ev, rtol=1e-12)
    gW, gb = net.gradients(X, y)
    for got, want in zip(gW + gb, dW + db):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    par = np.empty_like(grad)
    pvalue = batch_loss_grad(net.params, net._arch, net.residual_scale, X, y, np.zeros(n, np.int64), 0,
                             net.running.copy(), par, True)
    assert pvalue == value and par.tobytes() == grad.tobytes()


def test_python_gradient_glue_has_the_compiled_bits():
    """``loss_and_gradient`` calls forward/loss/backward from Python; the training loop runs
    them inside the compiled ``serial_loss_grad``. Same bits."""
    from fastrelu.kernels.train import new_workspace, serial_loss_grad

    rng = np.random.default_rng(2)
    for kw in ({}, {"batchnorm": True}):
        net = fr.MLP([4, 9, 9, 2], seed=2, dtype="float32", **kw)
        X = rng.normal(size=(23, 4)).astype(np.float32)
        y = rng.normal(size=(23, 2)).astype(np.float32)
        value, grad = net.loss_and_gradient(X, y)
        g2 = np.empty_like(grad)   # called directly, the dispatcher compiles it standalone
        v2 = serial_loss_grad(net.params, net._arch, net.residual_scale, X, y, np.zeros(23, np.int64), 0, 23,
                      net.running.copy(), g2, *new_workspace(net._arch, 23, net.params))
        assert np.float32(v2) == np.float32(value) and g2.tobytes() == grad.tobytes()


@SETTINGS
@given(n=st.integers(0, 9), m=st.integers(1, 9), start=st.integers(0, 5), extra=st.integers(0, 3),
       dtype=DTYPES)
def test_view2d_is_the_reshaped_slice_and_shares_memory(n, m, start, extra, dtype):
    from fastrelu.kernels.network import view2d

    buf = np.arange(start + n * m + extra, dtype=dtype)
    v = view2d(buf, start, n, m)
    twin = buf[start:start + n * m].reshape(n, m)
    assert v.shape == (n, m) and v.dtype == buf.dtype and v.flags.c_contiguous
    np.testing.assert_array_equal(v, twin)
    if n:
        v[n - 1, m - 1] = -1.0   # a view: writes land in buf
        assert buf[start + n * m - 1] == -1.0


def test_view2d_refuses_a_short_buffer():
    from fastrelu.kernels.network import view2d

    with pytest.raises(ValueError, match="too short"):
        view2d(np.zeros(11), 2, 3, 4)
