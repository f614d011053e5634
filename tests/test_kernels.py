"""Every kernel against its plain-NumPy twin (tests/twins.py), over random shapes, both dtypes."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twins
from fastrelu.kernels import batchnorm as kbn
from fastrelu.kernels import dense, losses
from fastrelu.kernels import optim as kopt
from fastrelu.kernels import layout

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from([np.float32, np.float64])
dims = st.integers(1, 70)


def tol(dtype):
    return dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def rand(rng, shape, dtype, scale=1.0):
    return np.ascontiguousarray(rng.normal(0, scale, shape).astype(dtype))


@SETTINGS
@given(n=dims, k=dims, m=dims, dtype=DTYPES, seed=st.integers(0, 2**31))
def test_linear_forward(n, k, m, dtype, seed):
    rng = np.random.default_rng(seed)
    h, W, b = rand(rng, (n, k), dtype), rand(rng, (m, k), dtype), rand(rng, m, dtype)
    z = np.empty((n, m), dtype)
    dense.linear_forward(h, W, b, z, np.full(k * m, np.nan, dtype))
    np.testing.assert_allclose(z, twins.linear_forward(h.astype(float), W.astype(float), b), **tol(dtype))


@SETTINGS
@given(m=dims, k=dims, dtype=DTYPES, seed=st.integers(0, 2**31))
def test_transpose_into(m, k, dtype, seed):
    """In-register 16x16 / 8x8 block transposes (edges by shifted blocks) against ``A.T``,
    exactly, into a view of a larger NaN-filled buffer (nothing outside it is touched)."""
    rng = np.random.default_rng(seed)
    A = rand(rng, (m, k), dtype)
    buf = np.full(k * m + 5, np.nan, dtype)
    AT = buf[:k * m].reshape(k, m)
    dense.transpose_into(A, AT)
    assert AT.tobytes() == np.ascontiguousarray(A.T).tobytes()
    assert np.isnan(buf[k * m:]).all()


@SETTINGS
@given(n=dims, k=st.integers(1, 31), m=st.integers(32, 70), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_weight_grad_transposed_path_has_the_same_bits(n, k, m, dtype, seed):
    """With fewer than 32 inputs the weight gradient is computed as ``h^T dz`` and transposed:
    the same fma chains as the direct ``dz^T h`` product, so the same bits."""
    rng = np.random.default_rng(seed)
    dz, h = rand(rng, (n, m), dtype), rand(rng, (n, k), dtype)
    dW, db = np.empty((m, k), dtype), np.empty(m, dtype)
    dense.linear_backward_params(dz, h, dW, db, np.full(k * m, np.nan, dtype))
    direct = np.empty((m, k), dtype)
    dense.tn_product(dz, h, direct)
    assert dW.tobytes() == direct.tobytes()


@SETTINGS
@given(n=dims, m=dims, dtype=DTYPES, seed=st.integers(0, 2**31))
def test_bias_grad_sums_rows_in_order(n, m, dtype, seed):
    """``db`` is each column summed from 0 in row order (64- and 16-column register blocks,
    then single columns): exactly the sequential sum in the array's dtype."""
    rng = np.random.default_rng(seed)
    dz, h = rand(rng, (n, m), dtype), rand(rng, (n, 3), dtype)
    dW, db = np.empty((m, 3), dtype), np.empty(m, dtype)
    dense.linear_backward_params(dz, h, dW, db, np.empty(3 * m, dtype))
    expect = np.zeros(m, dtype)
    for r in range(n):
        expect = (expect + dz[r]).astype(dtype)
    assert db.tobytes() == expect.tobytes()


@SETTINGS
@given(n=dims, k=dims, m=dims, dtype=DTYPES, seed=st.integers(0, 2**31))
def test_linear_backward(n, k, m, dtype, seed):
    rng = np.random.default_rng(seed)
    dz, h, W = rand(rng, (n, m), dtype), rand(rng, (n, k), dtype), rand(rng, (m, k), dtype)
    dz[rng.random((n, m)) < 0.3] = 0  # ReLU masks make many exact zeros
    dW, db, dh = np.full((m, k), np.nan, dtype), np.full(m, np.nan, dtype), np.full((n, k), np.nan, dtype)
    dense.linear_backward_params(dz, h, dW, db, np.full(k * m, np.nan, dtype))
    dense.linear_backward_input(dz, W, dh)
    eW, eb = twins.linear_backward_params(dz.astype(float), h.astype(float))
    np.testing.assert_allclose(dW, eW, **tol(dtype))
    np.testing.assert_allclose(db, eb, **tol(dtype))
    np.testing.assert_allclose(dh, twins.linear_backward_input(dz.astype(float), W.astype(float)), **tol(dtype))



