"""Central finite differences in float64 against ``net.gradients`` (every weight and bias).

The loss being differentiated is the training loss (batch statistics for batch norm).
The public API exposes it as ``fit``'s per-step loss, recorded *before* the step's
update, so one full-batch, unshuffled step on a throw-away copy evaluates it.

Tolerance: with step h = 1e-6 the central difference has truncation error ~h^2 * |L'''|
(~1e-12 here) and rounding error ~eps * |L| / h (~1e-10), so 1e-6 relative to the
gradient's scale leaves ample margin while any real error in a backward pass (a wrong
mask, a missing term, a wrong scale) is orders of magnitude larger.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastrelu as fr
from test_torch_oracle import randomize_biases

H = 1e-6
TOL = 1e-6


def train_loss(net, X, y, loss):
    """The mean training loss at net's current parameters, via the public API."""
    hist = fr.fit(net.copy(), X, y, optimizer=fr.SGD(lr=1e-300), loss=loss, steps=1,
                  batch_size=X.shape[0], shuffle=False)
    return float(hist.loss[0])


def numpy_loss(out, y, loss):
    if loss == "mse":
        return float(np.mean((out - np.asarray(y).reshape(out.shape)) ** 2))
    shifted = out - out.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(y)), y]))


def make_case(seed, loss, residual, batchnorm):
    rng = np.random.default_rng(seed)
    sizes = [3, 5, 5, 4, 4, 3 if loss == "cross_entropy" else 2]
    net = fr.MLP(sizes, seed=seed, dtype="float64", residual=residual, batchnorm=batchnorm)
    randomize_biases(net, rng)
    n = 7
    X = rng.normal(size=(n, sizes[0]))
    y = rng.normal(size=(n, sizes[-1])) if loss == "mse" else rng.integers(0, sizes[-1], size=n)
    return net, X, y


def central_differences(net, X, y, loss, arrays):
    out = []
    for arr in arrays:
        fd = np.zeros(arr.shape)
        for idx in np.ndindex(arr.shape):
            orig = arr[idx]
            arr[idx] = orig + H
            plus = train_loss(net, X, y, loss)
            arr[idx] = orig - H
            minus = train_loss(net, X, y, loss)
            arr[idx] = orig
            fd[idx] = (plus - minus) / (2 * H)
        out.append(fd)
    return out


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("residual,batchnorm", [(False, False), (True, False),
                                                (False, True), (True, True)])
def test_gradients_match_central_differences(loss, residual, batchnorm):
    net, X, y = make_case(3, loss, residual, batchnorm)
    before = net.params.copy()
    dW, db = net.gradients(X, y, loss=loss)
    assert np.array_equal(net.params, before), "gradients() modified the parameters"
    analytic = [np.asarray(a, dtype=np.float64) for a in list(dW) + list(db)]
    numeric = central_differences(net, X, y, loss, list(net.weights) + list(net.biases))
    assert np.array_equal(net.params, before)
    g = np.concatenate([a.ravel() for a in analytic])
    f = np.concatenate([a.ravel() for a in numeric])
    scale = np.abs(f).max()
    assert scale > 1e-3, "gradient is ~zero: the check would be vacuous"
    worst = np.abs(g - f).max() / scale
    assert worst < TOL, f"max |analytic - numeric| / max|numeric| = {worst:.2e}"
    assert np.linalg.norm(g - f) / np.linalg.norm(f) < TOL


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_training_loss_equals_loss_of_forward_without_batchnorm(loss):
    """Without batch norm, the loss fit reports is the loss of net.forward: checks that
    the loss used above is the right one."""
    net, X, y = make_case(5, loss, True, False)
    expected = numpy_loss(np.asarray(net.forward(X), dtype=np.float64), y, loss)
    assert abs(train_loss(net, X, y, loss) - expected) <= 1e-12 * max(1.0, abs(expected))
