"""kernels.narrow and dense.dot_rows_lanes: the sums of narrow layers in one stated order.

``forward_narrow`` (activations transposed, rows along the lanes) must give the bits of
``MLP.forward``; ``dot_rows_lanes`` (the row-major path of layers with fewer than 8 outputs and at
most 16 inputs) is checked against a NumPy twin that sums in the documented order.
"""
from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fastrelu as fr
from fastrelu.kernels import dense, narrow
from fastrelu.kernels.layout import C_OFF


def lanes_twin(h, W, b):
    """``b + h W^T`` summed as the docstring of ``dense.dot_rows_lanes`` says, in NumPy."""
    dt = h.dtype.type
    n, n_in = h.shape
    z = np.empty((n, W.shape[0]), h.dtype)
    P = h[:, None, :] * W[None, :, :]          # (n, out, in) products, rounded to the dtype
    if n_in < 4:
        acc = np.zeros(P.shape[:2], h.dtype)
        for k in range(n_in):
            acc = acc + P[:, :, k]
        return acc + b
    full = n_in - n_in % 4
    lanes = [np.full(P.shape[:2], dt(0.0) if i == 0 else dt(-0.0), h.dtype) for i in range(4)]
    for k in range(full):
        lanes[k % 4] = lanes[k % 4] + P[:, :, k]
    acc = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
    for k in range(full, n_in):
        acc = acc + P[:, :, k]
    z[:] = acc + b
    return z


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), n_in=st.integers(1, dense.LANES_MAX_IN), n_out=st.integers(1, 7),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 10_000))
def test_dot_rows_lanes_equals_its_numpy_twin(n, n_in, n_out, dtype, seed):
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(n, n_in)).astype(dtype)
    h[rng.random(h.shape) < 0.3] = 0.0         # ReLU zeros, so the signs of zero are checked too
    W = rng.normal(size=(n_out, n_in)).astype(dtype)
    b = rng.normal(size=n_out).astype(dtype) * (seed % 2)
    z = np.empty((n, n_out), dtype)
    dense.dot_rows_lanes(h, W, b, z)
    assert z.tobytes() == lanes_twin(h, W, b).tobytes()
    z2 = np.empty_like(z)
    dense.linear_forward(h, W, b, z2, np.empty(n_in * n_out, dtype))   # the path forward takes
    assert z2.tobytes() == z.tobytes()


def run_narrow(net, X):
    dt = net.params.dtype
    xt = np.ascontiguousarray(X.astype(dt).T)
    width = max(net.sizes)
    acts, acc = np.empty((2, width, len(X)), dt), np.empty((4, len(X)), dt)
    out = np.empty((len(X), net.sizes[-1]), dt)
    max_pre = np.full(net.running.shape[-1], -np.inf, dt)
    narrow.forward_narrow(net.params, net._arch, net.residual_scale, xt, acts, acc, out, max_pre)
    return out, max_pre


@settings(max_examples=40, deadline=None)
@example(widths=[5] * 19, n_in=1, n_out=1, n=128, dtype="float32", residual=False, bias=0.0, seed=0)
@given(widths=st.lists(st.integers(1, narrow.MAX_UNITS), min_size=1, max_size=5), n_in=st.integers(1, narrow.MAX_IN),
       n_out=st.integers(1, narrow.MAX_UNITS), n=st.integers(1, 300), dtype=st.sampled_from(["float32", "float64"]),
       residual=st.booleans(), bias=st.sampled_from([0.0, 0.1]), seed=st.integers(0, 1000))
def test_forward_narrow_gives_the_bits_of_mlp_forward(widths, n_in, n_out, n, dtype, residual, bias, seed):
    if residual:
        widths, n_in = [widths[0]] * len(widths), widths[0]
    net = fr.MLP([n_in] + widths + [n_out], seed=seed, bias=bias, dtype=dtype, residual=residual)
    assert narrow.qualifies(net._arch)
    X = np.random.default_rng(seed).normal(size=(n, n_in))
    out, max_pre = run_narrow(net, X)
    assert out.tobytes() == np.asarray(net.forward(X)).tobytes()
    for layer, pre in enumerate(net.preactivations(X)):
        c = net._arch[layer, C_OFF]
        assert max_pre[c:c + pre.shape[1]].tobytes() == pre.max(axis=0).tobytes()


def test_nan_preactivations_are_recorded_as_nan():
    net = fr.MLP([2, 3, 1], seed=0)
    net.params[0] = np.nan
    _, max_pre = run_narrow(net, np.ones((4, 2)))
    assert np.isnan(max_pre[0]) and not np.isnan(max_pre[1])


def test_which_architectures_are_narrow():
    assert narrow.qualifies(fr.MLP([1, 5, 5, 1])._arch)
    assert narrow.qualifies(fr.MLP([16, 7, 7], residual=False)._arch)
    assert narrow.qualifies(fr.MLP([1, 8, 16, 1])._arch)             # fma chains from the bias
    assert not narrow.qualifies(fr.MLP([1, 17, 1])._arch)            # 17 units: the microkernels
    assert not narrow.qualifies(fr.MLP([17, 3, 1])._arch)           # 17 inputs: LLVM's order
    assert not narrow.qualifies(fr.MLP([2, 3, 1], batchnorm=True)._arch)


