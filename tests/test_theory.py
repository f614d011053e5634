"""fastrelu.theory: closed forms checked against Monte Carlo and against real networks."""
import math

import numpy as np
import pytest

import fastrelu as fr
from fastrelu import theory


@pytest.mark.parametrize("mu,var", [(0.0, 1.0), (0.5, 2.0), (-1.0, 0.3), (2.0, 0.0), (-2.0, 0.0)])
def test_relu_mean_sq_matches_monte_carlo(mu, var):
    rng = np.random.default_rng(0)
    z = mu + math.sqrt(var) * rng.standard_normal(400_000)
    mc = np.mean(np.maximum(z, 0.0) ** 2)
    assert float(theory.relu_mean_sq(mu, var)) == pytest.approx(mc, rel=0.02, abs=1e-9)


def test_variance_recursion_per_init():
    sizes = [64, 64, 64, 64, 1]
    assert np.allclose(theory.predict_mean_sq(sizes, "he"), 1.0)
    assert np.allclose(theory.predict_mean_sq(sizes, "xavier"), [0.5, 0.25, 0.125])
    factor = 64 * 1e-4 / 2
    assert np.allclose(theory.predict_mean_sq(sizes, "small", input_mean_sq=2.0),
                       [2 * factor, 2 * factor**2, 2 * factor**3])
    assert np.allclose(theory.predict_mean_sq(sizes, "zeros"), 0.0)
    # torch default: signal shrinks 6x per layer, random biases add 1/(6 fan_in)
    q = 1.0
    for _ in range(3):
        q = q / 6 + 1 / (6 * 64)
    assert theory.predict_mean_sq(sizes, "torch_default")[-1] == pytest.approx(q)


@pytest.mark.parametrize("init", ["he", "xavier", "small", "torch_default", "he_uniform"])
def test_recursion_predicts_a_wide_random_net(init):
    sizes = [32, 256, 256, 256, 1]
    rng = np.random.default_rng(1)
    X = rng.standard_normal((512, 32))
    net = fr.MLP(sizes, init=init, seed=3, dtype="float64")
    measured = [float(np.mean(a**2)) for a in net.activations(X)]
    predicted = theory.predict_mean_sq(sizes, init, input_mean_sq=float(np.mean(X**2)))
    assert np.allclose(measured, predicted, rtol=0.25)


def test_arccos_map_fixed_points_and_monotone():
    assert float(theory.arccos_map(1.0)) == pytest.approx(1.0)
    assert float(theory.arccos_map(0.0)) == pytest.approx(1 / math.pi)
    assert float(theory.arccos_map(-1.0)) == pytest.approx(0.0, abs=1e-12)
    c = np.linspace(-1, 0.999, 200)
    f = theory.arccos_map(c)
    assert np.all(np.diff(f) > 0) and np.all(f > c)
    deep = theory.predict_cosine(0.0, 50)
    assert deep.shape == (50,) and np.all(np.diff(deep) > 0) and deep[-1] > 0.98  # 1 - c decays only like 1/depth^2


def test_arccos_map_matches_a_wide_relu_layer():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(50)
    for target in (-0.5, 0.0, 0.6):
        u = rng.standard_normal(50)
        u -= u @ x / (x @ x) * x
        y = target * x / np.linalg.norm(x) + math.sqrt(1 - target**2) * u / np.linalg.norm(u)
        W = rng.standard_normal((40_000, 50))
        hx, hy = np.maximum(W @ x, 0), np.maximum(W @ y, 0)
        cos = hx @ hy / np.linalg.norm(hx) / np.linalg.norm(hy)
        assert cos == pytest.approx(float(theory.arccos_map(target)), abs=0.01)


def test_born_dead_bounds_order_and_limits():
    lo, hi = theory.born_dead_bounds([2] * 10)
    assert 0 < lo < hi < 1
    lo30, hi30 = theory.born_dead_bounds([2] * 30)
    assert lo30 > lo and hi30 > hi
    lo_w, hi_w = theory.born_dead_bounds([64] * 30)
    assert hi_w < 1e-15 and lo_w == 0.0
    # a random bias is one more parameter that must be negative for the all-inputs event
    assert theory.born_dead_bounds([3] * 5, random_bias=True)[0] < theory.born_dead_bounds([3] * 5)[0]


def test_upper_bound_is_the_exact_dead_at_one_input_probability():
    # zero biases, symmetric weights: P(some layer all-zero at x0) = 1 - prod(1 - 2^-N)
    rng = np.random.default_rng(4)
    widths, trials, dead = [2, 2, 2, 2, 2], 6000, 0
    x0 = np.array([0.7, -1.1])
    for _ in range(trials):
        h, fan_in = x0, 2
        for n in widths:
            h = np.maximum(rng.standard_normal((n, fan_in)) @ h, 0.0)
            fan_in = n
            if not h.any():
                dead += 1
                break
    p = theory.born_dead_bounds(widths)[1]
    assert dead / trials == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / trials))


def test_measured_born_dead_rate_lies_between_the_bounds():
    X, _ = fr.data.abs1d(32)
    widths = [2] * 10
    seeds = range(150)
    dead = 0
    for s in seeds:
        net = fr.MLP([1, *widths, 1], init="he", seed=s)
        dead += any(bool(np.all(p.max(axis=0) <= 0)) for p in net.preactivations(X))
    lo, hi = theory.born_dead_bounds(widths)
    assert lo - 0.1 <= dead / len(seeds) <= hi + 0.05


@pytest.mark.parametrize("call", [
    lambda: theory.weight_variance("rai", 3, 3),
    lambda: theory.predict_mean_sq([3], "he"),
    lambda: theory.predict_cosine(0.1, -1),
    lambda: theory.born_dead_bounds([]),
    lambda: theory.born_dead_bounds([2, 0]),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
