"""The public API's shapes, dtypes, views, copies, divergence handling and init schemes."""
from __future__ import annotations

import math

import numpy as np
import pytest

import fastrelu as fr

SIZES = [5, 7, 6, 3]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(11, 5)), rng.normal(size=(11, 3)), rng.integers(0, 3, size=11)


# --------------------------------------------------------------------------- shapes and dtypes
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [{}, {"residual": True}, {"batchnorm": True}],
                         ids=["plain", "residual", "bn"])
def test_shapes_and_dtypes(data, dtype, kw):
    X, y, labels = data
    net = fr.MLP(SIZES, seed=0, dtype=dtype, **kw)
    assert net.sizes == tuple(SIZES)
    assert net.dtype == np.dtype(dtype)
    assert net.params.ndim == 1 and net.params.dtype == np.dtype(dtype)
    assert net.params.flags.c_contiguous
    n_weights = sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:])) + sum(SIZES[1:])
    assert net.n_params >= n_weights and net.params.size == net.n_params
    assert len(net.weights) == len(net.biases) == len(SIZES) - 1
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        assert w.shape == (SIZES[i + 1], SIZES[i]) and b.shape == (SIZES[i + 1],)
        assert w.dtype == b.dtype == np.dtype(dtype)
    out = net.forward(X)
    assert out.shape == (11, 3) and out.dtype == np.dtype(dtype)
    assert np.array_equal(net(X), out)
    acts = net.activations(X)
    assert [a.shape for a in acts] == [(11, w) for w in SIZES[1:-1]]
    assert all(a.dtype == np.dtype(dtype) for a in acts)
    assert all(np.all(a >= 0) for a in acts)  # ReLU outputs (a residual adds relu to them)
    for loss, target in (("mse", y), ("cross_entropy", labels)):
        dW, db = net.gradients(X, target, loss=loss)
        assert [g.shape for g in dW] == [w.shape for w in net.weights]
        assert [g.shape for g in db] == [b.shape for b in net.biases]
        assert all(g.dtype == np.dtype(dtype) for g in list(dW) + list(db))
        assert any(np.any(g) for g in dW)
    if kw.get("batchnorm"):
        for name in ("gammas", "betas", "running_means", "running_vars"):
            arrs = getattr(net, name)
            assert [a.shape for a in arrs] == [(w,) for w in SIZES[1:-1]], name
        assert all(np.all(g == 1) for g in net.gammas) and all(np.all(b == 0) for b in net.betas)
        assert all(np.all(m == 0) for m in net.running_means)
        assert all(np.all(v == 1) for v in net.running_vars)


def test_single_row_and_list_input():
    net = fr.MLP(SIZES, seed=0, dtype="float64")
    X = [[0.1, 0.2, 0.3, 0.4, 0.5]]
    assert net.forward(X).shape == (1, 3)
    assert np.array_equal(net.forward(X), net.forward(np.array(X)))


def test_mse_accepts_1d_y_for_single_output():
    rng = np.random.default_rng(1)
    net = fr.MLP([3, 4, 1], seed=0, dtype="float64")
    X, y = rng.normal(size=(9, 3)), rng.normal(size=9)
    a = net.gradients(X, y)
    b = net.gradients(X, y[:, None])
    for g, h in zip(list(a[0]) + list(a[1]), list(b[0]) + list(b[1])):
        assert np.array_equal(g, h)


def test_history_fields(data):
    X, y, _ = data
    net = fr.MLP(SIZES, seed=0)
    hist = fr.fit(net, X, y, optimizer=fr.SGD(0.01), epochs=3, batch_size=4, seed=0)
    assert hist.steps == 9  # 11 rows, batch 4: 3 batches per epoch
    assert isinstance(hist.loss, np.ndarray) and hist.loss.dtype == np.float64
    assert hist.loss.shape == (9,) and np.all(np.isfinite(hist.loss))
    assert hist.diverged_at is None
    hist = fr.fit(net, X, y, optimizer=fr.SGD(0.01), steps=7, batch_size=4, seed=0)
    assert hist.steps == 7 and hist.loss.shape == (7,)