def test_narrow_workspaces_stay_within_their_byte_budget():
    from fastrelu.kernels.measure import OUT_BYTES, MeasureWorkspace, NarrowWorkspace, new_measure_workspace

    ens = fr.Ensemble([4, 16, 16, 1], seeds=list(range(64)))
    t = ens._template
    small = new_measure_workspace(t._arch, ens.params, 128, 1)
    big = new_measure_workspace(t._arch, ens.params, 200_000, 1)
    huge = new_measure_workspace(t._arch, ens.params, 4_000_000, 1)
    assert isinstance(small, NarrowWorkspace) and small.acts.shape[0] == 64
    assert isinstance(big, NarrowWorkspace) and sum(a.nbytes for a in big) <= OUT_BYTES
    assert isinstance(huge, MeasureWorkspace)      # one group's columns alone exceed the budget


def ordered_max(pre):
    """Largest value per column as ``intrinsics.ordered_key`` orders them: -0 below +0 (NumPy's
    maximum keeps whichever zero comes first)."""
    top = pre.max(axis=0)
    plus_zero = ((pre == 0) & ~np.signbit(pre)).any(axis=0)
    return np.where((top == 0) & plus_zero, pre.dtype.type(0.0), top)


def _kill_layer(net, layer, rng):
    """Make hidden ``layer`` (>= 1, inputs >= 0 after a ReLU) dead on every row: negative
    weights, biases <= 0 (some of them -0.0 and 0.0)."""
    w, b = net.weights[layer], net.biases[layer]
    w[...] = -np.abs(w) - 0.01
    b[...] = -np.abs(rng.normal(size=b.shape)) * rng.integers(0, 2, size=b.shape)
    b[rng.random(b.shape) < 0.3] = -0.0


@settings(max_examples=60, deadline=None)
@example(widths=[5] * 19, dead=3, n=128, dtype="float32", next_bias="zero", seed=1)
@example(widths=[3, 9, 9, 9], dead=1, n=64, dtype="float32", next_bias="negzero", seed=2)
@given(widths=st.lists(st.integers(1, narrow.MAX_UNITS), min_size=3, max_size=7), dead=st.integers(1, 5),
       n=st.integers(2, 300), dtype=st.sampled_from(["float32", "float64"]),
       next_bias=st.sampled_from(["zero", "negzero", "random"]), seed=st.integers(0, 1000))
def test_layers_after_a_dead_layer_keep_the_bits_of_mlp_forward(widths, dead, n, dtype, next_bias, seed):
    """The one-row shortcut after an all-dead plain layer: outputs and largest pre-activations
    are those of ``MLP.forward`` bit for bit, for biases of +0, -0 and random values in the
    next layer (the ``fma`` path keeps the sign of a -0 bias), of both dtypes."""
    rng = np.random.default_rng(seed)
    dead = min(dead, len(widths) - 1)
    net = fr.MLP([2] + widths + [3], seed=seed, dtype=dtype)
    _kill_layer(net, dead, rng)
    nb = net.biases[dead + 1]
    nb[...] = {"zero": 0.0, "negzero": -0.0, "random": 0.0}[next_bias]
    if next_bias == "random":
        nb[...] = rng.normal(size=nb.shape)
    X = rng.normal(size=(n, 2))
    out, max_pre = run_narrow(net, X)
    assert out.tobytes() == np.asarray(net.forward(X)).tobytes()
    for layer, pre in enumerate(net.preactivations(X)):
        c = net._arch[layer, C_OFF]
        assert max_pre[c:c + pre.shape[1]].tobytes() == ordered_max(pre).tobytes()
    # the shortcut is taken exactly when its conditions hold
    h = np.ascontiguousarray(net.activations(X)[dead].T)
    next_units = widths[dead + 1] if dead + 1 < len(widths) else 3      # 3: the output layer
    negzero_fma = next_bias == "negzero" and next_units >= narrow.MAX_OUT
    taken = narrow._rows_equal_after(net.params, net._arch, dead, h, n, max_pre)
    assert taken == (not negzero_fma)


def test_no_shortcut_without_zeros_residual_skips_or_infinite_preactivations():
    rng = np.random.default_rng(0)
    net = fr.MLP([2, 4, 4, 4, 1], seed=0)
    X = rng.normal(size=(50, 2))
    _kill_layer(net, 1, rng)
    _, max_pre = run_narrow(net, X)
    h = np.ascontiguousarray(net.activations(X)[1].T)
    assert narrow._rows_equal_after(net.params, net._arch, 1, h, 50, max_pre)
    h_inf = h.copy()
    h_inf[0, 0] = np.nan                       # the ReLU of a -inf pre-activation
    assert not narrow._rows_equal_after(net.params, net._arch, 1, h_inf, 50, max_pre)
    alive = max_pre.copy()
    alive[net._arch[1, C_OFF]] = 0.5
    assert not narrow._rows_equal_after(net.params, net._arch, 1, h, 50, alive)
    res = fr.MLP([4, 4, 4, 4, 1], seed=0, residual=True)
    assert not narrow._rows_equal_after(res.params, res._arch, 1, h, 50, max_pre)
    # a -inf pre-activation: its ReLU is NaN on that row, and the bits still match
    big = fr.MLP([1, 3, 3, 3, 1], seed=1)
    big.weights[1][...] = -3e38
    Xb = np.full((5, 1), 1e3)
    out, mp = run_narrow(big, Xb)
    assert out.tobytes() == np.asarray(big.forward(Xb)).tobytes()
