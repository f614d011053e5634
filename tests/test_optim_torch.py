"""fr.fit trajectories equal torch.optim's, step by step, from the same weights and batches.

float64 throughout; the batch sequence comes from ``fr.minibatches`` (documented to be
exactly the one ``fit`` uses).  Tolerances are a few hundred ulps accumulated over
~30 steps: any formula difference (bias correction, eps placement, the 1e-6 in
clip_grad_norm_, weight decay order) shows up orders of magnitude above them.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastrelu as fr
from _torch import require_torch
from test_torch_oracle import TorchMLP, torch_trajectory

RTOL, ATOL = 1e-9, 1e-12


def problem(loss, *, seed=0, sizes=(5, 8, 8, 3), n=37):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    if loss == "mse":
        y = np.sin(X @ rng.normal(size=(sizes[0], sizes[-1])))
    else:
        y = rng.integers(0, sizes[-1], size=n)
    net = fr.MLP(list(sizes), init="he", bias=0.05, seed=seed + 1, dtype="float64")
    return net, X, y


def run_both(fr_opt, torch_opt, *, loss="mse", steps=30, batch_size=8, clip_norm=None,
             net_kwargs=None, epochs=None):
    torch = require_torch()
    net_kwargs = net_kwargs or {}
    residual = net_kwargs.get("residual", False)
    batchnorm = net_kwargs.get("batchnorm", False)
    net, X, y = problem(loss)
    if net_kwargs:
        net = fr.MLP(list(net.sizes), seed=9, dtype="float64", **net_kwargs)
    model = TorchMLP(net, residual=residual, batchnorm=batchnorm)
    n = X.shape[0]
    if epochs is None:
        batches = list(fr.minibatches(n, batch_size, steps=steps, shuffle=True, seed=42))
        hist = fr.fit(net, X, y, optimizer=fr_opt, loss=loss, steps=steps,
                      batch_size=batch_size, shuffle=True, seed=42, clip_norm=clip_norm)
    else:
        batches = list(fr.minibatches(n, batch_size, epochs=epochs, shuffle=True, seed=42))
        hist = fr.fit(net, X, y, optimizer=fr_opt, loss=loss, epochs=epochs,
                      batch_size=batch_size, shuffle=True, seed=42, clip_norm=clip_norm)
    t_losses, norms = torch_trajectory(model, X, y, loss, batches,
                                       lambda p: torch_opt(torch, p), clip_norm)
    assert hist.diverged_at is None
    assert hist.steps == len(batches)
    np.testing.assert_allclose(hist.loss, t_losses, rtol=RTOL, atol=ATOL)
    # With batch norm, a hidden layer's bias cancels in the normalization: its true
    # gradient is 0 and both sides compute rounding noise (~1e-17).  SGD turns that into
    # ~lr * 1e-17 moves, but Adam and RMSprop divide by sqrt(v) of the noise and move the
    # bias by ~lr in noise-determined directions, in torch as well.  Those biases are
    # compared only when the optimizer is not adaptive.
    skip_bn_bias = batchnorm and not isinstance(fr_opt, fr.SGD)
    for i in range(len(net.weights)):
        np.testing.assert_allclose(net.weights[i], model.W[i].detach().numpy(),
                                   rtol=RTOL, atol=ATOL, err_msg=f"weights[{i}]")
        if skip_bn_bias and i < len(net.weights) - 1:
            continue
        np.testing.assert_allclose(net.biases[i], model.b[i].detach().numpy(),
                                   rtol=RTOL, atol=ATOL, err_msg=f"biases[{i}]")
    for i, bn in enumerate(model.bn):
        np.testing.assert_allclose(net.gammas[i], bn.weight.detach().numpy(), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(net.betas[i], bn.bias.detach().numpy(), rtol=RTOL, atol=ATOL)
    # training did something (the comparison is not between two untouched copies)
    assert t_losses[-1] != t_losses[0]
    return hist, norms


CASES = {
    "sgd": (lambda: fr.SGD(0.05),
            lambda t, p: t.optim.SGD(p, lr=0.05)),
    "sgd_momentum_wd": (lambda: fr.SGD(0.05, momentum=0.9, weight_decay=1e-2),
                        lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-2)),
    "adam_default": (lambda: fr.Adam(),
                     lambda t, p: t.optim.Adam(p)),
    "adam_custom": (lambda: fr.Adam(lr=2e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=1e-2),
                    lambda t, p: t.optim.Adam(p, lr=2e-2, betas=(0.8, 0.95), eps=1e-6,
                                              weight_decay=1e-2)),
    "rmsprop_default": (lambda: fr.RMSprop(),
                        lambda t, p: t.optim.RMSprop(p)),
    "rmsprop_momentum": (lambda: fr.RMSprop(lr=3e-3, alpha=0.9, eps=1e-7, momentum=0.8,
                                            weight_decay=1e-2),
                         lambda t, p: t.optim.RMSprop(p, lr=3e-3, alpha=0.9, eps=1e-7,
                                                      momentum=0.8, weight_decay=1e-2)),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_trajectory_matches_torch_optim(name, loss):
    make_fr, make_torch = CASES[name]
    run_both(make_fr(), make_torch, loss=loss)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["sgd_momentum_wd", "adam_custom", "rmsprop_momentum"])
def test_clip_norm_matches_clip_grad_norm(name):
    make_fr, make_torch = CASES[name]
    _, norms = run_both(make_fr(), make_torch, clip_norm=0.2)
    # the clip was active on some steps and inactive on none-or-some: make sure it bit
    assert (norms > 0.2).any(), "clip_norm never clipped: the test would not test clipping"


@pytest.mark.torch
def test_epochs_with_short_last_batch_match_torch():
    # 37 rows, batch 10: each epoch ends with a 7-row batch
    make_fr, make_torch = CASES["adam_custom"]
    hist, _ = run_both(make_fr(), make_torch, epochs=3, batch_size=10)
    assert hist.steps == 12


@pytest.mark.torch
@pytest.mark.parametrize("name", ["sgd_momentum_wd", "adam_custom", "rmsprop_momentum"])
def test_residual_batchnorm_trajectory_matches_torch(name):
    """Gammas and betas are parameters the optimizer updates like any other (as with a
    torch.optim optimizer over all of a model's parameters); running stats are not."""
    make_fr, make_torch = CASES[name]
    run_both(make_fr(), make_torch, net_kwargs={"residual": True, "batchnorm": True})


@pytest.mark.torch
def test_large_batch_chunked_trajectory_matches_torch():
    """600-row problem, batches of 300 (>= 256 rows, small layers): the parallel chunked
    gradient path, checked over a multi-step Adam run."""
    torch = require_torch()
    rng = np.random.default_rng(4)
    X = rng.normal(size=(600, 6))
    y = rng.integers(0, 3, size=600)
    net = fr.MLP([6, 16, 16, 3], seed=4, dtype="float64", bias=0.05)
    model = TorchMLP(net)
    batches = list(fr.minibatches(600, 300, steps=6, shuffle=True, seed=1))
    hist = fr.fit(net, X, y, optimizer=fr.Adam(1e-2), loss="cross_entropy", steps=6,
                  batch_size=300, shuffle=True, seed=1)
    t_losses, _ = torch_trajectory(model, X, y, "cross_entropy", batches,
                                   lambda p: torch.optim.Adam(p, lr=1e-2))
    np.testing.assert_allclose(hist.loss, t_losses, rtol=RTOL, atol=ATOL)
    got = np.concatenate([np.ravel(a) for a in list(net.weights) + list(net.biases)])
    ref = np.concatenate([p.detach().numpy().ravel() for p in model.W + model.b])
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)