def test_record_every(data):
    X, y, _ = data
    net = fr.MLP(SIZES, seed=0)
    hist = fr.fit(net, X, y, optimizer=fr.SGD(0.01), steps=10, batch_size=4, seed=0,
                  record_every=4)
    # at step 0, every k steps, and at the end
    assert [r["step"] for r in hist.records] == [0, 4, 8, 10]
    # each record measures the net as it was at that step: replay and compare (NumPy rules)
    for r in hist.records:
        replay = fr.MLP(SIZES, seed=0)
        if r["step"]:
            fr.fit(replay, X, y, optimizer=fr.SGD(0.01), steps=r["step"], batch_size=4, seed=0)
        probe = X[:1024]
        out = replay.forward(probe).astype(np.float64)
        target = np.asarray(y[:1024], np.float32).astype(np.float64)   # fit trains on float32 targets
        assert r["loss"] == float(np.mean((out - target) ** 2))
        assert r["dead_fraction"] == [float(np.mean(np.max(p, axis=0) <= 0)) for p in replay.preactivations(probe)]
        assert r["output_std"] == float(out.std(axis=0).mean())


def test_fit_trains(data):
    X, y, _ = data
    net = fr.MLP(SIZES, seed=0, dtype="float64")
    hist = fr.fit(net, X, y, optimizer=fr.Adam(1e-2), epochs=60, batch_size=11, shuffle=False)
    assert hist.loss[-1] < 0.5 * hist.loss[0]


# --------------------------------------------------------------------------- views and copies
def test_weights_are_views_into_params(data):
    X, _, _ = data
    net = fr.MLP(SIZES, seed=0, dtype="float64")
    for arr in list(net.weights) + list(net.biases):
        assert np.shares_memory(arr, net.params)
        assert arr.flags.writeable
    before = net.forward(X).copy()
    net.weights[1][2, 3] += 0.5
    assert not np.array_equal(net.forward(X), before)
    net.weights[1][2, 3] -= 0.5
    assert np.array_equal(net.forward(X), before)
    net.params[...] = 0
    assert all(not np.any(w) for w in net.weights)
    out = net.forward(X)
    assert np.all(out == 0)


def test_bn_arrays_are_views_into_params():
    net = fr.MLP(SIZES, seed=0, batchnorm=True)
    for arr in list(net.gammas) + list(net.betas):
        assert np.shares_memory(arr, net.params)


def test_copy_is_independent(data):
    X, y, _ = data
    net = fr.MLP(SIZES, seed=0, dtype="float64", batchnorm=True)
    c = net.copy()
    assert c.params.tobytes() == net.params.tobytes() and c.sizes == net.sizes
    assert not np.shares_memory(c.params, net.params)
    before = net.params.tobytes()
    c.weights[0][...] = 1.0
    fr.fit(c, X, y, optimizer=fr.SGD(0.1), epochs=2, batch_size=4, seed=0)
    assert net.params.tobytes() == before
    assert np.all(net.running_means[0] == 0)
    assert not np.all(c.running_means[0] == 0)


# --------------------------------------------------------------------------- divergence
def divergent_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5)) * 10
    y = rng.normal(size=(64, 1)) * 100
    return fr.MLP([5, 32, 32, 1], seed=0), X, y


def test_divergence_is_a_result():
    net, X, y = divergent_problem()
    start = net.copy()
    hist = fr.fit(net, X, y, optimizer=fr.SGD(1e6), epochs=50, batch_size=16, seed=0)
    assert isinstance(hist.diverged_at, int)
    # training stopped at the step that diverged, well before the 200 steps asked for
    assert hist.steps == hist.diverged_at + 1 < 200
    assert hist.loss.shape == (hist.steps,)
    assert np.all(np.isfinite(hist.loss[: hist.diverged_at]))
    assert not (np.isfinite(hist.loss[hist.diverged_at]) and np.isfinite(net.params).all())
    # the steps before it were finite: replaying exactly that many leaves a finite net
    replay = start.copy()
    before = fr.fit(replay, X, y, optimizer=fr.SGD(1e6), steps=hist.diverged_at, batch_size=16, seed=0)
    assert before.diverged_at is None and np.isfinite(replay.params).all()
    np.testing.assert_array_equal(before.loss, hist.loss[: hist.diverged_at])


