"""Known physics of ReLU networks at initialization (He et al. 2015) and zero init.

Signal propagation: for layer l with weights of variance v and fan-in N,
E[z_l^2] = N v E[a_{l-1}^2] and, z being symmetric, E[relu(z)^2] = E[z^2] / 2.
With He (v = 2/N) the mean squared activation is constant from layer to layer; with
Xavier on square layers (v = 2/(N+N) = 1/N) it halves.  (The first layer sees the raw
N(0, 1) input, whose mean square is 1: He gives 1, Xavier 0.5.)

Statistical tolerance: for one input, the ratio q_l / q_{l-1} of a width-N layer is
(2/N) sum_i relu(g_i)^2 with g_i iid N(0,1) (He); relu(g)^2 has mean 1/2 and variance
5/4, so the ratio has std sqrt(5/N) = 0.071 at N = 1000.  We average over 256 inputs
(which only shrinks it) and allow 0.25 per layer (> 3.5 sigma), and for the geometric
mean over 20 layers (std ~sqrt(20 * 0.005)/20 = 0.016) allow 0.06 (> 3.5 sigma).  The
seed is fixed, so the test is deterministic; the bounds say a different seed passes too.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastrelu as fr

WIDTH, DEPTH, ROWS = 1000, 20, 256


def mean_squares(init):
    net = fr.MLP([WIDTH] + [WIDTH] * DEPTH + [1], init=init, seed=123)
    X = np.random.default_rng(0).normal(size=(ROWS, WIDTH)).astype(np.float32)
    acts = net.activations(X)
    assert len(acts) == DEPTH
    q_in = float(np.mean(X.astype(np.float64) ** 2))
    q = np.array([np.mean(np.asarray(a, dtype=np.float64) ** 2) for a in acts])
    return q_in, q


@pytest.mark.parametrize("init,ratio", [("he", 1.0), ("xavier", 0.5)])
def test_mean_squared_activation_ratio_per_layer(init, ratio):
    """He: constant (ratio 1); Xavier on square layers: halves (ratio 0.5)."""
    q_in, q = mean_squares(init)
    ratios = q / np.concatenate([[q_in], q[:-1]])
    assert np.all(np.abs(ratios / ratio - 1.0) < 0.25), ratios
    geo = np.exp(np.mean(np.log(ratios)))
    assert abs(geo / ratio - 1.0) < 0.06, geo
    # after 20 layers: He stays of the input's order, Xavier vanishes (2^-20 ~ 1e-6)
    if init == "he":
        assert 0.3 < q[-1] / q_in < 3.0
    else:
        assert q[-1] / q_in < 1e-4


def test_zero_init_outputs_identical_for_all_inputs():
    net = fr.MLP([6, 16, 16, 3], init="zeros", seed=0)
    X = np.random.default_rng(1).normal(size=(50, 6))
    out = np.asarray(net.forward(X))
    assert out.shape == (50, 3)
    assert np.all(out == out[0]), "zero init must give the same output for every input"


@pytest.mark.parametrize("optimizer", [lambda: fr.SGD(0.1, momentum=0.9),
                                       lambda: fr.Adam(1e-2)])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_zero_init_hidden_weights_never_move(optimizer, loss):
    sizes = [6, 16, 16, 3]
    net = fr.MLP(sizes, init="zeros", seed=0, dtype="float64")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(64, 6))
    y = rng.normal(size=(64, 3)) if loss == "mse" else rng.integers(0, 3, size=64)
    hist = fr.fit(net, X, y, optimizer=optimizer(), loss=loss, epochs=5, batch_size=16, seed=0)
    assert hist.steps == 20 and hist.diverged_at is None
    for i in range(len(sizes) - 2):
        assert not np.any(net.weights[i]), f"hidden weights[{i}] moved"
        assert not np.any(net.biases[i]), f"hidden biases[{i}] moved"
    # zero hidden activations mean the output weights get zero gradient too ...
    assert not np.any(net.weights[-1])
    # ... yet training did run: the output bias learned (the mean target / class prior)
    assert np.any(net.biases[-1])
    out = np.asarray(net.forward(X))
    assert np.all(out == out[0]), "outputs must still be identical for every input"
    assert np.all(np.isfinite(hist.loss))