@SETTINGS
@given(rem=st.integers(1, 3), k=st.integers(8, 70), m=dims, dtype=DTYPES, seed=st.integers(0, 2**31))
def test_input_grad_leftover_rows_have_the_block_kernels_bits(rem, k, m, dtype, seed):
    """Rows past the last block of 4 go through plain fma loops: the same bits as the
    register-blocked kernel gives the same row inside a block."""
    rng = np.random.default_rng(seed)
    dz, W = rand(rng, (4 + rem, m), dtype), rand(rng, (m, k), dtype)
    dh = np.empty((4 + rem, k), dtype)
    dense.linear_backward_input(dz, W, dh)
    for r in range(4, 4 + rem):
        block = np.ascontiguousarray(dz[[r, r, r, r]])
        dh4 = np.empty((4, k), dtype)
        dense.linear_backward_input(block, W, dh4)
        assert dh4[0].tobytes() == dh[r].tobytes()

@SETTINGS
@given(rem=st.integers(1, 3), k=dims, m=st.integers(8, 70), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_forward_leftover_rows_have_the_block_kernels_bits(rem, k, m, dtype, seed):
    """The forward pass (``W`` transposed, ``nn`` kernels with sums starting from the bias):
    rows past the last block of 4 take plain fma loops and get the bits the blocked kernel
    gives the same row."""
    rng = np.random.default_rng(seed)
    h, W, b = rand(rng, (4 + rem, k), dtype), rand(rng, (m, k), dtype), rand(rng, m, dtype)
    z = np.empty((4 + rem, m), dtype)
    dense.linear_forward(h, W, b, z, np.empty(k * m, dtype))
    for r in range(4, 4 + rem):
        z4 = np.empty((4, m), dtype)
        dense.linear_forward(np.ascontiguousarray(h[[r, r, r, r]]), W, b, z4, np.empty(k * m, dtype))
        assert z4[0].tobytes() == z[r].tobytes()


def test_short_scratch_is_an_error_not_a_write_past_it():
    rng = np.random.default_rng(0)
    h, W, b, dz = rand(rng, (4, 10), np.float32), rand(rng, (40, 10), np.float32), rand(rng, 40, np.float32), rand(rng, (4, 40), np.float32)
    with pytest.raises(ValueError, match="scratch"):
        dense.linear_forward(h, W, b, np.empty((4, 40), np.float32), np.empty(399, np.float32))
    with pytest.raises(ValueError, match="scratch"):
        dense.linear_backward_params(dz, h, np.empty((40, 10), np.float32), np.empty(40, np.float32),
                                     np.empty(399, np.float32))


def test_blas_path_matches_numpy():
    """Shapes past BLAS_MIN_MACS take np.dot; same results as the twin."""
    rng = np.random.default_rng(0)
    n, k, m = 256, 300, 200
    assert dense.use_blas(n, k, m)
    h, W, b, dz = rand(rng, (n, k), np.float64), rand(rng, (m, k), np.float64), rand(rng, m, np.float64), rand(rng, (n, m), np.float64)
    z, dW, db, dh = np.empty((n, m)), np.empty((m, k)), np.empty(m), np.empty((n, k))
    dense.linear_forward(h, W, b, z, np.empty(0))
    dense.linear_backward_params(dz, h, dW, db, np.empty(0))
    dense.linear_backward_input(dz, W, dh)
    np.testing.assert_allclose(z, twins.linear_forward(h, W, b), rtol=1e-10)
    np.testing.assert_allclose(dW, twins.linear_backward_params(dz, h)[0], rtol=1e-10)
    np.testing.assert_allclose(dh, twins.linear_backward_input(dz, W), rtol=1e-10)


@SETTINGS
@given(n=st.integers(2, 50), m=dims, dtype=DTYPES, seed=st.integers(0, 2**31))
def test_batchnorm(n, m, dtype, seed):
    rng = np.random.default_rng(seed)
    z, gamma, beta, dy = rand(rng, (n, m), dtype, 3), rand(rng, m, dtype), rand(rng, m, dtype), rand(rng, (n, m), dtype)
    xhat, y = np.empty_like(z), np.empty_like(z)
    mean, var, invstd = np.empty(m, dtype), np.empty(m, dtype), np.empty(m, dtype)
    kbn.batchnorm_train(z, gamma, beta, xhat, y, mean, var, invstd)
    ey, exhat, emean, evar = twins.batchnorm_train(z.astype(float), gamma.astype(float), beta.astype(float))
    t = tol(dtype)
    np.testing.assert_allclose(y, ey, **t)
    np.testing.assert_allclose(mean, emean, **t)
    np.testing.assert_allclose(var, evar, **t)
    # backward (in place on a copy of dy)
    d = dy.copy()
    dg, dbe = np.empty(m, dtype), np.empty(m, dtype)
    kbn.batchnorm_backward(d, xhat, gamma, invstd, dg, dbe)
    edz, edg, edbe = twins.batchnorm_backward(dy.astype(float), z.astype(float), gamma.astype(float))
    loose = dict(rtol=5e-3, atol=5e-3) if dtype == np.float32 else t
    np.testing.assert_allclose(d, edz, **loose)
    np.testing.assert_allclose(dg, edg, **loose)
    np.testing.assert_allclose(dbe, edbe, **t)
    # eval mode and running statistics
    rm, rv = rand(rng, m, dtype), np.abs(rand(rng, m, dtype)) + 0.5
    out = np.empty_like(z)
    kbn.batchnorm_eval(z, gamma, beta, rm, rv, out)
    np.testing.assert_allclose(out, twins.batchnorm_eval(z.astype(float), gamma, beta, rm, rv), **t)
    rm2, rv2 = rm.copy(), rv.copy()
    kbn.update_running_stats(rm2, rv2, mean, var, n)
    np.testing.assert_allclose(rm2, 0.9 * rm + 0.1 * mean.astype(float), **t)
    np.testing.assert_allclose(rv2, 0.9 * rv + 0.1 * var.astype(float) * n / (n - 1), **t)


@SETTINGS
@given(n=st.integers(1, 40), m=st.integers(1, 12), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_losses(n, m, dtype, seed):
    rng = np.random.default_rng(seed)
    out, y = rand(rng, (n, m), dtype, 3), rand(rng, (n, m), dtype)
    labels = rng.integers(0, m, n)
    d = np.empty_like(out)
    value = losses.mse(out, y, n, d)
    ev, ed = twins.mse(out.astype(float), y.astype(float))
    np.testing.assert_allclose(value, ev, **tol(dtype))
    np.testing.assert_allclose(d, ed, **tol(dtype))
    value = losses.cross_entropy(out, labels, n, d)
    ev, ed = twins.cross_entropy(out.astype(float), labels)
    np.testing.assert_allclose(value, ev, **tol(dtype))
    np.testing.assert_allclose(d, ed, **tol(dtype))


def test_cross_entropy_is_stable_for_huge_logits():
    out = np.array([[1000.0, -1000.0, 0.0]])
    d = np.empty_like(out)
    assert losses.cross_entropy(out, np.array([1]), 1, d) == pytest.approx(2000.0)
    assert np.isfinite(d).all()


def hyper(**kw):
    h = np.zeros(layout.NHYPER)
    for k, val in kw.items():
        h[getattr(layout, "H_" + k.upper())] = val
    return h


@SETTINGS
@given(p=st.integers(1, 300), steps=st.integers(1, 6), dtype=DTYPES, seed=st.integers(0, 2**31),
       momentum=st.sampled_from([0.0, 0.9]), wd=st.sampled_from([0.0, 0.01]))
def test_optimizers(p, steps, dtype, seed, momentum, wd):
    rng = np.random.default_rng(seed)
    theta0 = rand(rng, p, dtype)
    grads = [rand(rng, p, dtype) for _ in range(steps)]
    t = tol(dtype)
    # SGD
    theta, state = theta0.copy(), np.zeros((2, p), dtype)
    et, buf = theta0.astype(float), np.zeros(p)
    for i, g in enumerate(grads, 1):
        assert kopt.sgd(theta, g, state, hyper(lr=0.1, momentum=momentum, weight_decay=wd), i)
        et, buf = twins.sgd(et, g.astype(float), buf, i, 0.1, momentum, wd)
    np.testing.assert_allclose(theta, et, **t)
    # Adam
    theta, state = theta0.copy(), np.zeros((2, p), dtype)
    et, m, v = theta0.astype(float), np.zeros(p), np.zeros(p)
    for i, g in enumerate(grads, 1):
        assert kopt.adam(theta, g, state, hyper(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=wd), i)
        et, m, v = twins.adam(et, g.astype(float), m, v, i, 0.01, 0.9, 0.999, 1e-8, wd)
    np.testing.assert_allclose(theta, et, **t)
    # RMSprop
    theta, state = theta0.copy(), np.zeros((2, p), dtype)
    et, sq, buf = theta0.astype(float), np.zeros(p), np.zeros(p)
    for i, g in enumerate(grads, 1):
        assert kopt.rmsprop(theta, g, state, hyper(lr=0.01, alpha=0.99, eps=1e-8, momentum=momentum,
                                                   weight_decay=wd), i)
        et, sq, buf = twins.rmsprop(et, g.astype(float), sq, buf, 0.01, 0.99, 1e-8, momentum, wd)
    np.testing.assert_allclose(theta, et, **t)


@SETTINGS
@given(p=st.integers(1, 300), dtype=DTYPES, seed=st.integers(0, 2**31), max_norm=st.floats(0.01, 100))
def test_clip_grad_norm(p, dtype, seed, max_norm):
    g = rand(np.random.default_rng(seed), p, dtype, 5)
    expected, enorm = twins.clip(g.astype(float), max_norm)
    norm = kopt.clip_grad_norm(g, max_norm)
    assert norm == pytest.approx(enorm, rel=1e-6)
    np.testing.assert_allclose(g, expected, **tol(dtype))


def test_update_reports_non_finite():
    theta = np.array([1.0, 2.0])
    assert not kopt.sgd(theta, np.array([np.inf, 0.0]), np.zeros((2, 2)), hyper(lr=1.0), 1)
    theta = np.array([1e308])
    assert not kopt.sgd(theta, np.array([-1e308]), np.zeros((2, 1)), hyper(lr=10.0), 1)


def test_borrowed_view_writes_through_without_reference_counting():
    """``borrow`` gives the same memory without numba's reference count (no meminfo): writes
    land in the owner. The borrowing step loop must not allocate through numba's runtime
    either (a borrowed view must not end up owning memory, and an allocation per step was
    a measured slowdown): 5 and 50 steps make the same allocations, all freed."""
    from numba import njit
    from numba.core.runtime import _nrt_python, rtsys

    import fastrelu as fr
    from fastrelu.kernels.intrinsics import borrow

    @njit
    def fill(a, value):
        b = borrow(a)
        for i in range(b.shape[0]):
            b[i] = value
        return b.shape[0]

    a = np.zeros(5)
    assert fill(a, 2.0) == 5
    assert (a == 2.0).all()

    def allocations(steps):
        before = rtsys.get_allocation_stats()
        fr.fit(net, X, y, optimizer=fr.SGD(0.01), steps=steps)
        after = rtsys.get_allocation_stats()
        return [a - b for a, b in zip(after, before)]

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 3)), rng.normal(size=(64, 1))
    net = fr.MLP([3, 8, 1], seed=0)
    fr.fit(net, X, y, optimizer=fr.SGD(0.01), steps=2)   # compile / load first
    was_on = _nrt_python.memsys_stats_enabled()
    _nrt_python.memsys_enable_stats()
    try:
        few, many = allocations(5), allocations(50)
    finally:
        if not was_on:
            _nrt_python.memsys_disable_stats()
    # (passing arrays in from Python wraps each once per call: the same for any step count)
    assert few == many
    assert few[0] == few[1] and few[2] == few[3]   # every allocation freed
    assert np.isfinite(net.params).all()