def test_on_diverge_raise():
    net, X, y = divergent_problem()
    stopped = fr.fit(net.copy(), X, y, optimizer=fr.SGD(1e6), epochs=50, batch_size=16, seed=0)
    with pytest.raises(fr.DivergedError) as info:
        fr.fit(net, X, y, optimizer=fr.SGD(1e6), epochs=50, batch_size=16, seed=0,
               on_diverge="raise")
    assert info.value.step == stopped.diverged_at
    assert str(info.value) == (f"training diverged at step {stopped.diverged_at}: loss or parameters "
                               "became non-finite")


# --------------------------------------------------------------------------- initialization
FAN_IN, FAN_OUT = 400, 300
BIG = [FAN_IN, FAN_OUT, 2]


def first_layer(init, **kw):
    net = fr.MLP(BIG, init=init, seed=0, dtype="float64", **kw)
    return np.asarray(net.weights[0]), np.asarray(net.biases[0])


# 120k samples: the std estimate's relative standard error is ~1/sqrt(2 * 120000) =
# 0.2%, the mean's is std/350; 2% and 1e-2 * std are > 8 sigma.
def assert_normal(w, std):
    assert abs(w.mean()) < 1e-2 * std
    assert abs(w.std() / std - 1) < 0.02
    assert np.abs(w).max() > 3.5 * std  # a normal, not a narrow uniform


def assert_uniform(w, bound):
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 1e-2 * bound
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.02


def test_init_he():
    w, b = first_layer("he")
    assert_normal(w, math.sqrt(2 / FAN_IN))
    assert np.all(b == 0)


def test_init_he_uniform():
    assert_uniform(first_layer("he_uniform")[0], math.sqrt(6 / FAN_IN))


def test_init_xavier():
    assert_normal(first_layer("xavier")[0], math.sqrt(2 / (FAN_IN + FAN_OUT)))


def test_init_xavier_uniform():
    assert_uniform(first_layer("xavier_uniform")[0], math.sqrt(6 / (FAN_IN + FAN_OUT)))


def test_init_small():
    assert_normal(first_layer("small")[0], 0.01)


def test_init_zeros():
    net = fr.MLP(SIZES, init="zeros")
    assert not np.any(net.params)


def test_init_torch_default_weights_and_biases():
    w, b = first_layer("torch_default")
    bound = 1 / math.sqrt(FAN_IN)
    assert_uniform(w, bound)
    assert np.abs(b).max() <= bound and np.unique(b).size == b.size


def test_init_sklearn_weights_and_biases():
    # sklearn's MLP (relu): coef and intercept ~ U(-b, b), b = sqrt(6 / (fan_in + fan_out))
    w, b = first_layer("sklearn")
    bound = math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert_uniform(w, bound)
    assert np.abs(b).max() <= bound and np.unique(b).size == b.size


def test_init_rai_every_unit_has_a_positive_entry():
    """Lu et al. 2019: in each unit's row (weights, bias) one entry is drawn from a
    positive distribution, so no unit starts with all-nonpositive incoming parameters."""
    for seed in range(5):
        net = fr.MLP([3, 50, 50, 50, 1], init="rai", seed=seed, dtype="float64")
        for w, b in zip(net.weights[:-1], net.biases[:-1]):
            rows = np.column_stack([w, b])
            assert np.all((rows > 0).any(axis=1))
            assert np.unique(w).size > w.size // 2  # random, not a constant


def test_bias_argument():
    net = fr.MLP(SIZES, init="he", bias=0.25)
    assert all(np.all(b == np.float32(0.25)) for b in net.biases)


def test_callable_init():
    calls = []

    def init(rng, fan_in, fan_out):
        calls.append((type(rng), fan_in, fan_out))
        return np.full((fan_out, fan_in), fan_in / 100.0) + rng.normal(size=(fan_out, fan_in)) * 0

    net = fr.MLP(SIZES, init=init, seed=3, dtype="float64")
    assert [c[1:] for c in calls] == list(zip(SIZES[:-1], SIZES[1:]))
    assert all(issubclass(c[0], np.random.Generator) for c in calls)
    for w, fan_in in zip(net.weights, SIZES[:-1]):
        assert np.all(w == fan_in / 100.0)


def test_callable_init_seeded():
    def init(rng, fan_in, fan_out):
        return rng.normal(size=(fan_out, fan_in))

    a = fr.MLP(SIZES, init=init, seed=5)
    b = fr.MLP(SIZES, init=init, seed=5)
    assert a.params.tobytes() == b.params.tobytes()
